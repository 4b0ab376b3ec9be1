"""The configuration reference and README's configuration table match ``config.DEFAULTS``."""

from __future__ import annotations

import os
import pathlib
import re
import typing as t

import pytest

from flask_model_registry.config import DEFAULTS, load_settings

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG_PAGE = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"

KEY = re.compile(r"\bMODEL_REGISTRY_[A-Z0-9_]*[A-Z0-9]\b")
#: One entry of the reference: a ``{data}`` directive whose body starts with its default.
ENTRY = re.compile(r"^```\{data\} (\S+)\nDefault: `([^`]*)`(.*?)^```$", re.M | re.S)
#: One row of README's table: key, default cell, meaning.
ROW = re.compile(r"^\| `(MODEL_REGISTRY_\w+)` \| ([^|]*) \| ([^|]*) \|$", re.M)
#: What README shows for a default derived at ``init_app``.
DERIVED = {"MODEL_REGISTRY_ARTIFACT_ROOT": "<instance>/model-registry-artifacts"}


def _page_entries() -> dict[str, tuple[str, str]]:
    entries: dict[str, tuple[str, str]] = {}
    for key, default, body in ENTRY.findall(CONFIG_PAGE.read_text()):
        assert key not in entries, f"{key} is described twice"
        entries[key] = (default, body.strip())
    return entries


def _readme_rows() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for key, default, meaning in ROW.findall(README.read_text()):
        assert key not in rows, f"{key} is listed twice"
        rows[key] = (default.strip(), meaning.strip())
    return rows


def _shown(value: t.Any) -> str:
    """A default as README shows it: strings bare, everything else as Python writes it."""
    return value if isinstance(value, str) else repr(value)


def test_the_reference_describes_every_key_with_its_default() -> None:
    entries = _page_entries()
    assert sorted(entries) == sorted(DEFAULTS)
    for key, (default, meaning) in entries.items():
        assert default == repr(DEFAULTS[key]), key
        assert meaning, f"{key} has no meaning"


@pytest.mark.parametrize("page", [CONFIG_PAGE, README], ids=["reference", "readme"])
def test_no_page_names_a_key_that_does_not_exist(page: pathlib.Path) -> None:
    # The suite's own variable is no configuration key.
    named = set(KEY.findall(page.read_text())) - {"MODEL_REGISTRY_TEST_POSTGRES_URL"}
    assert named <= set(DEFAULTS), sorted(named - set(DEFAULTS))


def test_the_readme_table_lists_every_key_with_its_default() -> None:
    rows = _readme_rows()
    assert sorted(rows) == sorted(DEFAULTS)
    for key, (cell, meaning) in rows.items():
        shown = re.match(r"`([^`]*)`", cell)
        assert shown, f"{key}: the default is not a code span: {cell!r}"
        expected = DERIVED.get(key, _shown(DEFAULTS[key]))
        assert shown.group(1) == expected, key
        assert meaning, f"{key} has no meaning"


def test_the_derived_defaults_are_the_ones_init_app_derives() -> None:
    instance = os.path.abspath("instance")
    settings = load_settings(DEFAULTS, instance)
    derived = os.path.relpath(settings.artifact_root, instance)
    assert DEFAULTS["MODEL_REGISTRY_ARTIFACT_ROOT"] is None
    assert DERIVED["MODEL_REGISTRY_ARTIFACT_ROOT"] == f"<instance>/{derived}"
