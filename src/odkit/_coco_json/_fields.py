"""The field rules both COCO readers share (see the package doc): reading the JSON, what a valid id, bbox,
number and crowd flag is, the vectorized column parse, and the entry-by-entry check that names a bad entry.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any

import numpy as np

from odkit._runtime import read_json_file

PathOrData = str | os.PathLike[str] | dict[str, Any] | list[Any]


def read_json(source: Any, what: str) -> tuple[Any, str, bool]:
    """``(data, path for messages, may_hold_bools)``: a file whose text has no ``true`` / ``false`` holds no
    JSON boolean, which spares scanning every number's type (parsed data passed in is always scanned)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        data, raw = read_json_file(path, what)
        return data, path, b"true" in raw or b"false" in raw
    return source, f"<{what}>", True


Id = int | str
ErrorSink = Callable[[str, str, str], None]  # (code, where, message): a lenient reader records and skips


def xywh_to_arrays(bbox_xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def numeric_array(
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


def id_problem(value: Any) -> str:
    """Why ``value`` is not an id (see the rules in the package doc), or ''."""
    if type(value) is int:
        return "" if -(2**63) <= value < 2**63 else f"id must fit in 64 bits; got {value!r}"
    if isinstance(value, str):
        return ""
    if type(value) is float and math.isfinite(value) and value == int(value) and -(2.0**63) <= value < 2.0**63:
        return ""
    return f"id must be an integer or a string; got {value!r}"


ANN_ID_TYPES = {int, float, str, bool, type(None)}  # what a JSON parser gives for a scalar annotation id


def _ann_id_problem(value: Any) -> str:
    """Why ``value`` is not an annotation id (any JSON scalar), or ''."""
    if isinstance(value, (str, numbers.Real)):
        return ""
    return f"id must be a number or a string; got {value!r}"


def normal_id(value: Any) -> Id:
    """An id as stored: integral floats become ints."""
    return int(value) if type(value) is float else value


def check_entry(
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


def bad_entries(
    entries: list[Any], img_index: dict[Hashable, int], cls_index: dict[Hashable, int] | None, gt: bool,
    first_only: bool,
) -> list[tuple[str, str, str]]:
    """``(where, code, why)`` of the invalid entries (only the first when ``first_only``); ``where`` is
    ``annotations[i].field`` / ``results[i].field``."""
    section = "annotations" if gt else "results"
    out = []
    for i, entry in enumerate(entries):
        code, key, msg = check_entry(entry, img_index, cls_index, gt)
        if msg:
            out.append((f"{section}[{i}]" + (f".{key}" if key else ""), code, msg))
            if first_only:
                break
    return out
