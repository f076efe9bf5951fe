"""A real browser for tests: Debian's Chromium driven by playwright.

``open_page`` (the ``browser_page`` fixture) loads a local HTML file in headless Chromium and returns what a
person would have seen go wrong: console errors, uncaught page errors, requests that left the file, and a
full-page screenshot.

Chromium is ``$ODKIT_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH. Without it, or without
playwright, the tests that use the fixture are skipped with the reason, unless ``ODKIT_REQUIRE_BROWSER=1``
(CI), where they fail with it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Flags for running as root in a container without a GPU.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")


@dataclass
class PageResult:
    """What happened when a page was opened.

    Attributes:
        console_errors: text of the console messages of type ``error``.
        page_errors: uncaught exceptions thrown by the page's scripts.
        external_requests: URLs requested that are neither the file itself nor ``data:`` URIs.
        screenshot: the full-page PNG written.
        texts: ``inner_text`` of each selector asked for (None when nothing matched).
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    texts: dict[str, str | None] = field(default_factory=dict)


def find_chromium() -> str | None:
    """The Chromium executable: ``$ODKIT_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    env = os.environ.get("ODKIT_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail with it when ``ODKIT_REQUIRE_BROWSER=1``."""
    if os.environ.get("ODKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (ODKIT_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """A headless Chromium (playwright ``Browser``) shared by the session."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright; it is in odkit's test extra)")
    executable = find_chromium()
    if executable is None:
        where = os.environ.get("ODKIT_CHROMIUM")
        _unavailable(f"ODKIT_CHROMIUM={where} is not a file" if where else
                     "no Chromium found (set ODKIT_CHROMIUM, or apt-get install chromium)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        except Error as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, html_path: Path, screenshot_path: Path, selectors: Sequence[str] = ()) -> PageResult:
    """Open a local HTML file, wait for it to load, read ``selectors`` and take a full-page screenshot."""
    result = PageResult()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda msg: result.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
    own = html_path.resolve().as_uri()

    def on_request(request: Any) -> None:
        if request.url != own and not request.url.startswith("data:"):
            result.external_requests.append(request.url)

    page.on("request", on_request)
    try:
        page.goto(own, wait_until="load")
        for selector in selectors:
            element = page.query_selector(selector)
            result.texts[selector] = None if element is None else element.inner_text()
        page.screenshot(path=str(screenshot_path), full_page=True)
        result.screenshot = screenshot_path
    finally:
        page.close()
    return result


@pytest.fixture
def browser_page(chromium_browser: Any) -> Callable[..., PageResult]:
    """``open_page`` bound to the session's Chromium: ``browser_page(html_path, screenshot_path, selectors)``."""

    def _open(html_path: Path, screenshot_path: Path, selectors: Sequence[str] = ()) -> PageResult:
        return open_page(chromium_browser, html_path, screenshot_path, selectors)

    return _open
