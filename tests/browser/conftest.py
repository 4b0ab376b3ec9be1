"""Headless Chromium through Playwright, signed in through the example host's login form.

Screenshots go to a temporary directory, or to ``$SCREENSHOTS_DIR`` when it is set
(``make screenshots`` points it at ``docs/screenshots``).
"""

from __future__ import annotations

import os
import pathlib
import typing as t

import pytest

from tests.support.live import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"
DOCS_SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def browser() -> t.Iterator[t.Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium'.")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _docs_screenshots() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(DOCS_SCREENSHOTS.glob("*.png"))}


@pytest.fixture(autouse=True)
def docs_screenshots_untouched() -> t.Iterator[None]:
    """A test run leaves ``docs/screenshots`` alone unless ``$SCREENSHOTS_DIR`` asks for it."""
    if os.environ.get(SCREENSHOTS_ENV):
        yield
        return
    before = _docs_screenshots()
    yield
    assert _docs_screenshots() == before, "a test wrote into docs/screenshots"


def screenshot_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """Where screenshots go: ``$SCREENSHOTS_DIR``, else a temporary directory."""
    configured = os.environ.get(SCREENSHOTS_ENV)
    directory = pathlib.Path(configured) if configured else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def shot(tmp_path: pathlib.Path) -> t.Callable[[t.Any, str], None]:
    """``shot(page, name)`` saves ``<name>.png`` of the page (see :func:`screenshot_dir`)."""
    directory = screenshot_dir(tmp_path)

    def save(page: t.Any, name: str) -> None:
        page.screenshot(path=str(directory / f"{name}.png"))

    return save


def follow(page: t.Any, target: t.Any) -> None:
    """Click ``target`` and wait for the page it leads to."""
    with page.expect_navigation():
        target.click()


def login(browser: t.Any, server: LiveServer, username: str) -> t.Any:
    """A new page signed in as ``username`` through the host's login form."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    follow(page, page.get_by_role("button", name="Sign in"))
    assert "/login" not in page.url
    return page
