"""Array type aliases used in signatures."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

BoxArray = npt.NDArray[Any]  # (N, 4) boxes, any real dtype on input
FloatArray = npt.NDArray[np.floating[Any]]
IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike
