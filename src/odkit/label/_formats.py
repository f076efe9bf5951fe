"""Per-image annotation files as ``odkit label`` rewrites them: VOC XML and LabelMe JSON edited in place
(fields the page does not show are kept), YOLO txt written whole."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from odkit.boxes import GroundTruth
from odkit.io import Dataset
from odkit.io._voc import voc_xml
from odkit.label._errors import LabelError


def voc_edit(path: Path, im: Any, ann: GroundTruth, srcs: list[int | None], names: dict[int, str]) -> bytes:
    """The image's XML with only its ``<object>`` list changed: other elements (size, path, source...)
    and each kept object's other fields (pose, truncated, difficult...) stay as they were."""
    if not path.is_file():
        return voc_xml(im, ann, names).encode("utf-8")
    tree = ET.parse(path)
    root = tree.getroot()
    old_objects = root.findall("object")
    first = list(root).index(old_objects[0]) if old_objects else len(root)
    for o in old_objects:
        root.remove(o)
    for j, src in enumerate(srcs):
        if src is not None and src < len(old_objects):
            obj = copy.deepcopy(old_objects[src])
        else:
            obj = ET.Element("object")
            for tag, text in (("name", ""), ("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")):
                ET.SubElement(obj, tag).text = text
        name = obj.find("name")
        if name is None:
            name = ET.SubElement(obj, "name")
        name.text = names[int(ann.class_ids[j])]
        bnd = obj.find("bndbox")
        if bnd is None:
            bnd = ET.SubElement(obj, "bndbox")
        x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
        # VOC 1-based inclusive pixels (odkit.io._voc): xmin = x_min + 1, xmax = x_max
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), (x0 + 1, y0 + 1, x1, y1)):
            el = bnd.find(tag)
            if el is None:
                el = ET.SubElement(bnd, tag)
            el.text = str(round(v))
        root.insert(first + j, obj)
    indent = "\t" if (root.text or "").strip(" \n") == "\t" or "\t" in (root.text or "") else "  "
    ET.indent(root, space=indent)
    raw = path.read_bytes()
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if raw.lstrip().startswith(b"<?xml") else ""
    tail = "\n" if raw.endswith(b"\n") else ""
    return (head + ET.tostring(root, encoding="unicode") + tail).encode("utf-8")


def yolo_text(im: Any, ann: GroundTruth, ds: Dataset) -> bytes:
    """YOLO label lines ``class cx cy w h`` (normalized) for one image."""
    if im.width <= 0 or im.height <= 0:
        raise LabelError(f"{im.file_name}: image size unknown; YOLO needs it to normalize boxes")
    index = ds.category_index
    lines = []
    for j, (x0, y0, x1, y1) in enumerate(ann.boxes_xyxy.tolist()):
        if ann.iscrowd[j]:
            raise LabelError(f"box {j}: YOLO has no crowd flag; not saved")
        cx, cy = (x0 + x1) / 2 / im.width, (y0 + y1) / 2 / im.height
        w, h = (x1 - x0) / im.width, (y1 - y0) / im.height
        lines.append(f"{index[int(ann.class_ids[j])]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return ("\n".join(lines) + "\n" if lines else "").encode("utf-8")


def labelme_edit(path: Path, ann: GroundTruth, srcs: list[int | None], names: dict[int, str]) -> bytes:
    """The LabelMe JSON with its shapes replaced: rectangles for boxes, an unmoved polygon kept as it was."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabelError(f"{path}: cannot read the LabelMe JSON to update it: {exc}") from None
    return _labelme_with(doc, ann, srcs, names)


def _labelme_with(doc: dict[str, Any], ann: GroundTruth, srcs: list[int | None], names: dict[int, str]) -> bytes:
    """``doc`` with its shapes replaced by ``ann``'s boxes (``srcs``: each box's old object, as in ``labelme_edit``)."""
    shapes = []
    for j, src in enumerate(srcs):
        x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
        label = names[int(ann.class_ids[j])]
        extra = ann.extras[j]
        if ann.iscrowd[j] or ann.difficult[j]:
            raise LabelError(f"box {j}: LabelMe has no crowd / difficult flag; not saved")
        if src is not None and "labelme_points" in extra:
            pts = np.asarray(extra["labelme_points"], np.float64)
            if np.allclose([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()], [x0, y0, x1, y1]):
                shapes.append({"label": label, "points": extra["labelme_points"], "group_id": None,
                               "shape_type": "polygon", "flags": {}})
                continue
        kept = {k[len("labelme_"):]: v for k, v in extra.items() if k.startswith("labelme_") and k != "labelme_points"}
        shapes.append({"label": label, "points": [[x0, y0], [x1, y1]], "group_id": None,
                       "shape_type": "rectangle", "flags": {}, **kept})
    doc["shapes"] = shapes
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def labelme_new(path: Path, image: Path, im: Any, ann: GroundTruth, names: dict[int, str]) -> bytes:
    """A new LabelMe JSON for ``image`` (``imagePath`` relative to ``path``'s folder), rectangles only."""
    rel = Path(os.path.relpath(Path(image).resolve(), path.parent.resolve())).as_posix()
    doc = {"version": "5.2.1", "flags": {}, "shapes": [], "imagePath": rel, "imageData": None,
           "imageHeight": im.height, "imageWidth": im.width}
    return _labelme_with(doc, ann, [None] * len(ann), names)
