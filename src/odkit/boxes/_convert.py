"""Conversion, validation, area and clipping of (N, 4) box arrays."""

from __future__ import annotations

import numpy as np

from odkit._typing import ArrayLike, BoxArray, FloatArray
from odkit.boxes._formats import BoxFormat
from odkit.errors import BoxFormatError


def as_box_array(boxes: ArrayLike, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as an (N, 4) real array (no copy when already one); empty input gives (0, 4).

    Raises:
        BoxFormatError: if the shape is not (N, 4) or the dtype is not real.
    """
    arr = np.asarray(boxes)
    if arr.size == 0 and arr.ndim <= 2:
        return np.zeros((0, 4), dtype=arr.dtype if arr.dtype.kind == "f" else np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise BoxFormatError(f"{name} must have shape (N, 4); got {arr.shape}")
    if arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
        raise BoxFormatError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    return arr


def _float_dtype(arr: np.ndarray) -> np.dtype:
    """Floating inputs keep their dtype (float16 becomes float32); integers become float64."""
    if arr.dtype == np.float16:
        return np.dtype(np.float32)
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)


#: Largest box area (px^2) ops accept: the sum of two such areas (an IoU union) is still finite in float64.
MAX_BOX_AREA = float(np.finfo(np.float64).max) / 2


def validate_boxes(boxes: ArrayLike, fmt: BoxFormat | str = BoxFormat.XYXY, name: str = "boxes") -> np.ndarray:
    """Check boxes and return them as an (N, 4) array (the input itself when nothing needed changing).

    Checks: shape (N, 4), real dtype, finite values, no negative extent
    (``x_max >= x_min`` and ``y_max >= y_min`` for xyxy; ``w >= 0`` and ``h >= 0`` otherwise), and a
    width * height that float64 holds with room for a union (at most :data:`MAX_BOX_AREA`, ~9e307;
    coordinates themselves may be as large as float64 allows).
    Zero-size boxes are valid here (their IoU is 0).

    Raises:
        BoxFormatError: naming the first offending row and its values.
    """
    fmt = BoxFormat.from_value(fmt)
    arr = as_box_array(boxes, name)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise BoxFormatError(f"{name}[{i}] has a NaN or infinite value: {arr[i].tolist()}")
    if fmt.layout == "xyxy":
        bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
        what = "x_max < x_min or y_max < y_min"
    else:
        bad = (arr[:, 2] < 0) | (arr[:, 3] < 0)
        what = "a negative width or height"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BoxFormatError(f"{name}[{i}] ({fmt.value}) has {what}: {arr[i].tolist()}")
    if arr.dtype.kind == "f" and arr.dtype.itemsize >= 8 and arr.shape[0]:
        # float16/32 and integer boxes cannot get there; float64 ones can: past ~1e154 a width times a height
        # is inf, and IoU becomes inf - inf = NaN (NMS results then depend on the code path)
        if fmt.layout == "xyxy":
            with np.errstate(over="ignore"):
                w, h = arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1]
        else:
            w, h = arr[:, 2], arr[:, 3]
        with np.errstate(over="ignore", invalid="ignore"):
            too_big = ~(w * h <= MAX_BOX_AREA)
        if too_big.any():
            i = int(np.flatnonzero(too_big)[0])
            raise BoxFormatError(
                f"{name}[{i}] ({fmt.value}): box area overflows float64 (width * height must be at most "
                f"{MAX_BOX_AREA:.3g} so that a union of two boxes stays finite): {arr[i].tolist()}"
            )
    return arr


def _to_xyxy(a: np.ndarray, layout: str) -> np.ndarray:
    if layout == "xyxy":
        return a.copy()
    out = np.empty_like(a)
    if layout == "xywh":
        out[:, :2] = a[:, :2]
        out[:, 2:] = a[:, :2] + a[:, 2:]
    else:  # cxcywh
        half = a[:, 2:] / 2
        out[:, :2] = a[:, :2] - half
        out[:, 2:] = a[:, :2] + half
    return out


def _from_xyxy(a: np.ndarray, layout: str) -> np.ndarray:
    if layout == "xyxy":
        return a
    out = np.empty_like(a)
    wh = a[:, 2:] - a[:, :2]
    if layout == "xywh":
        out[:, :2] = a[:, :2]
    else:  # cxcywh
        out[:, :2] = a[:, :2] + wh / 2
    out[:, 2:] = wh
    return out


def box_convert(
    boxes: ArrayLike,
    in_fmt: BoxFormat | str,
    out_fmt: BoxFormat | str,
    image_hw: tuple[float, float] | None = None,
) -> np.ndarray:
    """Convert (N, 4) boxes between formats; the input is never modified.

    Args:
        boxes: (N, 4) boxes in ``in_fmt``; int, float16/32/64 accepted.
        in_fmt: format of ``boxes``, e.g. ``"xywh"`` or ``BoxFormat.CXCYWH_NORM``.
        out_fmt: wanted format.
        image_hw: (height, width) in pixels; required when exactly one side is normalized.

    Returns:
        (N, 4) new array in ``out_fmt``; float dtype of the input (float32 for float16), float64 for ints.

    Raises:
        BoxFormatError: on a bad shape, an unknown format or a missing/invalid ``image_hw``.
    """
    src, dst = BoxFormat.from_value(in_fmt), BoxFormat.from_value(out_fmt)
    arr = as_box_array(boxes)
    out_dtype = _float_dtype(arr)
    a = arr.astype(np.float64)  # always a copy: math in float64
    if src.normalized != dst.normalized:
        if image_hw is None:
            raise BoxFormatError(f"converting {src.value} to {dst.value} needs image_hw=(height, width)")
        h, w = (float(v) for v in image_hw)
        if not (h > 0 and w > 0):
            raise BoxFormatError(f"image_hw must be positive (height, width); got {tuple(image_hw)}")
        scale = np.array([w, h, w, h]) if src.normalized else np.array([1 / w, 1 / h, 1 / w, 1 / h])
    else:
        scale = None
    if src.layout != dst.layout:
        a = _from_xyxy(_to_xyxy(a, src.layout), dst.layout)
    if scale is not None:
        a *= scale
    return a.astype(out_dtype, copy=False)


def box_area(boxes_xyxy: ArrayLike) -> FloatArray:
    """Area of (N, 4) xyxy boxes: ``(x_max - x_min) * (y_max - y_min)``, no +1; float64 (N,)."""
    a = as_box_array(boxes_xyxy, "boxes_xyxy").astype(np.float64, copy=False)
    return (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])


def clip_boxes(boxes_xyxy: BoxArray, image_hw: tuple[float, float]) -> np.ndarray:
    """Clip (N, 4) absolute xyxy boxes to ``[0, width] x [0, height]``; returns a new array.

    Boxes fully outside become zero-size boxes on the border; use ``box_area(...) > 0`` to drop them.
    """
    arr = as_box_array(boxes_xyxy, "boxes_xyxy")
    h, w = image_hw
    out = arr.astype(_float_dtype(arr), copy=True)
    np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
    np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
    return out
