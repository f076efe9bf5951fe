"""Shared test fixtures."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# the headless browser (one playwright per process: a second sync_playwright in a process fails), for any test
from tests._browser import browser_page as browser_page
from tests._browser import chromium_browser as chromium_browser

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATASETS = SHARED / "datasets"


def assert_unchanged(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` and check that it did not modify any of its array/list/dict arguments."""
    before = copy.deepcopy((args, kwargs))
    result = fn(*args, **kwargs)
    for old, new in zip([*before[0], *before[1].values()], [*args, *kwargs.values()]):
        if isinstance(new, np.ndarray):
            np.testing.assert_array_equal(old, new)
        else:
            assert old == new
    return result


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``../shared/datasets`` (read-only); tests that need it skip when it is absent."""
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS
