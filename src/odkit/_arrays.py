"""Small array helpers shared by the containers of every layer."""

from __future__ import annotations

from typing import Any

import numpy as np


def readonly_copy(arr: Any) -> np.ndarray:
    """A copy of ``arr`` as a numpy array that cannot be written to (for frozen containers)."""
    out = np.array(arr, copy=True)
    out.setflags(write=False)
    return out
