"""``read_annotations`` / ``write_annotations``: format detection and dispatch, image copying."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any

from odkit.errors import DatasetError
from odkit.io._coco import read_coco, write_coco
from odkit.io._coco_splits import read_coco_splits, split_parts, write_coco_splits
from odkit.io._common import WriteReport
from odkit.io._csv import read_csv, write_csv
from odkit.io._cvat import read_cvat, write_cvat
from odkit.io._labelme import read_labelme, write_labelme
from odkit.io._layouts import Layout, find_layout
from odkit.io._model import Dataset
from odkit.io._ops import merge_datasets
from odkit.io._voc import read_voc, write_voc
from odkit.io._yolo import read_yolo, write_yolo, yolo_layout


class AnnotationFormat(str, Enum):
    """Annotation file formats odkit reads and writes."""

    COCO = "coco"
    VOC = "voc"
    YOLO = "yolo"
    CSV = "csv"
    LABELME = "labelme"
    CVAT = "cvat"

    @classmethod
    def from_value(cls, value: AnnotationFormat | str) -> AnnotationFormat:
        """Parse a format name; the error lists the valid names."""
        if isinstance(value, AnnotationFormat):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise DatasetError(
                f"unknown annotation format {value!r}; expected one of {[f.value for f in cls]}"
            ) from None


def detect_format(path: str | os.PathLike[str]) -> AnnotationFormat:
    """Guess the annotation format of a file or folder.

    Files: ``.json`` -> COCO (LabelMe when it holds a ``shapes`` list), ``.xml`` -> VOC (CVAT when the
    root element is ``<annotations>``), ``.csv`` -> CSV, ``.yaml``/``.yml`` -> YOLO.

    Folders, looked at themselves and one folder down (so ``kangaroo/`` with ``annots/*.xml`` +
    ``images/``, or ``root/`` holding ``BCCD/Annotations``, are found): a ``data.yaml`` or ``labels/`` +
    ``images/`` -> YOLO; ``Annotations/`` or a folder of ``.xml`` files of any name -> VOC (CVAT for a single
    CVAT file); LabelMe ``.json`` files -> LabelMe; ``annotations/instances_<split>.json`` or a single
    COCO ``.json`` (also in ``annotations/``) -> COCO; a single ``.csv`` -> CSV (not looked for one folder
    down). Sub-folders of the format found in the folder itself belong to it. The rules are in
    ``odkit.io._layouts``.

    Raises:
        DatasetError: when nothing matches, or when two formats (or one format in two places) are found:
            the message lists what was found where and how to choose (``fmt=`` / ``--from``, or the folder).
    """
    return AnnotationFormat(find_layout(path).fmt)


def _single_file(path: Path, suffix: str) -> Path:
    if path.is_file():
        return path
    found = sorted(path.glob(f"*{suffix}")) or sorted((path / "annotations").glob(f"*{suffix}"))
    if len(found) != 1:
        raise DatasetError(f"{path}: expected exactly one {suffix} file, found {[f.name for f in found]}")
    return found[0]


_READ_OPTIONS = {
    AnnotationFormat.COCO: (),
    AnnotationFormat.VOC: ("class_names",),
    AnnotationFormat.YOLO: ("class_names",),
    AnnotationFormat.CSV: ("class_names", "columns", "one_based"),
    AnnotationFormat.LABELME: ("class_names",),
    AnnotationFormat.CVAT: ("class_names",),
}


def read_annotations(
    path: str | os.PathLike[str],
    fmt: AnnotationFormat | str | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    *,
    strict: bool = True,
    **options: Any,
) -> Dataset:
    """Read a dataset's annotations in any supported format.

    Args:
        path: annotation file or dataset folder; the dataset may be one folder down (``kangaroo/`` holding
            ``annots/`` + ``images/``). A COCO folder with ``annotations/instances_<split>.json`` is read
            with those splits.
        fmt: ``"coco"``, ``"voc"``, ``"yolo"``, ``"csv"``, ``"labelme"`` or ``"cvat"``; detected from
            ``path`` when None (see ``detect_format``). Given, it also chooses between two formats found
            in one folder.
        images_dir: where the images are, when the usual layouts do not find them.
        strict: raise on the first problem (default) or, when False, skip bad items and list them in
            ``Dataset.issues``.
        **options: format-specific: ``class_names`` (VOC, YOLO, CSV), ``columns`` and ``one_based`` (CSV).

    Returns:
        The dataset, boxes in absolute continuous xyxy pixels.

    Raises:
        AnnotationError: a malformed file, naming the file and line / object.
        DatasetError: an undetectable or ambiguous format (the message lists what was found where), or a
            missing path.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    layout = find_layout(p, None if fmt is None else AnnotationFormat.from_value(fmt).value)
    f = AnnotationFormat(layout.fmt)
    unknown = sorted(set(options) - set(_READ_OPTIONS[f]))
    if unknown:
        raise DatasetError(f"the {f.value} reader takes no option(s) {unknown}; it takes {list(_READ_OPTIONS[f])}")
    where, images = layout.path, images_dir
    if f is AnnotationFormat.COCO:
        if layout.split_files:
            return read_coco_splits(layout.split_files, images, strict=strict, source=where)
        return read_coco(_single_file(where, ".json"), images, strict=strict)
    if f is AnnotationFormat.VOC:
        if layout.split_folders:
            return _read_voc_folders(layout, images_dir, strict, options)
        return read_voc(where, images, strict=strict, **options)
    if f is AnnotationFormat.YOLO:
        return read_yolo(where, images, strict=strict, **options)
    if f is AnnotationFormat.LABELME:
        return read_labelme(where, images, strict=strict, **options)
    if f is AnnotationFormat.CVAT:
        return read_cvat(_single_file(where, ".xml"), images, strict=strict, **options)
    return read_csv(_single_file(where, ".csv"), images, strict=strict, **options)


def _read_voc_folders(layout: Layout, images_dir: str | os.PathLike[str] | None, strict: bool,
                      options: dict[str, Any]) -> Dataset:
    """One VOC folder per split (Roboflow's export): each read, then merged (image ids 1..N in split order,
    categories united by name, image paths absolute) with the splits named after the folders."""
    parts = []
    for split, la in layout.split_folders:
        ds = read_voc(la.path, images_dir, strict=strict, **options)
        parts.append(replace(ds, splits={split: [im.id for im in ds.images]}))
    merged = merge_datasets(*parts)
    return replace(merged, source={"format": "voc", "path": str(layout.path),
                                   "folders": {s: str(la.path) for s, la in layout.split_folders}})


# Where each format's tools expect the images, relative to the output folder ("" = beside the annotations).
_IMAGE_FOLDER = {AnnotationFormat.VOC: "JPEGImages", AnnotationFormat.COCO: "images", AnnotationFormat.CSV: "images",
                 AnnotationFormat.CVAT: "images", AnnotationFormat.LABELME: "", AnnotationFormat.YOLO: ""}


def _folder_layout(dataset: Dataset, folder: str) -> dict[int, str]:
    """Image id -> ``folder/<base name>`` (``<id>_<base name>`` for a name already used)."""
    out, used = {}, set()
    for im in dataset.images:
        name = Path(im.path).name
        if name in used:
            name = f"{im.id}_{name}"
        used.add(name)
        out[im.id] = f"{folder}/{name}" if folder else name
    return out


def _output_layout(dataset: Dataset, fmt: AnnotationFormat) -> dict[int, str]:
    """Image id -> image path relative to the output folder, as the format's tools expect."""
    if fmt is AnnotationFormat.YOLO:
        return yolo_layout(dataset)
    return _folder_layout(dataset, _IMAGE_FOLDER[fmt])


def _place_images(dataset: Dataset, base: Path, fmt: AnnotationFormat, folder: str, copy_images: str,
                  progress: bool | None, missing: list[str]) -> Dataset:
    """Copy or link the images of ``dataset`` under ``base`` as ``fmt``'s tools expect (``folder``: the images
    folder, relative to ``base``; "" = YOLO's layout or beside the annotations); the images that do not exist
    are added to ``missing``. Returns the dataset pointing at the placed images."""
    layout = _output_layout(dataset, fmt) if fmt is AnnotationFormat.YOLO else _folder_layout(dataset, folder)
    images = []
    show = (len(dataset) >= 500 and sys.stderr.isatty()) if progress is None else progress
    from tqdm import tqdm

    for im in tqdm(dataset.images, disable=not show, desc=folder or "images", unit="img", file=sys.stderr):
        src = dataset.image_path(im)
        dst = base / layout[im.id]
        if not src.is_file():
            missing.append(str(src))
        elif dst.resolve() == src.resolve():
            pass  # already where the layout wants it: never unlink the source
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists() or dst.is_symlink():
                dst.unlink()
            if copy_images == "copy":
                shutil.copy2(src, dst)
            else:
                dst.symlink_to(src.resolve())
        rel = layout[im.id][len(folder) + 1:] if folder else layout[im.id]
        images.append(replace(im, file_name=rel, path=rel))
    return replace(dataset, images=tuple(images), root=base / folder if folder else base)


def write_annotations(
    dataset: Dataset,
    path: str | os.PathLike[str],
    fmt: AnnotationFormat | str,
    *,
    copy_images: str = "none",
    progress: bool | None = None,
    **options: Any,
) -> WriteReport:
    """Write ``dataset`` in ``fmt``.

    Args:
        dataset: what to write (not modified).
        path: output. COCO: a folder: ``annotations/instances.json`` with images in ``images/``; for a
            dataset with splits, one file per split, ``annotations/instances_<split>.json`` with images in
            ``images/<split>/`` (an image of two splits, e.g. VOC's ``trainval``, is in both; images in no
            split go to ``instances_unassigned.json``), which ``read_annotations`` reads back with its splits.
            Or a ``.json`` file: every image in that one file, the splits reported as ``splits_dropped``.
            VOC: a folder (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/``). YOLO: a folder
            (``data.yaml``, ``images/<split>/``, ``labels/<split>/``). CSV: a ``.csv`` file or a folder
            (``annotations.csv`` + ``images/``). LabelMe: a folder (one ``.json`` per image, images beside
            them). CVAT: an ``.xml`` file or a folder (``annotations.xml`` + ``images/``).
        fmt: the output format.
        copy_images: ``"none"`` (annotations only; file names unchanged), ``"copy"`` or ``"symlink"``: put
            the images into the output folder, laid out as the format's tools expect, and point the
            annotations at them.
        progress: tqdm bar on stderr while copying images; None = only for 500+ images on a terminal.
        **options: ``one_based`` for CSV.

    Returns:
        What was written, and every object or image that the format could not represent.

        Images that cannot be copied because their file is missing are reported as ``missing_image``.

    Raises:
        DatasetError: an unknown format, option or ``copy_images`` value.
    """
    f = AnnotationFormat.from_value(fmt)
    if options and (f is not AnnotationFormat.CSV or set(options) - {"one_based"}):
        raise DatasetError(f"the {f.value} writer takes no option(s) {sorted(options)}")
    if copy_images not in ("none", "copy", "symlink"):
        raise DatasetError(f"copy_images must be 'none', 'copy' or 'symlink'; got {copy_images!r}")
    out = Path(path)
    base = out.parent if out.suffix.lower() in (".json", ".csv", ".xml") else out
    missing: list[str] = []
    if f is AnnotationFormat.COCO and out.suffix.lower() != ".json" and dataset.splits:
        parts = split_parts(dataset)
        if copy_images != "none":
            parts = {name: _place_images(part, base, f, f"images/{name}", copy_images, progress, missing)
                     for name, part in parts.items()}
        report = write_coco_splits(parts, out)
    else:
        if f is AnnotationFormat.COCO and out.suffix.lower() != ".json":
            out = out / "annotations" / "instances.json"
        if copy_images != "none":
            dataset = _place_images(dataset, base, f, _IMAGE_FOLDER[f], copy_images, progress, missing)
        writer = {AnnotationFormat.COCO: write_coco, AnnotationFormat.VOC: write_voc,
                  AnnotationFormat.YOLO: write_yolo, AnnotationFormat.LABELME: write_labelme,
                  AnnotationFormat.CVAT: write_cvat}
        report = writer[f](dataset, out) if f in writer else write_csv(dataset, out, **options)
    for m in dict.fromkeys(missing):  # an image of two splits is copied twice
        report.skip("missing_image", m, None, "image file not found; not copied")
    if copy_images == "none" and f is AnnotationFormat.YOLO and dataset.images:
        report.skip("images_not_copied", str(out), None, "YOLO finds labels from image paths: put the images "
                    "under images/ as data.yaml says (copy_images='copy' or 'symlink') before training")
    return report

