"""COCO instances JSON: ``{"images": [...], "annotations": [...], "categories": [...]}``.

COCO ``bbox`` is ``[x_min, y_min, width, height]`` in continuous pixels, the same space as odkit's, so
the only conversion is xywh <-> xyxy. Crowd boxes, segment ``area`` and ``segmentation`` are kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from odkit._coco_json import CocoGroundTruth, load_coco_ground_truth
from odkit._runtime import dumps_json
from odkit.boxes import GroundTruth
from odkit.boxes._containers import trusted_ground_truth
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
from odkit.io._model import Category, Dataset, ImageRecord

_KNOWN_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "iscrowd", "area"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})
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

    def on_error(code: str, where: str, message: str) -> None:
        log.error(code, path, where, message)

    gt = load_coco_ground_truth(path, on_error=None if strict else on_error)
    categories = []
    for i, (cid, name, c) in enumerate(zip(gt.class_ids, gt.class_names, gt.categories)):
        if type(cid) is not int:
            raise AnnotationError(path, f"categories[{i}]", f"a dataset's category ids are integers (its "
                                  f"GroundTruth.class_ids are int64); got {cid!r}. odkit eval evaluates such a "
                                  "file as it is")
        if "name" not in c:
            raise AnnotationError(path, f"categories[{i}]", "expected a 'name'")
        categories.append(Category(cid, name, str(c.get("supercategory", "") or "")))
    names = [c.name for c in categories]
    if len(set(names)) != len(names):
        i = next(i for i, n in enumerate(names) if names.index(n) != i)
        raise AnnotationError(path, f"categories[{i}]", f"category name {names[i]!r} appears twice")
    records: list[tuple[int | str, str, int, int]] = []
    for i, (image_id, im) in enumerate(zip(gt.image_ids, gt.images)):
        where = f"images[{i}]"
        if not isinstance(im.get("file_name"), str):
            raise AnnotationError(path, where, f"expected a 'file_name' string; got {im.get('file_name')!r:.80}")
        w, h = _whole(im.get("width", 0)), _whole(im.get("height", 0))
        if w is None or h is None or w < 0 or h < 0:
            raise AnnotationError(path, where, f"width/height must be non-negative whole numbers; got "
                                               f"{im.get('width')!r}x{im.get('height')!r}")
        records.append((image_id, im["file_name"], w, h))

    root = _images_root(path, [r[1] for r in records], images_dir)
    images = []
    finder = ImageFinder(root)
    for image_id, file_name, w, h in records:
        rel, exists = finder.find(file_name)
        if exists and rel != file_name.replace("\\", "/"):
            log.warning("file_name_mismatch", path, f"images[id={image_id}]",
                        f"file_name {file_name!r} not found; using {rel!r}")
        images.append(ImageRecord(image_id, file_name, rel, w, h, str(path)))
    return Dataset(
        images=tuple(images), categories=tuple(categories), annotations=_group_by_image(gt), root=root,
        issues=tuple(log.issues), source={"format": "coco", "path": str(path)},
    )


def _extras(a: dict[str, Any]) -> Mapping[str, Any]:
    if len(a) <= 6 and a.keys() <= _KNOWN_ANN_KEYS:
        return _EMPTY
    return MappingProxyType({k: v for k, v in a.items() if k not in _KNOWN_ANN_KEYS})


def _index_in_image(raw: list[Any], image_ids: list[int | str]) -> np.ndarray:
    """(len(raw),) the position of each raw annotation among the entries of the same ``image_id`` (file
    order; -1 for entries without a usable one), as ``odkit check`` numbers a COCO image's objects."""
    known = set(image_ids)
    counts: dict[Any, int] = {}
    out = np.full(len(raw), -1, dtype=np.int64)
    for i, a in enumerate(raw):
        image_id = a.get("image_id") if isinstance(a, dict) else None
        try:
            if image_id not in known:
                continue
        except TypeError:
            continue
        out[i] = counts.get(image_id, 0)
        counts[image_id] = out[i] + 1
    return out


def _group_by_image(gt: CocoGroundTruth) -> dict[int | str, GroundTruth]:
    """The parsed annotations as one read-only ``GroundTruth`` per image (file order within an image); the
    shared parser validated every column, so the containers are built without re-validation."""
    n = gt.gt_image.shape[0]
    class_ids = np.asarray(gt.class_ids, dtype=np.int64)
    ann_ids = np.fromiter((v if type(v) is int else -1 for v in gt.ann_ids), dtype=np.int64, count=n)
    columns = {"boxes_xyxy": gt.gt_xyxy, "class_ids": class_ids[gt.gt_class] if n else np.zeros(0, np.int64),
               "iscrowd": gt.gt_crowd, "area": gt.gt_area, "difficult": np.zeros(n, np.bool_),
               "truncated": np.zeros(n, np.bool_), "ann_ids": ann_ids}
    order = np.argsort(gt.gt_image, kind="stable")
    sorted_images = gt.gt_image[order]
    arrays = {}
    for name, col in columns.items():
        arr = np.ascontiguousarray(col[order])
        arr.setflags(write=False)
        arrays[name] = arr
    raw = gt.annotations
    extras = [_extras(raw[r]) for r in gt.ann_rows[order].tolist()]
    if len(raw) != n:  # a lenient read skipped entries: keep each object's index among its image's entries
        extras = [MappingProxyType({**e, "odkit_object": k}) for e, k in
                  zip(extras, _index_in_image(raw, gt.image_ids)[gt.ann_rows[order]].tolist())]
    uniq, starts = np.unique(sorted_images, return_index=True)
    ends = [*starts[1:].tolist(), n]
    out = {}
    for image_index, a, b in zip(uniq.tolist(), starts.tolist(), ends):
        out[gt.image_ids[image_index]] = trusted_ground_truth({k: v[a:b] for k, v in arrays.items()},
                                                               tuple(extras[a:b]))
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
    image_col = [im.id for im, a in parts for _ in range(len(a))]  # ints or strings, as read
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
    cat_col = np.concatenate([a.class_ids for _, a in parts]).tolist()
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
        raw = dumps_json(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)
    report.images, report.boxes = len(data["images"]), len(data["annotations"])
    report_lost_fields(report, dataset, "COCO", truncated=True, segmentation=False)
    if dataset.splits:
        report.skip("splits_dropped", str(path), None, f"a COCO instances file has no splits; "
                    f"{sorted(dataset.splits)} not written: write_annotations(dataset, FOLDER, 'coco') (odkit "
                    "convert SRC FOLDER --to coco) writes one annotations/instances_<split>.json per split")
    return report
