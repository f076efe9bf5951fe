"""The COCO instances (ground truth) reader: ``{"images", "annotations", "categories"}`` into flat arrays."""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from typing import Any, NamedTuple

import numpy as np

from odkit._coco_json._fields import (
    ANN_ID_TYPES,
    ErrorSink,
    Id,
    PathOrData,
    bad_entries,
    id_problem,
    normal_id,
    numeric_array,
    read_json,
    xywh_to_arrays,
)
from odkit.errors import AnnotationError


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


def _id_list(entries: list[Any], section: str, path: str) -> list[Id]:
    """The ``id`` of every entry of ``images`` / ``categories``, checked (the package's id rules) and unique."""
    ids: list[Id] = []
    seen: dict[Hashable, int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise AnnotationError(path, f"{section}[{i}]", f"expected an object with an 'id'; got {entry!r:.80}")
        why = id_problem(entry["id"])
        if why:
            raise AnnotationError(path, f"{section}[{i}]", why)
        v = normal_id(entry["id"])
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
        bbox = numeric_array([a["bbox"] for a in anns], (4,), check_bools)
        crowd = numeric_array([a.get("iscrowd", 0) for a in anns], (), check_bools, allow_bool=True)
        area_raw = [a.get("area") for a in anns]
    except (KeyError, TypeError):
        return None
    if bbox is None or crowd is None:
        return None
    if not set(map(type, map(_get_id, anns))) <= ANN_ID_TYPES:
        return None  # an annotation id that is a list or an object: check_entry says which
    if any(v is None for v in area_raw):
        w_h = (bbox[:, 2] * bbox[:, 3]).tolist()
        area_raw = [b if v is None else v for v, b in zip(area_raw, w_h)]
    area = numeric_array(area_raw, (), check_bools)
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
    """Load a COCO instances file (or its parsed dict) into flat arrays, by the package's rules.

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
    data, path, check_bools = read_json(source, "ground truth")
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
        bad = bad_entries(anns, img_index, cls_index, True, first_only=on_error is None)
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
    gt_xyxy, gt_box_area = xywh_to_arrays(bbox)
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
