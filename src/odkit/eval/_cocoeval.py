"""COCO bbox evaluation on flat arrays: pycocotools' ``evaluate`` + ``accumulate``, vectorized.

Equal to pycocotools to the last bit: the same IoU arithmetic, the same greedy match and tie-breaks, the
same float operations for recall and precision and the same sampling at the recall thresholds; only the
loops are replaced by array operations over all images and categories at once.

Undefined cells: pycocotools writes -1 where a (category, area range) has no non-ignored GT. odkit maps
that -1 to NaN here, in :func:`coco_evaluate` only, and every mean downstream skips NaN where pycocotools
skips -1 (the same elements in the same order, so the same bits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from odkit.eval._flat import FlatData
from odkit.eval._match import candidate_pairs, greedy_match, rank_in_group
from odkit.eval._params import COCOParams

__all__ = ["CocoArrays", "MatchState", "coco_evaluate", "match_coco", "mean_defined"]

_EPS = np.spacing(1)


@dataclass(frozen=True, eq=False)
class MatchState:
    """Per-detection outcome of the COCO match, detections in (class, image, -score) order.

    Attributes:
        det_index: (N',) int64 index into the FlatData detections, for those kept by the max_dets cut.
        det_class: (N',) int64 class index.
        det_image: (N',) int64 image index.
        det_score: (N',) float64 score.
        det_rank: (N',) int64 rank within its (image, class) by descending score (stable).
        match: (A, T, N') int64 matched GT index (into FlatData's GTs), -1 when unmatched.
        det_ignore: (A, T, N') bool, detection ignored (matched to an ignored GT, or unmatched and outside
            the area range).
        gt_ignore: (A, G) bool.
    """

    det_index: np.ndarray
    det_class: np.ndarray
    det_image: np.ndarray
    det_score: np.ndarray
    det_rank: np.ndarray
    match: np.ndarray
    det_ignore: np.ndarray
    gt_ignore: np.ndarray


@dataclass(frozen=True, eq=False)
class CocoArrays:
    """Accumulated COCO arrays; NaN where pycocotools has -1.

    Attributes:
        precision: (T, R, K, A, M) interpolated precision at each recall threshold.
        recall: (T, K, A, M) final recall.
        scores: (T, R, K, A, M) detection score where each recall threshold is reached (0 past the end).
        n_gt: (K, A) int64 non-ignored GT per class and area range.
        n_det: (K,) int64 detections per class kept by the largest max_dets cut.
        state: the per-detection match.
    """

    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    n_gt: np.ndarray
    n_det: np.ndarray
    state: MatchState


def match_coco(flat: FlatData, params: COCOParams) -> MatchState:
    """Sort, cut to ``max(max_dets)`` per (image, class) and match every detection (pycocotools ``evaluate``)."""
    n_img = max(flat.n_images, 1)
    order = np.lexsort((-flat.det_score, flat.det_image, flat.det_class))
    key = flat.det_class[order] * n_img + flat.det_image[order]
    rank = rank_in_group(key)
    keep = rank < params.max_dets[-1]
    order, key, rank = order[keep], key[keep], rank[keep]
    det_xyxy = flat.det_xyxy[order]
    det_area = flat.det_area[order]

    gt_key = flat.gt_class * n_img + flat.gt_image
    g_order = np.argsort(gt_key, kind="stable")
    pairs = candidate_pairs(
        key,
        det_xyxy,
        det_area,
        gt_key[g_order],
        flat.gt_xyxy[g_order],
        flat.gt_box_area[g_order],
        flat.gt_crowd[g_order],
        float(params.match_thresholds.min()),
    )
    bounds = params.area_bounds
    lo, hi = bounds[:, 0:1], bounds[:, 1:2]
    gt_area = flat.gt_area[g_order]
    gt_ignore_sorted = flat.gt_crowd[g_order][None, :] | (gt_area[None, :] < lo) | (gt_area[None, :] > hi)
    match_sorted = greedy_match(
        pairs, key, key.shape[0], params.match_thresholds, gt_ignore_sorted, flat.gt_crowd[g_order]
    )
    # back to the caller's GT indices
    gt_ignore = np.empty_like(gt_ignore_sorted)
    gt_ignore[:, g_order] = gt_ignore_sorted
    det_out = (det_area[None, :] < lo) | (det_area[None, :] > hi)  # (A, N')
    if flat.n_gt == 0:
        match = match_sorted
        det_ignore = np.broadcast_to(det_out[:, None, :], match.shape).copy()
    else:
        match = np.where(match_sorted >= 0, g_order[np.maximum(match_sorted, 0)], -1)
        a_idx = np.arange(bounds.shape[0])[:, None, None]
        det_ignore = np.where(match >= 0, gt_ignore[a_idx, np.maximum(match, 0)], det_out[:, None, :])
    return MatchState(
        det_index=order,
        det_class=flat.det_class[order],
        det_image=flat.det_image[order],
        det_score=flat.det_score[order],
        det_rank=rank,
        match=match,
        det_ignore=det_ignore,
        gt_ignore=gt_ignore,
    )


def _accumulate_class(
    tp: np.ndarray,
    fp: np.ndarray,
    score: np.ndarray,
    n_pos: np.ndarray,
    rec_thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision (A, T, R), recall (A, T) and scores (A, T, R) of one class, detections sorted by score.

    Args:
        tp: (A, T, n) bool true positives, in global score order.
        fp: (A, T, n) bool false positives.
        score: (n,) float64 sorted scores.
        n_pos: (A,) int64 non-ignored GT count (> 0 where the result is used).
        rec_thresholds: (R,) float64.
    """
    n_area, n_thr, n = tp.shape
    n_rec = rec_thresholds.shape[0]
    if n == 0:
        return np.zeros((n_area, n_thr, n_rec)), np.zeros((n_area, n_thr)), np.zeros((n_area, n_thr, n_rec))
    tp_sum = np.cumsum(tp, axis=2, dtype=np.float64)
    fp_sum = np.cumsum(fp, axis=2, dtype=np.float64)
    npig = np.maximum(n_pos, 1)[:, None, None]
    rc = tp_sum / npig
    pr = tp_sum / (fp_sum + tp_sum + _EPS)
    env = np.maximum.accumulate(pr[:, :, ::-1], axis=2)[:, :, ::-1]
    # searchsorted(rc, rec_thresholds, 'left') per row, exactly: rc < r  <=>  tp_sum < j_r, where j_r is the
    # smallest integer j with j / npig >= r (float division is monotone in j). Integers allow one flat search.
    j_r = np.empty((n_area, n_rec), dtype=np.float64)
    for a in range(n_area):
        npa = int(npig[a, 0, 0])
        j_r[a] = np.searchsorted(np.arange(npa + 1) / npa, rec_thresholds, side="left")
    width = float(max(n, int(npig.max())) + 2)
    rows = np.arange(n_area * n_thr, dtype=np.float64)
    flat_vals = (tp_sum.reshape(-1, n) + (rows * width)[:, None]).reshape(-1)
    queries = (np.repeat(j_r, n_thr, axis=0) + (rows * width)[:, None]).reshape(-1)
    inds = np.searchsorted(flat_vals, queries, side="left").reshape(-1, n_rec) - (rows.astype(np.int64) * n)[:, None]
    inside = inds < n
    take = np.minimum(inds, n - 1)
    precision = np.where(inside, np.take_along_axis(env.reshape(-1, n), take, axis=1), 0.0)
    scores = np.where(inside, score[take], 0.0)
    recall = rc[:, :, -1]
    return precision.reshape(n_area, n_thr, n_rec), recall, scores.reshape(n_area, n_thr, n_rec)


def coco_evaluate(flat: FlatData, params: COCOParams) -> CocoArrays:
    """pycocotools ``evaluate`` + ``accumulate`` on ``flat``; -1 cells are returned as NaN (see module doc)."""
    state = match_coco(flat, params)
    n_thr = params.iou_thresholds.shape[0]
    n_rec = params.rec_thresholds.shape[0]
    n_cls = flat.n_classes
    bounds = params.area_bounds
    n_area = bounds.shape[0]
    n_md = len(params.max_dets)
    # The one place where pycocotools' -1 ("no non-ignored GT in this cell") becomes NaN: cells start
    # undefined and only cells with GT are written.
    precision = np.full((n_thr, n_rec, n_cls, n_area, n_md), np.nan)
    recall = np.full((n_thr, n_cls, n_area, n_md), np.nan)
    scores = np.full((n_thr, n_rec, n_cls, n_area, n_md), np.nan)

    n_gt = np.zeros((n_cls, n_area), dtype=np.int64)
    for a in range(n_area):
        n_gt[:, a] = np.bincount(flat.gt_class[~state.gt_ignore[a]], minlength=n_cls)[:n_cls]
    n_det = np.bincount(state.det_class, minlength=n_cls)[:n_cls].astype(np.int64)

    matched = state.match >= 0
    not_ignored = ~state.det_ignore
    tp_all = matched & not_ignored
    fp_all = ~matched & not_ignored
    # one global order: stable on -score within class; ties keep (image, rank) order, as pycocotools'
    # concatenation over sorted image ids followed by a mergesort does.
    order = np.lexsort((-state.det_score, state.det_class))
    cls_sorted = state.det_class[order]
    starts = np.searchsorted(cls_sorted, np.arange(n_cls + 1), side="left")
    for k in range(n_cls):
        defined = n_gt[k] > 0
        if not defined.any():
            continue
        idx = order[starts[k] : starts[k + 1]]
        for m, max_det in enumerate(params.max_dets):
            sel = idx[state.det_rank[idx] < max_det]
            prec_k, rec_k, sc_k = _accumulate_class(
                tp_all[:, :, sel], fp_all[:, :, sel], state.det_score[sel], n_gt[k], params.rec_thresholds
            )
            for a in np.flatnonzero(defined):
                precision[:, :, k, a, m] = prec_k[a]
                recall[:, k, a, m] = rec_k[a]
                scores[:, :, k, a, m] = sc_k[a]
    return CocoArrays(precision=precision, recall=recall, scores=scores, n_gt=n_gt, n_det=n_det, state=state)


def mean_defined(values: np.ndarray) -> float:
    """Mean over the non-NaN entries (pycocotools: over entries > -1); NaN when there are none."""
    flat = np.asarray(values).reshape(-1)
    defined = flat[~np.isnan(flat)]
    return float(np.mean(defined)) if defined.size else float("nan")
