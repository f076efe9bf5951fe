"""Pascal VOC XML: one ``<annotation>`` file per image.

VOC boxes are 1-based inclusive pixel indices: a box covering pixels 1..W has xmin=1, xmax=W. In odkit's
continuous space (origin at the top-left corner of the top-left pixel, x_max exclusive) that box is
[0, W], so on read ``x_min = xmin - 1`` and ``y_min = ymin - 1`` while x_max / y_max are unchanged; on
write ``xmin = round(x_min + 1)``, ``xmax = round(x_max)``. Write -> read is the identity for whole-pixel
boxes (the detectron2 convention).

Layouts: a VOC root (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``), a folder of XML
files (images in ``images/`` or ``JPEGImages/`` next to it, or in the same folder), or one XML file.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from odkit.errors import AnnotationError
from odkit.io._common import (
    ImageFinder,
    IssueLog,
    WriteReport,
    as_int,
    checked_ground_truth,
    natural_key,
    report_lost_fields,
    skip_degenerate,
)
from odkit.io._model import Category, Dataset, ImageRecord

T = TypeVar("T")
_BOX_TAGS = ("xmin", "ymin", "xmax", "ymax")
_OBJECT_KNOWN = {"name", "bndbox", "difficult", "truncated"}


def _text(node: ET.Element | None) -> str | None:
    return None if node is None or node.text is None else node.text.strip()


def _parse_file(path: Path, log: IssueLog) -> dict[str, Any] | None:
    """One XML file as plain values; None when it is skipped (lenient mode)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        log.error("bad_xml", path, line, f"invalid XML: {str(exc).split(':')[0]} (column {col})")
        return None
    except (OSError, ValueError, LookupError) as exc:  # unreadable file, unsupported declared encoding
        log.error("unreadable_annotation", path, None, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
        return None
    if root.tag != "annotation":
        log.error("bad_xml", path, None, f"expected an <annotation> root element; got <{root.tag}>")
        return None
    file_name = _text(root.find("filename")) or ""
    size = root.find("size")
    width = height = 0
    if size is not None:
        try:
            width = as_int(_text(size.find("width")) or "0")
            height = as_int(_text(size.find("height")) or "0")
        except ValueError:
            log.error("bad_size", path, "size", f"<width>/<height> must be integers; got "
                      f"{_text(size.find('width'))!r}x{_text(size.find('height'))!r}")
            width = height = 0
        for tag, value in (("width", width), ("height", height)):
            if value < 0:
                log.error("bad_size", path, f"size/{tag}", f"<{tag}> must be positive (0 = unknown); got {value}")
                width = height = 0
    objects = []
    for i, obj in enumerate(root.findall("object")):
        where = f"object {i}"
        name = _text(obj.find("name"))
        if not name:
            log.error("bad_object", path, where, "missing <name>")
            continue
        bnd = obj.find("bndbox")
        if bnd is None:
            log.error("bad_object", path, where, f"object {name!r} has no <bndbox>")
            continue
        values = [_text(bnd.find(t)) for t in _BOX_TAGS]
        if any(v is None for v in values):
            missing = [t for t, v in zip(_BOX_TAGS, values) if v is None]
            log.error("bad_box", path, where, f"<bndbox> lacks {missing}")
            continue
        try:
            xmin, ymin, xmax, ymax = (float(v) for v in values)  # type: ignore[arg-type]
        except ValueError:
            log.error("bad_box", path, where, f"<bndbox> values must be numbers; got {values}")
            continue
        if not all(np.isfinite([xmin, ymin, xmax, ymax])):
            log.error("bad_box", path, where, f"<bndbox> values must be finite; got {values}")
            continue
        flags = {}
        for tag in ("difficult", "truncated"):
            t = _text(obj.find(tag))
            flags[tag] = t not in (None, "", "0", "false", "False")
        extra = {f"voc_{c.tag}": c.text.strip() for c in obj
                 if c.tag not in _OBJECT_KNOWN and c.text is not None and len(c) == 0 and c.text.strip()}
        objects.append((name, (xmin - 1.0, ymin - 1.0, xmax, ymax), flags, extra))
    return {"file_name": file_name, "path": _text(root.find("path")) or "", "width": width, "height": height,
            "objects": objects}


VOC_IMAGE_SAMPLE = 20  # XML files whose <filename> locate the images folder
_MAX_SIBLINGS = 64


def spread(items: Sequence[T], n: int) -> list[T]:
    """Up to ``n`` of ``items``, evenly spread over the sequence (all of them when there are at most ``n``)."""
    return list(items[:: max(1, len(items) // n)][:n])


def voc_images_dir(ann_dir: Path, sample: Sequence[tuple[str, str, str]]) -> Path | None:
    """The folder holding the images that XML files of ``ann_dir`` name; None when no candidate holds any.

    Args:
        ann_dir: the folder of the XML files.
        sample: ``(<filename>, <path>, XML stem)`` of some of them.

    Candidates, the one holding the most of the sample first (ties: the earlier): the folders of ``<path>``
    values that exist on this machine (labelImg writes the labeller's own, e.g. ``C:\\Users\\...``: ignored),
    ``JPEGImages/`` and ``images/`` beside ``ann_dir``, ``ann_dir`` itself, every other folder beside it (and
    their ``images/`` / ``JPEGImages/``), the folder above. An image is found by ``<filename>``, or by the
    XML file's stem with any image extension.
    """
    if not sample:
        return None
    base = ann_dir.parent
    cands: list[Path] = []
    for _, given, _ in sample:
        if given and Path(given).is_file():
            cands.append(Path(given).parent)
    cands += [base / "JPEGImages", base / "images", ann_dir]
    try:
        siblings = sorted((d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")),
                          key=lambda d: natural_key(d.name))
    except OSError:
        siblings = []
    for d in siblings[:_MAX_SIBLINGS]:
        cands += [d, d / "images", d / "JPEGImages"]
    cands.append(base)
    best, best_score, seen = None, 0, set()
    for cand in cands:
        if cand in seen or not cand.is_dir():
            continue
        seen.add(cand)
        finder = ImageFinder(cand)
        score = sum(finder.find(name or stem, fallback_stems=[stem])[1] for name, _, stem in sample)
        if score > best_score:
            best, best_score = cand, score
    return best


def _read_split_files(voc_root: Path) -> dict[str, list[str]]:
    main = voc_root / "ImageSets" / "Main"
    splits: dict[str, list[str]] = {}
    if not main.is_dir():
        return splits
    for f in sorted(main.glob("*.txt")):
        if "_" in f.stem:  # per-class files like aeroplane_train.txt
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AnnotationError(f, None, f"cannot read the split list: {exc}") from None
        lines = [ln.split()[0] for ln in text.splitlines() if ln.strip()]
        splits[f.stem] = lines
    return splits


def read_voc(
    path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    class_names: list[str] | None = None,
) -> Dataset:
    """Read Pascal VOC XML annotations.

    Args:
        path: a VOC root (with ``Annotations/``), a folder of ``.xml`` files, or one ``.xml`` file.
        images_dir: folder holding the images; when None, the folder beside, in or above the annotations
            folder that holds the most of the images named by ``<filename>`` (``voc_images_dir``).
        strict: raise ``AnnotationError`` on the first problem; when False, skip bad files / objects and
            record them in ``Dataset.issues``.
        class_names: category names in id order (ids 1..K); by default the names found, sorted.

    Returns:
        The dataset; image ids are 1..N in natural file-name order, boxes are continuous xyxy.

    Raises:
        AnnotationError: naming the XML file and the line (bad XML) or object index.
    """
    path = Path(path)
    log = IssueLog(strict)
    split_names: dict[str, list[str]] = {}
    if path.is_file():
        xml_files, ann_dir = [path], path.parent
    elif (path / "Annotations").is_dir():
        ann_dir = path / "Annotations"
        xml_files = sorted(ann_dir.glob("*.xml"), key=lambda p: natural_key(p.name))
        split_names = _read_split_files(path)
    elif path.is_dir():
        ann_dir = path / "annotations" if (path / "annotations").is_dir() else path
        xml_files = sorted(ann_dir.glob("*.xml"), key=lambda p: natural_key(p.name))
    else:
        raise AnnotationError(path, None, "no such file or folder")
    if not xml_files:
        raise AnnotationError(ann_dir, None, "no .xml annotation files found")

    parsed = [(f, _parse_file(f, log)) for f in xml_files]
    parsed_ok = [(f, p) for f, p in parsed if p is not None]
    if images_dir is not None:
        root = Path(images_dir)
    else:
        sample = [(p["file_name"], p["path"], f.stem) for f, p in spread(parsed_ok, VOC_IMAGE_SAMPLE)]
        found = voc_images_dir(ann_dir, sample)
        root = found if found is not None else ann_dir

    names_found = sorted({o[0] for _, p in parsed_ok for o in p["objects"]})
    names = list(class_names) if class_names is not None else names_found
    name_to_id = {n: i + 1 for i, n in enumerate(names)}
    images, annotations, stem_to_id = [], {}, {}
    finder = ImageFinder(root)
    for image_id, (f, p) in enumerate(parsed_ok, start=1):
        file_name = p["file_name"] or f"{f.stem}"
        rel, exists = finder.find(file_name, fallback_stems=[f.stem])
        if exists and rel != file_name:
            log.warning("file_name_mismatch", f, "filename",
                        f"<filename> {file_name!r} not found in {root}; using {rel!r}")
        images.append(ImageRecord(image_id, file_name, rel, p["width"], p["height"], str(f)))
        stem_to_id[f.stem] = image_id
        rows = []
        for i, (name, box, flags, extra) in enumerate(p["objects"]):
            if name not in name_to_id:
                log.error("unknown_class", f, f"object {i}", f"class {name!r} is not one of {names}")
                continue
            rows.append((name_to_id[name], box, flags, extra))
        if rows:
            annotations[image_id] = checked_ground_truth(
                log, f, lambda j: f"object {j}",
                np.array([r[1] for r in rows], np.float64), np.array([r[0] for r in rows], np.int64),
                difficult=np.array([r[2]["difficult"] for r in rows]),
                truncated=np.array([r[2]["truncated"] for r in rows]),
                extras=tuple(r[3] for r in rows),
            )
    splits = {}
    for split, stems in split_names.items():
        ids = [stem_to_id[s] for s in stems if s in stem_to_id]
        unknown = [s for s in stems if s not in stem_to_id]
        if unknown:
            log.warning("split_unknown_image", path / "ImageSets" / "Main" / f"{split}.txt", None,
                        f"{len(unknown)} names have no annotation file, e.g. {unknown[:3]}")
        if ids:
            splits[split] = ids
    return Dataset(
        images=tuple(images), categories=tuple(Category(i, n) for n, i in name_to_id.items()),
        annotations=annotations, root=root, splits=splits, issues=tuple(log.issues),
        source={"format": "voc", "path": str(path)},
    )


def _fmt_int(v: float) -> str:
    return str(round(v))


def voc_xml(image: ImageRecord, ann: Any, names: dict[int, str], report: WriteReport | None = None) -> str:
    """One image's VOC XML text. Crowd boxes are not written (VOC has no crowd flag) and reported."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = Path(image.path).name
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(image.width)
    ET.SubElement(size, "height").text = str(image.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for j in range(len(ann)):
        if ann.iscrowd[j]:
            if report is not None:
                report.skip("crowd_not_representable", image.file_name, j,
                            "VOC has no crowd flag; crowd box not written")
            continue
        x_min, y_min, x_max, y_max = ann.boxes_xyxy[j].tolist()
        # VOC 1-based inclusive: xmin = x_min + 1, xmax = x_max (see the module docstring).
        voc = (x_min + 1.0, y_min + 1.0, x_max, y_max)
        sink = report if report is not None else WriteReport("voc", "")
        if skip_degenerate(sink, image.file_name, j, (x_min, y_min, x_max, y_max), "VOC", zero_ok=False):
            continue
        if round(voc[0]) > round(voc[2]) or round(voc[1]) > round(voc[3]):
            sink.skip("zero_size", image.file_name, j, f"box {[x_min, y_min, x_max, y_max]} (xyxy) is under 1 px "
                      "after rounding to VOC's whole 1-based pixels (xmin > xmax); not written")
            continue
        if report is not None and any(abs(v - round(v)) > 1e-3 for v in voc):
            report.skip("rounded", image.file_name, j, f"VOC stores whole pixels; box {voc} rounded")
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = names[int(ann.class_ids[j])]
        for k, v in ann.extras[j].items():
            if k.startswith("voc_"):
                ET.SubElement(obj, k[4:]).text = str(v)
        ET.SubElement(obj, "truncated").text = str(int(ann.truncated[j]))
        ET.SubElement(obj, "difficult").text = str(int(ann.difficult[j]))
        bnd = ET.SubElement(obj, "bndbox")
        for tag, v in zip(_BOX_TAGS, voc):
            ET.SubElement(bnd, tag).text = _fmt_int(v)
        if report is not None:
            report.boxes += 1
    ET.indent(root, space="\t")
    return ET.tostring(root, encoding="unicode") + "\n"


def write_voc(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write ``dataset`` as a VOC root: ``Annotations/<stem>.xml`` and ``ImageSets/Main/<split>.txt``.

    Images are not copied here (``write_annotations(copy_images=...)`` does that into ``JPEGImages/``).
    ``<filename>`` is the base name of each image's path.

    Returns:
        What was written; crowd boxes and non-integer coordinates are reported per box.
    """
    out = Path(path)
    report = WriteReport("voc", str(out))
    ann_dir = out / "Annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    names = dataset.category_names
    stems: dict[int, str] = {}
    used: set[str] = set()
    for im in dataset.images:
        stem = Path(im.path).stem
        if stem in used:
            stem = f"{stem}_{im.id}"
        used.add(stem)
        stems[im.id] = stem
        (ann_dir / f"{stem}.xml").write_text(voc_xml(im, dataset.annotations[im.id], names, report),
                                              encoding="utf-8")
        report.images += 1
    report_lost_fields(report, dataset, "VOC", truncated=False, segmentation=True)
    if dataset.splits:
        main = out / "ImageSets" / "Main"
        main.mkdir(parents=True, exist_ok=True)
        for split, ids in dataset.splits.items():
            (main / f"{split}.txt").write_text("".join(f"{stems[i]}\n" for i in ids), encoding="utf-8")
    return report
