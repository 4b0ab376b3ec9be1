"""Screenshots go to a temporary directory unless ``make screenshots`` names ``docs/``."""

from __future__ import annotations

import pathlib
import re

import pytest

from tests.browser.conftest import DOCS_SCREENSHOTS, SCREENSHOTS_ENV, screenshot_dir

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_screenshots_go_to_a_temporary_directory(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    directory = screenshot_dir(tmp_path)
    assert directory.is_dir()
    assert directory.is_relative_to(tmp_path)


def test_screenshots_go_where_the_environment_says(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCREENSHOTS_ENV, str(tmp_path / "elsewhere"))
    assert screenshot_dir(tmp_path / "unused") == tmp_path / "elsewhere"


def test_make_screenshots_refreshes_the_docs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^screenshots:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert target is not None, "the Makefile has no 'screenshots' target"
    recipe = target.group(1)
    assert f"{SCREENSHOTS_ENV}=$(CURDIR)/docs/screenshots" in recipe
    assert "tests/browser/test_pages.py" in recipe
    assert DOCS_SCREENSHOTS == ROOT / "docs" / "screenshots"
