"""Exact greedy NMS for sparse scenes of many boxes (class-aware NMS over many classes): all pairs at once.

When few boxes can overlap (80 classes: a box only meets its own class), every candidate pair fits in one
vectorized pass: sort by (class, ``x1``), and a box's partners with a larger ``x1`` lie in the window
``x1 <= x1b <= x1 + (1 - t) * w`` (``IoU >= t`` needs an intersection at least ``t`` times each width), a
contiguous run found by ``searchsorted``; exact IoU (the kernel's) keeps the suppressing pairs, and the
greedy decisions follow in a few vectorized rounds (``_nms_kernel._resolve``). Same result as the plain
loop, index for index.

Used by ``batched_nms`` past ``_nms_blocks.MAX_BOXES`` boxes, where ``bench/bench_ops.py`` (10k boxes,
80 classes, 55k candidate pairs) measured it at about a quarter of the spatial kernel's time and half of
torchvision's; it gives up (returns None, the kernel runs) when the pairs would be many or the rounds
long (dense scenes, chains).
"""

from __future__ import annotations

import math

import numpy as np

from odkit._typing import IndexArray
from odkit.ops._nms_kernel import _resolve
from odkit.ops._overlap import pair_iou

_PAIRS_PER_BOX = 32  # more candidate pairs than this per box: not a sparse scene
_MAX_ROUNDS = 64  # more rounds of decisions than this: a chain; the kernel resolves it in blocks
_EPS = float(np.finfo(np.float64).eps)
_CHUNK = 4096  # pairs per IoU call


def greedy_nms_pairs(cols: np.ndarray, thr: float, limit: int, groups: np.ndarray | None) -> IndexArray | None:
    """Positions kept by greedy NMS over box columns sorted by descending score, or None (see module).

    Args:
        cols: (5, K) float64 ``x1, y1, x2, y2, area`` rows, best box first.
        thr: IoU threshold in (0, 1]; a box at or over it against a kept box is removed.
        limit: keep at most this many.
        groups: (K,) non-negative ints (class ranks): boxes of different groups never suppress each other.

    Returns:
        (<= limit,) int64 positions into ``cols``' columns, increasing; None when the scene is not sparse.
    """
    n = cols.shape[1]
    lo, hi = float(cols[0].min()), float(cols[2].max())
    span = hi - lo if hi > lo else 1.0
    # Sort key: class, then x1 mapped into [0, 1] (monotone, so sorting and windows keep their order);
    # classes are 2 apart and windows at most 1 long (a class's keys span at most 1), so a window holds
    # its own class and at most the next class's first key, which the class check drops.
    key = cols[0] - lo
    key /= span
    if groups is not None:
        key += 2.0 * groups
    order = np.argsort(key)
    key = key.take(order)
    # rounding of the keys (x1 - lo <= span, so relative to the largest key) and of the window ends; the IoU's
    # own rounding is covered by the 1e-9 on (1 - t), relative to the width
    top = 2.0 * (1 + (0 if groups is None else int(groups.max())))
    slack = 16 * _EPS * top + math.ulp(top)
    reach = (cols[2] - cols[0]).take(order)
    reach *= (1.0 - thr + 1e-9) / span
    np.minimum(reach, 1.0, out=reach)
    reach += key
    reach += slack
    end = np.searchsorted(key, reach, side="right")
    count = end - np.arange(1, n + 1)
    total = int(count.sum())
    if total > _PAIRS_PER_BOX * n:
        return None
    first = np.repeat(np.arange(n), count)
    second = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    second += first + 1
    a, b = order.take(first), order.take(second)
    hit = np.empty(total, dtype=bool)
    for start in range(0, total, _CHUNK):  # chunks: fresh large temporaries cost page faults
        part = slice(start, start + _CHUNK)
        ia, ib = a[part], b[part]
        np.greater_equal(pair_iou(cols.take(ia, axis=1), cols.take(ib, axis=1)), thr, out=hit[part])
        if groups is not None:
            hit[part] &= groups.take(ia) == groups.take(ib)
    a, b = a[hit], b[hit]
    kept = _resolve(n, np.minimum(a, b), np.maximum(a, b), _MAX_ROUNDS)
    if kept is None:
        return None
    return np.flatnonzero(kept)[:limit].astype(np.int64, copy=False)
