"""CVAT for images 1.1 XML: one ``<annotations>`` file with ``<image>`` elements holding ``<box>`` elements.

Box corners ``xtl ytl xbr ybr`` are continuous pixel coordinates (no shift). Labels come from
``meta/task/labels`` (or ``meta/project/labels``), in file order; labels used but not declared are
errors. ``occluded`` and ``<attribute>`` values are kept in ``extras`` (``cvat_occluded``,
``cvat_attr_<name>``); an attribute named ``difficult`` or ``truncated`` sets that flag. Polygons and
other shapes are reported and skipped.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import AnnotationError
from odkit.io._common import (
    ImageFinder,
    IssueLog,
    WriteReport,
    as_int,
    checked_ground_truth,
    guess_images_dir,
    image_dir_candidates,
    report_lost_fields,
    skip_degenerate,
)
from odkit.io._model import Category, Dataset, ImageRecord

_TRUE = ("1", "true", "True", "yes")


def is_cvat_file(path: Path) -> bool:
    """True when the XML file's root element is ``<annotations>`` (CVAT), not ``<annotation>`` (VOC)."""
    try:
        for _, elem in ET.iterparse(path, events=("start",)):
            return elem.tag == "annotations"
    except (ET.ParseError, OSError, ValueError):
        return False
    return False


def read_cvat(
    path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    class_names: list[str] | None = None,
) -> Dataset:
    """Read a CVAT for images 1.1 XML file.

    Args:
        path: the ``annotations.xml`` file.
        images_dir: folder the ``<image name>`` values are relative to; guessed when None (``images/`` next
            to or above the file, or the file's folder).
        strict: raise ``AnnotationError`` on the first problem, or skip and record it.
        class_names: category names in id order (ids 1..K); by default the declared labels, then any
            others found (sorted), which are then also reported as ``unknown_class``.

    Raises:
        AnnotationError: naming the file and the image / shape index (or the line, for bad XML).
    """
    path = Path(path)
    log = IssueLog(strict)
    try:
        root_el = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise AnnotationError(path, exc.position[0], f"invalid XML: {str(exc).split(':')[0]}") from None
    except (OSError, ValueError) as exc:
        raise AnnotationError(path, None, f"cannot read: {exc}") from None
    if root_el.tag != "annotations":
        raise AnnotationError(path, None, f"expected a CVAT <annotations> root; got <{root_el.tag}>")
    declared = [(lab.findtext("name") or "").strip() for lab in root_el.iterfind("./meta/*/labels/label")]
    declared = [n for n in declared if n]
    raw_images = []
    for k, el in enumerate(root_el.iterfind("image")):
        where = f"image[{k}]"
        name = el.get("name")
        try:
            image_id = as_int(el.get("id", str(k)))
            w, h = as_int(el.get("width", "0")), as_int(el.get("height", "0"))
        except ValueError:
            log.error("bad_image", path, where, f"id/width/height must be integers; got {dict(el.attrib)}")
            continue
        if not name:
            log.error("bad_image", path, where, "missing the 'name' attribute")
            continue
        objects = []
        for j, child in enumerate(el):
            owhere = f"{where} ({name}) shape {j}"
            if child.tag != "box":
                if child.tag in ("polygon", "polyline", "points", "ellipse", "mask", "cuboid", "skeleton"):
                    log.warning("unsupported_shape", path, owhere, f"<{child.tag}> is not a box; skipped")
                continue
            label = child.get("label") or ""
            try:
                box = tuple(float(child.get(a, "nan")) for a in ("xtl", "ytl", "xbr", "ybr"))
            except ValueError:
                box = (float("nan"),) * 4
            if not label or not all(np.isfinite(box)):
                log.error("bad_box", path, owhere, f"<box> needs a label and numeric xtl/ytl/xbr/ybr; got "
                          f"{dict(child.attrib)}")
                continue
            extra: dict[str, Any] = {"cvat_occluded": child.get("occluded", "0")}
            for attr in child.iterfind("attribute"):
                if attr.get("name"):
                    extra[f"cvat_attr_{attr.get('name')}"] = (attr.text or "").strip()
            objects.append((label, box, extra))
        raw_images.append((image_id, name, w, h, objects))
    found = sorted({o[0] for im in raw_images for o in im[4]} - set(declared))
    names = list(class_names) if class_names is not None else declared + found
    if class_names is None and found and declared:
        for lab in found:
            log.error("unknown_class", path, None, f"label {lab!r} is used but not declared in <meta> labels")
    name_to_id = {n: i + 1 for i, n in enumerate(names)}
    if images_dir is not None:
        root = Path(images_dir)
    else:
        cands = image_dir_candidates(path.parent, path.parent.parent)
        root = guess_images_dir(cands, [r[1] for r in raw_images]) or path.parent
    finder = ImageFinder(root)
    images, annotations, seen = [], {}, set()
    for image_id, name, w, h, objects in raw_images:
        if image_id in seen:
            log.error("bad_image", path, f"image id={image_id}", "image id appears twice")
            continue
        seen.add(image_id)
        rel, _ = finder.find(name)
        images.append(ImageRecord(image_id, name, rel, w, h, str(path)))
        rows = []
        for j, (label, box, extra) in enumerate(objects):
            if label not in name_to_id:
                log.error("unknown_class", path, f"{name} box {j}", f"label {label!r} is not one of {names}")
                continue
            rows.append((name_to_id[label], box, extra))
        if rows:
            flags = {f: [r[2].get(f"cvat_attr_{f}", "") in _TRUE for r in rows] for f in ("difficult", "truncated")}
            annotations[image_id] = checked_ground_truth(
                log, path, lambda j, name=name: f"{name} box {j}",
                np.array([r[1] for r in rows], np.float64), np.array([r[0] for r in rows], np.int64),
                difficult=flags["difficult"], truncated=flags["truncated"], extras=tuple(r[2] for r in rows))
    return Dataset(tuple(images), tuple(Category(i, n) for n, i in name_to_id.items()), annotations, root=root,
                   issues=tuple(log.issues), source={"format": "cvat", "path": str(path)})


def _num(v: float) -> str:
    return f"{v:.2f}" if abs(v - round(v, 2)) < 1e-9 else repr(float(v))


def write_cvat(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write a CVAT for images 1.1 XML file (``path`` or ``path/annotations.xml`` for a folder).

    Difficult and truncated flags are written as ``<attribute>`` elements; crowd boxes are reported and
    skipped. ``<image name>`` is each image's path relative to the images folder.
    """
    out = Path(path)
    if out.suffix.lower() != ".xml":
        out = out / "annotations.xml"
    report = WriteReport("cvat", str(out))
    names = dataset.category_names
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    labels = ET.SubElement(ET.SubElement(ET.SubElement(root, "meta"), "task"), "labels")
    for c in dataset.categories:
        ET.SubElement(ET.SubElement(labels, "label"), "name").text = c.name
    for im, ann in dataset:
        el = ET.SubElement(root, "image", id=str(im.id), name=im.path, width=str(im.width), height=str(im.height))
        for j in range(len(ann)):
            if ann.iscrowd[j]:
                report.skip("crowd_not_representable", im.file_name, j, "CVAT boxes have no crowd flag; not written")
                continue
            x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
            if skip_degenerate(report, im.file_name, j, (x0, y0, x1, y1), "CVAT", zero_ok=True):
                continue  # CVAT needs xtl <= xbr and ytl <= ybr
            extra = ann.extras[j]
            box = ET.SubElement(el, "box", label=names[int(ann.class_ids[j])],
                                occluded=str(extra.get("cvat_occluded", "0")), source="manual",
                                xtl=_num(x0), ytl=_num(y0), xbr=_num(x1), ybr=_num(y1), z_order="0")
            attrs = {k[len("cvat_attr_"):]: str(v) for k, v in extra.items() if k.startswith("cvat_attr_")}
            attrs.update({"difficult": "true" if ann.difficult[j] else attrs.get("difficult", "false"),
                          "truncated": "true" if ann.truncated[j] else attrs.get("truncated", "false")})
            if not ann.difficult[j] and "difficult" not in {k[10:] for k in extra}:
                attrs.pop("difficult")
            if not ann.truncated[j] and "truncated" not in {k[10:] for k in extra}:
                attrs.pop("truncated")
            for k, v in attrs.items():
                ET.SubElement(box, "attribute", name=k).text = v
            report.boxes += 1
        report.images += 1
    report_lost_fields(report, dataset, "CVAT", truncated=False, segmentation=True)
    if dataset.splits:
        report.skip("splits_dropped", str(out), None, f"CVAT task XML has no splits; {sorted(dataset.splits)} "
                    "not written")
    ET.indent(root, space="  ")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n",
                   encoding="utf-8")
    return report
