"""Vectorized COCO matching: candidate (detection, GT) pairs and pycocotools' greedy match for all groups.

A *group* is one (category, image) cell (or one image, for class-agnostic matching). pycocotools loops
over groups, thresholds and detections in Python; here every group advances in lockstep: step ``s``
matches, in all groups at once and for all (area range, IoU threshold) pairs at once, the ``s``-th
detection (in score order) of each group that has at least one candidate GT. Groups share no GTs, so the
steps are independent across groups and equal to the per-group loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from odkit.ops._overlap import pair_iou

__all__ = ["Pairs", "candidate_pairs", "greedy_match", "rank_in_group"]


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values in a sorted ``group`` array; (N,) int64."""
    n = group.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.searchsorted(group, group, side="left")
    return np.arange(n, dtype=np.int64) - first


class Pairs(NamedTuple):
    """Flat (detection, GT) pairs, sorted by detection then GT index.

    Attributes:
        det: (P,) int64 detection index.
        gt: (P,) int64 GT index.
        iou: (P,) float64 IoU; for a crowd GT the intersection over the detection's area.
    """

    det: np.ndarray
    gt: np.ndarray
    iou: np.ndarray


def candidate_pairs(
    det_group: np.ndarray,
    det_xyxy: np.ndarray,
    det_area: np.ndarray,
    gt_group: np.ndarray,
    gt_xyxy: np.ndarray,
    gt_box_area: np.ndarray,
    gt_crowd: np.ndarray,
    min_iou: float,
) -> Pairs:
    """All (detection, GT) pairs of the same group with IoU >= ``min_iou``.

    The IoU is odkit.ops' kernel with the boxes' own ``w*h`` areas, which is pycocotools' C ``bbIou``:
    ``w = min(x2) - max(x1)`` (0 when <= 0), the same for ``h``, ``i = w*h``, union ``da + ga - i`` or ``da``
    for a crowd GT, with ``da``/``ga`` the boxes' ``w*h``; 0 where ``i`` is 0.

    Args:
        det_group: (N,) int64 group key per detection, sorted ascending.
        det_xyxy: (N, 4) float64 detection boxes, absolute xyxy.
        det_area: (N,) float64 ``w*h`` of each detection box.
        gt_group: (G,) int64 group key per GT, sorted ascending.
        gt_xyxy: (G, 4) float64 GT boxes, absolute xyxy.
        gt_box_area: (G,) float64 ``w*h`` of each GT box (not the annotation's ``area``).
        gt_crowd: (G,) bool crowd flags.
        min_iou: pairs below this are dropped.

    Returns:
        the kept pairs, sorted by detection then GT.
    """
    start = np.searchsorted(gt_group, det_group, side="left")
    count = np.searchsorted(gt_group, det_group, side="right") - start
    total = int(count.sum())
    p_det = np.repeat(np.arange(det_group.shape[0], dtype=np.int64), count)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    p_gt = start[p_det] + offset
    d, g = np.empty((5, total)), np.empty((5, total))  # the kernel's columns, with the given areas
    np.take(det_xyxy.T, p_det, axis=1, out=d[:4])
    np.take(det_area, p_det, out=d[4])
    np.take(gt_xyxy.T, p_gt, axis=1, out=g[:4])
    np.take(gt_box_area, p_gt, out=g[4])
    iou = pair_iou(d, g, over_a=gt_crowd[p_gt], given_areas=True)
    keep = iou >= min_iou
    return Pairs(det=p_det[keep], gt=p_gt[keep], iou=iou[keep])


def greedy_match(
    pairs: Pairs,
    det_group: np.ndarray,
    thresholds: np.ndarray,
    gt_ignore: np.ndarray,
    gt_crowd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """pycocotools' greedy matching for every group, area range and IoU threshold at once.

    Per group, detections are taken in index order (callers sort them by descending score, stable). Each
    takes, among GTs with IoU >= t that are unmatched (or crowd), the non-ignored one with the highest IoU,
    or, when there is none, the ignored one with the highest IoU; ties go to the later GT (higher index),
    as pycocotools' ``>=`` scan over GTs sorted with ignored last does.

    Args:
        pairs: candidate pairs from :func:`candidate_pairs`.
        det_group: (N,) int64 sorted group key per detection.
        thresholds: (T,) float64 thresholds (already capped at ``1 - 1e-10``).
        gt_ignore: (A, G) bool ignore flag of each GT per area range.
        gt_crowd: (G,) bool; a crowd GT can be matched many times.

    Returns:
        ``(cand, match)``: (C,) int64 sorted indices of the detections that have at least one candidate
        pair (all others are unmatched everywhere), and (A, T, C) int64 index of the GT each of them
        matched, -1 where unmatched.
    """
    n_area = gt_ignore.shape[0]
    n_thr = thresholds.shape[0]
    cand_det = np.unique(pairs.det)
    match = np.full((n_area, n_thr, cand_det.shape[0]), -1, dtype=np.int64)
    if pairs.det.size == 0:
        return cand_det, match
    cand_pos = np.searchsorted(cand_det, pairs.det)
    # A pair whose detection and GT are in no other pair has no competition: it matches wherever IoU >= t.
    # (Most pairs are like that; only the others need the sequential greedy steps.)
    simple = (np.bincount(cand_pos)[cand_pos] == 1) & (np.bincount(pairs.gt)[pairs.gt] == 1)
    hit = pairs.iou[simple][None, :] >= thresholds[:, None]  # (T, Ps)
    match[:, :, cand_pos[simple]] = np.where(hit, pairs.gt[simple][None, :], -1)[None, :, :]
    rest = ~simple
    if not rest.any():
        return cand_det, match
    r_pos, r_gt, r_iou = cand_pos[rest], pairs.gt[rest], pairs.iou[rest]
    gt_taken = np.zeros((n_area, n_thr, gt_ignore.shape[1]), dtype=bool)
    # step of each pair: rank of its detection among the group's detections that still need matching
    r_dets = np.unique(r_pos)
    step = rank_in_group(det_group[cand_det[r_dets]])[np.searchsorted(r_dets, r_pos)]
    order = np.argsort(step, kind="stable")
    p_det, p_gt, p_iou = r_pos[order], r_gt[order], r_iou[order]
    bounds = np.searchsorted(step[order], np.arange(int(step.max()) + 2), side="left")
    thr = thresholds[None, :, None]
    for s in range(bounds.size - 1):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        dets, gts, ious = p_det[lo:hi], p_gt[lo:hi], p_iou[lo:hi]
        new_seg = np.empty(hi - lo, dtype=bool)
        new_seg[0] = True
        np.not_equal(dets[1:], dets[:-1], out=new_seg[1:])
        seg = np.cumsum(new_seg) - 1
        one = np.bincount(seg)[seg] == 1  # detections with a single candidate need no reduction
        if one.any():
            d1, g1 = dets[one], gts[one]
            valid = (ious[one] >= thr) & (~gt_taken[:, :, g1] | gt_crowd[g1])  # (A, T, P1)
            a_hit, t_hit, p_hit = np.nonzero(valid)
            gt_taken[a_hit, t_hit, g1[p_hit]] = True
            match[a_hit, t_hit, d1[p_hit]] = g1[p_hit]
        if one.all():
            continue
        many = ~one
        dets, gts, ious = dets[many], gts[many], ious[many]
        new_seg = new_seg[many]
        starts = np.flatnonzero(new_seg)
        seg = np.cumsum(new_seg) - 1
        valid = (ious >= thr) & (~gt_taken[:, :, gts] | gt_crowd[gts])  # (A, T, P)
        keep_class = ~gt_ignore[:, gts][:, None, :]  # (A, 1, P): non-ignored GT
        has_kept = np.logical_or.reduceat(valid & keep_class, starts, axis=2)  # (A, T, S)
        sel = valid & (keep_class == has_kept[:, :, seg])
        masked = np.where(sel, ious, -1.0)
        best = np.maximum.reduceat(masked, starts, axis=2)
        pos = np.where(sel & (masked == best[:, :, seg]), np.arange(dets.size), -1)
        choice = np.maximum.reduceat(pos, starts, axis=2)  # (A, T, S) local pair index or -1
        a_hit, t_hit, s_hit = np.nonzero(choice >= 0)
        chosen = choice[a_hit, t_hit, s_hit]
        g_hit = gts[chosen]
        gt_taken[a_hit, t_hit, g_hit] = True
        match[a_hit, t_hit, dets[chosen]] = g_hit
    return cand_det, match
