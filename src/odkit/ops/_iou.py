"""IoU family on absolute xyxy boxes: IoU, GIoU, DIoU, CIoU and IoA, pairwise (N, M) or aligned (N,).

All math is float64. A zero union (or zero area for IoA) gives 0, never NaN; no epsilon is added.
Intersections, unions and the IoU division are the one kernel of ``odkit.ops._overlap``.
"""

from __future__ import annotations

import numpy as np

from odkit._typing import ArrayLike, FloatArray
from odkit.boxes import validate_boxes
from odkit.errors import BoxFormatError
from odkit.ops._overlap import box_columns, divide_overlap, overlap, pair_iou


def _prepare(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, aligned: bool) -> tuple[np.ndarray, np.ndarray]:
    a = validate_boxes(boxes1_xyxy, "xyxy", "boxes1_xyxy").astype(np.float64, copy=False)
    b = validate_boxes(boxes2_xyxy, "xyxy", "boxes2_xyxy").astype(np.float64, copy=False)
    if aligned:
        if a.shape != b.shape:
            raise BoxFormatError(f"aligned boxes must have the same shape; got {a.shape} and {b.shape}")
        return a, b
    return a[:, None, :], b[None, :, :]  # (N, 1, 4), (1, M, 4): broadcasting gives (N, M)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, with 0 where den == 0 (the GIoU/DIoU/CIoU penalty terms)."""
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _inter_union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return overlap(box_columns(a), box_columns(b))


_BLOCK_ELEMENTS = 1 << 16  # elements per temporary row block (512 KiB): keeps the work in cache


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of float64 (N, 4) and (M, 4) boxes: the kernel on cache-sized row blocks."""
    n, m = a.shape[0], b.shape[0]
    out = np.empty((n, m), dtype=np.float64)
    if n == 0 or m == 0:
        return out
    cols_a, cols_b = box_columns(a), box_columns(b)
    rows = max(1, min(n, _BLOCK_ELEMENTS // m))
    for start in range(0, n, rows):
        blk = slice(start, min(start + rows, n))
        pair_iou(cols_a[:, blk, None], cols_b[:, None, :], out=out[blk])
    return out


def box_iou(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, *, aligned: bool = False) -> FloatArray:
    """Intersection over union.

    Args:
        boxes1_xyxy: (N, 4) absolute xyxy boxes, ``x_min <= x_max``, ``y_min <= y_max``.
        boxes2_xyxy: (M, 4) absolute xyxy boxes (M == N when ``aligned``).
        aligned: if True, IoU of each row pair (N,) instead of the (N, M) matrix.

    Returns:
        (N, M) or (N,) float64 in [0, 1]; 0 where the union is 0.
    """
    a, b = _prepare(boxes1_xyxy, boxes2_xyxy, aligned)
    if not aligned:
        return _iou_matrix(a[:, 0, :], b[0])
    return pair_iou(box_columns(a), box_columns(b))


def box_ioa(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, *, aligned: bool = False) -> FloatArray:
    """Intersection over the area of the first box (COCO's IoU against crowd regions).

    Returns:
        (N, M) or (N,) float64 ``inter(a, b) / area(a)`` in [0, 1]; 0 where ``area(a)`` is 0.
    """
    a, b = _prepare(boxes1_xyxy, boxes2_xyxy, aligned)
    return pair_iou(box_columns(a), box_columns(b), over_a=True)


def _enclosing_and_centers(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enclosing box width, height and squared centre distance."""
    cw = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    ch = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    dx = (a[..., 0] + a[..., 2] - b[..., 0] - b[..., 2]) / 2
    dy = (a[..., 1] + a[..., 3] - b[..., 1] - b[..., 3]) / 2
    return cw, ch, dx * dx + dy * dy


def _safe_penalties(a: np.ndarray, b: np.ndarray, union: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GIoU's ``(C - U) / C`` and DIoU's ``d^2 / c^2`` for boxes so far apart that ``C``, ``c^2`` or ``d^2``
    overflow float64 (the plain formulas then give inf / inf = NaN). Both are ratios, so they are computed
    on halved lengths (which cannot overflow) divided by the larger enclosing half side."""
    cw = np.maximum(a[..., 2], b[..., 2]) / 2 - np.minimum(a[..., 0], b[..., 0]) / 2
    ch = np.maximum(a[..., 3], b[..., 3]) / 2 - np.minimum(a[..., 1], b[..., 1]) / 2
    dx = (a[..., 0] / 2 - b[..., 0] / 2) / 2 + (a[..., 2] / 2 - b[..., 2] / 2) / 2
    dy = (a[..., 1] / 2 - b[..., 1] / 2) / 2 + (a[..., 3] / 2 - b[..., 3] / 2) / 2
    side = np.maximum(cw, ch)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        u_over_c = np.where((cw > 0) & (ch > 0), ((union / 4) / np.where(cw > 0, cw, 1)) / np.where(ch > 0, ch, 1), 1)
        giou_penalty = 1 - np.minimum(u_over_c, 1.0)
        scale = np.where(side > 0, side, 1.0)
        diou_penalty = np.where(
            side > 0, ((dx / scale) ** 2 + (dy / scale) ** 2) / ((cw / scale) ** 2 + (ch / scale) ** 2), 0.0
        )
    return giou_penalty, diou_penalty


def generalized_box_iou(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, *, aligned: bool = False) -> FloatArray:
    """GIoU = IoU - (C - U) / C, with C the enclosing box area (Rezatofighi et al. 2019).

    Returns:
        (N, M) or (N,) float64 in [-1, 1]; the penalty term is 0 where C is 0.
    """
    a, b = _prepare(boxes1_xyxy, boxes2_xyxy, aligned)
    inter, union = _inter_union(a, b)
    iou = divide_overlap(inter, union)
    with np.errstate(over="ignore", invalid="ignore"):
        cw, ch, _ = _enclosing_and_centers(a, b)
        enclosing = cw * ch
        penalty = _safe_divide(enclosing - union, enclosing)
    if not np.isfinite(enclosing).all():  # boxes far apart at huge coordinates: C overflows
        penalty = np.where(np.isfinite(enclosing), penalty, _safe_penalties(a, b, union)[0])
    return iou - penalty


def distance_box_iou(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, *, aligned: bool = False) -> FloatArray:
    """DIoU = IoU - d^2 / c^2: d the centre distance, c the enclosing box diagonal (Zheng et al. 2020).

    Returns:
        (N, M) or (N,) float64 in [-1, 1]; the penalty term is 0 where c is 0.
    """
    a, b = _prepare(boxes1_xyxy, boxes2_xyxy, aligned)
    inter, union = _inter_union(a, b)
    return divide_overlap(inter, union) - _diou_penalty(a, b, union)


def _diou_penalty(a: np.ndarray, b: np.ndarray, union: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        cw, ch, dist2 = _enclosing_and_centers(a, b)
        diag2 = cw * cw + ch * ch
        penalty = _safe_divide(dist2, diag2)
    if not (np.isfinite(diag2).all() and np.isfinite(dist2).all()):  # huge coordinates: squares overflow
        ok = np.isfinite(diag2) & np.isfinite(dist2)
        penalty = np.where(ok, penalty, _safe_penalties(a, b, union)[1])
    return penalty


def complete_box_iou(boxes1_xyxy: ArrayLike, boxes2_xyxy: ArrayLike, *, aligned: bool = False) -> FloatArray:
    """CIoU = DIoU - alpha * v, v measuring aspect-ratio consistency (Zheng et al. 2020).

    ``v = 4 / pi^2 * (atan(w2 / h2) - atan(w1 / h1))^2`` (with ``atan2`` so zero heights are defined) and
    ``alpha = v / (1 - IoU + v)`` (0 where that is 0).

    Returns:
        (N, M) or (N,) float64 in [-1.5, 1].
    """
    a, b = _prepare(boxes1_xyxy, boxes2_xyxy, aligned)
    inter, union = _inter_union(a, b)
    iou = divide_overlap(inter, union)
    diou = iou - _diou_penalty(a, b, union)
    ang_a = np.arctan2(a[..., 2] - a[..., 0], a[..., 3] - a[..., 1])
    ang_b = np.arctan2(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])
    v = (4 / np.pi**2) * (ang_b - ang_a) ** 2
    alpha = _safe_divide(v, 1 - iou + v)
    return diou - alpha * v
