"""Small array helpers shared by the containers of every layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from odkit.errors import BoxFormatError


def readonly_copy(arr: Any) -> np.ndarray:
    """A copy of ``arr`` as a numpy array that cannot be written to (for frozen containers)."""
    out = np.array(arr, copy=True)
    out.setflags(write=False)
    return out


def readonly_column(values: Any, n: int, dtype: Any, name: str, default: Any) -> np.ndarray:
    """A read-only (n,) column of ``dtype`` from ``values``, or filled with ``default`` when None.

    A scalar is accepted for n == 1. Floats given for an integer column must be integral: 1.7 is an error,
    never truncated to 1.

    Raises:
        BoxFormatError: on a shape other than (n,) (naming ``name``) or a non-integral value (naming its index).
    """
    if values is None:
        return readonly_copy(np.full(n, default, dtype=dtype))
    arr = np.asarray(values)
    if arr.ndim == 0 and n == 1:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise BoxFormatError(f"{name} must have shape ({n},) to match the boxes; got {arr.shape}")
    if np.dtype(dtype).kind in "iu" and arr.dtype.kind == "f":
        not_int = ~np.isfinite(arr) | (arr != np.round(arr))
        if not_int.any():
            bad = int(np.flatnonzero(not_int)[0])
            raise BoxFormatError(f"{name}[{bad}] must be an integer; got {arr[bad]!r}")
    return readonly_copy(arr.astype(dtype))
