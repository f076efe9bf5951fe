"""Non-maximum suppression: greedy (as taught), class-aware, and soft NMS.

Rule of greedy NMS here: drop boxes whose score is under ``score_threshold``; sort by score (stable, so
ties keep input order); keep the top box; remove every other box whose IoU with it is **at or over**
``iou_threshold``; repeat. torchvision.ops.nms removes only boxes strictly over the threshold, so the two
differ exactly when an IoU equals the threshold (e.g. threshold 0.5 with boxes ``(0, 0, 2, 1)`` and
``(0, 0, 1, 1)``, or two equal boxes sharing 2/3 of their area: odkit keeps one, torchvision both); with
``iou_threshold=0`` this rule removes every other box, overlapping or not.

:func:`nms` and :func:`batched_nms` are exact: the same result as the plain loop, index for index (every
IoU is the kernel's, ``odkit.ops._overlap``). Up to a few thousand boxes they run the 64-bit-mask blocks
of ``odkit.ops._nms_blocks`` (one image's detections: fewest numpy calls); past that, the spatially
pruned kernel of ``odkit.ops._nms_kernel`` (pure numpy as well), except that class-aware NMS first tries
all candidate pairs at once (``odkit.ops._nms_pairs``: sparse scenes, many classes).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from odkit._typing import ArrayLike, FloatArray, IndexArray
from odkit.boxes import validate_boxes
from odkit.boxes._convert import MAX_BOX_AREA
from odkit.errors import BoxFormatError
from odkit.ops._nms_blocks import MAX_BOXES, MIN_THRESHOLD, greedy_nms_blocks
from odkit.ops._nms_kernel import greedy_nms_sorted
from odkit.ops._nms_pairs import greedy_nms_pairs
from odkit.ops._overlap import box_columns, pair_iou


def _as_boxes(boxes_xyxy: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) float64 boxes and their (N,) areas ``w * h``, with the checks of ``validate_boxes``.

    Float input is checked with three reductions: a negative width or height, NaN or inf in any coordinate,
    or an area past ``MAX_BOX_AREA`` each make ``min(w) >= 0``, ``min(h) >= 0`` or ``max(area) <=
    MAX_BOX_AREA`` false (NaN propagates through min and max); only when that fails, or for other input,
    ``validate_boxes`` runs (and names the row).
    """
    arr = np.asarray(boxes_xyxy)
    if arr.ndim == 2 and arr.shape[1] == 4 and arr.shape[0] and arr.dtype.kind == "f":
        boxes = arr.astype(np.float64, copy=False)
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        with np.errstate(over="ignore", invalid="ignore"):
            area = w * h
            if w.min() >= 0 and h.min() >= 0 and area.max() <= MAX_BOX_AREA:
                return boxes, area
    boxes = validate_boxes(boxes_xyxy, "xyxy", "boxes_xyxy").astype(np.float64, copy=False)
    return boxes, (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _check_inputs(
    boxes_xyxy: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float,
    max_det: int | None,
    score_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 boxes, their areas and float64 scores, or the error that names what is wrong."""
    boxes, area = _as_boxes(boxes_xyxy)
    sc = np.asarray(scores)
    if sc.shape != (boxes.shape[0],):
        raise BoxFormatError(f"scores must have shape ({boxes.shape[0]},) to match boxes_xyxy; got {sc.shape}")
    if sc.dtype.kind not in "iuf":
        raise BoxFormatError(f"scores must be real numbers; got dtype {sc.dtype}")
    sc = sc.astype(np.float64, copy=False)
    if not np.isfinite(sc).all():
        i = int(np.flatnonzero(~np.isfinite(sc))[0])
        raise BoxFormatError(f"scores[{i}] must be finite; got {float(sc[i])}")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1]; got {iou_threshold}")
    if score_threshold is not None and not np.isfinite(float(score_threshold)):
        # NaN would compare False with every score and silently drop them all
        raise ValueError(f"score_threshold must be a finite number or None; got {score_threshold}")
    if max_det is not None and int(max_det) < 0:
        raise ValueError(f"max_det must be >= 0 or None; got {max_det}")
    return boxes, area, sc


def _candidates(scores: np.ndarray, score_threshold: float | None) -> np.ndarray:
    """Indices with score >= score_threshold, by descending score, ties in input order."""
    idx = np.argsort(-scores, kind="stable")
    if score_threshold is not None:
        idx = idx[scores[idx] >= score_threshold]
    return idx


def _greedy(
    boxes: np.ndarray,
    area: np.ndarray,
    order: np.ndarray,
    iou_threshold: float,
    max_det: int | None,
    groups: np.ndarray | None = None,
) -> IndexArray:
    """Greedy NMS over ``boxes[order]`` (already sorted); returns kept entries of ``order``.

    ``groups`` (aligned with ``order``, small non-negative ints) makes it class-aware: boxes of different
    groups never suppress each other.
    """
    limit = order.size if max_det is None else min(int(max_det), order.size)
    if limit == 0:
        return np.zeros(0, dtype=np.int64)
    if iou_threshold <= 0.0:  # every IoU is >= 0: the top box of each group removes all others
        first = np.zeros(1, dtype=np.int64) if groups is None else np.sort(np.unique(groups, return_index=True)[1])
        return order[first[:limit]].astype(np.int64, copy=False)
    kept = None
    if iou_threshold >= MIN_THRESHOLD and (order.size <= MAX_BOXES or groups is not None):
        cols = np.empty((5, order.size))
        np.take(boxes.T, order, axis=1, out=cols[:4])
        np.take(area, order, out=cols[4])
        if order.size <= MAX_BOXES:
            kept = greedy_nms_blocks(cols, iou_threshold, limit, groups)
        else:  # many boxes over many classes: usually sparse
            kept = greedy_nms_pairs(cols, iou_threshold, limit, groups)
    if kept is None:
        block = int(np.clip(order.size // 16, 256, 1024))
        kept = greedy_nms_sorted(boxes[order], iou_threshold, limit, block, groups=groups)
    return order[kept].astype(np.int64, copy=False)


def nms(
    boxes_xyxy: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float,
    score_threshold: float | None = None,
    max_det: int | None = None,
) -> IndexArray:
    """Greedy non-maximum suppression (the rule in this module's docstring).

    Args:
        boxes_xyxy: (N, 4) absolute xyxy boxes.
        scores: (N,) confidences; ties broken by input order (stable sort).
        iou_threshold: a box whose IoU with a kept box is >= this is removed; in [0, 1].
        score_threshold: boxes with a score under this are dropped first; None keeps all.
        max_det: keep at most this many boxes (the highest-scoring); None for no limit.

    Returns:
        (K,) int64 indices into the inputs, by descending score.

    Raises:
        BoxFormatError: on shapes that disagree, NaN values, boxes with x_max < x_min or whose area
            overflows float64.
        ValueError: an ``iou_threshold`` outside [0, 1], a non-finite ``score_threshold`` (NaN would drop
            every box silently) or a negative ``max_det``.
    """
    boxes, area, sc = _check_inputs(boxes_xyxy, scores, iou_threshold, max_det, score_threshold)
    return _greedy(boxes, area, _candidates(sc, score_threshold), float(iou_threshold), max_det)


def batched_nms(
    boxes_xyxy: ArrayLike,
    scores: ArrayLike,
    class_ids: ArrayLike,
    iou_threshold: float,
    score_threshold: float | None = None,
    max_det: int | None = None,
) -> IndexArray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Args:
        boxes_xyxy: (N, 4) absolute xyxy boxes.
        scores: (N,) confidences.
        class_ids: (N,) integer class of each box.
        iou_threshold, score_threshold, max_det: as in :func:`nms`; ``max_det`` counts all classes.

    Returns:
        (K,) int64 indices into the inputs, by descending score (ties in input order).
    """
    boxes, area, sc = _check_inputs(boxes_xyxy, scores, iou_threshold, max_det, score_threshold)
    cls = np.asarray(class_ids)
    if cls.shape != sc.shape:
        raise BoxFormatError(f"class_ids must have shape {sc.shape} to match boxes_xyxy; got {cls.shape}")
    order = _candidates(sc, score_threshold)
    _, class_rank = np.unique(cls, return_inverse=True)
    return _greedy(boxes, area, order, float(iou_threshold), max_det, groups=class_rank.reshape(-1)[order])


def soft_nms(
    boxes_xyxy: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    method: Literal["linear", "gaussian"] = "gaussian",
    score_threshold: float = 0.001,
    max_det: int | None = None,
) -> tuple[IndexArray, FloatArray]:
    """Soft-NMS (Bodla et al. 2017): decay the scores of overlapping boxes instead of removing them.

    Repeatedly takes the box with the highest current score (ties: the higher original score, then input
    order), then multiplies every remaining score by ``1 - IoU`` where ``IoU >= iou_threshold`` ("linear")
    or by ``exp(-IoU^2 / sigma)`` ("gaussian", threshold unused); boxes whose score falls under
    ``score_threshold`` are dropped.

    Returns:
        (K,) int64 indices into the inputs in selection order (descending decayed score), and
        (K,) float64 decayed scores.
    """
    if method not in ("linear", "gaussian"):
        raise ValueError(f"method must be 'linear' or 'gaussian'; got {method!r}")
    if method == "gaussian" and not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    boxes, _, sc = _check_inputs(boxes_xyxy, scores, iou_threshold, max_det, score_threshold)
    order = _candidates(sc, score_threshold)
    cols = box_columns(boxes[order])
    cur = sc[order].copy()
    limit = order.size if max_det is None else min(int(max_det), order.size)
    keep: list[int] = []
    kept_scores: list[float] = []
    alive = np.arange(order.size)
    while alive.size and len(keep) < limit:
        j = int(np.argmax(cur[alive]))  # first maximum: ties go to the earlier (input-order) box
        top = alive[j]
        keep.append(int(order[top]))
        kept_scores.append(float(cur[top]))
        alive = np.delete(alive, j)
        if not alive.size:
            break
        iou = pair_iou(cols[:, alive], cols[:, top : top + 1])
        linear = np.where(iou >= iou_threshold, 1.0 - iou, 1.0)
        decay = linear if method == "linear" else np.exp(-(iou * iou) / sigma)
        cur[alive] *= decay
        alive = alive[cur[alive] >= score_threshold]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)
