"""Where ``odkit label`` saves when it does not edit a dataset in place (``--to FMT DST``).

Two cases:

- ``new_dataset``: a folder of images and no annotations becomes a dataset in ``fmt`` under ``dst``, every
  image listed with 0 boxes and the classes given. Nothing is written until a save, except YOLO's
  ``data.yaml`` (the class names; written once). Each save then writes that image's file (VOC, YOLO,
  LabelMe) or the one file (COCO ``dst/annotations.json``, CSV ``dst/annotations.csv``); images never saved
  get no file. Layout, read back by ``odkit.io.read_annotations`` (pass the images folder as
  ``images_dir`` when ``dst`` is another folder, except for YOLO):

  ========  ==================================================================================
  VOC       ``<stem>.xml`` beside each image when ``dst`` is the images folder, else ``dst/Annotations/``
  YOLO      ``dst/data.yaml`` (``train``/``val``: the images folder); labels by Ultralytics' rule
            (``.../images/x.jpg`` -> ``.../labels/x.txt``, else ``x.txt`` beside the image)
  LabelMe   ``<stem>.json`` beside each image when ``dst`` is the images folder, else ``dst/<stem>.json``
  ========  ==================================================================================

  A ``dst`` already holding such a dataset (an earlier session's) is read, and its boxes shown.
- ``convert_into``: an existing dataset written once into ``dst`` in ``fmt`` (images symlinked, as
  ``odkit.io.write_annotations(copy_images="symlink")`` lays them out) and edited there; the source files
  are never written.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from odkit.boxes import GroundTruth
from odkit.errors import OdkitError
from odkit.io import Category, Dataset, ImageRecord, inspect_image, label_path, read_annotations, write_annotations
from odkit.io._common import WriteReport, list_images
from odkit.label._errors import LabelError
from odkit.label._store import atomic_write

NEW_FORMATS = ("voc", "yolo", "coco", "labelme", "csv")
_SINGLE = {"coco": "annotations.json", "csv": "annotations.csv"}


def _annotation_file(fmt: str, image: Path, rel: str, images_dir: Path, dst: Path) -> Path:
    """The file a save of ``image`` (``rel`` to ``images_dir``) writes, for a per-image ``fmt``."""
    if fmt == "yolo":
        return label_path(image)
    suffix = ".xml" if fmt == "voc" else ".json"
    if dst == images_dir:
        return image.with_suffix(suffix)
    return (dst / "Annotations" if fmt == "voc" else dst) / Path(rel).with_suffix(suffix)


def _write_yolo_yaml(images_dir: Path, dst: Path, classes: list[str]) -> None:
    """``dst/data.yaml`` naming the classes, ``train`` and ``val`` the images folder (relative to ``dst``)."""
    rel = Path(os.path.relpath(images_dir, dst)).as_posix()
    names = "\n".join(f"  {k}: {name!r}" for k, name in enumerate(classes))
    text = f"# written by odkit label\ntrain: {rel!r}\nval: {rel!r}\nnc: {len(classes)}\nnames:\n{names}\n"
    atomic_write(dst / "data.yaml", text.encode("utf-8"))


def new_dataset(images_dir: Path, classes: list[str], fmt: str, dst: Path | None = None) -> Dataset:
    """Every image under ``images_dir`` with 0 boxes, to be saved as ``fmt`` into ``dst`` (default the images
    folder); boxes already saved there (an earlier session) are loaded.

    Raises:
        LabelError: an unknown ``fmt``, no classes, no images, or a ``dst`` whose classes differ (YOLO).
    """
    if fmt not in NEW_FORMATS:
        raise LabelError(f"cannot start a new dataset in {fmt!r}; expected one of {list(NEW_FORMATS)}")
    if not classes:
        raise LabelError("a new dataset needs its class names (--classes a,b,c)")
    images_dir = images_dir.resolve()
    dst = (dst or images_dir).resolve()
    paths = list_images(images_dir)
    if not paths:
        raise LabelError(f"{images_dir}: no image files found")
    if fmt in ("voc", "labelme"):
        dup = [s for s, n in Counter(p.stem for p in paths).items() if n > 1]
        if dup:
            raise LabelError(f"{images_dir}: images share a name ({dup[:3]}); {fmt} names its files after the "
                             "image, so each name must be unique")
    dst.mkdir(parents=True, exist_ok=True)
    first = 0 if fmt == "yolo" else 1
    cats = tuple(Category(first + k, n) for k, n in enumerate(classes))
    single = dst / _SINGLE[fmt] if fmt in _SINGLE else None
    images = []
    for k, p in enumerate(paths, start=1):
        rel = p.relative_to(images_dir).as_posix()
        h, w = inspect_image(p, decode=False).image_hw
        ann = single if single is not None else _annotation_file(fmt, p, rel, images_dir, dst)
        images.append(ImageRecord(k, rel, rel, w, h, str(ann)))
    source = {"format": fmt, "path": str(single or dst)}
    ds = Dataset(images=tuple(images), categories=cats, annotations={im.id: GroundTruth.empty() for im in images},
                 root=images_dir, source=source)
    if fmt == "yolo":
        if (dst / "data.yaml").is_file():
            return _resume(ds, dst / "data.yaml", None, fmt)
        _write_yolo_yaml(images_dir, dst, classes)
        return ds
    if single is not None and single.is_file():
        return _resume(ds, single, images_dir, fmt)
    if fmt != "coco" and single is None and any(Path(im.annotation_file).is_file() for im in images):
        return _resume(ds, dst, images_dir, fmt)
    return ds


def _resume(ds: Dataset, where: Path, images_dir: Path | None, fmt: str) -> Dataset:
    """``ds`` with the boxes (and any further classes) of the dataset saved at ``where`` by an earlier session."""
    try:
        old = read_annotations(where, fmt, images_dir, strict=False)
    except OdkitError as exc:
        raise LabelError(f"{where}: an earlier {fmt} dataset is there but cannot be read: {exc}") from None
    cats = list(ds.categories)
    ids = {c.name: c.id for c in cats}
    if fmt == "yolo" and [c.name for c in old.categories] != list(ids):  # the label files hold indices
        raise LabelError(f"{where}: its classes {[c.name for c in old.categories]} differ from --classes "
                         f"{list(ids)}; give the same names in the same order")
    for c in old.categories:
        if c.name not in ids:
            cats.append(Category(max(ids.values()) + 1, c.name))
            ids[c.name] = cats[-1].id
    by_path = {old.image_path(im).resolve(): old.annotations[im.id] for im in old.images}
    names = old.category_names
    anns = dict(ds.annotations)
    for im in ds.images:
        got = by_path.get(ds.image_path(im).resolve())
        if got is not None:
            anns[im.id] = replace(got, class_ids=np.array([ids[names[int(c)]] for c in got.class_ids], np.int64))
    return replace(ds, categories=tuple(cats), annotations=anns, issues=old.issues)


def _names(ds: Dataset) -> list[str]:
    return sorted(Path(im.path).name for im in ds.images)


def convert_into(dataset: Dataset, fmt: str, dst: Path) -> tuple[Dataset, WriteReport | None]:
    """``dataset`` written into ``dst`` as ``fmt`` (once: a ``dst`` holding its conversion is reused) and read
    back from there, for editing; with the writer's report (None when reused: nothing was written).

    Raises:
        LabelError: ``dst`` is not empty and is not this dataset's ``fmt`` conversion.
    """
    if fmt not in NEW_FORMATS:
        raise LabelError(f"--to {fmt!r}: expected one of {list(NEW_FORMATS)}")
    if dst.is_file() or (dst.is_dir() and any(dst.iterdir())):
        try:
            done = read_annotations(dst, fmt, strict=False)
        except OdkitError:
            done = None
        if done is None or _names(done) != _names(dataset):
            raise LabelError(f"--to {fmt} {dst}: the folder is not empty and does not hold this dataset's "
                             f"{fmt} conversion; give an empty or new folder")
        return done, None
    report = write_annotations(dataset, dst, fmt, copy_images="symlink", progress=False)
    return read_annotations(dst, fmt, strict=False), report
