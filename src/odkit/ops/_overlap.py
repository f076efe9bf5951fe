"""The one pairwise IoU kernel of odkit: intersection, union and IoU of box *columns*, in float64.

Every place in odkit that measures how much two boxes overlap calls :func:`pair_iou` (or :func:`overlap`,
for GIoU/DIoU/CIoU, which need the union itself): ``box_iou`` and its family, the NMS paths, COCO matching
(pycocotools' C ``bbIou``, crowd regions included) and VOC AP (with the devkit's ``+1``). So one float64
formula decides everything, in one operation order:

    iw = max(min(x2a, x2b) - max(x1a, x1b) [+ 1], 0)      ih likewise
    inter = iw * ih                                        union = (area_a + area_b) - inter
    IoU = inter / union   (or inter / area_a where ``over_a``: IoA, COCO's IoU against a crowd region)
    IoU = 0 where inter == 0                               (never NaN, no epsilon)

Boxes are given as *columns*: a float64 array of shape (5, ...) holding ``x1, y1, x2, y2, area``
(:data:`Columns`), and ``a`` and ``b`` broadcast: (5, N, 1) against (5, 1, M) gives the
(N, M) matrix, gathered (5, P) against (5, P) gives P pairs, (5, 1) is one box against all. Stacking the
coordinates lets x and y share each numpy call (the kernel is call-bound at NMS sizes). Areas come from
:func:`box_columns` (``w * h``) or from the caller (COCO's ``w * h`` of the xywh box, which can differ from
``(x2 - x1) * (y2 - y1)`` in the last bit, as pycocotools computes it).
"""

from __future__ import annotations

import numpy as np

#: Box columns: float64 (5, ...) array of ``x1, y1, x2, y2, area``.
Columns = np.ndarray

# Smallest positive float64. When the areas are the boxes' own, a union (or an IoA's area) that is not 0 is
# at least the intersection, so ``inter / max(union, _TINY)`` is exactly ``inter / union``, and 0 when the
# intersection (hence the union) is 0: the IoU without a mask.
_TINY = float(np.finfo(np.float64).smallest_subnormal)


def box_columns(boxes_xyxy: np.ndarray, *, plus_one: bool = False) -> Columns:
    """Columns of float64 (..., 4) xyxy boxes, with areas ``(x2 - x1) * (y2 - y1)``.

    Args:
        boxes_xyxy: (..., 4) float64 absolute xyxy boxes, ``x_min <= x_max``, ``y_min <= y_max``.
        plus_one: VOC devkit's integer-pixel convention: widths and heights count ``x2 - x1 + 1`` pixels.

    Returns:
        (5, ...) float64: ``x1, y1, x2, y2, area``.
    """
    cols = np.empty((5, *boxes_xyxy.shape[:-1]))
    cols[:4] = np.moveaxis(boxes_xyxy, -1, 0)
    wh = cols[2:4] - cols[0:2]
    if plus_one:
        wh += 1.0
    np.multiply(wh[0], wh[1], out=cols[4])
    return cols


def overlap(a: Columns, b: Columns, *, plus_one: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Intersection and union areas of boxes ``a`` and ``b`` (broadcast together); both new float64 arrays.

    ``plus_one`` adds 1 to the intersection's width and height, as :func:`box_columns` does to the areas.
    """
    # one allocation for all temporaries: repeated large allocations cost page faults (glibc returns them to
    # the system between calls), a single one is reused
    work = np.empty((4, *(a.shape[1:] if a.shape == b.shape else np.broadcast(a[0], b[0]).shape)))
    iwh = np.minimum(a[2:4], b[2:4], out=work[:2])  # width and height of the intersection, one call each
    iwh -= np.maximum(a[0:2], b[0:2], out=work[2:])
    if plus_one:
        iwh += 1.0
    np.maximum(iwh, 0.0, out=iwh)
    inter = np.multiply(iwh[0], iwh[1], out=work[2])
    union = np.add(a[4], b[4], out=work[3])
    union -= inter
    return inter, union


def pair_iou(
    a: Columns,
    b: Columns,
    *,
    plus_one: bool = False,
    over_a: bool | np.ndarray = False,
    given_areas: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """IoU of boxes ``a`` and ``b`` (the rule in this module's docstring), float64, 0 where they do not meet.

    Args:
        a: columns of the first boxes.
        b: columns of the second boxes, broadcastable against ``a``.
        plus_one: the VOC devkit's ``+1`` pixel convention (areas in ``a`` and ``b`` must use it too).
        over_a: True, or a bool array broadcastable to the result: there divide by ``a``'s area instead of
            the union (IoA; pycocotools' IoU of a detection ``a`` against a crowd region ``b``).
        given_areas: the areas were not computed from these coordinates by :func:`box_columns` (COCO's
            ``w * h`` of the xywh box): then the division is masked by ``inter > 0`` explicitly, exactly as
            pycocotools' ``bbIou``; otherwise it needs no mask (see ``_TINY``) and is the same number.
        out: float64 array of the result's shape to write into.

    Returns:
        The broadcast shape of ``a`` and ``b``: IoU (or IoA) in [0, 1], 0 where the intersection is 0.
    """
    inter, den = overlap(a, b, plus_one=plus_one)
    if over_a is not False:
        den = np.where(over_a, a[4], den)
    if given_areas:
        return divide_overlap(inter, den, given_areas=True, out=out)
    return divide_overlap(inter, den, out=den if out is None else out)


def divide_overlap(
    inter: np.ndarray, den: np.ndarray, *, given_areas: bool = False, out: np.ndarray | None = None
) -> np.ndarray:
    """The kernel's division: ``inter / den``, 0 where ``inter`` is 0 (``given_areas`` as in :func:`pair_iou`).

    ``inter`` and ``den`` are left intact unless ``out`` is one of them (allowed only without
    ``given_areas``).
    """
    if given_areas:
        if out is None:
            out = np.zeros(np.broadcast(inter, den).shape)
        else:
            out[...] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):  # inter > 0 over a zero area: inf, as in C
            return np.divide(inter, den, out=out, where=inter > 0)
    den = np.maximum(den, _TINY, out=out)
    return np.divide(inter, den, out=den)
