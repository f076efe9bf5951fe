"""Fixtures of the workflow tests: the headless browser of tests/_browser.py."""

from tests._browser import browser_page as browser_page
from tests._browser import chromium_browser as chromium_browser

__all__ = ["browser_page", "chromium_browser"]
