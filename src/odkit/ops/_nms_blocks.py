"""Exact greedy NMS for up to a few thousand boxes (one image's detections): blocks of 64-bit masks.

Same decisions as the plain greedy loop, index for index (every IoU that decides anything is the kernel's,
``odkit.ops._overlap.pair_iou``); this module only chooses which pairs to compute, in few numpy calls,
because at ~1k boxes the cost of an exact NMS in numpy is the number of calls, not arithmetic.

* **Windows.** ``IoU(a, b) >= t > 0`` implies ``x1b - x1a <= (1 - t) * wa`` when ``x1a <= x1b`` and
  ``wb <= wa / t``, so ``x1b`` lies in ``[x1a - (1 - t) / t * wa, x1a + (1 - t) * wa]``; the same for ``y1``.
  Window ends and the boxes' ``x1``/``y1`` are mapped to ``_CELLS`` cells per axis (monotone, so a cell
  window holds every box of the real one), with a slack that covers all rounding.
* **Masks.** A *head* of up to ``64 * k`` boxes (the best-scored undecided ones) gets one bit each; a prefix
  table of the bits by cell gives every box, in two lookups per axis, a ``k``-word mask of the head boxes
  in its windows (with ``groups``, a third axis: the class). Set bits are candidate pairs.
* **Steps.** Exact IoU of the head's internal candidate pairs decides the head (a greedy pass over Python
  ints); the later boxes' masks, restricted to the head's *winners*, give the pairs whose exact IoU
  removes what the winners suppress; repeat on the survivors. When windows hold too many boxes (boxes
  far larger than their spacing, or a low threshold), *loop steps* take over: the top box against all
  others, the textbook loop, while it removes many. At most ``_DENSE`` boxes left: one dense IoU matrix.

Chosen over ``_nms_kernel`` for up to ``MAX_BOXES`` boxes by ``bench/bench_ops.py`` (clustered detector
output, IoU 0.5): at 1k boxes it takes about half the kernel's time (whose per-block set-up dominates
there), about torchvision's C++ loop for ``nms`` (0.8x to 1.4x over this change's runs on the shared
2-core machine) and under it for ``batched_nms`` with 80 classes (0.9x to 1.0x); from ~5k boxes on, the
kernel's spatial levels win.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from odkit._typing import IndexArray
from odkit.ops._overlap import pair_iou

#: Most boxes this path is used for (see the module docstring); thresholds under ``MIN_THRESHOLD`` make
#: windows so wide that the kernel is used instead.
MAX_BOXES = 4096
MIN_THRESHOLD = 0.05

_CELLS = 64  # cells per axis
_DENSE = 64  # at most this many boxes: one dense IoU matrix
_HEAD = 128  # first head size; grows 4x (up to _MAX_HEAD) while most of a head is kept
_MAX_HEAD = 1024
_LOOP_PAIRS = 16  # more candidate pairs than this per head box: loop steps instead
_LOOP_PATIENCE = 4  # loop steps in a row that drop few boxes before blocks are tried again
_EPS = float(np.finfo(np.float64).eps)
_BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
_BIT.flags.writeable = False
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_words: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _word_tables(kk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``64 * kk`` bit positions: (64kk, kk) masks of the bits below each, its word, its bit value."""
    if kk not in _words:
        pos = np.arange(64 * kk)
        word = pos // 64
        col = np.arange(kk)[None, :]
        below = np.where(col < word[:, None], _ALL, np.where(col == word[:, None], _BIT[pos % 64, None] - 1, 0))
        tables = (below.astype(np.uint64), word, _BIT[pos % 64])
        for t in tables:
            t.flags.writeable = False  # cached: shared by all calls
        _words[kk] = tables
    return _words[kk]


@functools.lru_cache(maxsize=64)
def _row_offsets(d: int, table_rows: int) -> np.ndarray:
    """(3d, 1) offsets of the window-low, window-high + 1 and own + 1 rows into the stacked prefix tables."""
    axis = np.arange(d) * table_rows
    out = np.concatenate([axis, axis + 1, axis + 1])[:, None]
    out.flags.writeable = False  # cached: shared by all calls
    return out


def _set_bits(masks: np.ndarray, most: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(row, bit) of every set bit of contiguous (R, kk) uint64 masks (kk a power of two), row-major.

    None when there are more than ``most`` (checked first on nonzero bytes, before the bits are expanded).
    """
    as_bytes = masks.view(np.uint8).reshape(-1)  # little-endian words: bit b of byte i is bit 8i + b
    nonzero = np.flatnonzero(as_bytes != 0)
    if most is not None and nonzero.size > most:
        return None
    bits = np.flatnonzero(np.unpackbits(as_bytes.take(nonzero), bitorder="little").view(bool))
    if most is not None and bits.size > most:
        return None
    at = nonzero.take(bits >> 3)
    at <<= 3
    at |= bits & 7  # bit index into the whole array
    row_bits = 64 * masks.shape[1]
    return at >> (row_bits.bit_length() - 1), at & (row_bits - 1)


def _greedy_bits(out_masks: bytes, n: int) -> tuple[list[int], int]:
    """Greedy pass over ``n`` boxes given each one's mask of later boxes it removes (little-endian rows).

    Returns:
        The kept boxes, increasing, and the same as a bit mask.
    """
    size = len(out_masks) // max(n, 1)
    alive, kept, bits = (1 << n) - 1, [], 0
    while alive:
        low = alive & -alive
        i = low.bit_length() - 1
        kept.append(i)
        bits |= low
        alive &= ~int.from_bytes(out_masks[i * size : (i + 1) * size], "little")
        alive ^= low
    return kept, bits


def _dense(cols: np.ndarray, thr: float, group: np.ndarray | None) -> list[int]:
    """Greedy NMS of a few (5, R) box columns from their full IoU matrix."""
    n = cols.shape[1]
    hit = pair_iou(cols[:, :, None], cols[:, None, :]) >= thr
    hit &= _later(n)
    if group is not None:
        hit &= group[:, None] == group[None, :]
    return _greedy_bits(np.packbits(hit, axis=1, bitorder="little").tobytes(), n)[0]


@functools.lru_cache(maxsize=128)
def _later(n: int) -> np.ndarray:
    """(n, n) bool, True where the column is after the row."""
    out = np.triu(np.ones((n, n), dtype=bool), 1)
    out.flags.writeable = False  # cached: shared by all calls
    return out


class _Boxes:
    """The undecided boxes, best first: float64 columns and int rows (position, cells per axis, group)."""

    def __init__(self, cols: np.ndarray, thr: float, groups: np.ndarray | None) -> None:
        n = cols.shape[1]
        fwd = 1.0 - thr + 1e-9  # bounds of the module docstring, with slack for the IoU's rounding
        back = fwd / thr
        lo_x, lo_y, hi_x, hi_y = np.concatenate([cols[:2].min(axis=1), cols[2:4].max(axis=1)]).tolist()
        big = max(-lo_x, -lo_y, hi_x, hi_y)  # largest |coordinate| (x1 <= x2, y1 <= y2)
        # slack (coordinate units) for the rounding of the linear maps below and of the IoU
        u = 16 * _EPS * (1.0 + back) * big + 4 * math.ulp(big)
        ix = _CELLS / (hi_x - lo_x) if hi_x > lo_x else 0.0
        iy = _CELLS / (hi_y - lo_y) if hi_y > lo_y else 0.0
        # cells (x then y) of: window low end, window high end, x1 or y1 itself, as linear maps
        lin = np.array(
            [
                [(1 + back) * ix, 0, -back * ix, 0, -(u + lo_x) * ix],
                [0, (1 + back) * iy, 0, -back * iy, -(u + lo_y) * iy],
                [(1 - fwd) * ix, 0, fwd * ix, 0, (u - lo_x) * ix],
                [0, (1 - fwd) * iy, 0, fwd * iy, (u - lo_y) * iy],
                [ix, 0, 0, 0, -lo_x * ix],
                [0, iy, 0, 0, -lo_y * iy],
            ]
        )
        cells = lin[:, :4] @ cols[:4]
        cells += lin[:, 4:]
        np.clip(cells, 0, _CELLS - 1, out=cells)  # no NaN: finite inputs, thr >= MIN_THRESHOLD
        d = 2 if groups is None else 3
        self.n_axes, self.table_rows = d, 1 + (_CELLS if groups is None else max(_CELLS, int(groups.max()) + 1))
        # rows: position; per axis the prefix-table row of the window's low end; of its high end + 1; of the
        # box's own cell + 1 (axis a's table starts at row a * table_rows)
        rows = np.empty((1 + 3 * d, n), dtype=np.intp)
        rows[0] = np.arange(n)
        if groups is None:
            np.copyto(rows[1:], cells, casting="unsafe")  # floor (values >= 0)
        else:
            rows[[1, 2, 4, 5, 7, 8]] = cells
            rows[[3, 6, 9]] = groups
        rows[1:] += _row_offsets(d, self.table_rows)
        self.cols, self.rows = cols, rows
        self.group = None if groups is None else rows[9]  # the class axis' own row: equal iff same class

    def keep_only(self, idx: np.ndarray) -> None:
        self.cols = self.cols.take(idx, axis=1)
        self.rows = self.rows.take(idx, axis=1)
        if self.group is not None:
            self.group = self.rows[9]

    def masks(self, members: np.ndarray | slice, n_members: int, kk: int, rows: slice) -> np.ndarray:
        """(rows, kk) uint64: bit ``j`` set where member ``j`` lies in the row's windows on every axis."""
        d, nt = self.n_axes, self.table_rows
        _, word, bit = _word_tables(kk)
        table = np.zeros((d * nt, kk), dtype=np.uint64)
        np.add.at(table, (self.rows[1 + 2 * d :, members], word[:n_members]), bit[:n_members])  # + is OR here
        np.cumsum(table.reshape(d, nt, kk), axis=1, out=table.reshape(d, nt, kk))
        found = table.take(self.rows[1 : 1 + 2 * d, rows].reshape(-1), axis=0).reshape(2, d, -1, kk)
        found[1] -= found[0]  # prefix differences: the members between the window's ends
        out = found[1, 0]
        for a in range(1, d):
            out &= found[1, a]
        return out


def greedy_nms_blocks(cols: np.ndarray, thr: float, limit: int, groups: np.ndarray | None = None) -> IndexArray:
    """Positions kept by greedy NMS over box columns sorted by descending score.

    Args:
        cols: (5, K) float64 ``x1, y1, x2, y2, area`` rows (the kernel's columns), best box first, K <= a
            few thousand.
        thr: IoU threshold in ``[MIN_THRESHOLD, 1]``; a box at or over it against a kept box is removed.
        limit: stop once this many are kept (>= 1).
        groups: (K,) non-negative ints (dense class ranks): boxes of different groups never suppress each
            other. None: one group.

    Returns:
        (<= limit,) int64 positions into ``cols``' columns, increasing.
    """
    if cols.shape[1] <= _DENSE:
        kept = np.asarray(_dense(cols, thr, groups), dtype=np.int64)
        return kept[:limit]
    boxes = _Boxes(cols, thr, groups)
    out: list[np.ndarray] = []
    n_kept = 0
    head = _HEAD
    while n_kept < limit:
        n = boxes.rows.shape[1]
        if n <= _DENSE:
            if n:
                out.append(boxes.rows[0].take(_dense(boxes.cols, thr, boxes.group)))
            break
        kk = 1 << (-(-min(head, n) // 64) - 1).bit_length()  # words per mask, a power of two
        h = min(n, 64 * kk)
        below, word, bit = _word_tables(kk)
        masks = boxes.masks(slice(0, h), h, kk, slice(0, n))  # every box against the head
        head_masks = masks[:h]
        head_masks &= below[:h]  # a head box is only suppressed by better ones
        pairs = _set_bits(head_masks, _LOOP_PAIRS * h)
        if pairs is None:  # windows hold too many boxes: the textbook loop is cheaper
            n_kept += _loop_steps(boxes, thr, limit - n_kept, out)
            continue
        c, p = pairs
        hit = pair_iou(boxes.cols.take(c, axis=1), boxes.cols.take(p, axis=1)) >= thr
        c, p = c[hit], p[hit]
        removes = np.zeros((h, kk), dtype=np.uint64)
        np.add.at(removes, (p, word.take(c)), bit.take(c))
        winners, winner_bits = _greedy_bits(removes.tobytes(), h)
        out.append(boxes.rows[0].take(winners))
        n_kept += len(winners)
        if n == h:
            break
        if 2 * len(winners) > h:  # sparse: bigger heads, fewer steps
            head = min(4 * h, _MAX_HEAD)
        rest_masks = masks[h:]
        rest_masks &= np.frombuffer(winner_bits.to_bytes(8 * kk, "little"), dtype="<u8")
        r, w = _set_bits(rest_masks)  # type: ignore[misc]
        r += h
        hit = pair_iou(boxes.cols.take(r, axis=1), boxes.cols.take(w, axis=1)) >= thr
        alive = np.ones(n, dtype=bool)
        alive[r[hit]] = False
        idx = np.flatnonzero(alive[h:])
        idx += h
        boxes.keep_only(idx)
    kept = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    return kept[:limit].astype(np.int64, copy=False)


def _loop_steps(boxes: _Boxes, thr: float, limit: int, out: list[np.ndarray]) -> int:
    """The textbook loop (keep the top box, drop what it suppresses) until it drops few boxes a step.

    Blocks are tried again after ``_LOOP_PATIENCE`` steps in a row that each drop under 1/8 of the boxes
    (a failed block step costs several loop steps).

    Returns:
        How many boxes were kept (appended to ``out``); at least one.
    """
    kept = []
    patience = _LOOP_PATIENCE
    while len(kept) < limit and boxes.rows.shape[1] > _DENSE:
        n = boxes.rows.shape[1]
        kept.append(boxes.rows[0, 0])
        survive = pair_iou(boxes.cols[:, 1:], boxes.cols[:, :1]) < thr
        if boxes.group is not None:
            survive |= boxes.group[1:] != boxes.group[0]
        idx = np.flatnonzero(survive)
        idx += 1
        boxes.keep_only(idx)
        patience = patience - 1 if 8 * (n - 1 - idx.size) < n else _LOOP_PATIENCE
        if not patience:
            break
    out.append(np.asarray(kept, dtype=np.intp))
    return len(kept)
