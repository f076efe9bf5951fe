"""The one COCO JSON reader, beneath ``odkit.io`` (datasets) and ``odkit.eval`` (metrics).

An instances file (``{"images", "annotations", "categories"}``) and a results list (``[{image_id,
category_id, bbox, score}]``) are parsed (orjson when installed, the standard library otherwise) and turned
straight into columns: each field is pulled out with one list comprehension, validated vectorized, and
only when something is wrong is the input scanned entry by entry, to name the first bad entry (or, for a
lenient read, every bad entry, which is then skipped).

The rules, the same for every reader of COCO in odkit:

- **ids**: image and category ids are JSON integers or strings. An integral float (``3.0``) is the
  integer 3 (pycocotools' dicts treat ``3.0`` and ``3`` as one key); a numeric string ``"3"`` is a string,
  a different id from ``3`` (as in pycocotools). Fractional floats, booleans, ``null``, lists and objects
  are errors naming the entry; ids are unique. Annotation ids are optional and odkit needs them only to be
  unique (and for pycocotools' id-0 quirk, see ``COCOEvaluator.from_coco``): any JSON number, boolean or
  string is taken as it is; lists and objects are errors.
- **boxes**: ``bbox`` is ``[x, y, w, h]``, 4 finite numbers (not booleans) with ``w >= 0`` and ``h >= 0``;
  zero-size boxes are valid (their IoU is 0), negative sizes are errors naming the entry (pycocotools
  would compute with them and give meaningless IoUs).
- **crowd**: ``iscrowd`` is 0, 1, ``true`` or ``false`` (absent: 0); anything else (0.5, 2, "1") is an
  error, because pycocotools ignores a GT when ``bool(iscrowd)`` but matches it crowd-style when
  ``int(iscrowd)``.
- **missing fields**: ``annotations`` absent = no objects; ``area`` absent = the bbox ``w*h``; a category
  without ``name`` is named by its id; ``image_id``, ``category_id`` and ``bbox`` (and ``score`` in
  results) are required.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Hashable
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from odkit._runtime import read_json_file
from odkit.errors import AnnotationError, EvaluationError

__all__ = ["CocoDetections", "CocoGroundTruth", "UnknownCategories", "load_coco_ground_truth", "load_coco_results"]

PathOrData = str | os.PathLike[str] | dict[str, Any] | list[Any]


def _read_json(source: Any, what: str) -> tuple[Any, str, bool]:
    """``(data, path for messages, may_hold_bools)``: a file whose text has no ``true`` / ``false`` holds no
    JSON boolean, which spares scanning every number's type (parsed data passed in is always scanned)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        data, raw = read_json_file(path, what)
        return data, path, b"true" in raw or b"false" in raw
    return source, f"<{what}>", True


Id = int | str
ErrorSink = Callable[[str, str, str], None]  # (code, where, message): a lenient reader records and skips


class CocoGroundTruth(NamedTuple):
    """A COCO instances file as flat arrays.

    Attributes:
        image_ids: image ids in file order; index i is image i.
        class_ids: category ids in file order.
        class_names: category name per class index (the id as a string when the file gives no name).
        gt_image: (G,) int64 image index per annotation.
        gt_class: (G,) int64 class index.
        gt_xyxy: (G, 4) float64 absolute xyxy (``x_max = x + w``).
        gt_box_area: (G,) float64 ``w*h`` of the bbox.
        gt_area: (G,) float64 the ``area`` field (the bbox ``w*h`` when the field is absent).
        gt_crowd: (G,) bool ``iscrowd``.
        path: where it came from, for messages.
        gt_zero_id: (G,) bool, the annotation's ``id`` is 0 (pycocotools reads a match to it as no match).
        images: the raw ``images`` entries, aligned with ``image_ids`` (for ``file_name``, sizes...).
        categories: the raw ``categories`` entries, aligned with ``class_ids``.
        annotations: the raw ``annotations`` list of the file (every entry, kept or not).
        ann_rows: (G,) int64 index of each kept annotation in ``annotations`` (a lenient read skips some).
        ann_ids: G annotation ids (None where absent).
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
    images: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    annotations: list[Any]
    ann_rows: np.ndarray
    ann_ids: list[Any]


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


def _id_problem(value: Any) -> str:
    """Why ``value`` is not an id (see the module's rules), or ''."""
    if type(value) is int:
        return "" if -(2**63) <= value < 2**63 else f"id must fit in 64 bits; got {value!r}"
    if isinstance(value, str):
        return ""
    if type(value) is float and math.isfinite(value) and value == int(value) and -(2.0**63) <= value < 2.0**63:
        return ""
    return f"id must be an integer or a string; got {value!r}"


_ANN_ID_TYPES = {int, float, str, bool, type(None)}  # what a JSON parser gives for a scalar annotation id


def _ann_id_problem(value: Any) -> str:
    """Why ``value`` is not an annotation id (any JSON scalar), or ''."""
    if isinstance(value, (str, numbers.Real)):
        return ""
    return f"id must be a number or a string; got {value!r}"


def _normal_id(value: Any) -> Id:
    """An id as stored: integral floats become ints."""
    return int(value) if type(value) is float else value


def _check_entry(
    entry: Any, img_index: dict[Hashable, int], cls_index: dict[Hashable, int] | None, gt: bool
) -> tuple[str, str, str]:
    """``(code, field, why)`` one annotation / result entry is invalid (``field`` the key at fault, or ""),
    or ``("", "", "")`` when it is fine.

    ``cls_index`` None: category ids are not checked here (results with unknown categories are counted and
    ignored by the caller, as pycocotools ignores them).
    """
    if not isinstance(entry, dict):
        return "bad_annotation", "", f"expected an object, got {type(entry).__name__}"
    keys = ("image_id", "category_id", "bbox") + (() if gt else ("score",))
    missing = [k for k in keys if k not in entry]
    if missing:
        return "bad_annotation", "", f"missing key {missing[0]!r}" if len(missing) == 1 else f"missing keys {missing}"
    for key in ("image_id", "category_id"):
        try:
            hash(entry[key])
        except TypeError:
            return "bad_annotation", key, (f"ids must be hashable; got image_id={entry['image_id']!r}, "
                                           f"category_id={entry['category_id']!r}")
    if entry["image_id"] not in img_index:
        what = "images" if gt else "the ground truth (results must correspond to the GT set)"
        return "missing_image_record", "image_id", f"image_id {entry['image_id']!r} is not in {what}"
    if cls_index is not None and entry["category_id"] not in cls_index:
        return ("unknown_class", "category_id",
                f"category_id {entry['category_id']!r} is not in the ground truth's categories")
    bbox = entry["bbox"]
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        has_bool = isinstance(bbox, (list, tuple)) and any(isinstance(v, _BOOL_TYPES) for v in bbox)
        extra = ", not booleans" if has_bool else ""
        return "bad_box", "bbox", f"bbox must be [x, y, w, h] (4 numbers{extra}); got {bbox!r}"
    if not all(_is_finite(v) for v in bbox):
        return "bad_box", "bbox", f"bbox must be finite in float64; got {bbox!r}"
    if bbox[2] < 0 or bbox[3] < 0:
        return "inverted_box", "bbox", f"bbox has a negative width or height: {bbox!r}"
    for key in ("score",) if not gt else ("area", "iscrowd"):
        if gt and key not in entry:
            continue
        v = entry[key]
        if key == "iscrowd":
            if not (isinstance(v, _BOOL_TYPES) or (_is_number(v) and v in (0, 1))):
                return "bad_annotation", "iscrowd", f"iscrowd must be 0, 1, true or false; got {v!r}"
            continue
        if not _is_number(v):
            extra = ", not a boolean" if isinstance(v, _BOOL_TYPES) else ""
            return "bad_annotation", key, f"{key} must be a number{extra}; got {v!r}"
        if not _is_finite(v):
            return "bad_annotation", key, f"{key} must be finite in float64; got {v!r}"
        if key == "area" and v < 0:
            return "bad_annotation", "area", f"area must be >= 0; got {v!r}"
    if gt and "id" in entry and _ann_id_problem(entry["id"]):
        return "bad_annotation", "id", _ann_id_problem(entry["id"])
    return "", "", ""


def _is_number(value: Any) -> bool:
    """A real number that is not a boolean (numpy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, _BOOL_TYPES)


def _is_finite(value: Any) -> bool:
    """Finite once stored as float64: ``10**400`` is not (``math.isfinite`` would raise OverflowError)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _bad_entries(
    entries: list[Any], img_index: dict[Hashable, int], cls_index: dict[Hashable, int] | None, gt: bool,
    first_only: bool,
) -> list[tuple[str, str, str]]:
    """``(where, code, why)`` of the invalid entries (only the first when ``first_only``); ``where`` is
    ``annotations[i].field`` / ``results[i].field``."""
    section = "annotations" if gt else "results"
    out = []
    for i, entry in enumerate(entries):
        code, key, msg = _check_entry(entry, img_index, cls_index, gt)
        if msg:
            out.append((f"{section}[{i}]" + (f".{key}" if key else ""), code, msg))
            if first_only:
                break
    return out


def _id_list(entries: list[Any], section: str, path: str) -> list[Id]:
    """The ``id`` of every entry of ``images`` / ``categories``, checked (module rules) and unique."""
    ids: list[Id] = []
    seen: dict[Hashable, int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise AnnotationError(path, f"{section}[{i}]", f"expected an object with an 'id'; got {entry!r:.80}")
        why = _id_problem(entry["id"])
        if why:
            raise AnnotationError(path, f"{section}[{i}]", why)
        v = _normal_id(entry["id"])
        first = seen.setdefault(v, i)
        if first != i:
            raise AnnotationError(path, f"{section}[{i}]", f"id {v!r} appears twice (also {section}[{first}])")
        ids.append(v)
    return ids


def _gt_columns(anns: list[Any], img_index: dict[Hashable, int], cls_index: dict[Hashable, int],
                check_bools: bool) -> tuple[np.ndarray, ...] | None:
    """Vectorized parse of well-formed annotations: (image, class, bbox, crowd, area); None when any entry
    needs a closer look."""
    try:
        gt_image = np.fromiter((img_index[a["image_id"]] for a in anns), dtype=np.int64, count=len(anns))
        gt_class = np.fromiter((cls_index[a["category_id"]] for a in anns), dtype=np.int64, count=len(anns))
        bbox = _numeric_array([a["bbox"] for a in anns], (4,), check_bools)
        crowd = _numeric_array([a.get("iscrowd", 0) for a in anns], (), check_bools, allow_bool=True)
        area_raw = [a.get("area") for a in anns]
    except (KeyError, TypeError):
        return None
    if bbox is None or crowd is None:
        return None
    if not set(map(type, map(_get_id, anns))) <= _ANN_ID_TYPES:
        return None  # an annotation id that is a list or an object: _check_entry says which
    if any(v is None for v in area_raw):
        w_h = (bbox[:, 2] * bbox[:, 3]).tolist()
        area_raw = [b if v is None else v for v, b in zip(area_raw, w_h)]
    area = _numeric_array(area_raw, (), check_bools)
    if area is None:
        return None
    bad_rows = ~np.isfinite(bbox).all(axis=1) | (bbox[:, 2] < 0) | (bbox[:, 3] < 0) | ~np.isfinite(area) | (area < 0)
    bad_rows |= (crowd != 0) & (crowd != 1)
    if bad_rows.any():
        return None
    return gt_image, gt_class, bbox, crowd, area


def _get_id(entry: dict[str, Any]) -> Any:
    return entry.get("id")


def load_coco_ground_truth(source: PathOrData, on_error: ErrorSink | None = None) -> CocoGroundTruth:
    """Load a COCO instances file (or its parsed dict) into flat arrays, by the module's rules.

    Args:
        source: path to the JSON file, or the already-parsed dict (not modified).
        on_error: None to raise on the first bad annotation; else called with ``(code, "annotations[i]",
            why)`` for every bad annotation, which is then skipped (a lenient read). Problems with the file's
            structure, ``images`` or ``categories`` always raise.

    Returns:
        the ground truth; all images of ``images`` and all categories of ``categories`` take part.

    Raises:
        AnnotationError: naming ``annotations[i]`` (or the section) when something is malformed: missing
            keys, a repeated annotation ``id``, an unknown image or category id, a bbox that is not 4 finite
            numbers with w, h >= 0, a negative or non-finite ``area``, an ``iscrowd`` other than 0/1.
    """
    data, path, check_bools = _read_json(source, "ground truth")
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"expected a COCO instances object at the top level; got "
                                          f"{type(data).__name__}")
    for key in ("images", "categories"):
        if key not in data:
            raise AnnotationError(path, None, f"missing top-level key {key!r} (a COCO instances file has "
                                              "'images', 'annotations' and 'categories')")
        if not isinstance(data[key], list):
            raise AnnotationError(path, key, f"expected a list; got {type(data[key]).__name__}")
    anns = data.get("annotations", [])
    if not isinstance(anns, list):
        raise AnnotationError(path, "annotations", f"expected a list; got {type(anns).__name__}")
    images, cats = data["images"], data["categories"]
    image_ids = _id_list(images, "images", path)
    class_ids = _id_list(cats, "categories", path)
    class_names = []
    for i, c in enumerate(cats):
        name = c.get("name", str(c["id"]))
        if not isinstance(name, str):
            raise AnnotationError(path, f"categories[{i}]", f"name must be a string; got {name!r:.60}")
        class_names.append(name)
    img_index = {v: i for i, v in enumerate(image_ids)}
    cls_index = {v: i for i, v in enumerate(class_ids)}

    rows = np.arange(len(anns), dtype=np.int64)
    kept = anns
    columns = _gt_columns(anns, img_index, cls_index, check_bools)
    if columns is None:
        bad = _bad_entries(anns, img_index, cls_index, True, first_only=on_error is None)
        if not bad:
            raise AssertionError("a vectorized check failed but no entry is invalid")  # internal invariant
        if on_error is None:
            where, _, msg = bad[0]
            raise AnnotationError(path, where, msg)
        for where, code, msg in bad:
            on_error(code, where, msg)
        drop = np.zeros(len(anns), dtype=bool)
        drop[[int(where.split("[", 1)[1].split("]", 1)[0]) for where, _, _ in bad]] = True
        rows = np.flatnonzero(~drop)
        kept = [anns[i] for i in rows.tolist()]
        columns = _gt_columns(kept, img_index, cls_index, check_bools)
        if columns is None:
            raise AssertionError("entries that passed the check failed the vectorized parse")  # internal invariant
    gt_image, gt_class, bbox, crowd, area = columns
    ann_ids = [a.get("id") for a in kept]
    dup = _repeated_ids(ann_ids, rows)
    if dup:
        if on_error is None:
            i, msg = dup[0]
            raise AnnotationError(path, f"annotations[{int(rows[i])}]", msg)
        for i, msg in dup:
            on_error("duplicate_id", f"annotations[{int(rows[i])}]", msg)
        keep = np.ones(len(kept), dtype=bool)
        keep[[i for i, _ in dup]] = False
        gt_image, gt_class, bbox, crowd, area = (c[keep] for c in (gt_image, gt_class, bbox, crowd, area))
        rows = rows[keep]
        ann_ids = [v for v, k in zip(ann_ids, keep.tolist()) if k]
    gt_xyxy, gt_box_area = _xywh_to_arrays(bbox)
    return CocoGroundTruth(
        image_ids=image_ids,
        class_ids=class_ids,
        class_names=class_names,
        gt_image=gt_image,
        gt_class=gt_class,
        gt_xyxy=gt_xyxy,
        gt_box_area=gt_box_area,
        gt_area=np.asarray(area, dtype=np.float64).reshape(-1),
        gt_crowd=crowd.astype(bool) if crowd.size else np.zeros(0, dtype=bool),
        path=path,
        gt_zero_id=np.fromiter(map(_is_zero_id, ann_ids), dtype=bool, count=len(ann_ids)),
        images=images,
        categories=cats,
        annotations=anns,
        ann_rows=rows,
        ann_ids=ann_ids,
    )


def _repeated_ids(ann_ids: list[Any], rows: np.ndarray) -> list[tuple[int, str]]:
    """``(i, why)`` for each annotation (``i`` into ``ann_ids``; ``rows`` maps it to the file's index) whose
    ``id`` repeats an earlier one.

    pycocotools indexes annotations by id, so a repeated id makes ``loadAnns`` return the last annotation
    of that id twice and the other never: the GT it evaluates is not the file's. odkit refuses instead of
    silently giving different numbers. Annotations without an ``id`` are not checked (odkit needs none).
    """
    present = [v for v in ann_ids if v is not None]
    if len(set(present)) == len(present):
        return []
    seen: dict[Any, int] = {}
    out = []
    for i, v in enumerate(ann_ids):
        if v is None:
            continue
        first = seen.setdefault(v, i)
        if first != i:
            out.append((i, f"annotation ids must be unique; id {v!r} is also annotations[{int(rows[first])}]'s"))
    return out


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
    data, path, check_bools = _read_json(source, "results")
    if not isinstance(data, list):
        raise EvaluationError(f"{path}: expected a list of result objects, got {type(data).__name__}")
    img_index = {v: i for i, v in enumerate(gt.image_ids)}
    cls_index = {v: i for i, v in enumerate(gt.class_ids)}
    arrays = None
    try:
        det_image = _lookup(list(map(itemgetter("image_id"), data)), gt.image_ids, img_index)
        raw_class = list(map(itemgetter("category_id"), data))
        det_class = _lookup(raw_class, gt.class_ids, cls_index)
        bbox = _numeric_array(list(map(itemgetter("bbox"), data)), (4,), check_bools)
        score = _numeric_array(list(map(itemgetter("score"), data)), (), check_bools)
        if det_class is None and not strict:
            det_class = _class_or_minus_one(raw_class, cls_index)
        if det_image is not None and det_class is not None and bbox is not None and score is not None:
            arrays = (det_image, det_class, bbox, score)
    except (KeyError, TypeError):
        arrays = None
    if arrays is None:
        bad = _bad_entries(data, img_index, cls_index if strict else None, False, first_only=True)
        if not bad:
            raise AssertionError("a vectorized check failed but no entry is invalid")  # internal invariant
        where, _, msg = bad[0]
        raise EvaluationError(f"{path}: {where}: {msg}")
    det_image, det_class, bbox, score = arrays
    bad_rows = ~np.isfinite(bbox).all(axis=1) | (bbox[:, 2] < 0) | (bbox[:, 3] < 0) | ~np.isfinite(score)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        _, key, msg = _check_entry(data[i], img_index, None, False)
        raise EvaluationError(f"{path}: results[{i}].{key}: {msg}")
    unknown = None
    outside = det_class < 0
    if outside.any():
        where = np.flatnonzero(outside)
        ids = list(dict.fromkeys(raw_class[i] for i in where.tolist()))
        unknown = UnknownCategories(int(where.size), ids, int(where[0]))
        keep = ~outside
        det_image, det_class, bbox, score = det_image[keep], det_class[keep], bbox[keep], score[keep]
    det_xyxy, det_area = _xywh_to_arrays(bbox)
    dets = CocoDetections(det_image=det_image, det_class=det_class, det_xyxy=det_xyxy, det_area=det_area,
                          det_score=score)
    return dets, unknown


def _class_or_minus_one(raw: list[Any], cls_index: dict[Hashable, int]) -> np.ndarray | None:
    """(N,) int64 class index of each raw category id, -1 for ids not in the GT; None for unhashable ids."""
    try:
        return np.fromiter((cls_index.get(v, -1) for v in raw), dtype=np.int64, count=len(raw))
    except TypeError:
        return None
