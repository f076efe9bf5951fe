"""COCO instances JSON: ``{"images": [...], "annotations": [...], "categories": [...]}``.

COCO ``bbox`` is ``[x_min, y_min, width, height]`` in continuous pixels, the same space as odkit's, so
the only conversion is xywh <-> xyxy. Crowd boxes, segment ``area`` and ``segmentation`` are kept.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from odkit._runtime import read_json_file
from odkit.errors import AnnotationError
from odkit.io._common import (
    INTERNAL_EXTRA_PREFIXES,
    ImageFinder,
    IssueLog,
    WriteReport,
    guess_images_dir,
    image_dir_candidates,
    paused_gc,
    report_lost_fields,
    skip_degenerate,
)
from odkit.io._model import Category, Dataset, ImageAnnotations, ImageRecord, trusted_annotations

_KNOWN_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "iscrowd", "area"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NUMBER_TYPES = (int, float)


def _is_number(v: Any) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _is_id(v: Any) -> bool:
    """An int that fits int64 (bools are not ids)."""
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


def _whole(v: Any) -> int | None:
    """An int, or a float with an integral value (``640.0``, as VOC and CSV accept); None otherwise."""
    if _is_id(v):
        return int(v)
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    return None


def _images_root(path: Path, file_names: list[str], images_dir: str | os.PathLike[str] | None) -> Path:
    if images_dir is not None:
        return Path(images_dir)
    parent = path.parent
    # instances_val2017.json -> ../val2017 (the COCO layout); also images/ next to or above the file.
    split = path.stem.split("_", 1)[1] if "_" in path.stem else path.stem
    cands = [parent.parent / split, parent / split, parent.parent / "images" / split,
             *image_dir_candidates(parent, parent.parent)]
    found = guess_images_dir(cands, file_names)
    return found if found is not None else parent


def read_coco(
    path: str | os.PathLike[str], images_dir: str | os.PathLike[str] | None = None, strict: bool = True
) -> Dataset:
    """Read a COCO instances JSON file.

    Args:
        path: the ``.json`` file.
        images_dir: folder the ``file_name`` values are relative to; guessed when None (``images/`` next
            to or above the file, ``../val2017`` for ``annotations/instances_val2017.json``, the file's
            folder).
        strict: raise ``AnnotationError`` on the first problem; when False, skip bad entries and record
            them in ``Dataset.issues``.

    Returns:
        The dataset; boxes are absolute xyxy (``[x, y, w, h]`` -> ``[x, y, x + w, y + h]``).

    Raises:
        AnnotationError: naming the file and the JSON path (e.g. ``annotations[12].bbox``).
    """
    with paused_gc():
        return _read_coco(Path(path), images_dir, strict)


def _read_coco(path: Path, images_dir: str | os.PathLike[str] | None, strict: bool) -> Dataset:
    log = IssueLog(strict)
    data, _ = read_json_file(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"expected a JSON object at the top level; got {type(data).__name__}")
    for key in ("images", "categories"):
        if key not in data:
            raise AnnotationError(path, None, f"missing top-level key {key!r} (a COCO instances file has "
                                              f"'images', 'annotations' and 'categories')")
        if not isinstance(data[key], list):
            raise AnnotationError(path, key, f"expected a list; got {type(data[key]).__name__}")
    raw_anns = data.get("annotations", [])
    if not isinstance(raw_anns, list):
        raise AnnotationError(path, "annotations", f"expected a list; got {type(raw_anns).__name__}")

    categories: dict[int, Category] = {}
    for i, c in enumerate(data["categories"]):
        where = f"categories[{i}]"
        if not isinstance(c, dict) or not _is_id(c.get("id")) or not isinstance(c.get("name"), str):
            raise AnnotationError(path, where, f"expected {{'id': int, 'name': str}}; got {c!r:.80}")
        if c["id"] in categories:
            raise AnnotationError(path, where, f"category id {c['id']} appears twice")
        if any(other.name == c["name"] for other in categories.values()):
            raise AnnotationError(path, where, f"category name {c['name']!r} appears twice")
        categories[c["id"]] = Category(c["id"], c["name"], str(c.get("supercategory", "") or ""))

    records: list[tuple[int, str, int, int]] = []
    seen: set[int] = set()
    for i, im in enumerate(data["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict) or not _is_id(im.get("id")) or not isinstance(im.get("file_name"), str):
            raise AnnotationError(path, where, f"expected {{'id': int, 'file_name': str, ...}}; got {im!r:.80}")
        if im["id"] in seen:
            raise AnnotationError(path, where, f"image id {im['id']} appears twice")
        seen.add(im["id"])
        w, h = _whole(im.get("width", 0)), _whole(im.get("height", 0))
        if w is None or h is None or w < 0 or h < 0:
            raise AnnotationError(path, where, f"width/height must be non-negative whole numbers; got "
                                               f"{im.get('width')!r}x{im.get('height')!r}")
        records.append((im["id"], im["file_name"], w, h))

    root = _images_root(path, [r[1] for r in records], images_dir)
    images = []
    finder = ImageFinder(root)
    for image_id, file_name, w, h in records:
        rel, exists = finder.find(file_name)
        if exists and rel != file_name.replace("\\", "/"):
            log.warning("file_name_mismatch", path, f"images[id={image_id}]",
                        f"file_name {file_name!r} not found; using {rel!r}")
        images.append(ImageRecord(image_id, file_name, rel, w, h, str(path)))

    image_ids = {r[0] for r in records}
    columns = _fast_columns(raw_anns, image_ids, set(categories))
    if columns is None:  # something is off: validate entry by entry for precise messages
        columns = _checked_columns(raw_anns, image_ids, set(categories), path, log)
    annotations = _group_by_image(columns)
    return Dataset(
        images=tuple(images), categories=tuple(categories.values()), annotations=annotations, root=root,
        issues=tuple(log.issues), source={"format": "coco", "path": str(path)},
    )


_COLUMN_NAMES = ("boxes_xyxy", "category_ids", "iscrowd", "area", "difficult", "truncated", "ann_ids")


def _extras(a: dict[str, Any]) -> Mapping[str, Any]:
    if len(a) <= 6 and a.keys() <= _KNOWN_ANN_KEYS:
        return _EMPTY
    return MappingProxyType({k: v for k, v in a.items() if k not in _KNOWN_ANN_KEYS})


def _fast_columns(raw: list[Any], image_ids: set[int], cat_ids: set[int]) -> dict[str, Any] | None:
    """Vectorized parse of well-formed annotations; None when any entry needs a closer look."""
    n = len(raw)
    try:
        bbox = np.array([a["bbox"] for a in raw], dtype=np.float64).reshape(n, 4)
        img = np.array([a["image_id"] for a in raw], dtype=np.int64)
        cat = np.array([a["category_id"] for a in raw], dtype=np.int64)
        crowd = np.array([a.get("iscrowd", 0) for a in raw], dtype=np.int64)
        area_raw = [a.get("area") for a in raw]
        ann_id = [a.get("id", -1) for a in raw]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None
    if not np.all(np.isfinite(bbox)) or not np.all(np.isin(img, list(image_ids))):
        return None
    if not np.all(np.isin(cat, list(cat_ids))):
        return None
    if not all(type(v) is int and -(2**63) <= v < 2**63 for v in ann_id):
        return None
    if any(type(a["image_id"]) is not int or type(a["category_id"]) is not int for a in raw):
        return None
    # numpy would parse "1" as 1: only JSON numbers are accepted (strings go to the checked path's errors)
    if not all(type(v) in _NUMBER_TYPES for a in raw for v in a["bbox"]):
        return None
    if not all(type(v) is int and v in (0, 1) for v in crowd.tolist()) or any(
            type(a["iscrowd"]) is not int for a in raw if "iscrowd" in a):
        return None
    if not all(v is None or type(v) in _NUMBER_TYPES for v in area_raw):
        return None
    wh = bbox[:, 2:]
    try:
        area = np.array([v if v is not None else np.nan for v in area_raw], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    missing = ~np.isfinite(area)
    area[missing] = np.abs(wh[missing, 0] * wh[missing, 1])
    boxes = np.concatenate([bbox[:, :2], bbox[:, :2] + wh], axis=1)
    return {"image_id": img, "boxes_xyxy": boxes, "category_ids": cat, "iscrowd": crowd != 0, "area": area,
            "difficult": np.zeros(n, np.bool_), "truncated": np.zeros(n, np.bool_),
            "ann_ids": np.array(ann_id, np.int64), "extras": [_extras(a) for a in raw]}


def _checked_columns(raw: list[Any], image_ids: set[int], cat_ids: set[int], path: Path,
                     log: IssueLog) -> dict[str, Any]:
    """Entry-by-entry parse; bad entries raise (strict) or are skipped with an issue."""
    rows: list[tuple[int, tuple[float, ...], int, bool, float, int, Mapping[str, Any]]] = []
    for i, a in enumerate(raw):
        where = f"annotations[{i}]"
        if not isinstance(a, dict):
            log.error("bad_annotation", path, where, f"expected an object; got {a!r:.60}")
            continue
        missing = [k for k in ("image_id", "category_id", "bbox") if k not in a]
        if missing:
            log.error("bad_annotation", path, where, f"missing key(s) {missing}")
            continue
        bbox = a["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
            log.error("bad_box", path, f"{where}.bbox", f"expected 4 finite numbers [x, y, w, h]; got {bbox!r:.80}")
            continue
        if not _is_id(a["image_id"]) or a["image_id"] not in image_ids:
            log.error("missing_image_record", path, f"{where}.image_id",
                      f"image_id {a['image_id']!r} is not in 'images'")
            continue
        if not _is_id(a["category_id"]) or a["category_id"] not in cat_ids:
            log.error("unknown_class", path, f"{where}.category_id",
                      f"category_id {a['category_id']!r} is not in 'categories' {sorted(cat_ids)[:20]}")
            continue
        crowd = a.get("iscrowd", 0)
        if crowd not in (0, 1) or type(crowd) not in (int, bool):
            log.error("bad_annotation", path, f"{where}.iscrowd", f"expected 0 or 1; got {crowd!r:.40}")
            continue
        ar = a.get("area")
        if ar is not None and not _is_number(ar):
            log.error("bad_annotation", path, f"{where}.area", f"expected a finite number; got {ar!r:.40}")
            continue
        x, y, w, h = (float(v) for v in bbox)
        rows.append((a["image_id"], (x, y, x + w, y + h), a["category_id"], bool(crowd),
                     float(ar) if ar is not None else abs(w * h),
                     a["id"] if _is_id(a.get("id")) else -1, _extras(a)))
    n = len(rows)
    return {"image_id": np.array([r[0] for r in rows], np.int64),
            "boxes_xyxy": np.array([r[1] for r in rows], np.float64).reshape(n, 4),
            "category_ids": np.array([r[2] for r in rows], np.int64),
            "iscrowd": np.array([r[3] for r in rows], np.bool_), "area": np.array([r[4] for r in rows], np.float64),
            "difficult": np.zeros(n, np.bool_), "truncated": np.zeros(n, np.bool_),
            "ann_ids": np.array([r[5] for r in rows], np.int64), "extras": [r[6] for r in rows]}


def _group_by_image(columns: dict[str, Any]) -> dict[int, ImageAnnotations]:
    """Split the per-annotation columns into one read-only ``ImageAnnotations`` per image (file order)."""
    img = columns["image_id"]
    order = np.argsort(img, kind="stable")
    sorted_ids = img[order]
    arrays = {}
    for name in _COLUMN_NAMES:
        arr = columns[name][order]
        arr.setflags(write=False)
        arrays[name] = arr
    extras = [columns["extras"][i] for i in order.tolist()]
    uniq, starts = np.unique(sorted_ids, return_index=True)
    ends = [*starts[1:].tolist(), len(sorted_ids)]
    out = {}
    for image_id, a, b in zip(uniq.tolist(), starts.tolist(), ends):
        out[image_id] = trusted_annotations({k: v[a:b] for k, v in arrays.items()}, tuple(extras[a:b]))
    return out


def coco_dict(dataset: Dataset, report: WriteReport | None = None) -> dict[str, Any]:
    """The dataset as a COCO instances dict (plain JSON types).

    Annotation ids are kept when present and unique, otherwise numbered from 1.
    """
    # file_name is the image's resolved path (relative to the images folder), so a wrong name in the source
    # (raccoon's .png for .jpg) is not carried over.
    images = [{"id": im.id, "file_name": im.path, "width": im.width, "height": im.height} for im in dataset.images]
    categories = []
    for c in dataset.categories:
        cat: dict[str, Any] = {"id": c.id, "name": c.name}
        if c.supercategory:
            cat["supercategory"] = c.supercategory
        categories.append(cat)
    parts = [(im, dataset.annotations[im.id]) for im in dataset.images if len(dataset.annotations[im.id])]
    if not parts:
        return {"images": images, "annotations": [], "categories": categories}
    image_col = np.concatenate([np.full(len(a), im.id, np.int64) for im, a in parts]).tolist()
    boxes = np.concatenate([a.boxes_xyxy for _, a in parts])
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    area = np.concatenate([a.area for _, a in parts])
    ids = np.concatenate([a.ann_ids for _, a in parts])
    keep_ids = bool(np.all(ids >= 0)) and len(np.unique(ids)) == ids.size
    id_col = ids.tolist() if keep_ids else list(range(1, ids.size + 1))
    # whole numbers are written as ints ("12", not "12.0")
    whole = np.all(xywh == np.round(xywh), axis=1) & np.all(np.abs(xywh) < 2**53, axis=1)
    box_col = [bi if w else bf for bi, bf, w in zip(np.round(xywh).astype(np.int64).tolist(), xywh.tolist(),
                                                     whole.tolist())]
    area_whole = (area == np.round(area)) & (np.abs(area) < 2**53)
    area_col = [ai if w else af for ai, af, w in zip(np.round(area).astype(np.int64).tolist(), area.tolist(),
                                                      area_whole.tolist())]
    cat_col = np.concatenate([a.category_ids for _, a in parts]).tolist()
    crowd_col = np.concatenate([a.iscrowd for _, a in parts]).astype(np.int64).tolist()
    extras = [e for _, a in parts for e in a.extras]
    if report is not None and any(a.difficult.any() for _, a in parts):
        for im, a in parts:
            for j in np.flatnonzero(a.difficult).tolist():
                report.skip("difficult_dropped", im.file_name, j, "COCO has no 'difficult' flag; written as a "
                            "normal box")
    # COCO bbox [x, y, w, h] needs w, h >= 0 and finite values: anything else is reported, not written.
    bad = ~np.all(np.isfinite(xywh), axis=1) | (xywh[:, 2] < 0) | (xywh[:, 3] < 0)
    if bad.any():
        owners = [(im, j) for im, a in parts for j in range(len(a))]
        sink = report if report is not None else WriteReport("coco", "")
        for k in np.flatnonzero(bad).tolist():
            im, j = owners[k]
            skip_degenerate(sink, im.file_name, j, boxes[k], "COCO", zero_ok=True)
    annotations = []
    for k in range(len(id_col)):
        if bad[k]:
            continue
        entry: dict[str, Any] = {"id": id_col[k], "image_id": image_col[k], "category_id": cat_col[k],
                                 "bbox": box_col[k], "area": area_col[k], "iscrowd": crowd_col[k]}
        if extras[k]:
            for key, v in extras[k].items():
                if key not in entry and not key.startswith(INTERNAL_EXTRA_PREFIXES):
                    entry[key] = v
        annotations.append(entry)
    if report is not None and any(c.id == 0 for c in dataset.categories):
        report.skip("zero_category_id", "categories", None, "category ids are written as they are and include 0 "
                    "(e.g. YOLO's 0-based classes); pycocotools accepts it, but some COCO tools treat 0 as "
                    "background: remap_categories() renumbers them if needed")
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write ``dataset`` as a COCO instances JSON file (folders are created).

    Returns:
        What was written; VOC's difficult flag has no COCO field and is reported per box.
    """
    path = Path(path)
    report = WriteReport("coco", str(path))
    with paused_gc():
        data = coco_dict(dataset, report)
        text = json.dumps(data, separators=(",", ":"))  # dumps uses the C encoder; dump does not
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    report.images, report.boxes = len(data["images"]), len(data["annotations"])
    report_lost_fields(report, dataset, "COCO", truncated=True, segmentation=False)
    if dataset.splits:
        report.skip("splits_dropped", str(path), None, f"COCO has no splits; {sorted(dataset.splits)} not "
                    "written (write one file per split with dataset.split(name))")
    return report
