"""Where a dataset's annotations are: format detection for a file or a dataset folder.

A folder is looked at on two levels:

- **the folder itself** (the rules ``read_annotations`` has always used): a ``data.yaml`` or ``labels/`` +
  ``images/`` (YOLO); ``Annotations/``, ``.xml`` files, or ``annotations/*.xml`` (VOC, or CVAT for one CVAT
  file); LabelMe ``.json`` files; ``annotations/instances_<split>.json`` (COCO, one file per split) or one
  COCO ``.json`` here or in ``annotations/``; one ``.csv``;
- **each sub-folder**, for the VOC, YOLO and COCO layouts above, and for a folder of VOC ``.xml`` files
  of any name (``annots/``, ``xml/``, ``labels_xml/``): ``kangaroo/annots/*.xml`` + ``kangaroo/images/``,
  or ``root/BCCD/Annotations``.

A sub-folder of the format already found in the folder itself is part of that dataset (raccoon's
``annotations_at_f4d1464/`` beside ``annotations/``), not a second one. When a format turns up in several
sub-folders, those whose images are found win, then VOC roots (``BCCD/Annotations``) over folders of loose
``.xml`` files. Two formats, or one format in two places, is an error that lists what was found where and
says how to choose. One COCO file, or one folder of VOC ``.xml`` files, in each of ``train/``, ``valid/``,
``test/``... (Roboflow's exports) is one dataset with those splits (``valid/`` is the split ``val``).

The images of a VOC folder are found as ``read_voc`` finds them (``odkit.io._voc.voc_images_dir``), and a
VOC folder whose images are found wins over one whose images are not.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from odkit.errors import DatasetError
from odkit.io._common import natural_key
from odkit.io._cvat import is_cvat_file
from odkit.io._labelme import is_labelme_file
from odkit.io._voc import VOC_IMAGE_SAMPLE, spread, voc_images_dir

_YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml")
_BY_SUFFIX = {".json": "coco", ".xml": "voc", ".csv": "csv", ".yaml": "yolo", ".yml": "yolo"}
# The formats looked for one level down (the others are single files or flat folders).
_NESTED_FORMATS = ("voc", "yolo", "coco")
# Beyond this many sub-folders, a folder whose own layout is known is not scanned one level down.
_MAX_SUBFOLDERS = 64
# Sub-folders that hold one split each (Roboflow's COCO export: train/, valid/, test/).
_SPLIT_FOLDERS = ("train", "training", "val", "valid", "validation", "test", "testing", "trainval", "dev")
# Their split names (as YOLO's ``validation:`` key is read as ``val``).
_SPLIT_ROLE = {"training": "train", "valid": "val", "validation": "val", "testing": "test"}
_HINT = "choose with --from FMT (odkit) or fmt=FMT (read_annotations), or pass the folder you mean"


@dataclass(frozen=True)
class Layout:
    """One dataset found by the detection.

    Attributes:
        fmt: the format's name (``"voc"``, ``"yolo"``, ``"coco"``...).
        path: what the format's reader is given: the file, or the folder it reads.
        images_dir: the images folder the reader will find (VOC), for messages; None when not looked for.
        what: for messages, e.g. ``"annots/ (12 .xml), images in images/"``.
        split_files: COCO with one instances file per split: ``(split, file)`` pairs.
        split_folders: VOC with one folder per split (``train/``, ``valid/``...): ``(split, layout)`` pairs.
        images_found: False when the detection looked for the images and found none.
        standard: False for a VOC folder of ``.xml`` files that is not a VOC root (no ``Annotations/``).
    """

    fmt: str
    path: Path
    images_dir: Path | None = None
    what: str = ""
    split_files: tuple[tuple[str, Path], ...] = ()
    split_folders: tuple[tuple[str, Layout], ...] = ()
    images_found: bool = True
    standard: bool = True


def _rel(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
    return "./" if rel == "." else rel + ("/" if path.is_dir() else "")


# Folder -> its annotation-like files by suffix, for the time of one ``find_layouts`` call: an image folder of
# 100k files is listed once, not once per rule.
_LISTINGS: ContextVar[dict[Path, dict[str, list[str]]] | None] = ContextVar("_LISTINGS", default=None)
_SUFFIXES = (".xml", ".json", ".csv")


def _files(folder: Path, suffix: str) -> list[Path]:
    """The files of ``folder`` whose name ends with ``suffix`` (``.xml``, ``.json`` or ``.csv``, any case),
    natural-sorted; hidden ones skipped."""
    cache = _LISTINGS.get()
    by_suffix = cache.get(folder) if cache is not None else None
    if by_suffix is None:
        by_suffix = {s: [] for s in _SUFFIXES}
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        for name in names:
            ext = name[name.rfind("."):].lower()  # the name itself when it has no dot: no suffix matches
            if ext in by_suffix and not name.startswith(".") and os.path.isfile(os.path.join(folder, name)):
                by_suffix[ext].append(name)
        if cache is not None:
            cache[folder] = by_suffix
    return [folder / n for n in sorted(by_suffix[suffix], key=natural_key)]


def _looks_like_coco(path: Path) -> bool:
    """A COCO instances file names ``images``, ``annotations`` or ``categories`` near its start."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(65536)
    except OSError:
        return False
    return any(f'"{k}"' in head for k in ("images", "annotations", "categories"))


def coco_split_files(folder: Path) -> list[tuple[str, Path]]:
    """``annotations/instances_<split>.json`` in ``folder`` (or ``instances_*.json`` in ``folder`` itself when
    it is the ``annotations/`` folder), as ``(split, file)`` pairs, natural-sorted by split name."""
    for ann in (folder / "annotations", folder):
        found = [(p.stem[len("instances_"):], p) for p in _files(ann, ".json")
                 if p.stem.startswith("instances_") and len(p.stem) > len("instances_")]
        if found:
            return sorted(found, key=lambda sf: natural_key(sf[0]))
    return []


def _voc_sample(xml_files: list[Path]) -> list[tuple[str, str, str]]:
    """(``<filename>``, ``<path>``, XML stem) of up to ``VOC_IMAGE_SAMPLE`` files spread over the list."""
    out = []
    for f in spread(xml_files, VOC_IMAGE_SAMPLE):
        try:
            root = ET.parse(f).getroot()
        except (ET.ParseError, OSError, ValueError, LookupError):
            continue
        out.append(((root.findtext("filename") or "").strip(), (root.findtext("path") or "").strip(), f.stem))
    return out


def _voc_layout(path: Path, base: Path) -> Layout | None:
    """``path`` as a VOC dataset: a root with ``Annotations/``, or a folder of ``<annotation>`` XML files
    (also in its ``annotations/``); None when it is neither."""
    # the folder read_voc reads
    if (path / "Annotations").is_dir():
        ann_dir = path / "Annotations"
    else:
        ann_dir = path / "annotations" if (path / "annotations").is_dir() else path
    xmls = _files(ann_dir, ".xml")
    if not xmls and ann_dir.name != "Annotations":
        return None
    images = voc_images_dir(ann_dir, _voc_sample(xmls)) if xmls else None
    where = f"{_rel(ann_dir, base)} ({len(xmls)} .xml)"
    where += f", images in {_rel(images, base)}" if images is not None else ", images not found"
    return Layout("voc", path, images, where, images_found=images is not None,
                  standard=ann_dir.name == "Annotations")


def _is_voc_folder(folder: Path) -> bool:
    """True when the first ``.xml`` file of ``folder`` has a VOC ``<annotation>`` root element."""
    xmls = _files(folder, ".xml")
    if not xmls:
        return False
    try:
        for _, elem in ET.iterparse(xmls[0], events=("start",)):
            return elem.tag == "annotation"
    except (ET.ParseError, OSError, ValueError):
        return False
    return False


def _yolo_layout(path: Path, base: Path) -> Layout | None:
    for name in _YAML_NAMES:
        if (path / name).is_file():
            return Layout("yolo", path, what=_rel(path / name, base))
    if (path / "labels").is_dir() and (path / "images").is_dir():
        return Layout("yolo", path, what=f"{_rel(path / 'labels', base)} + {_rel(path / 'images', base)}")
    return None


def _coco_layout(path: Path, base: Path) -> Layout | None:
    splits = coco_split_files(path)
    if splits:
        names = ", ".join(p.name for _, p in splits)
        return Layout("coco", path, what=f"{_rel(splits[0][1].parent, base)} ({names})", split_files=tuple(splits))
    jsons = [j for j in _files(path, ".json") or _files(path / "annotations", ".json") if not is_labelme_file(j)]
    if len(jsons) == 1 and _looks_like_coco(jsons[0]):
        return Layout("coco", jsons[0], what=_rel(jsons[0], base))
    return None


def _here(path: Path, base: Path) -> list[Layout]:
    """The layouts found in ``path`` itself (every rule, as ``detect_format`` has always applied them)."""
    out = []
    yolo = _yolo_layout(path, base)
    if yolo is not None:
        out.append(yolo)
    xmls = _files(path, ".xml") or _files(path / "annotations", ".xml")
    if len(xmls) == 1 and is_cvat_file(xmls[0]):
        out.append(Layout("cvat", xmls[0], what=_rel(xmls[0], base)))
    elif (path / "Annotations").is_dir() or xmls:
        voc = _voc_layout(path, base)
        if voc is not None:
            out.append(voc)
    jsons = _files(path, ".json") or _files(path / "annotations", ".json")
    if jsons and all(is_labelme_file(j) for j in jsons[:5]):
        out.append(Layout("labelme", path, what=f"{_rel(jsons[0].parent, base)} ({len(jsons)} LabelMe .json)"))
    else:
        coco = _coco_layout(path, base)
        if coco is not None:
            out.append(coco)
    csvs = _files(path, ".csv")
    if len(csvs) == 1:
        out.append(Layout("csv", csvs[0], what=_rel(csvs[0], base)))
    return out


def _below(folder: Path, base: Path) -> list[Layout]:
    """The VOC / YOLO / COCO layouts found in ``folder``, a sub-folder of the folder asked about."""
    out = []
    yolo = _yolo_layout(folder, base)
    if yolo is not None:
        out.append(yolo)
    if (folder / "Annotations").is_dir() or _is_voc_folder(folder) or _is_voc_folder(folder / "annotations"):
        voc = _voc_layout(folder, base)
        if voc is not None:
            out.append(voc)
    coco = _coco_layout(folder, base)
    if coco is not None:
        out.append(coco)
    return out


def _describe(layouts: list[Layout]) -> str:
    return "; ".join(f"{la.fmt} in {la.what}" for la in layouts)


def find_layouts(path: Path, fmt: str | None = None) -> list[Layout]:
    """Every dataset found in folder ``path`` (of format ``fmt`` when given), after the preferences of the
    module docstring: one element when the choice is clear, several when it is not, none when nothing
    was found."""
    token = _LISTINGS.set({})
    try:
        return _find_layouts(path, fmt)
    finally:
        _LISTINGS.reset(token)


def _find_layouts(path: Path, fmt: str | None) -> list[Layout]:
    here = [la for la in _here(path, path) if fmt is None or la.fmt == fmt]
    below: list[Layout] = []
    try:
        subs = sorted((d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")),
                      key=lambda d: natural_key(d.name))
    except OSError:
        subs = []
    if not here or len(subs) <= _MAX_SUBFOLDERS:
        for d in subs[:_MAX_SUBFOLDERS]:
            below += [la for la in _below(d, path) if fmt is None or la.fmt == fmt]
    found_here = {la.fmt for la in here}
    below = [la for la in below if la.fmt not in found_here]
    by_fmt: dict[str, list[Layout]] = {}
    for la in below:
        by_fmt.setdefault(la.fmt, []).append(la)
    for f, group in by_fmt.items():
        group = [la for la in group if la.images_found] or group
        by_fmt[f] = [la for la in group if la.standard] or group
    for f in ("coco", "voc"):
        folders = _split_folders(path, by_fmt.get(f, []))
        if folders:  # Roboflow's COCO and VOC exports: train/, valid/, test/, one dataset split by folder
            what = ", ".join(la.what for la in by_fmt[f])
            by_fmt[f] = [Layout(f, path, what=what, split_files=tuple((n, la.path) for n, la in folders))
                         if f == "coco" else Layout(f, path, what=what, split_folders=folders)]
    return here + [la for group in by_fmt.values() for la in group]


def _split_folders(path: Path, group: list[Layout]) -> tuple[tuple[str, Layout], ...]:
    """``(split, layout)`` pairs when ``group`` (2+ layouts of one format) lie each in its own split-named
    sub-folder of ``path`` (``train/``, ``valid/``...); () otherwise."""
    folders = [la.path.parent if la.path.is_file() else la.path for la in group]
    if len(group) < 2 or any(la.split_files for la in group) or any(
            d.parent != path or d.name.lower() not in _SPLIT_FOLDERS for d in folders):
        return ()
    names = [_SPLIT_ROLE.get(d.name.lower(), d.name) for d in folders]
    if len(set(names)) < len(names):  # val/ and valid/ both: keep the folder names
        names = [d.name for d in folders]
    return tuple(zip(names, group))


def find_layout(path: str | Path, fmt: str | None = None) -> Layout:
    """The one dataset at ``path`` (a file or a folder), of format ``fmt`` when given.

    Raises:
        DatasetError: when nothing is found (without ``fmt``), or more than one dataset is: the message
            lists each, where it is, and how to choose.
    """
    p = Path(path)
    if p.is_file():
        if fmt is not None:
            return Layout(fmt, p, what=p.name)
        suffix = p.suffix.lower()
        if suffix == ".json" and is_labelme_file(p):
            return Layout("labelme", p, what=p.name)
        if suffix == ".xml" and is_cvat_file(p):
            return Layout("cvat", p, what=p.name)
        if suffix in _BY_SUFFIX:
            return Layout(_BY_SUFFIX[suffix], p, what=p.name)
        raise DatasetError(f"{p}: cannot tell the format from the extension {p.suffix!r}; pass the format")
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    if fmt is not None and fmt not in _NESTED_FORMATS:
        return Layout(fmt, p, what=_rel(p, p))
    found = find_layouts(p, fmt)
    if len(found) == 1:
        return found[0]
    if not found:
        if fmt is not None:
            return Layout(fmt, p, what=_rel(p, p))  # the reader says what is missing
        raise DatasetError(f"{p}: cannot tell the annotation format: no data.yaml, labels/ + images/, "
                           "Annotations/ or VOC .xml files, COCO or LabelMe .json, or single .csv, here or one "
                           "folder down; pass the format (--from FMT / fmt=FMT) and the annotation file or folder")
    formats = sorted({la.fmt for la in found})
    if len(formats) > 1:
        raise DatasetError(f"{p}: found more than one annotation format: {_describe(found)}; {_HINT}")
    raise DatasetError(f"{p}: found {formats[0]} annotations in {len(found)} places: {_describe(found)}; "
                       "pass the folder you mean")
