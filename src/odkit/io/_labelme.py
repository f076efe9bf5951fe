"""LabelMe JSON: one file per image, ``{"shapes": [...], "imagePath", "imageWidth", "imageHeight"}``.

Points are pixel positions as clicked, taken as continuous coordinates (no shift). A ``rectangle`` is its
two corners (in either order); a ``polygon`` becomes its enclosing box, and its points are kept in
``extras["labelme_points"]`` so a LabelMe -> LabelMe round trip writes the polygon back. Other shape types
(circle, line, point, linestrip) are not boxes: they are reported and skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import AnnotationError
from odkit.io._common import (
    ImageFinder,
    IssueLog,
    WriteReport,
    checked_ground_truth,
    natural_key,
    report_lost_fields,
    skip_degenerate,
)
from odkit.io._model import Category, Dataset, ImageRecord


def is_labelme_file(path: Path) -> bool:
    """True when ``path`` is a JSON object with a ``shapes`` list (cheap check on the first 64 KiB)."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(65536)
    except (OSError, UnicodeDecodeError):
        return False
    return '"shapes"' in head and '"images"' not in head


def _points(shape: dict[str, Any]) -> np.ndarray | None:
    pts = shape.get("points")
    try:
        arr = np.asarray(pts, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        return None
    return arr


def _read_one(path: Path, log: IssueLog) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        log.error("bad_json", path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.error("unreadable_annotation", path, None, f"cannot read: {exc}")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        log.error("bad_annotation", path, None, "expected a LabelMe object with a 'shapes' list")
        return None
    w, h = data.get("imageWidth") or 0, data.get("imageHeight") or 0
    if not (isinstance(w, int) and isinstance(h, int)) or w < 0 or h < 0:
        log.error("bad_size", path, "imageWidth", f"imageWidth/imageHeight must be non-negative ints; got {w!r}x{h!r}")
        w = h = 0
    objects = []
    for i, shape in enumerate(data["shapes"]):
        where = f"shapes[{i}]"
        if not isinstance(shape, dict) or not isinstance(shape.get("label"), str) or not shape["label"]:
            log.error("bad_object", path, where, f"expected a shape with a 'label'; got {shape!r:.60}")
            continue
        kind = shape.get("shape_type") or "polygon"
        if kind not in ("rectangle", "polygon"):
            log.warning("unsupported_shape", path, where, f"shape_type {kind!r} is not a box or polygon; skipped")
            continue
        pts = _points(shape)
        if pts is None or (kind == "rectangle" and pts.shape[0] != 2):
            log.error("bad_box", path, where, f"bad 'points' for a {kind}: {shape.get('points')!r:.80}")
            continue
        box = (*pts.min(axis=0).tolist(), *pts.max(axis=0).tolist())
        extra: dict[str, Any] = {}
        if kind == "polygon":
            extra["labelme_points"] = pts.tolist()
        for key in ("group_id", "description", "flags"):
            if shape.get(key) not in (None, "", {}):
                extra[f"labelme_{key}"] = shape[key]
        objects.append((shape["label"], box, extra))
    image_path = data.get("imagePath") if isinstance(data.get("imagePath"), str) else ""
    return {"image_path": image_path or "", "width": w, "height": h, "objects": objects}


def read_labelme(
    path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    class_names: list[str] | None = None,
) -> Dataset:
    """Read LabelMe JSON files.

    Args:
        path: a folder of LabelMe ``.json`` files (searched recursively) or one file.
        images_dir: folder the images are in; by default each file's ``imagePath`` relative to the file.
        strict: raise ``AnnotationError`` on the first problem, or skip and record it.
        class_names: category names in id order (ids 1..K); by default the labels found, sorted.

    Returns:
        The dataset; image ids 1..N in natural file order, paths relative to the folder.

    Raises:
        AnnotationError: naming the file and ``shapes[i]`` or line.
    """
    path = Path(path)
    log = IssueLog(strict)
    if path.is_file():
        files, root = [path], path.parent
    elif path.is_dir():
        root = path
        files = sorted((p for p in path.rglob("*.json") if is_labelme_file(p)),
                       key=lambda p: natural_key(p.relative_to(path).as_posix()))
    else:
        raise AnnotationError(path, None, "no such file or folder")
    if not files:
        raise AnnotationError(path, None, "no LabelMe .json files (objects with a 'shapes' list) found")
    parsed = [(f, _read_one(f, log)) for f in files]
    ok = [(f, p) for f, p in parsed if p is not None]
    names = list(class_names) if class_names is not None else sorted({o[0] for _, p in ok for o in p["objects"]})
    name_to_id = {n: i + 1 for i, n in enumerate(names)}
    img_root = Path(images_dir) if images_dir is not None else root
    finders: dict[Path, ImageFinder] = {}
    images, annotations = [], {}
    for image_id, (f, p) in enumerate(ok, start=1):
        folder = img_root if images_dir is not None else f.parent
        ref = Path(p["image_path"]).name if images_dir is not None else p["image_path"]
        finder = finders.setdefault(folder, ImageFinder(folder))
        rel, exists = finder.find(ref or f.stem, fallback_stems=[f.stem])
        if exists and rel != ref:
            log.warning("file_name_mismatch", f, "imagePath", f"imagePath {p['image_path']!r} not found; using {rel!r}")
        full = Path(os.path.normpath(folder / rel))
        try:
            shown = full.relative_to(img_root).as_posix()
        except ValueError:
            shown = full.as_posix()
        images.append(ImageRecord(image_id, p["image_path"] or f.stem, shown, p["width"], p["height"], str(f)))
        rows = []
        for i, (name, box, extra) in enumerate(p["objects"]):
            if name not in name_to_id:
                log.error("unknown_class", f, f"shapes[{i}]", f"label {name!r} is not one of {names}")
                continue
            rows.append((name_to_id[name], box, extra))
        if rows:
            annotations[image_id] = checked_ground_truth(log, f, lambda j: f"shapes[{j}]",
                                                         np.array([r[1] for r in rows], np.float64),
                                                         np.array([r[0] for r in rows], np.int64),
                                                         extras=tuple(r[2] for r in rows))
    return Dataset(tuple(images), tuple(Category(i, n) for n, i in name_to_id.items()), annotations,
                   root=img_root, issues=tuple(log.issues), source={"format": "labelme", "path": str(path)})


def write_labelme(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write one LabelMe JSON per image into ``path`` (``<image stem>.json``), ``imagePath`` relative to it.

    Boxes become rectangles; boxes read from LabelMe polygons are written back as those polygons.

    Returns:
        What was written; crowd and difficult flags (no LabelMe field) are reported per box.
    """
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    report = WriteReport("labelme", str(out))
    names = dataset.category_names
    used: set[str] = set()
    for im, ann in dataset:
        stem = Path(im.path).stem
        if stem in used:
            stem = f"{stem}_{im.id}"
        used.add(stem)
        image_file = dataset.image_path(im)
        try:
            rel = os.path.relpath(image_file, out) if image_file.is_absolute() else Path(im.path).as_posix()
        except ValueError:
            rel = image_file.as_posix()
        shapes = []
        for j in range(len(ann)):
            if ann.iscrowd[j]:
                report.skip("crowd_not_representable", im.file_name, j, "LabelMe has no crowd flag; not written")
                continue
            if ann.difficult[j]:
                report.skip("difficult_dropped", im.file_name, j, "LabelMe has no difficult flag")
            extra = ann.extras[j]
            x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
            if skip_degenerate(report, im.file_name, j, (x0, y0, x1, y1), "LabelMe", zero_ok=True):
                continue  # a rectangle's two corners are read back in either order: inverted cannot be held
            if "labelme_points" in extra:
                shape = {"label": names[int(ann.class_ids[j])], "points": extra["labelme_points"],
                         "shape_type": "polygon"}
            else:
                shape = {"label": names[int(ann.class_ids[j])], "points": [[x0, y0], [x1, y1]],
                         "shape_type": "rectangle"}
            shape["group_id"] = extra.get("labelme_group_id")
            shape["description"] = extra.get("labelme_description", "")
            shape["flags"] = extra.get("labelme_flags", {})
            shapes.append(shape)
        doc = {"version": "5.2.1", "flags": {}, "shapes": shapes, "imagePath": Path(rel).as_posix(),
               "imageData": None, "imageHeight": im.height, "imageWidth": im.width}
        (out / f"{stem}.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
        report.images += 1
        report.boxes += len(shapes)
    report_lost_fields(report, dataset, "LabelMe", truncated=True, segmentation=True)
    if dataset.splits:
        report.skip("splits_dropped", str(out), None, f"LabelMe has no splits; {sorted(dataset.splits)} not written")
    return report
