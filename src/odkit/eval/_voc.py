"""PASCAL VOC AP: the VOC2007 11-point and the VOC2010+ all-point AP per class, at one IoU threshold.

Matching follows the VOC devkit (``voc_eval.py``): per class, detections over all images in descending
score order (stable sort here; the devkit's quicksort is not stable); each takes the GT of its image and
class with the highest IoU (the first on ties); above the threshold (strictly, ``ovmax > t``) it is a true
positive if that GT is not ``difficult`` and not yet taken, a false positive if already taken, and ignored
if the GT is difficult; otherwise a false positive. Crowd GTs count as difficult. ``npos`` counts the
non-difficult GTs; precision is ``tp / max(tp + fp, eps)``.

``plus_one=True`` reproduces the devkit / Object-Detection-Metrics convention for integer pixel boxes
(``w = x_max - x_min + 1``, the same for ``h``, for areas and intersections); odkit's own convention is
continuous coordinates without it (STYLE.md), so the default is ``plus_one=False``. On integer boxes the
two differ by up to a few AP points, so name the one you report.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from odkit.eval._cocoeval import mean_defined
from odkit.eval._flat import FlatData
from odkit.ops._overlap import box_columns, pair_iou

__all__ = ["VOCResult", "voc_ap", "voc_evaluate_flat"]

VOCMethod = Literal["11point", "all_point"]


def voc_ap(recall: np.ndarray, precision: np.ndarray, method: VOCMethod = "all_point") -> float:
    """AP of one precision/recall curve, as the VOC devkit's ``voc_ap``.

    Args:
        recall: (n,) recall after each detection (non-decreasing).
        precision: (n,) precision after each detection.
        method: ``"11point"`` (VOC2007: mean of the max precision at recall >= 0, 0.1, ..., 1) or
            ``"all_point"`` (VOC2010+: area under the monotone precision envelope).

    Returns:
        AP in [0, 1].
    """
    rec = np.asarray(recall, dtype=np.float64)
    prec = np.asarray(precision, dtype=np.float64)
    if method == "11point":
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            above = rec >= t
            ap += (float(np.max(prec[above])) if above.any() else 0.0) / 11.0
        return ap
    if method != "all_point":
        raise ValueError(f"unknown VOC AP method {method!r}; expected '11point' or 'all_point'")
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


@dataclass(frozen=True, eq=False)
class VOCResult:
    """VOC AP per class.

    Attributes:
        ap: (K,) float64 AP per class; NaN for a class without non-difficult GT.
        map: mean of the defined ``ap`` values (NaN if none).
        class_ids: the K class ids.
        n_gt: (K,) int64 non-difficult GT per class.
        n_det: (K,) int64 detections per class.
        curves: per class, ``(recall, precision, scores)`` arrays after each detection in score order.
        iou_threshold: the IoU threshold (a match needs IoU > it).
        method: ``"11point"`` or ``"all_point"``.
        plus_one: whether the +1 pixel convention was used.
    """

    ap: np.ndarray
    map: float
    class_ids: tuple[Hashable, ...]
    n_gt: np.ndarray
    n_det: np.ndarray
    curves: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    iou_threshold: float
    method: str
    plus_one: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``mAP`` and per-class ``AP`` (NaN as None)."""
        return {
            "mAP": None if np.isnan(self.map) else self.map,
            "iou_threshold": self.iou_threshold,
            "method": self.method,
            "plus_one": self.plus_one,
            "per_class": [
                {"class_id": c, "AP": None if np.isnan(a) else float(a), "n_gt": int(g), "n_det": int(d)}
                for c, a, g, d in zip(self.class_ids, self.ap, self.n_gt, self.n_det)
            ],
        }


def voc_evaluate_flat(
    flat: FlatData,
    class_ids: list[Hashable],
    iou_threshold: float = 0.5,
    method: VOCMethod = "all_point",
    plus_one: bool = False,
) -> VOCResult:
    """VOC AP per class on flat arrays (see the module docstring for the rules)."""
    if method not in ("11point", "all_point"):
        raise ValueError(f"unknown VOC AP method {method!r}; expected '11point' or 'all_point'")
    n_img = max(flat.n_images, 1)
    n_cls = flat.n_classes
    # detections by class then descending score (stable): the devkit's processing order
    order = np.lexsort((-flat.det_score, flat.det_class))
    d_key = flat.det_class * n_img + flat.det_image
    g_key = flat.gt_class * n_img + flat.gt_image
    g_order = np.argsort(g_key, kind="stable")
    g_key_sorted = g_key[g_order]
    start = np.searchsorted(g_key_sorted, d_key[order], side="left")
    count = np.searchsorted(g_key_sorted, d_key[order], side="right") - start
    p_det = np.repeat(np.arange(order.size), count)  # position in `order`
    p_gt = g_order[start[p_det] + np.arange(p_det.size) - np.repeat(np.cumsum(count) - count, count)]
    det_cols = box_columns(flat.det_xyxy[order[p_det]], plus_one=plus_one)
    iou = pair_iou(det_cols, box_columns(flat.gt_xyxy[p_gt], plus_one=plus_one), plus_one=plus_one)
    has = count > 0
    ovmax = np.full(order.size, -np.inf)
    jmax = np.full(order.size, -1, dtype=np.int64)
    if p_det.size:
        seg = np.flatnonzero(np.r_[True, p_det[1:] != p_det[:-1]])
        best = np.maximum.reduceat(iou, seg)
        dets_with = p_det[seg]
        ovmax[dets_with] = best
        # first GT reaching the max (np.argmax semantics); pairs are in GT file order within the image
        local = np.arange(p_det.size)
        first = np.minimum.reduceat(
            np.where(iou == np.repeat(best, np.diff(np.r_[seg, p_det.size])), local, p_det.size), seg
        )
        jmax[dets_with] = p_gt[first]
    difficult = flat.gt_difficult | flat.gt_crowd
    hit = has & (ovmax > iou_threshold)
    # `hit` implies a GT in the image, so jmax >= 0 wherever it is read; with no GT at all there is nothing
    # to index (and nothing is hit)
    hit_difficult = hit & difficult[np.maximum(jmax, 0)] if difficult.size else np.zeros_like(hit)
    claim = hit & ~hit_difficult
    tp = np.zeros(order.size, dtype=bool)
    claimed = np.flatnonzero(claim)
    _, first_claim = np.unique(jmax[claimed], return_index=True)
    tp[claimed[first_claim]] = True
    fp = ~tp & ~hit_difficult

    n_gt = np.bincount(flat.gt_class[~difficult], minlength=n_cls)[:n_cls].astype(np.int64)
    cls_sorted = flat.det_class[order]
    n_det = np.bincount(cls_sorted, minlength=n_cls)[:n_cls].astype(np.int64)
    bounds = np.searchsorted(cls_sorted, np.arange(n_cls + 1), side="left")
    ap = np.full(n_cls, np.nan)
    curves = []
    score_sorted = flat.det_score[order]
    for k in range(n_cls):
        s, e = bounds[k], bounds[k + 1]
        tp_c = np.cumsum(tp[s:e], dtype=np.float64)
        fp_c = np.cumsum(fp[s:e], dtype=np.float64)
        rec = tp_c / n_gt[k] if n_gt[k] > 0 else np.zeros_like(tp_c)
        prec = tp_c / np.maximum(tp_c + fp_c, np.finfo(np.float64).eps)
        curves.append((rec, prec, score_sorted[s:e].copy()))
        if n_gt[k] > 0:
            ap[k] = voc_ap(rec, prec, method)
    return VOCResult(
        ap=ap,
        map=mean_defined(ap),
        class_ids=tuple(class_ids),
        n_gt=n_gt,
        n_det=n_det,
        curves=tuple(curves),
        iou_threshold=float(iou_threshold),
        method=method,
        plus_one=plus_one,
    )
