"""COCO instances JSON: ``{"images": [...], "annotations": [...], "categories": [...]}``.

COCO ``bbox`` is ``[x_min, y_min, width, height]`` in continuous pixels, the same space as odkit's, so
the only conversion is xywh <-> xyxy. Crowd boxes, segment ``area`` and ``segmentation`` are kept.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import AnnotationError
from odkit.io._common import IssueLog, WriteReport, find_image, guess_images_dir, image_dir_candidates
from odkit.io._model import Category, Dataset, ImageAnnotations, ImageRecord

_KNOWN_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "iscrowd", "area"}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise AnnotationError(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(path, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise AnnotationError(path, None, f"cannot read: {exc.strerror or exc}") from None


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
    path = Path(path)
    log = IssueLog(strict)
    data = _load_json(path)
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
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            raise AnnotationError(path, where, f"expected {{'id': int, 'name': str}}; got {c!r:.80}")
        if c["id"] in categories:
            raise AnnotationError(path, where, f"category id {c['id']} appears twice")
        categories[c["id"]] = Category(c["id"], c["name"], str(c.get("supercategory", "") or ""))

    records: list[tuple[int, str, int, int]] = []
    seen: set[int] = set()
    for i, im in enumerate(data["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict) or not isinstance(im.get("id"), int) or not isinstance(
            im.get("file_name"), str
        ):
            raise AnnotationError(path, where, f"expected {{'id': int, 'file_name': str, ...}}; got {im!r:.80}")
        if im["id"] in seen:
            raise AnnotationError(path, where, f"image id {im['id']} appears twice")
        seen.add(im["id"])
        w, h = im.get("width", 0), im.get("height", 0)
        if not (isinstance(w, int) and isinstance(h, int)) or w < 0 or h < 0:
            raise AnnotationError(path, where, f"width/height must be non-negative ints; got {w!r}x{h!r}")
        records.append((im["id"], im["file_name"], w, h))

    root = _images_root(path, [r[1] for r in records], images_dir)
    images = []
    for image_id, file_name, w, h in records:
        rel, exists = find_image(root, file_name)
        if exists and rel != file_name.replace("\\", "/"):
            log.warning("file_name_mismatch", path, f"images[id={image_id}]",
                        f"file_name {file_name!r} not found; using {rel!r}")
        images.append(ImageRecord(image_id, file_name, rel, w, h, str(path)))

    per_image: dict[int, list[int]] = {r[0]: [] for r in records}
    boxes = np.zeros((len(raw_anns), 4), np.float64)
    cat_col = np.zeros(len(raw_anns), np.int64)
    crowd = np.zeros(len(raw_anns), np.bool_)
    area = np.zeros(len(raw_anns), np.float64)
    ann_ids = np.full(len(raw_anns), -1, np.int64)
    extras: list[dict[str, Any]] = [{}] * len(raw_anns)
    for i, a in enumerate(raw_anns):
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
        if a["image_id"] not in per_image:
            log.error("missing_image_record", path, f"{where}.image_id",
                      f"image_id {a['image_id']!r} is not in 'images'")
            continue
        if a["category_id"] not in categories:
            log.error("unknown_class", path, f"{where}.category_id",
                      f"category_id {a['category_id']!r} is not in 'categories' {sorted(categories)[:20]}")
            continue
        x, y, w, h = (float(v) for v in bbox)
        boxes[i] = (x, y, x + w, y + h)
        cat_col[i] = a["category_id"]
        crowd[i] = bool(a.get("iscrowd", 0))
        ar = a.get("area")
        area[i] = float(ar) if _is_number(ar) else abs(w * h)
        if isinstance(a.get("id"), int):
            ann_ids[i] = a["id"]
        extra = {k: v for k, v in a.items() if k not in _KNOWN_ANN_KEYS}
        if extra:
            extras[i] = extra
        per_image[a["image_id"]].append(i)

    annotations = {}
    for image_id, rows in per_image.items():
        if rows:
            idx = np.asarray(rows)
            annotations[image_id] = ImageAnnotations(
                boxes[idx], cat_col[idx], iscrowd=crowd[idx], area=area[idx], ann_ids=ann_ids[idx],
                extras=tuple(extras[r] for r in rows),
            )
    return Dataset(
        images=tuple(images), categories=tuple(categories.values()), annotations=annotations, root=root,
        issues=tuple(log.issues), source={"format": "coco", "path": str(path)},
    )


def _num(v: float) -> float | int:
    """Whole numbers as ints (``12`` not ``12.0``), others as floats."""
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def coco_dict(dataset: Dataset, report: WriteReport | None = None) -> dict[str, Any]:
    """The dataset as a COCO instances dict (plain JSON types).

    Annotation ids are kept when present and unique, otherwise numbered from 1.
    """
    images = [{"id": im.id, "file_name": im.file_name, "width": im.width, "height": im.height}
              for im in dataset.images]
    categories = []
    for c in dataset.categories:
        cat: dict[str, Any] = {"id": c.id, "name": c.name}
        if c.supercategory:
            cat["supercategory"] = c.supercategory
        categories.append(cat)
    all_ids = np.concatenate([a.ann_ids for a in dataset.annotations.values()] or [np.zeros(0, np.int64)])
    keep_ids = bool(all_ids.size) and bool(np.all(all_ids >= 0)) and len(np.unique(all_ids)) == all_ids.size
    annotations = []
    next_id = 1
    for im in dataset.images:
        ann = dataset.annotations[im.id]
        if not len(ann):
            continue
        xywh = np.concatenate([ann.boxes_xyxy[:, :2], ann.boxes_xyxy[:, 2:] - ann.boxes_xyxy[:, :2]], axis=1)
        for j, (box, cid, crowd, area, aid, extra) in enumerate(zip(
            xywh.tolist(), ann.category_ids.tolist(), ann.iscrowd.tolist(), ann.area.tolist(),
            ann.ann_ids.tolist(), ann.extras,
        )):
            if report is not None and bool(ann.difficult[j]):
                report.skip("difficult_dropped", im.file_name, j, "COCO has no 'difficult' flag; written "
                            "as a normal box")
            entry: dict[str, Any] = {
                "id": aid if keep_ids else next_id, "image_id": im.id, "category_id": cid,
                "bbox": [_num(v) for v in box], "area": _num(area), "iscrowd": int(crowd),
            }
            for k, v in extra.items():
                if k not in entry and not k.startswith("voc_"):
                    entry[k] = v
            annotations.append(entry)
            next_id += 1
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write ``dataset`` as a COCO instances JSON file (folders are created).

    Returns:
        What was written; VOC's difficult flag has no COCO field and is reported per box.
    """
    path = Path(path)
    report = WriteReport("coco", str(path))
    data = coco_dict(dataset, report)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    os.replace(tmp, path)
    report.images, report.boxes = len(data["images"]), len(data["annotations"])
    if dataset.splits:
        report.skip("splits_dropped", str(path), None, f"COCO has no splits; {sorted(dataset.splits)} not "
                    "written (write one file per split with dataset.split(name))")
    return report
