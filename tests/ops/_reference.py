"""Brute-force references for odkit.ops, written independently: plain Python floats and loops, no numpy.

Each function follows the textbook definition one pair of boxes at a time. The IoU uses the same float64
operation order as any straightforward implementation (``inter = iw * ih``, ``union = a1 + a2 - inter``), so
greedy NMS decisions can be compared index for index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Box = Sequence[float]


def _wh(box: Box) -> tuple[float, float]:
    return box[2] - box[0], box[3] - box[1]


def _inter(a: Box, b: Box) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    return max(iw, 0.0) * max(ih, 0.0)


def _area(box: Box) -> float:
    w, h = _wh(box)
    return w * h


def iou(a: Box, b: Box) -> float:
    inter = _inter(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def ioa(a: Box, b: Box) -> float:
    area_a = _area(a)
    return _inter(a, b) / area_a if area_a > 0 else 0.0


def giou(a: Box, b: Box) -> float:
    inter = _inter(a, b)
    union = _area(a) + _area(b) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    penalty = (hull - union) / hull if hull > 0 else 0.0
    return iou(a, b) - penalty


def _center_term(a: Box, b: Box) -> float:
    """Squared centre distance over the squared diagonal of the enclosing box (0 when that is 0)."""
    d2 = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + ((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) ** 2
    c2 = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
    return d2 / c2 if c2 > 0 else 0.0


def diou(a: Box, b: Box) -> float:
    return iou(a, b) - _center_term(a, b)


def _aspect_angle(box: Box) -> float:
    """atan(w / h), continued to h == 0 (pi / 2 for a flat box, 0 for a point)."""
    w, h = _wh(box)
    if h > 0:
        return math.atan(w / h)
    return math.pi / 2 if w > 0 else 0.0


def ciou(a: Box, b: Box) -> float:
    v = 4 / math.pi**2 * (_aspect_angle(b) - _aspect_angle(a)) ** 2
    i = iou(a, b)
    alpha = v / (1 - i + v) if (1 - i + v) > 0 else 0.0
    return diou(a, b) - alpha * v


def pairwise(fn, boxes1: Sequence[Box], boxes2: Sequence[Box]) -> list[list[float]]:
    return [[fn(a, b) for b in boxes2] for a in boxes1]


def aligned(fn, boxes1: Sequence[Box], boxes2: Sequence[Box]) -> list[float]:
    return [fn(a, b) for a, b in zip(boxes1, boxes2)]


def by_score(scores: Sequence[float], score_threshold: float | None = None) -> list[int]:
    """Indices by descending score, ties in input order (Python's sort is stable)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    if score_threshold is not None:
        order = [i for i in order if scores[i] >= score_threshold]
    return order


def nms(
    boxes: Sequence[Box],
    scores: Sequence[float],
    iou_threshold: float,
    score_threshold: float | None = None,
    max_det: int | None = None,
) -> list[int]:
    """Greedy NMS as taught: keep the best, remove all at or over the threshold with it, repeat."""
    remaining = by_score(scores, score_threshold)
    keep: list[int] = []
    while remaining and (max_det is None or len(keep) < max_det):
        best, rest = remaining[0], remaining[1:]
        keep.append(best)
        remaining = [j for j in rest if iou(boxes[best], boxes[j]) < iou_threshold]
    return keep


def batched_nms(
    boxes: Sequence[Box],
    scores: Sequence[float],
    class_ids: Sequence[int],
    iou_threshold: float,
    score_threshold: float | None = None,
    max_det: int | None = None,
) -> list[int]:
    """NMS separately per class, then all kept boxes by descending score (ties: input order)."""
    kept: list[int] = []
    for c in sorted(set(class_ids)):
        members = [i for i in range(len(scores)) if class_ids[i] == c]
        sub = nms([boxes[i] for i in members], [scores[i] for i in members], iou_threshold, score_threshold)
        kept.extend(members[k] for k in sub)
    kept.sort(key=lambda i: (-scores[i], i))
    return kept if max_det is None else kept[:max_det]


def soft_nms(
    boxes: Sequence[Box],
    scores: Sequence[float],
    iou_threshold: float,
    sigma: float,
    method: str,
    score_threshold: float,
    max_det: int | None = None,
) -> tuple[list[int], list[float]]:
    """Soft-NMS (Bodla et al. 2017): pick the current best, decay the others, drop those under the floor.

    Ties in the current score go to the box that came first by original score (then input order).
    """
    alive = by_score(scores, score_threshold)
    current = {i: float(scores[i]) for i in alive}
    keep: list[int] = []
    kept_scores: list[float] = []
    while alive and (max_det is None or len(keep) < max_det):
        best = max(alive, key=lambda i: current[i])  # max() returns the first of equal maxima
        keep.append(best)
        kept_scores.append(current[best])
        alive = [i for i in alive if i != best]
        for i in alive:
            o = iou(boxes[best], boxes[i])
            if method == "linear":
                if o >= iou_threshold:
                    current[i] *= 1 - o
            else:
                current[i] *= math.exp(-(o * o) / sigma)
        alive = [i for i in alive if current[i] >= score_threshold]
    return keep, kept_scores


def iou_plus_one(a: Box, b: Box) -> float:
    """VOC devkit's IoU of integer-pixel boxes: every width and height counts ``x2 - x1 + 1`` pixels."""
    iw = max(min(a[2], b[2]) - max(a[0], b[0]) + 1.0, 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]) + 1.0, 0.0)
    inter = iw * ih
    union = (a[2] - a[0] + 1.0) * (a[3] - a[1] + 1.0) + (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0) - inter
    return inter / union if union > 0 else 0.0


def coco_bbiou(dt_xywh: Box, gt_xywh: Box, crowd: bool) -> float:
    """pycocotools' C ``bbIou`` for one detection and one ground truth, line by line (``maskApi.c``)."""
    da = dt_xywh[2] * dt_xywh[3]
    ga = gt_xywh[2] * gt_xywh[3]
    w = min(dt_xywh[2] + dt_xywh[0], gt_xywh[2] + gt_xywh[0]) - max(dt_xywh[0], gt_xywh[0])
    if w <= 0:
        return 0.0
    h = min(dt_xywh[3] + dt_xywh[1], gt_xywh[3] + gt_xywh[1]) - max(dt_xywh[1], gt_xywh[1])
    if h <= 0:
        return 0.0
    i = w * h
    u = da if crowd else da + ga - i
    return i / u
