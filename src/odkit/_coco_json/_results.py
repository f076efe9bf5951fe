"""The COCO results (predictions) reader: ``[{image_id, category_id, bbox, score}]`` into flat arrays, as
indices into the ground truth's images and categories."""

from __future__ import annotations

from collections.abc import Hashable
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from odkit._coco_json._fields import PathOrData, bad_entries, check_entry, numeric_array, read_json, xywh_to_arrays
from odkit._coco_json._instances import CocoGroundTruth
from odkit.errors import EvaluationError


class CocoDetections(NamedTuple):
    """A COCO results list as flat arrays, indices into a :class:`CocoGroundTruth`'s id lists.

    Attributes:
        det_image: (N,) int64 image index.
        det_class: (N,) int64 class index.
        det_xyxy: (N, 4) float64 absolute xyxy (``x_max = x + w``).
        det_area: (N,) float64 ``w*h``.
        det_score: (N,) float64.
    """

    det_image: np.ndarray
    det_class: np.ndarray
    det_xyxy: np.ndarray
    det_area: np.ndarray
    det_score: np.ndarray


class UnknownCategories(NamedTuple):
    """Results whose category is not in the ground truth: pycocotools evaluates only the GT's categories
    and ignores them; odkit does the same, and says so.

    Attributes:
        count: how many results.
        category_ids: their distinct category ids (in order of first appearance).
        first: index in the results list of the first one.
    """

    count: int
    category_ids: list[Hashable]
    first: int

    def message(self, path: str) -> str:
        """One line naming the count, the ids and the first offending entry."""
        ids = ", ".join(map(repr, self.category_ids[:10])) + (", ..." if len(self.category_ids) > 10 else "")
        return (f"{path}: {self.count} result(s) have a category_id that is not in the ground truth's categories "
                f"({ids}; first: results[{self.first}])")


def load_coco_results(
    source: PathOrData, gt: CocoGroundTruth, *, strict: bool = False
) -> tuple[CocoDetections, UnknownCategories | None]:
    """Load a COCO results list ``[{image_id, category_id, bbox: [x, y, w, h], score}]`` into flat arrays.

    The list order is kept: it is the tie-break between equal scores (as in pycocotools).

    Args:
        source: path to the JSON file, or the parsed list (not modified).
        gt: the ground truth the results refer to.
        strict: a result whose category is not in the GT is an error; by default such results are left out
            (pycocotools evaluates only the GT's categories) and reported in the second return value.

    Returns:
        the detections (of the GT's categories), and what was left out (None when nothing was).

    Raises:
        EvaluationError: naming ``results[i]`` for the first bad entry: not an object, a missing key, an
            image id not in the GT (pycocotools: "Results do not correspond to current coco set"), a
            bbox that is not 4 finite numbers, a negative width or height, a score that is not a finite
            number, and with ``strict`` a category id not in the GT.
    """
    data, path, check_bools = read_json(source, "results")
    if not isinstance(data, list):
        raise EvaluationError(f"{path}: expected a list of result objects, got {type(data).__name__}")
    img_index = {v: i for i, v in enumerate(gt.image_ids)}
    cls_index = {v: i for i, v in enumerate(gt.class_ids)}
    arrays = None
    try:
        det_image = _lookup(list(map(itemgetter("image_id"), data)), gt.image_ids, img_index)
        raw_class = list(map(itemgetter("category_id"), data))
        det_class = _lookup(raw_class, gt.class_ids, cls_index)
        bbox = numeric_array(list(map(itemgetter("bbox"), data)), (4,), check_bools)
        score = numeric_array(list(map(itemgetter("score"), data)), (), check_bools)
        if det_class is None and not strict:
            det_class = _class_or_minus_one(raw_class, cls_index)
        if det_image is not None and det_class is not None and bbox is not None and score is not None:
            arrays = (det_image, det_class, bbox, score)
    except (KeyError, TypeError):
        arrays = None
    if arrays is None:
        bad = bad_entries(data, img_index, cls_index if strict else None, False, first_only=True)
        if not bad:
            raise AssertionError("a vectorized check failed but no entry is invalid")  # internal invariant
        where, _, msg = bad[0]
        raise EvaluationError(f"{path}: {where}: {msg}")
    det_image, det_class, bbox, score = arrays
    bad_rows = ~np.isfinite(bbox).all(axis=1) | (bbox[:, 2] < 0) | (bbox[:, 3] < 0) | ~np.isfinite(score)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        _, key, msg = check_entry(data[i], img_index, None, False)
        raise EvaluationError(f"{path}: results[{i}].{key}: {msg}")
    unknown = None
    outside = det_class < 0
    if outside.any():
        where = np.flatnonzero(outside)
        ids = list(dict.fromkeys(raw_class[i] for i in where.tolist()))
        unknown = UnknownCategories(int(where.size), ids, int(where[0]))
        keep = ~outside
        det_image, det_class, bbox, score = det_image[keep], det_class[keep], bbox[keep], score[keep]
    det_xyxy, det_area = xywh_to_arrays(bbox)
    dets = CocoDetections(det_image=det_image, det_class=det_class, det_xyxy=det_xyxy, det_area=det_area,
                          det_score=score)
    return dets, unknown


def _class_or_minus_one(raw: list[Any], cls_index: dict[Hashable, int]) -> np.ndarray | None:
    """(N,) int64 class index of each raw category id, -1 for ids not in the GT; None for unhashable ids."""
    try:
        return np.fromiter((cls_index.get(v, -1) for v in raw), dtype=np.int64, count=len(raw))
    except TypeError:
        return None


def _lookup(raw: list[Any], ids: list[Hashable], index: dict[Hashable, int]) -> np.ndarray | None:
    """(N,) int64 position of each raw id in ``ids`` (integer ids: one vectorized search), None if any is
    unknown (the caller then scans for the bad entries)."""
    if not raw:
        return np.zeros(0, dtype=np.int64)
    try:
        arr = np.array(raw) if ids and all(type(v) is int for v in ids[:1]) else None
    except (ValueError, TypeError, OverflowError):  # ragged or odd ids: the per-entry lookup below names them
        arr = None
    if arr is not None and arr.dtype.kind == "i" and arr.ndim == 1:
        keys = np.array(ids)
        if keys.dtype.kind == "i":
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            pos = np.minimum(np.searchsorted(sorted_keys, arr), keys.size - 1)
            return order[pos].astype(np.int64) if np.array_equal(sorted_keys[pos], arr) else None
    try:
        return np.fromiter(map(index.__getitem__, raw), dtype=np.int64, count=len(raw))
    except (KeyError, TypeError):
        return None
