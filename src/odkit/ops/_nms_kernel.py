"""Exact greedy NMS kernel for many boxes: spatially pruned, blocked, pure numpy.

The result is bit-for-bit the one of the plain greedy loop (keep the best box, drop every box whose IoU with
it is at or over the threshold, repeat): every IoU that decides anything is computed with the same float64
formula, and the pruning below only skips pairs whose IoU is provably under the threshold.

How it avoids the O(N * kept) loop:

* **Blocks in score order.** Take the next ``block`` live boxes by score; resolve greedy NMS inside the block
  from the pairs that overlap at or over the threshold (a box is kept when no kept box before it overlaps it,
  decided in a few vectorized rounds); then drop every later box that a box kept in this block overlaps.
  Repeat on the survivors. On a detector's output most boxes are removed by the first blocks' winners.
* **Spatial pruning.** ``IoU(a, b) >= t > 0`` implies ``min(h) >= t * max(h)``, ``|y1a - y1b| <=
  (1 - t) * max(h)``, and, for ``x1a <= x1b``, ``x1b - x1a <= (1 - t) * w_a`` (intersection width
  ``>= t * max(w)``, since ``IoU <= iw / w``). Boxes are bucketed by height level (a factor ``1 / t`` per
  level, so a pair is at most one level apart) and by a row of cells in y per level, and sorted by x1 inside
  each bucket, so each box's candidates are a few contiguous slices found with ``searchsorted`` (looking
  back in x by the widest box of the partner's level). Boxes with zero area never reach the threshold.
  Bounds carry a slack of 1e-9 box sizes and a few ulps, so rounding never prunes a pair that the float64
  IoU would put at or over the threshold.
"""

from __future__ import annotations

import numpy as np

from odkit._typing import IndexArray
from odkit.ops._overlap import pair_iou

_SLACK = 1e-9
_MAX_PAIRS = 1 << 14  # candidate pairs per IoU chunk: small temporaries are reused, large ones page-fault


class _Geometry:
    """Per-box quantities shared by all blocks (boxes with zero area never overlap and are left out)."""

    def __init__(self, boxes: np.ndarray, thr: float, groups: np.ndarray | None = None) -> None:
        self.thr = thr
        self.inv_thr = 1.0 / thr  # inf for subnormal thresholds: a valid (loose) size-ratio bound
        self.x1, self.y1, self.x2, self.y2 = (np.ascontiguousarray(boxes[:, k]) for k in range(4))
        self.w = self.x2 - self.x1
        self.h = self.y2 - self.y1
        self.area = self.w * self.h
        self.cols = np.stack([self.x1, self.y1, self.x2, self.y2, self.area])  # the IoU kernel's columns
        self.solid = self.area > 0
        self.x_ulps = 4 * (np.spacing(np.abs(self.x1)) + np.spacing(np.abs(self.x2)))
        self.y_ulps = 4 * (np.spacing(np.abs(self.y1)) + np.spacing(np.abs(self.y2)))
        solid = np.flatnonzero(self.solid)
        # Heights of an overlapping pair differ by a factor <= 1 / thr < base: levels at most 1 apart.
        base = max(self.inv_thr, 1.05) * (1 + 1e-6)
        level = np.zeros(self.h.size, dtype=np.int64)
        if solid.size:
            lv = np.floor(np.log(self.h[solid]) / np.log(base)).astype(np.int64)
            level[solid] = lv - lv.min()
        if groups is not None:
            # Each group gets its own range of levels, with two empty levels between groups, so that the
            # neighbouring levels a box searches never belong to another group.
            level = groups.astype(np.int64) * (int(level.max()) + 3) + level
        self.level = level
        n_levels = int(level.max()) + 1
        count = np.bincount(level[solid], minlength=n_levels)
        self.hmax = np.zeros(n_levels)
        self.wmax = np.zeros(n_levels)
        np.maximum.at(self.hmax, level[solid], self.h[solid])
        np.maximum.at(self.wmax, level[solid], self.w[solid])
        y1 = self.y1[solid]
        self.y_origin = float(y1.min()) if y1.size else 0.0
        y_span = float(y1.max()) - self.y_origin if y1.size else 0.0
        # Rows of cells in y, one row per level; at most (boxes in the level + 1) cells per row.
        cell = np.maximum((1 - thr) * self.hmax, y_span / np.maximum(count, 1))
        self.cell = np.where(cell > 0, cell, 1.0)
        self.n_cells = np.floor(y_span / self.cell).astype(np.int64) + 1
        self.cell_offset = np.cumsum(self.n_cells) - self.n_cells
        self.cell_of = np.full(self.h.size, -1, dtype=np.int64)  # global cell index of each solid box
        row = np.floor((y1 - self.y_origin) / self.cell[level[solid]]).astype(np.int64)
        self.cell_of[solid] = self.cell_offset[level[solid]] + row


class _Grid:
    """A set of boxes sorted by (level, y cell, x1), so each query's candidates are contiguous slices."""

    def __init__(self, g: _Geometry, members: np.ndarray) -> None:
        x1 = g.x1[members]
        xo = np.argsort(x1, kind="stable")
        self.x1_sorted = x1[xo]
        xrank = np.empty(members.size, dtype=np.int64)
        xrank[xo] = np.arange(members.size)
        self.stride = members.size + 1
        key = g.cell_of[members] * self.stride + xrank
        order = np.argsort(key)
        self.keys = key[order]
        self.members = members[order]
        self.coords = g.cols.take(self.members, axis=1)

    def _slices(self, g: _Geometry, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate slices: (query index per slice, slice start, slice length) in the sorted members."""
        t = g.thr
        qx1, qy1 = g.x1[queries], g.y1[queries]
        qh, qw, ux, uy = g.h[queries], g.w[queries], g.x_ulps[queries], g.y_ulps[queries]
        x_hi = np.minimum(qx1 + (1 - t + _SLACK) * qw + ux, g.x2[queries])
        hi_rank = np.searchsorted(self.x1_sorted, x_hi, "right")
        # The three levels a partner can be on, stacked: (3, Q) flattened.
        lvl = (g.level[queries] + np.array([[-1], [0], [1]])).reshape(-1)
        q = np.tile(np.arange(queries.size), 3)
        ok = (lvl >= 0) & (lvl < g.hmax.size)
        lvl, q = lvl[ok], q[ok]
        ok = g.hmax[lvl] > 0
        lvl, q = lvl[ok], q[ok]
        # A partner's width and height are at most 1 / t times this box's (and at most its level's maximum).
        # boxes near float64's limit overflow the reach to inf: the window then holds every member (a superset;
        # the exact IoU decides), so the overflow is harmless and not worth a warning
        with np.errstate(over="ignore"):
            x_lo = qx1[q] - ((1 - t + _SLACK) * np.minimum(g.wmax[lvl], qw[q] * g.inv_thr) + ux[q])
            reach = (1 - t + _SLACK) * np.minimum(np.maximum(qh[q], g.hmax[lvl]), qh[q] * g.inv_thr) + uy[q]
        lo_rank = np.searchsorted(self.x1_sorted, x_lo, "left")
        cell = g.cell[lvl]
        c_lo = np.maximum(np.floor((qy1[q] - reach - g.y_origin) / cell), 0).astype(np.int64)
        c_hi = np.minimum(np.floor((qy1[q] + reach - g.y_origin) / cell), g.n_cells[lvl] - 1).astype(np.int64)
        n_cells = np.where(hi_rank[q] > lo_rank, np.maximum(c_hi - c_lo + 1, 0), 0)
        rows = np.repeat(np.arange(q.size), n_cells)
        c = np.arange(rows.size) - np.repeat(np.cumsum(n_cells) - n_cells, n_cells)
        c += np.repeat(c_lo + g.cell_offset[lvl], n_cells)
        c *= self.stride
        lo = np.searchsorted(self.keys, c + lo_rank[rows], "left")
        hi = np.searchsorted(self.keys, c + hi_rank[q[rows]], "left")
        length = hi - lo
        keep = length > 0
        return q[rows[keep]], lo[keep], length[keep]

    def overlapping(self, g: _Geometry, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (query, member) pairs with IoU at or over ``g.thr``, evaluated in bounded chunks."""
        q, start, length = self._slices(g, queries)
        q_coords = g.cols.take(queries, axis=1)
        ends = np.cumsum(length)
        out_q, out_m = [], []
        first = 0
        while first < q.size:
            # slices [first, last) hold at most _MAX_PAIRS pairs (at least one slice)
            base = ends[first - 1] if first else 0
            last = max(int(np.searchsorted(ends, base + _MAX_PAIRS, "right")), first + 1)
            n = length[first:last]
            pos = np.arange(int(ends[last - 1] - base))
            pos += np.repeat(start[first:last] - (np.cumsum(n) - n), n)
            qr = q[first:last]
            a = q_coords.take(np.repeat(qr, n), axis=1)
            hit = np.flatnonzero(pair_iou(a, self.coords.take(pos, axis=1)) >= g.thr)
            out_q.append(queries[np.repeat(qr, n)[hit]])
            out_m.append(self.members[pos[hit]])
            first = last
        if not out_q:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(out_q), np.concatenate(out_m)


def _resolve(n: int, src: np.ndarray, dst: np.ndarray, max_rounds: int | None = None) -> np.ndarray | None:
    """Greedy decisions for positions 0..n-1 given edges src < dst ("src suppresses dst if kept").

    Rounds: a live position with no live incoming edge is kept; positions hit by a kept one are removed;
    edges touching decided positions are dropped. The first undecided position is decided every round.

    Returns:
        (n,) bool, True for kept; None when that takes more than ``max_rounds`` rounds.
    """
    state = np.zeros(n, dtype=np.int8)  # 0 undecided, 1 kept, 2 removed
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        has_in = np.zeros(n, dtype=bool)
        has_in[dst] = True
        state[(state == 0) & ~has_in] = 1
        if not src.size:
            break
        state[dst[state[src] == 1]] = 2
        live = (state[src] == 0) & (state[dst] == 0)
        src, dst = src[live], dst[live]
    else:
        return None
    return state == 1


def greedy_nms_sorted(
    boxes_sorted: np.ndarray,
    thr: float,
    limit: int,
    block: int = 1024,
    first_block: int = 128,
    groups: np.ndarray | None = None,
) -> IndexArray:
    """Positions kept by greedy NMS over float64 boxes already sorted by descending score.

    Args:
        boxes_sorted: (K, 4) float64 xyxy boxes, best first.
        thr: IoU threshold in (0, 1]; a box at or over it against a kept box is removed.
        limit: stop once this many are kept.
        block: most boxes resolved together per step.
        first_block: boxes resolved in the first step; the step size doubles up to ``block``.
        groups: (K,) non-negative ints (dense, e.g. class ranks); boxes of different groups never
            suppress each other. None: one group.

    Returns:
        (<= limit,) int64 positions into ``boxes_sorted``, increasing.
    """
    g = _Geometry(boxes_sorted, thr, groups)
    n = boxes_sorted.shape[0]
    alive = np.arange(n)  # undecided positions, in score order
    is_alive = np.ones(n, dtype=bool)
    rank = np.zeros(n, dtype=np.int64)  # position -> index inside the current head block
    rest: _Grid | None = None  # later boxes, rebuilt only once half of its members are gone
    kept: list[np.ndarray] = []
    n_kept = 0
    size = min(block, first_block)
    while alive.size and n_kept < limit:
        head, alive = alive[:size], alive[size:]
        is_alive[head] = False
        solid = head[g.solid[head]]
        src, dst = _Grid(g, solid).overlapping(g, solid)
        forward = src < dst
        # Start small (in dense scenes the first winners remove most boxes); double up to ``block``, or grow
        # faster while blocks hardly overlap inside (sparse scenes: per-step overhead dominates).
        sparse = 32 * int(np.count_nonzero(forward)) < head.size
        size = 4 * size if sparse else min(2 * size, max(block, size))
        rank[head] = np.arange(head.size)
        winners = head[_resolve(head.size, rank[src[forward]], rank[dst[forward]])]  # type: ignore[index]
        kept.append(winners)
        n_kept += winners.size
        solid_winners = winners[g.solid[winners]]
        if alive.size and n_kept < limit and solid_winners.size:
            if rest is None or 2 * alive.size < rest.members.size:
                rest = _Grid(g, alive[g.solid[alive]])
            _, hit = rest.overlapping(g, solid_winners)  # hits on decided boxes are harmless
            is_alive[hit] = False
            alive = alive[is_alive[alive]]
    out = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return out[:limit].astype(np.int64, copy=False)
