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
from odkit.io._common import WriteReport
from odkit.io._csv import read_csv, write_csv
from odkit.io._cvat import is_cvat_file, read_cvat, write_cvat
from odkit.io._labelme import is_labelme_file, read_labelme, write_labelme
from odkit.io._model import Dataset
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
    root element is ``<annotations>``), ``.csv`` -> CSV, ``.yaml``/``.yml`` -> YOLO. Folders: a ``data.yaml``
    or ``labels/`` + ``images/`` -> YOLO; ``Annotations/`` or ``.xml`` files (also in ``annotations/``) -> VOC,
    or CVAT for a single CVAT file; LabelMe ``.json`` files -> LabelMe; a single ``.json`` (also in
    ``annotations/``) -> COCO; a single ``.csv`` -> CSV.

    Raises:
        DatasetError: when nothing matches or the match is ambiguous; the message says what was seen.
    """
    p = Path(path)
    by_suffix = {".json": AnnotationFormat.COCO, ".xml": AnnotationFormat.VOC, ".csv": AnnotationFormat.CSV,
                 ".yaml": AnnotationFormat.YOLO, ".yml": AnnotationFormat.YOLO}
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix == ".json" and is_labelme_file(p):
            return AnnotationFormat.LABELME
        if suffix == ".xml" and is_cvat_file(p):
            return AnnotationFormat.CVAT
        if suffix in by_suffix:
            return by_suffix[suffix]
        raise DatasetError(f"{p}: cannot tell the format from the extension {p.suffix!r}; pass the format")
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    if any((p / n).is_file() for n in ("data.yaml", "data.yml", "dataset.yaml")) or (
        (p / "labels").is_dir() and (p / "images").is_dir()
    ):
        return AnnotationFormat.YOLO
    xmls = sorted(p.glob("*.xml")) or sorted((p / "annotations").glob("*.xml"))
    if len(xmls) == 1 and is_cvat_file(xmls[0]):
        return AnnotationFormat.CVAT
    if (p / "Annotations").is_dir() or xmls:
        return AnnotationFormat.VOC
    jsons = sorted(p.glob("*.json")) or sorted((p / "annotations").glob("*.json"))
    if jsons and all(is_labelme_file(j) for j in jsons[:5]):
        return AnnotationFormat.LABELME
    if len(jsons) == 1:
        return AnnotationFormat.COCO
    csvs = sorted(p.glob("*.csv"))
    if len(csvs) == 1:
        return AnnotationFormat.CSV
    raise DatasetError(f"{p}: cannot tell the annotation format (saw {len(jsons)} .json and {len(csvs)} .csv "
                       f"files, no Annotations/ or data.yaml); pass the format")


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
        path: annotation file or dataset folder.
        fmt: ``"coco"``, ``"voc"``, ``"yolo"`` or ``"csv"``; detected from ``path`` when None.
        images_dir: where the images are, when the usual layouts do not find them.
        strict: raise on the first problem (default) or, when False, skip bad items and list them in
            ``Dataset.issues``.
        **options: format-specific: ``class_names`` (VOC, YOLO, CSV), ``columns`` and ``one_based`` (CSV).

    Returns:
        The dataset, boxes in absolute continuous xyxy pixels.

    Raises:
        AnnotationError: a malformed file, naming the file and line / object.
        DatasetError: an undetectable format or a missing path.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    f = detect_format(p) if fmt is None else AnnotationFormat.from_value(fmt)
    unknown = sorted(set(options) - set(_READ_OPTIONS[f]))
    if unknown:
        raise DatasetError(f"the {f.value} reader takes no option(s) {unknown}; it takes {list(_READ_OPTIONS[f])}")
    if f is AnnotationFormat.COCO:
        return read_coco(_single_file(p, ".json"), images_dir, strict=strict)
    if f is AnnotationFormat.VOC:
        return read_voc(p, images_dir, strict=strict, **options)
    if f is AnnotationFormat.YOLO:
        return read_yolo(p, images_dir, strict=strict, **options)
    if f is AnnotationFormat.LABELME:
        return read_labelme(p, images_dir, strict=strict, **options)
    if f is AnnotationFormat.CVAT:
        return read_cvat(_single_file(p, ".xml"), images_dir, strict=strict, **options)
    return read_csv(_single_file(p, ".csv"), images_dir, strict=strict, **options)


# Where each format's tools expect the images, relative to the output folder ("" = beside the annotations).
_IMAGE_FOLDER = {AnnotationFormat.VOC: "JPEGImages", AnnotationFormat.COCO: "images", AnnotationFormat.CSV: "images",
                 AnnotationFormat.CVAT: "images", AnnotationFormat.LABELME: "", AnnotationFormat.YOLO: ""}


def _output_layout(dataset: Dataset, fmt: AnnotationFormat) -> dict[int, str]:
    """Image id -> image path relative to the output folder, as the format's tools expect."""
    if fmt is AnnotationFormat.YOLO:
        return yolo_layout(dataset)
    folder = _IMAGE_FOLDER[fmt]
    out, used = {}, set()
    for im in dataset.images:
        name = Path(im.path).name
        if name in used:
            name = f"{im.id}_{name}"
        used.add(name)
        out[im.id] = f"{folder}/{name}" if folder else name
    return out


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
        path: output. COCO: a ``.json`` file, or a folder (then ``annotations/instances.json`` with images in
            ``images/``). VOC: a folder (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/``). YOLO: a
            folder (``data.yaml``, ``images/<split>/``, ``labels/<split>/``). CSV: a ``.csv`` file or a folder
            (``annotations.csv`` + ``images/``). LabelMe: a folder (one ``.json`` per image, images beside them).
            CVAT: an ``.xml`` file or a folder (``annotations.xml`` + ``images/``).
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
    if f is AnnotationFormat.COCO and out.suffix.lower() != ".json":
        out = out / "annotations" / "instances.json"
    missing: list[str] = []
    if copy_images != "none":
        layout = _output_layout(dataset, f)
        images = []
        show = (len(dataset) >= 500 and sys.stderr.isatty()) if progress is None else progress
        from tqdm import tqdm

        for im in tqdm(dataset.images, disable=not show, desc="images", unit="img", file=sys.stderr):
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
            folder = _IMAGE_FOLDER[f]
            rel = layout[im.id][len(folder) + 1:] if folder else layout[im.id]
            images.append(replace(im, file_name=rel, path=rel))
        dataset = replace(dataset, images=tuple(images), root=base / _IMAGE_FOLDER[f] if _IMAGE_FOLDER[f] else base)
    if f is AnnotationFormat.COCO:
        report = write_coco(dataset, out)
    elif f is AnnotationFormat.VOC:
        report = write_voc(dataset, out)
    elif f is AnnotationFormat.YOLO:
        report = write_yolo(dataset, out)
    elif f is AnnotationFormat.LABELME:
        report = write_labelme(dataset, out)
    elif f is AnnotationFormat.CVAT:
        report = write_cvat(dataset, out)
    else:
        report = write_csv(dataset, out, **options)
    for m in missing:
        report.skip("missing_image", m, None, "image file not found; not copied")
    if copy_images == "none" and f is AnnotationFormat.YOLO and dataset.images:
        report.skip("images_not_copied", str(out), None, "YOLO finds labels from image paths: put the images "
                    "under images/ as data.yaml says (copy_images='copy' or 'symlink') before training")
    return report

