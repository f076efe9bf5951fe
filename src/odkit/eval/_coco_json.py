"""Fast loaders from COCO JSON (an instances file and a results list) straight into flat arrays.

No per-annotation Python objects are built beyond what ``json`` itself returns: each field is pulled out
with one list comprehension and turned into an array, and validation is vectorized; only when something
is wrong is the input scanned entry by entry, to name the first bad entry.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Hashable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from odkit._runtime import read_json_file
from odkit.errors import AnnotationError, EvaluationError

__all__ = ["CocoDetections", "CocoGroundTruth", "load_coco_ground_truth", "load_coco_results"]

PathOrData = str | os.PathLike[str] | dict[str, Any] | list[Any]


def _read_json(source: Any, what: str) -> tuple[Any, str, bool]:
    """``(data, path for messages, may_hold_bools)``: a file whose text has no ``true`` / ``false`` holds no
    JSON boolean, which spares scanning every number's type (parsed data passed in is always scanned)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        data, raw = read_json_file(path, what)
        return data, path, b"true" in raw or b"false" in raw
    return source, f"<{what}>", True


def _sorted_ids(ids: Sequence[Hashable]) -> list[Hashable]:
    """Ids in pycocotools' order (sorted) when they are mutually comparable, else in given order."""
    try:
        return sorted(ids)  # type: ignore[type-var]
    except TypeError:
        return list(ids)


class CocoGroundTruth(NamedTuple):
    """A COCO instances file as flat arrays.

    Attributes:
        image_ids: image ids in evaluation order (sorted when comparable); index i is image i.
        class_ids: category ids in evaluation order (sorted when comparable).
        class_names: category name per class index.
        gt_image: (G,) int64 image index per annotation.
        gt_class: (G,) int64 class index.
        gt_xyxy: (G, 4) float64 absolute xyxy (``x_max = x + w``).
        gt_box_area: (G,) float64 ``w*h`` of the bbox.
        gt_area: (G,) float64 the ``area`` field (the bbox ``w*h`` when the field is absent).
        gt_crowd: (G,) bool ``iscrowd``.
        path: where it came from, for messages.
        gt_zero_id: (G,) bool, the annotation's ``id`` is 0 (pycocotools reads a match to it as no match).
    """

    image_ids: list[Hashable]
    class_ids: list[Hashable]
    class_names: list[str]
    gt_image: np.ndarray
    gt_class: np.ndarray
    gt_xyxy: np.ndarray
    gt_box_area: np.ndarray
    gt_area: np.ndarray
    gt_crowd: np.ndarray
    path: str
    gt_zero_id: np.ndarray


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


def _xywh_to_arrays(bbox_xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, w, h = bbox_xywh.T
    return np.stack([x, y, x + w, y + h], axis=1), w * h


_BOOL_TYPES = (bool, np.bool_)


def _item_types(values: list[Any], nested: bool) -> set[type] | None:
    """The types of the items of ``values`` (of the items of its items when ``nested``); None when a nested
    value is not a list or tuple."""
    if nested:
        if not set(map(type, values)) <= {list, tuple}:
            return None
        return set(map(type, chain.from_iterable(values)))
    return set(map(type, values))


def _numeric_array(
    values: list[Any], shape_tail: tuple[int, ...], check_bools: bool, allow_bool: bool = False
) -> np.ndarray | None:
    """float64 array of ``values`` when every item is a real number that is finite in float64 or an
    overflow to be reported (bools only if allowed), else None (the caller then names the bad entry).

    ``np.array`` turns ``True`` among numbers into 1 silently, so unless bools are allowed, or the caller
    knows there are none (``check_bools=False``), the item types are scanned for them.
    """
    if not values:
        return np.zeros((0, *shape_tail), dtype=np.float64)
    if check_bools and not allow_bool:
        types = _item_types(values, nested=bool(shape_tail))
        if types is None or any(t in types for t in _BOOL_TYPES):
            return None
    try:
        arr = np.array(values)
    except (ValueError, TypeError):
        return None
    if arr.dtype.kind in "uO":
        # integers past int64 (2**64, 10**400): exact numbers, kept when float64 holds them; strings, None
        # or ragged rows stay invalid
        types = _item_types(values, nested=bool(shape_tail))
        if types is None or not all(issubclass(t, numbers.Real) and not issubclass(t, _BOOL_TYPES) for t in types):
            return None
        try:
            arr = np.array(values, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return None
    if (
        arr.dtype.kind not in ("bif" if allow_bool else "if")
        or arr.shape[1:] != shape_tail
        or arr.shape[0] != len(values)
    ):
        return None
    return arr.astype(np.float64, copy=False)


def _lookup(raw: list[Any], ids: list[Hashable], index: dict[Hashable, int]) -> np.ndarray | None:
    """(N,) int64 position of each raw id in ``ids`` (sorted ints: one vectorized search), None if any is
    unknown (the caller then scans for the first bad entry)."""
    if not raw:
        return np.zeros(0, dtype=np.int64)
    try:
        arr = np.array(raw) if all(type(v) is int for v in ids[:1]) else None
    except (ValueError, TypeError):  # ragged or odd ids: the per-entry lookup below names them
        arr = None
    if arr is not None and arr.dtype.kind == "i" and arr.ndim == 1:
        keys = np.array(ids)
        if keys.dtype.kind == "i" and np.all(keys[1:] > keys[:-1]):
            pos = np.minimum(np.searchsorted(keys, arr), keys.size - 1)
            return pos.astype(np.int64) if np.array_equal(keys[pos], arr) else None
    try:
        return np.fromiter(map(index.__getitem__, raw), dtype=np.int64, count=len(raw))
    except (KeyError, TypeError):
        return None


def _check_entry(entry: Any, img_index: dict[Hashable, int], cls_index: dict[Hashable, int], gt: bool) -> str:
    """Why one annotation / result entry is invalid, or '' when it is fine."""
    if not isinstance(entry, dict):
        return f"expected an object, got {type(entry).__name__}"
    keys = ("image_id", "category_id", "bbox") + (() if gt else ("score",))
    for key in keys:
        if key not in entry:
            return f"missing key {key!r}"
    try:
        if entry["image_id"] not in img_index:
            what = "images" if gt else "the ground truth (results must correspond to the GT set)"
            return f"image_id {entry['image_id']!r} is not in {what}"
        if entry["category_id"] not in cls_index:
            return f"category_id {entry['category_id']!r} is not in the ground truth's categories"
    except TypeError:
        return f"ids must be hashable; got image_id={entry['image_id']!r}, category_id={entry['category_id']!r}"
    bbox = entry["bbox"]
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        has_bool = isinstance(bbox, (list, tuple)) and any(isinstance(v, _BOOL_TYPES) for v in bbox)
        extra = ", not booleans" if has_bool else ""
        return f"bbox must be [x, y, w, h] (4 numbers{extra}); got {bbox!r}"
    if not all(_is_finite(v) for v in bbox):
        return f"bbox must be finite in float64; got {bbox!r}"
    if bbox[2] < 0 or bbox[3] < 0:
        return f"bbox has a negative width or height: {bbox!r}"
    for key in ("score",) if not gt else ("area", "iscrowd"):
        if gt and key not in entry:
            continue
        v = entry[key]
        if key == "iscrowd":
            if not (isinstance(v, _BOOL_TYPES) or (_is_number(v) and v in (0, 1))):
                return f"iscrowd must be 0, 1, true or false; got {v!r}"
            continue
        if not _is_number(v):
            extra = ", not a boolean" if isinstance(v, _BOOL_TYPES) else ""
            return f"{key} must be a number{extra}; got {v!r}"
        if not _is_finite(v):
            return f"{key} must be finite in float64; got {v!r}"
        if key == "area" and v < 0:
            return f"area must be >= 0; got {v!r}"
    return ""


def _is_number(value: Any) -> bool:
    """A real number that is not a boolean (numpy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, _BOOL_TYPES)


def _is_finite(value: Any) -> bool:
    """Finite once stored as float64: ``10**400`` is not (``math.isfinite`` would raise OverflowError)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _first_bad(
    entries: list[Any], img_index: dict[Hashable, int], cls_index: dict[Hashable, int], gt: bool
) -> tuple[int, str]:
    for i, entry in enumerate(entries):
        msg = _check_entry(entry, img_index, cls_index, gt)
        if msg:
            return i, msg
    raise AssertionError("a vectorized check failed but no entry is invalid")  # internal invariant


def load_coco_ground_truth(source: PathOrData) -> CocoGroundTruth:
    """Load a COCO instances file (or its parsed dict) into flat arrays.

    Args:
        source: path to the JSON file, or the already-parsed dict (not modified).

    Returns:
        the ground truth; all images of ``images`` and all categories of ``categories`` take part.

    Raises:
        AnnotationError: naming ``annotations[i]`` (or the section) when something is malformed: missing
            keys, a repeated annotation ``id``, an unknown image or category id, a bbox that is not 4 finite
            numbers with w, h >= 0, a negative or non-finite ``area``.
    """
    data, path, check_bools = _read_json(source, "ground truth")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise AnnotationError(path, None, "expected a COCO instances object with an 'images' list")
    cats = data.get("categories")
    if not isinstance(cats, list):
        raise AnnotationError(path, None, "expected a 'categories' list")
    anns = data.get("annotations", [])
    if not isinstance(anns, list):
        raise AnnotationError(path, "annotations", f"expected a list, got {type(anns).__name__}")
    try:
        raw_img_ids = [img["id"] for img in data["images"]]
        raw_cls = {c["id"]: str(c.get("name", c["id"])) for c in cats}
    except (KeyError, TypeError) as exc:
        raise AnnotationError(path, "images/categories", f"every image and category needs an 'id' ({exc})") from None
    try:
        unique_img_ids = len(set(raw_img_ids)) == len(raw_img_ids)
    except TypeError:
        i = _first_unhashable(raw_img_ids)
        msg = f"id must be a number or a string; got {raw_img_ids[i]!r}"
        raise AnnotationError(path, f"images[{i}]", msg) from None
    if not unique_img_ids:
        raise AnnotationError(path, "images", "image ids must be unique")
    image_ids = _sorted_ids(raw_img_ids)
    class_ids = _sorted_ids(list(raw_cls))
    img_index = {v: i for i, v in enumerate(image_ids)}
    cls_index = {v: i for i, v in enumerate(class_ids)}

    bad = False
    try:
        gt_image = np.fromiter((img_index[a["image_id"]] for a in anns), dtype=np.int64, count=len(anns))
        gt_class = np.fromiter((cls_index[a["category_id"]] for a in anns), dtype=np.int64, count=len(anns))
        bbox = _numeric_array([a["bbox"] for a in anns], (4,), check_bools)
        crowd = _numeric_array([a.get("iscrowd", 0) for a in anns], (), check_bools, allow_bool=True)
        area_raw = [a.get("area") for a in anns]
    except (KeyError, TypeError):
        bad = True
    if bad or bbox is None or crowd is None:
        i, msg = _first_bad(anns, img_index, cls_index, gt=True)
        raise AnnotationError(path, f"annotations[{i}]", msg)
    ann_ids = [a.get("id") for a in anns]
    _check_unique_ids(ann_ids, path)
    gt_xyxy, gt_box_area = _xywh_to_arrays(bbox)
    if any(v is None for v in area_raw):
        area_raw = [b if v is None else v for v, b in zip(area_raw, gt_box_area.tolist())]
    area = _numeric_array(area_raw, (), check_bools)
    if area is None:
        i, msg = _first_bad(anns, img_index, cls_index, gt=True)
        raise AnnotationError(path, f"annotations[{i}]", msg)
    bad_rows = ~np.isfinite(bbox).all(axis=1) | (bbox[:, 2] < 0) | (bbox[:, 3] < 0) | ~np.isfinite(area) | (area < 0)
    # pycocotools ignores a GT when bool(iscrowd) but matches crowd-style when int(iscrowd): 0.5 would be
    # ignored and matched as a normal box; only 0 / 1 / true / false have one reading
    bad_rows |= (crowd != 0) & (crowd != 1)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        raise AnnotationError(path, f"annotations[{i}]", _check_entry(anns[i], img_index, cls_index, True))
    return CocoGroundTruth(
        image_ids=image_ids,
        class_ids=class_ids,
        class_names=[raw_cls[c] for c in class_ids],
        gt_image=gt_image,
        gt_class=gt_class,
        gt_xyxy=gt_xyxy,
        gt_box_area=gt_box_area,
        gt_area=np.asarray(area, dtype=np.float64).reshape(-1),
        gt_crowd=crowd.astype(bool) if crowd.size else np.zeros(0, dtype=bool),
        path=path,
        gt_zero_id=np.fromiter(map(_is_zero_id, ann_ids), dtype=bool, count=len(anns)),
    )


def _first_unhashable(values: list[Any]) -> int:
    for i, v in enumerate(values):
        try:
            hash(v)
        except TypeError:
            return i
    raise AssertionError("set() failed but every value hashes")  # internal invariant


def _check_unique_ids(ann_ids: list[Any], path: str) -> None:
    """Raise naming the first annotation whose ``id`` repeats an earlier one (or is unhashable).

    pycocotools indexes annotations by id, so a repeated id makes ``loadAnns`` return the last annotation
    of that id twice and the other never: the GT it evaluates is not the file's. odkit refuses instead of
    silently giving different numbers. Annotations without an ``id`` are not checked (odkit needs none).
    """
    present = [v for v in ann_ids if v is not None]
    try:
        if len(set(present)) == len(present):
            return
    except TypeError:
        pass
    seen: dict[Any, int] = {}
    for i, v in enumerate(ann_ids):
        if v is None:
            continue
        try:
            first = seen.setdefault(v, i)
        except TypeError:
            raise AnnotationError(path, f"annotations[{i}]", f"id must be a number or a string; got {v!r}") from None
        if first != i:
            raise AnnotationError(
                path, f"annotations[{i}]", f"annotation ids must be unique; id {v!r} is also annotations[{first}]'s"
            )


def _is_zero_id(value: object) -> bool:
    """True for an id pycocotools' float ``dtm`` array would store as 0: 0, 0.0, -0.0, False, and strings
    numpy parses as zero ("0", "0.0", "-0", " 0 ").

    A string id that is not a number ("a1") would make pycocotools itself fail (``float("a1")`` when it
    stores the match); odkit does not need the id to evaluate, so it keeps evaluating and reads the id
    as non-zero.
    """
    if isinstance(value, str):
        try:
            return float(value) == 0
        except ValueError:
            return False
    return isinstance(value, numbers.Real) and value == 0


def load_coco_results(source: PathOrData, gt: CocoGroundTruth) -> CocoDetections:
    """Load a COCO results list ``[{image_id, category_id, bbox: [x, y, w, h], score}]`` into flat arrays.

    The list order is kept: it is the tie-break between equal scores (as in pycocotools).

    Args:
        source: path to the JSON file, or the parsed list (not modified).
        gt: the ground truth the results refer to.

    Returns:
        the detections.

    Raises:
        EvaluationError: naming ``results[i]`` for the first bad entry: not an object, a missing key, an
            image id not in the GT (pycocotools: "Results do not correspond to current coco set"), a
            category id not in the GT's categories, a bbox that is not 4 finite numbers, a negative
            width or height, a score that is not a finite number. Nothing is dropped silently.
    """
    data, path, check_bools = _read_json(source, "results")
    if not isinstance(data, list):
        raise EvaluationError(f"{path}: expected a list of result objects, got {type(data).__name__}")
    img_index = {v: i for i, v in enumerate(gt.image_ids)}
    cls_index = {v: i for i, v in enumerate(gt.class_ids)}
    arrays = None
    try:
        det_image = _lookup(list(map(itemgetter("image_id"), data)), gt.image_ids, img_index)
        det_class = _lookup(list(map(itemgetter("category_id"), data)), gt.class_ids, cls_index)
        bbox = _numeric_array(list(map(itemgetter("bbox"), data)), (4,), check_bools)
        score = _numeric_array(list(map(itemgetter("score"), data)), (), check_bools)
        if det_image is not None and det_class is not None and bbox is not None and score is not None:
            arrays = (det_image, det_class, bbox, score)
    except (KeyError, TypeError):
        arrays = None
    if arrays is None:
        i, msg = _first_bad(data, img_index, cls_index, gt=False)
        raise EvaluationError(f"{path}: results[{i}]: {msg}")
    det_image, det_class, bbox, score = arrays
    bad_rows = ~np.isfinite(bbox).all(axis=1) | (bbox[:, 2] < 0) | (bbox[:, 3] < 0) | ~np.isfinite(score)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        raise EvaluationError(f"{path}: results[{i}]: {_check_entry(data[i], img_index, cls_index, False)}")
    det_xyxy, det_area = _xywh_to_arrays(bbox)
    return CocoDetections(
        det_image=det_image, det_class=det_class, det_xyxy=det_xyxy, det_area=det_area, det_score=score
    )
