"""COCO bbox evaluation on flat arrays: pycocotools' ``evaluate`` + ``accumulate``, vectorized.

Equal to pycocotools to the last bit: the same IoU arithmetic, the same greedy match and tie-breaks, the
same float operations for recall and precision and the same sampling at the recall thresholds; only the
loops are replaced by array operations over all images and categories at once.

Undefined cells: pycocotools writes -1 where a (category, area range) has no non-ignored GT. odkit maps
that -1 to NaN here, in :func:`coco_evaluate` only, and every mean downstream skips NaN where pycocotools
skips -1 (the same elements in the same order, so the same bits).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from odkit.eval._flat import FlatData
from odkit.eval._match import candidate_pairs, greedy_match, rank_in_group
from odkit.eval._params import COCOParams

__all__ = ["CocoArrays", "MatchState", "coco_evaluate", "match_coco", "mean_defined"]

_EPS = np.spacing(1)


class MatchState(NamedTuple):
    """Per-detection outcome of the COCO match; detections in (class, image, -score) order, cut to
    ``max(max_dets)`` per (image, class).

    Attributes:
        det_index: (N',) int64 index into the FlatData detections.
        det_class: (N',) int64 class index.
        det_image: (N',) int64 image index.
        det_score: (N',) float64 score.
        det_rank: (N',) int64 rank within its (image, class) by descending score (stable).
        det_out: (A, N') bool, detection area outside the area range.
        cand: (C,) int64 positions (into the N') of the detections with any candidate GT; the others
            are unmatched at every threshold.
        cand_match: (A, T, C) int64 matched GT index (into FlatData's GTs), -1 when unmatched.
        gt_ignore: (A, G) bool, GT ignored (crowd, or ``area`` outside the range).
        cand_tp: (A, T, C) bool true positives among the candidates (matched to a non-ignored GT); the
            other detections are never true positives.
        cand_fp: (A, T, C) bool false positives among the candidates (unmatched, not ignored); the other
            detections are false positives exactly where ``det_out`` is False.
    """

    det_index: np.ndarray
    det_class: np.ndarray
    det_image: np.ndarray
    det_score: np.ndarray
    det_rank: np.ndarray
    det_out: np.ndarray
    cand: np.ndarray
    cand_match: np.ndarray
    gt_ignore: np.ndarray
    cand_tp: np.ndarray
    cand_fp: np.ndarray

    def _shape(self) -> tuple[int, int, int]:
        return (self.cand_tp.shape[0], self.cand_tp.shape[1], self.det_index.shape[0])

    def match(self) -> np.ndarray:
        """(A, T, N') int64 matched GT index per detection, -1 when unmatched."""
        out = np.full(self._shape(), -1, dtype=np.int64)
        out[:, :, self.cand] = self.cand_match
        return out

    def tp(self) -> np.ndarray:
        """(A, T, N') bool true positives."""
        out = np.zeros(self._shape(), dtype=bool)
        out[:, :, self.cand] = self.cand_tp
        return out

    def fp(self) -> np.ndarray:
        """(A, T, N') bool false positives."""
        out = np.empty(self._shape(), dtype=bool)
        out[...] = ~self.det_out[:, None, :]
        out[:, :, self.cand] = self.cand_fp
        return out


class CocoArrays(NamedTuple):
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
    group = flat.det_class * n_img + flat.det_image
    order = np.lexsort((-flat.det_score, group))  # stable: equal scores keep their input order
    key = group[order]
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
    gt_ignore = flat.gt_crowd[None, :] | (flat.gt_area[None, :] < lo) | (flat.gt_area[None, :] > hi)  # (A, G)
    cand, match_sorted = greedy_match(
        pairs, key, params.match_thresholds, gt_ignore[:, g_order], flat.gt_crowd[g_order]
    )
    cand_match = np.where(match_sorted >= 0, g_order[np.maximum(match_sorted, 0)], -1) if flat.n_gt else match_sorted
    det_out = (det_area[None, :] < lo) | (det_area[None, :] > hi)  # (A, N')
    matched = cand_match >= 0
    a_idx = np.arange(bounds.shape[0])[:, None, None]
    if flat.n_gt:
        ignored = np.where(matched, gt_ignore[a_idx, np.maximum(cand_match, 0)], det_out[:, None, cand])
    else:
        ignored = np.broadcast_to(det_out[:, None, cand], matched.shape)
    if flat.gt_zero_id is not None and flat.n_gt and flat.gt_zero_id.any():
        # pycocotools records a match as the GT's annotation id (``dtm``) and reads 0 as "unmatched": a
        # detection matched to the GT with id 0 is a false positive (the GT is still taken), and it is
        # ignored when that GT is ignored or, as any unmatched detection, when its own area is out of range.
        zero = matched & flat.gt_zero_id[np.maximum(cand_match, 0)]
        ignored = np.where(zero, ignored | det_out[:, None, cand], ignored)
        matched = matched & ~zero
    return MatchState(
        det_index=order,
        det_class=flat.det_class[order],
        det_image=flat.det_image[order],
        det_score=flat.det_score[order],
        det_rank=rank,
        det_out=det_out,
        cand=cand,
        cand_match=cand_match,
        gt_ignore=gt_ignore,
        cand_tp=matched & ~ignored,
        cand_fp=~matched & ~ignored,
    )


def _recall_steps(n_pos: np.ndarray, rec_thresholds: np.ndarray) -> np.ndarray:
    """(A, R) smallest integer j with ``j / n_pos[a] >= r`` (float division, as pycocotools' ``tp / npig``)."""
    out = np.empty((n_pos.shape[0], rec_thresholds.shape[0]), dtype=np.int64)
    for a, npa in enumerate(n_pos.tolist()):
        npa = max(int(npa), 1)
        out[a] = np.searchsorted(np.arange(npa + 1) / npa, rec_thresholds, side="left")
    return out


def _accumulate_all(
    tp: np.ndarray,
    fp: np.ndarray,
    nc_ignored: np.ndarray,
    is_cand: np.ndarray,
    det_class: np.ndarray,
    score: np.ndarray,
    n_gt: np.ndarray,
    steps: np.ndarray,
    n_thr: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and scores of every class at once, from the true positives alone.

    pycocotools computes ``pr = tp / (fp + tp + eps)`` at every detection, takes the suffix maximum and
    reads it at ``searchsorted(rc, r, 'left')``. Only true positives raise ``pr`` (a false positive lowers it,
    an ignored detection repeats it), so the suffix maximum is always reached at a true positive, and the
    index read for a recall ``r > 0`` is the ``j_r``-th true positive, with ``j_r`` the smallest integer with
    ``j_r / n_gt >= r``. So the same numbers come from the true positives alone: ``pr_i = i / (fp_i + i +
    eps)`` for the i-th of them (``fp_i`` false positives before it), its suffix maximum, read at ``j_r``
    (``j_r = 0`` reads the first detection, whose suffix maximum is the maximum over all true positives).

    Each (row, class) is one segment of the flat list of true positives. The suffix maximum read at the R
    query points of a segment is a ``maximum.reduceat`` over the pieces between consecutive query points
    followed by a reverse cumulative maximum over those R pieces (an empty piece repeats its first element,
    which lies inside the suffix, so it changes nothing).

    Args:
        tp: (rows, C) bool true positives of the candidate detections (rows = A*T, a-major), in global
            (class, -score) order.
        fp: (rows, C) bool false positives of the candidates.
        nc_ignored: (A, n) bool, non-candidate detection ignored (area out of range); all n detections.
        is_cand: (n,) bool, detection is a candidate (has a column in ``tp``).
        det_class: (n,) int64 sorted class index.
        score: (n,) float64 scores.
        n_gt: (K, A) int64 non-ignored GT.
        steps: (K, A, R) int64 recall thresholds as TP counts (:func:`_recall_steps`).
        n_thr: T.

    Returns:
        precision (A, T, K, R), recall (A, T, K), scores (A, T, K, R); cells without GT are garbage (the
        caller masks them).
    """
    rows = tp.shape[0]
    n_cls, n_area, n_rec = steps.shape
    starts = np.searchsorted(det_class, np.arange(n_cls + 1), side="left")  # (K+1,) over all n
    c_pos = np.flatnonzero(is_cand)  # position of each candidate column among all n
    c_starts = np.searchsorted(c_pos, starts, side="left")  # (K+1,) first candidate column per class
    c_cls = det_class[c_pos]
    # ignored counts up to a position, per row (candidates) and per area range (the others), with a
    # leading 0 so that a class's count is a difference of two prefix values
    c_ign = np.zeros((rows, c_pos.size + 1), dtype=np.int32)
    np.cumsum(~(tp | fp), axis=1, dtype=np.int32, out=c_ign[:, 1:])
    nc_ign = np.zeros((n_area, det_class.size + 1), dtype=np.int32)
    np.cumsum(nc_ignored, axis=1, dtype=np.int32, out=nc_ign[:, 1:])

    row, j = np.nonzero(tp)  # by row, then column (so by class, then score)
    key = row * n_cls + c_cls[j]
    n_tp = np.bincount(key, minlength=rows * n_cls).reshape(rows, n_cls)
    seg_start = (np.cumsum(n_tp.reshape(-1)) - n_tp.reshape(-1)).reshape(rows, n_cls)
    pos = c_pos[j]
    # per (row, class): the class's first position and the ignored counts before it, folded into one term
    row_area = np.arange(rows) // n_thr
    base = starts[None, :-1] - nc_ign[:, starts[:-1]][row_area] - c_ign[:, c_starts[:-1]]  # (rows, K)
    i = np.arange(key.size) - seg_start.reshape(-1)[key] + 1  # rank of the true positive in its segment
    ignored = nc_ign.reshape(-1)[row_area[row] * nc_ign.shape[1] + pos + 1]
    ignored += c_ign.reshape(-1)[row * c_ign.shape[1] + j + 1]
    fp_before = (pos + 1) - i - ignored - base.reshape(-1)[key]
    pr = i / (fp_before + i + _EPS)

    j_r = steps.transpose(1, 0, 2)[row_area]  # (rows, K, R)
    width = n_tp[..., None]
    q = np.clip(j_r - 1, 0, np.maximum(width - 1, 0))
    has = n_tp > 0
    env = np.zeros((rows, n_cls, n_rec))
    if has.any():
        idx = np.concatenate([seg_start[..., None], seg_start[..., None] + q], axis=2)[has]  # (S, R+1)
        piece = np.maximum.reduceat(pr, idx.reshape(-1)).reshape(idx.shape)
        env[has] = np.maximum.accumulate(piece[:, ::-1], axis=1)[:, ::-1][:, 1:]
    inside = j_r <= width
    precision = np.where(inside & has[..., None], env, 0.0)
    # the score where each recall threshold is reached: the j_r-th true positive, or the class's first
    # detection for j_r = 0 (0 when the class has no detection)
    has_det = np.diff(starts) > 0
    first_score = np.zeros(n_cls)
    first_score[has_det] = score[starts[:-1][has_det]]
    at_score = np.zeros(j_r.size)
    if pos.size:
        at_score = score[pos[np.minimum((seg_start[..., None] + q).reshape(-1), pos.size - 1)]]
    scores = np.where(j_r == 0, first_score[None, :, None], at_score.reshape(j_r.shape))
    scores = np.where(inside, scores, 0.0)
    recall = n_tp / np.maximum(n_gt.T[row_area], 1)
    shape = (n_area, n_thr, n_cls)
    return precision.reshape(*shape, n_rec), recall.reshape(shape), scores.reshape(*shape, n_rec)


def coco_evaluate(flat: FlatData, params: COCOParams) -> CocoArrays:
    """pycocotools ``evaluate`` + ``accumulate`` on ``flat``; -1 cells are returned as NaN (see module doc)."""
    state = match_coco(flat, params)
    n_thr = params.iou_thresholds.shape[0]
    n_rec = params.rec_thresholds.shape[0]
    n_cls = flat.n_classes
    n_area = params.area_bounds.shape[0]
    n_md = len(params.max_dets)
    # The one place where pycocotools' -1 ("no non-ignored GT in this cell") becomes NaN: cells start
    # undefined and only cells with GT are written.
    precision = np.full((n_cls, n_md, n_area, n_thr, n_rec), np.nan)
    recall = np.full((n_cls, n_md, n_area, n_thr), np.nan)
    scores = np.full((n_cls, n_md, n_area, n_thr, n_rec), np.nan)

    n_gt = np.zeros((n_cls, n_area), dtype=np.int64)
    for a in range(n_area):
        n_gt[:, a] = np.bincount(flat.gt_class[~state.gt_ignore[a]], minlength=n_cls)[:n_cls]
    n_det = np.bincount(state.det_class, minlength=n_cls)[:n_cls].astype(np.int64)

    # one global order: stable on -score within class; ties keep (image, rank) order, as pycocotools'
    # concatenation over sorted image ids followed by a mergesort does.
    order = np.lexsort((-state.det_score, state.det_class))
    rows = n_area * n_thr
    n_all = order.shape[0]
    is_cand = np.zeros(n_all, dtype=bool)
    is_cand[state.cand] = True
    cand_col = np.full(n_all, -1, dtype=np.int64)
    cand_col[state.cand] = np.arange(state.cand.shape[0])
    is_cand_s = is_cand[order]
    c_order = cand_col[order][is_cand_s]
    tp_c = state.cand_tp.reshape(rows, -1)[:, c_order]  # candidates only: the rest are never TP
    fp_c = state.cand_fp.reshape(rows, -1)[:, c_order]
    # a non-candidate detection is ignored exactly where its area is out of range
    nc_ignored = ~is_cand_s[None, :] & state.det_out[:, order]  # (A, N')
    cls_s, rank_s, score_s = state.det_class[order], state.det_rank[order], state.det_score[order]
    # smallest integer j with j / n_gt >= r, per (class, area range): the recall thresholds as TP counts
    steps = np.zeros((n_cls, n_area, n_rec), dtype=np.int64)
    for k, a in zip(*np.nonzero(n_gt > 0)):
        steps[k, a] = _recall_steps(n_gt[k, a : a + 1], params.rec_thresholds)[0]
    for m, max_det in enumerate(params.max_dets):
        if max_det < params.max_dets[-1]:
            sel = rank_s < max_det
            sel_c = sel[is_cand_s]
            tp_m, fp_m, nc_m = tp_c[:, sel_c], fp_c[:, sel_c], nc_ignored[:, sel]
            cand_m, cls_m, score_m = is_cand_s[sel], cls_s[sel], score_s[sel]
        else:
            tp_m, fp_m, nc_m, cand_m, cls_m, score_m = tp_c, fp_c, nc_ignored, is_cand_s, cls_s, score_s
        # (A, T, K, R), (A, T, K), (A, T, K, R)
        prec_m, rec_m, sc_m = _accumulate_all(tp_m, fp_m, nc_m, cand_m, cls_m, score_m, n_gt, steps, n_thr)
        defined = (n_gt > 0).T[:, None, :]  # (A, 1, K)
        precision[:, m] = np.where(defined[..., None], prec_m, np.nan).transpose(2, 0, 1, 3)
        recall[:, m] = np.where(defined, rec_m, np.nan).transpose(2, 0, 1)
        scores[:, m] = np.where(defined[..., None], sc_m, np.nan).transpose(2, 0, 1, 3)
    return CocoArrays(
        precision=np.ascontiguousarray(precision.transpose(3, 4, 0, 2, 1)),
        recall=np.ascontiguousarray(recall.transpose(3, 0, 2, 1)),
        scores=np.ascontiguousarray(scores.transpose(3, 4, 0, 2, 1)),
        n_gt=n_gt,
        n_det=n_det,
        state=state,
    )


def mean_defined(values: np.ndarray) -> float:
    """Mean over the non-NaN entries (pycocotools: over entries > -1); NaN when there are none."""
    flat = np.asarray(values).reshape(-1)
    defined = flat[~np.isnan(flat)]
    return float(np.mean(defined)) if defined.size else float("nan")
