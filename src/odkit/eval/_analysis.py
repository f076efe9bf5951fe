"""Why is AP low: F1 against confidence, a confusion matrix, and a TIDE-style error breakdown.

Everything is plain data (dicts of numpy arrays and floats) that a report can draw. All three reuse the
COCO match (:func:`~odkit.eval._cocoeval.match_coco`) at one IoU threshold, area "all" and the largest
``max_dets``, so a "true positive" here is exactly one that COCO AP at that threshold counts.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from odkit.eval._cocoeval import _accumulate_all, _recall_steps, match_coco, mean_defined
from odkit.eval._flat import FlatData
from odkit.eval._match import candidate_pairs, greedy_match
from odkit.eval._params import COCOParams

__all__ = ["class_ap", "confusion_matrix", "error_breakdown", "f1_confidence"]

ERROR_TYPES = ("classification", "localization", "both", "duplicate", "background", "missed")


def _single(params: COCOParams, iou_threshold: float) -> COCOParams:
    return COCOParams(
        iou_thresholds=[iou_threshold],
        rec_thresholds=params.rec_thresholds,
        max_dets=(params.max_dets[-1],),
        area_ranges={"all": params.area_ranges["all"]},
    )


def class_ap(
    det_class: np.ndarray,
    score: np.ndarray,
    tp: np.ndarray,
    fp: np.ndarray,
    n_gt: np.ndarray,
    rec_thresholds: np.ndarray,
) -> np.ndarray:
    """COCO-interpolated AP per class from per-detection flags (one IoU threshold).

    Args:
        det_class: (N,) int64 class index; ties in score keep the given order.
        score: (N,) float64.
        tp: (N,) bool true positives.
        fp: (N,) bool false positives (a detection that is neither is ignored).
        n_gt: (K,) int64 GT per class.
        rec_thresholds: (R,) recall thresholds.

    Returns:
        (K,) float64 AP; NaN where ``n_gt`` is 0.
    """
    n_cls = n_gt.shape[0]
    order = np.lexsort((-score, det_class))
    n_gt_ka = np.asarray(n_gt, dtype=np.int64).reshape(n_cls, 1)
    steps = np.zeros((n_cls, 1, rec_thresholds.shape[0]), dtype=np.int64)
    for k in np.flatnonzero(n_gt_ka[:, 0] > 0):
        steps[k] = _recall_steps(n_gt_ka[k], rec_thresholds)
    n = order.shape[0]
    precision, _, _ = _accumulate_all(
        tp[order][None, :],
        fp[order][None, :],
        np.zeros((1, n), dtype=bool),
        np.ones(n, dtype=bool),
        det_class[order],
        score[order],
        n_gt_ka,
        steps,
        1,
    )
    return np.where(n_gt_ka[:, 0] > 0, precision[0, 0].mean(axis=1), np.nan)


def f1_confidence(
    flat: FlatData,
    class_ids: list[Hashable],
    params: COCOParams,
    iou_threshold: float = 0.5,
    confidences: np.ndarray | None = None,
) -> dict[str, Any]:
    """Precision, recall and F1 against the confidence threshold, per class, and the best threshold.

    A detection is kept when ``score >= c``. The best threshold is searched over the detections' own
    scores (exact), the curves are sampled at ``confidences``.

    Returns:
        ``{"confidence": (C,), "per_class": {class_id: {"precision", "recall", "f1": (C,) arrays,
        "best_threshold", "best_f1", "best_precision", "best_recall": floats (NaN without GT)}}}``.
    """
    grid = np.linspace(0.0, 1.0, 101) if confidences is None else np.asarray(confidences, dtype=np.float64)
    state = match_coco(flat, _single(params, iou_threshold))
    tp_all, fp_all = state.tp()[0, 0], state.fp()[0, 0]
    n_gt = np.bincount(flat.gt_class[~state.gt_ignore[0]], minlength=flat.n_classes)
    order = np.lexsort((-state.det_score, state.det_class))
    starts = np.searchsorted(state.det_class[order], np.arange(flat.n_classes + 1), side="left")
    per_class: dict[Hashable, dict[str, Any]] = {}
    for k, cid in enumerate(class_ids):
        idx = order[starts[k] : starts[k + 1]]
        score = state.det_score[idx]
        tp = np.cumsum(tp_all[idx], dtype=np.float64)
        fp = np.cumsum(fp_all[idx], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            rec = tp / n_gt[k] if n_gt[k] > 0 else np.full_like(tp, np.nan)
            f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
        # a threshold keeps every tied score: evaluate at the last detection of each run of equal scores
        last = np.flatnonzero(np.r_[score[1:] != score[:-1], True]) if score.size else np.zeros(0, np.int64)
        kept = np.searchsorted(-score, -grid, side="right")  # detections with score >= c
        at = np.maximum(kept - 1, 0)

        def sample(v: np.ndarray, at: np.ndarray = at, kept: np.ndarray = kept) -> np.ndarray:
            return np.where(kept > 0, v[at], 0.0) if v.size else np.zeros(grid.shape)

        entry: dict[str, Any] = {"precision": sample(prec), "recall": sample(rec), "f1": sample(f1)}
        if n_gt[k] > 0 and last.size:
            b = last[int(np.argmax(f1[last]))]
            entry.update(
                best_threshold=float(score[b]),
                best_f1=float(f1[b]),
                best_precision=float(prec[b]),
                best_recall=float(rec[b]),
            )
        else:  # no GT: nothing is defined; GT but no detection: F1 is 0 at any threshold
            none = 0.0 if n_gt[k] > 0 else float("nan")
            entry.update(best_threshold=float("nan"), best_f1=none, best_precision=none, best_recall=none)
        per_class[cid] = entry
    return {"confidence": grid, "iou_threshold": iou_threshold, "per_class": per_class}


def confusion_matrix(
    flat: FlatData, class_ids: list[Hashable], iou_threshold: float = 0.5, score_threshold: float = 0.25
) -> dict[str, Any]:
    """Class-agnostic confusion matrix with a background row and column.

    Detections with ``score >= score_threshold`` are matched per image, greedily by score, to the
    unmatched GT of any class with the highest IoU >= ``iou_threshold`` (COCO rules, crowd regions
    absorb detections and are not counted).

    Returns:
        ``{"matrix": (K+1, K+1) int64, "labels": class ids + ["background"], ...}``; rows are the true
        class (last row: background, i.e. false detections), columns the predicted class (last column:
        background, i.e. missed GTs).
    """
    n_cls = flat.n_classes
    keep = np.flatnonzero(flat.det_score >= score_threshold)
    order = keep[np.lexsort((-flat.det_score[keep], flat.det_image[keep]))]
    d_img = flat.det_image[order]
    g_order = np.argsort(flat.gt_image, kind="stable")
    crowd = flat.gt_crowd[g_order]
    pairs = candidate_pairs(
        d_img,
        flat.det_xyxy[order],
        flat.det_area[order],
        flat.gt_image[g_order],
        flat.gt_xyxy[g_order],
        flat.gt_box_area[g_order],
        crowd,
        min(iou_threshold, 1 - 1e-10),
    )
    cand, m = greedy_match(pairs, d_img, np.array([min(iou_threshold, 1 - 1e-10)]), crowd[None, :], crowd)
    match = np.full(order.size, -1, dtype=np.int64)
    match[cand] = m[0, 0]
    matrix = np.zeros((n_cls + 1, n_cls + 1), dtype=np.int64)
    det_cls = flat.det_class[order]
    hit = match >= 0
    real = hit.copy()
    real[hit] = ~crowd[match[hit]]
    gt_cls_sorted = flat.gt_class[g_order]
    np.add.at(matrix, (gt_cls_sorted[match[real]], det_cls[real]), 1)
    np.add.at(matrix, (np.full(int((~hit).sum()), n_cls), det_cls[~hit]), 1)
    used = np.zeros(g_order.size, dtype=bool)
    used[match[real]] = True
    missed = ~used & ~crowd
    np.add.at(matrix, (gt_cls_sorted[missed], np.full(int(missed.sum()), n_cls)), 1)
    return {
        "matrix": matrix,
        "labels": [*class_ids, "background"],
        "iou_threshold": iou_threshold,
        "score_threshold": score_threshold,
    }


def _best_per_det(
    n: int, p_det: np.ndarray, p_gt: np.ndarray, p_iou: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Max IoU (0 when none) and its GT (-1) per detection over the pairs where ``mask``."""
    best = np.zeros(n)
    arg = np.full(n, -1, dtype=np.int64)
    d, g, v = p_det[mask], p_gt[mask], p_iou[mask]
    if d.size:
        o = np.lexsort((v, d))  # by detection, then IoU ascending: the last of each run is the max
        last = np.r_[d[o][1:] != d[o][:-1], True]
        best[d[o][last]] = v[o][last]
        arg[d[o][last]] = g[o][last]
    return best, arg


def error_breakdown(
    flat: FlatData, class_ids: list[Hashable], params: COCOParams, fg_iou: float = 0.5, bg_iou: float = 0.1
) -> dict[str, Any]:
    """TIDE-style error breakdown: how many AP points each error type costs.

    Every false positive (COCO match at ``fg_iou``, area "all") gets one type, tested in TIDE's order:
    *localization* (best same-class IoU in [bg_iou, fg_iou)), *classification* (another class's GT with
    IoU >= fg_iou), *duplicate* (same-class IoU >= fg_iou, that GT already taken), *background* (every IoU
    <= bg_iou), else *both* (another class in [bg_iou, fg_iou)). A non-crowd GT that no detection matches
    and no classification/localization error points at is *missed*. Each type is fixed alone with
    TIDE's oracle (classification/localization errors become true positives of their GT when it is
    free, else are removed; the others are removed; missed GTs are dropped from the GT count) and the
    gain in AP at ``fg_iou`` is its cost (``delta_ap``, in [0, 1]; x100 for "points").

    Returns:
        ``{"ap": base AP, "counts": {type: int}, "delta_ap": {type: float}, "per_class_delta_ap":
        {type: (K,) array}}``.
    """
    p1 = _single(params, fg_iou)
    state = match_coco(flat, p1)
    n_cls = flat.n_classes
    n = state.det_index.size
    tp, fp = state.tp()[0, 0], state.fp()[0, 0]
    n_gt = np.bincount(flat.gt_class[~state.gt_ignore[0]], minlength=n_cls)[:n_cls]
    base = class_ap(state.det_class, state.det_score, tp, fp, n_gt, p1.rec_thresholds)

    # all (detection, non-crowd GT) pairs of the same image with IoU >= bg_iou, any class
    g_order = np.argsort(flat.gt_image, kind="stable")
    d_img = state.det_image
    o = np.argsort(d_img, kind="stable")
    gxyxy = flat.gt_xyxy[g_order]
    no_crowd = np.zeros(g_order.size, dtype=bool)
    pairs = candidate_pairs(
        d_img[o],
        flat.det_xyxy[state.det_index[o]],
        flat.det_area[state.det_index[o]],
        flat.gt_image[g_order],
        gxyxy,
        flat.gt_box_area[g_order],
        no_crowd,
        bg_iou,
    )
    p_det, p_gt, p_iou = o[pairs.det], g_order[pairs.gt], pairs.iou
    keep = ~flat.gt_crowd[p_gt]
    p_det, p_gt, p_iou = p_det[keep], p_gt[keep], p_iou[keep]
    same = flat.gt_class[p_gt] == state.det_class[p_det]
    same_iou, same_gt = _best_per_det(n, p_det, p_gt, p_iou, same)
    other_iou, other_gt = _best_per_det(n, p_det, p_gt, p_iou, ~same)
    any_iou = np.maximum(same_iou, other_iou)

    kind = np.full(n, "", dtype=object)
    loc = fp & (same_gt >= 0) & (same_iou >= bg_iou) & (same_iou < fg_iou)
    cls = fp & ~loc & (other_iou >= fg_iou)
    dup = fp & ~loc & ~cls & (same_iou >= fg_iou)
    bkg = fp & ~loc & ~cls & ~dup & (any_iou <= bg_iou)
    both = fp & ~loc & ~cls & ~dup & ~bkg
    for name, mask in (
        ("localization", loc),
        ("classification", cls),
        ("duplicate", dup),
        ("background", bkg),
        ("both", both),
    ):
        kind[mask] = name
    gt_used = np.zeros(flat.n_gt, dtype=bool)
    m = state.match()[0, 0]
    gt_used[m[tp]] = True
    covered = gt_used.copy()
    covered[same_gt[loc]] = True
    covered[other_gt[cls]] = True
    missed = ~covered & ~state.gt_ignore[0]

    def fixed_ap(name: str) -> np.ndarray:
        t, f, c, g = tp.copy(), fp.copy(), state.det_class.copy(), n_gt.copy()
        if name == "missed":
            g = g - np.bincount(flat.gt_class[missed], minlength=n_cls)[:n_cls]
        elif name in ("classification", "localization"):
            mask = cls if name == "classification" else loc
            target = other_gt if name == "classification" else same_gt
            taken = gt_used.copy()
            for i in np.flatnonzero(mask)[np.argsort(-state.det_score[mask], kind="stable")]:
                f[i] = False
                if not taken[target[i]]:
                    taken[target[i]] = True
                    t[i] = True
                    c[i] = flat.gt_class[target[i]]
        else:
            f[kind == name] = False
        return class_ap(c, state.det_score, t, f, g, p1.rec_thresholds)

    base_map = mean_defined(base)
    delta, per_class, counts = {}, {}, {}
    for name in ERROR_TYPES:
        ap = fixed_ap(name)
        per_class[name] = np.where(np.isnan(base), np.nan, ap - base)
        delta[name] = mean_defined(ap) - base_map
        counts[name] = int(missed.sum()) if name == "missed" else int((kind == name).sum())
    return {
        "ap": base_map,
        "iou_threshold": fg_iou,
        "background_iou": bg_iou,
        "counts": counts,
        "delta_ap": delta,
        "per_class_delta_ap": per_class,
        "class_ids": list(class_ids),
    }
