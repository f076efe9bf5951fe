"""The in-memory dataset model shared by every reader and writer.

One ``Dataset`` holds images, categories and, for every image (with or without objects), an
``GroundTruth``. Boxes are absolute xyxy in continuous pixels (origin at the top-left corner of the
top-left pixel, ``x_max`` exclusive); format conventions (VOC's 1-based pixels, YOLO's normalized centres)
exist only inside the readers and writers.

Each image's objects are one ``odkit.boxes.GroundTruth``, the container the evaluators and the training
targets consume: float64 boxes, so that a COCO file with fractional coordinates survives read -> write
unchanged and metrics see exactly what the file says. The container rejects non-finite and inverted boxes:
readers raise on them naming the file and object (``strict=True``) or skip them with an ``Issue``
(``strict=False``, what ``odkit check`` reads with). Zero-size and out-of-bounds boxes are kept so that
``odkit check`` can report them with their file and index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from odkit.boxes import GroundTruth
from odkit.errors import DatasetError


def _image_id(value: Any) -> int | str:
    """An image id as the model stores it: an int (numpy integers and integral floats included) or a str."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise DatasetError(f"image ids must be integers or strings; got {value!r}")


@dataclass(frozen=True)
class Category:
    """A class. ``id`` is the id used in annotation files (may be sparse, e.g. COCO's 1..90).

    Attributes:
        id: category id (int).
        name: class name, unique within a dataset.
        supercategory: COCO's supercategory, "" when unknown.
    """

    id: int
    name: str
    supercategory: str = ""


@dataclass(frozen=True)
class ImageRecord:
    """One image.

    Attributes:
        id: image id, unique within a dataset: an int, or a str (COCO files may use string ids).
        file_name: the name as the annotation file gives it (COCO ``file_name``, VOC ``<filename>``,
            a CSV ``filename`` cell, a YOLO image path relative to the dataset root).
        path: where the image file is expected: absolute, or relative to ``Dataset.root``. Usually equal
            to ``file_name`` joined to the images folder; it differs when the file name in the annotation
            is wrong (e.g. ``.png`` for a ``.jpg``) and the reader found the real file.
        width: width in pixels as annotated; 0 when unknown.
        height: height in pixels as annotated; 0 when unknown.
        annotation_file: the file this image's annotations were read from (VOC XML, YOLO label txt, COCO
            JSON, CSV), "" when unknown or when there is none (a YOLO image without a label file).
    """

    id: int | str
    file_name: str
    path: str
    width: int = 0
    height: int = 0
    annotation_file: str = ""

    @property
    def image_hw(self) -> tuple[int, int]:
        """(height, width) in pixels as annotated; (0, 0) when unknown."""
        return (self.height, self.width)


@dataclass(frozen=True)
class Issue:
    """A problem a lenient reader (``strict=False``) found and skipped, or a checker finding.

    Attributes:
        code: short stable code, e.g. ``"unknown_class"``, ``"bad_line"``, ``"zero_size"``.
        severity: ``"error"`` or ``"warning"``.
        file: the file the problem is in (annotation or image file).
        where: line number (int, 1-based), object index / json path (str), or None.
        message: what was expected and what was found.
        object_index: the object's index within its image's annotations, for findings about one box
            (None otherwise); stored here so nothing has to parse it back out of ``where``.
    """

    code: str
    severity: str
    file: str
    where: int | str | None
    message: str
    object_index: int | None = None

    def __str__(self) -> str:
        loc = self.file if self.where is None else f"{self.file}:{self.where}"
        return f"{self.severity}: {loc}: [{self.code}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-types form (for JSON reports)."""
        return {"code": self.code, "severity": self.severity, "file": self.file, "where": self.where,
                "message": self.message, "object_index": self.object_index}


@dataclass(frozen=True, eq=False)
class Dataset:
    """An annotated detection dataset.

    Attributes:
        images: image records, in a stable order (the order of the source file or sorted by name).
        categories: categories in id order; ids may be sparse.
        annotations: image id -> ``GroundTruth`` for **every** image (empty when it has no objects).
        root: folder that relative ``ImageRecord.path`` values are relative to; None when all are absolute
            or when the images' location is unknown.
        splits: split name (``"train"``, ``"val"``, ``"test"``...) -> image ids, when the source defines
            splits (YOLO ``data.yaml``, VOC ``ImageSets/Main``); empty otherwise.
        issues: problems a lenient reader skipped (``strict=False``); empty after a strict read.
        source: where the dataset was read from, e.g. ``{"format": "voc", "path": "..."}``; informative only.
    """

    images: tuple[ImageRecord, ...]
    categories: tuple[Category, ...]
    annotations: Mapping[int, GroundTruth]
    root: Path | None = None
    splits: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        images = tuple(self.images)
        object.__setattr__(self, "images", images)
        cats = tuple(sorted(self.categories, key=lambda c: c.id))
        object.__setattr__(self, "categories", cats)
        ids = [im.id for im in images]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DatasetError(f"image id {dup} appears more than once")
        cat_ids = [c.id for c in cats]
        if len(set(cat_ids)) != len(cat_ids):
            dup = next(i for i in cat_ids if cat_ids.count(i) > 1)
            raise DatasetError(f"category id {dup} appears more than once")
        names = [c.name for c in cats]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise DatasetError(f"category name {dup!r} appears more than once")
        anns = {_image_id(k): v for k, v in self.annotations.items()}
        unknown = set(anns) - set(ids)
        if unknown:
            raise DatasetError(f"annotations for image ids not in images: {sorted(unknown)[:10]}")
        empty = GroundTruth.empty()  # immutable, so one instance can serve every image
        for i in ids:
            anns.setdefault(i, empty)
        object.__setattr__(self, "annotations", MappingProxyType(anns))
        splits = {str(k): tuple(_image_id(i) for i in v) for k, v in self.splits.items()}
        for name, members in splits.items():
            bad = set(members) - set(ids)
            if bad:
                raise DatasetError(f"split {name!r} lists image ids not in images: {sorted(bad)[:10]}")
        object.__setattr__(self, "splits", MappingProxyType(splits))
        object.__setattr__(self, "_by_id", dict(zip(ids, images)))
        object.__setattr__(self, "issues", tuple(self.issues))
        object.__setattr__(self, "source", MappingProxyType(dict(self.source)))
        if self.root is not None:
            object.__setattr__(self, "root", Path(self.root))

    # ---- lookups -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        splits = {k: len(v) for k, v in self.splits.items()}
        names = [c.name for c in self.categories]
        shown = names if len(names) <= 10 else [*names[:10], "..."]
        return (f"Dataset(images={len(self)}, boxes={self.num_boxes}, categories={shown}, splits={splits}, "
                f"root={str(self.root) if self.root is not None else None!r}, issues={len(self.issues)}, "
                f"source={self.source.get('format')!r})")

    def __iter__(self) -> Iterator[tuple[ImageRecord, GroundTruth]]:
        """(image, its annotations) pairs in image order."""
        for im in self.images:
            yield im, self.annotations[im.id]

    @property
    def num_boxes(self) -> int:
        """Total number of objects."""
        return sum(len(a) for a in self.annotations.values())

    @property
    def category_names(self) -> dict[int, str]:
        """Category id -> name."""
        return {c.id: c.name for c in self.categories}

    @property
    def category_index(self) -> dict[int, int]:
        """Category id -> contiguous index 0..K-1 in id order (for training heads and YOLO classes)."""
        return {c.id: k for k, c in enumerate(self.categories)}

    def category_id(self, name: str) -> int:
        """The id of the category called ``name``.

        Raises:
            DatasetError: if there is none; the message lists the known names.
        """
        for c in self.categories:
            if c.name == name:
                return c.id
        raise DatasetError(f"unknown category {name!r}; known: {[c.name for c in self.categories]}")

    def image(self, image_id: int) -> ImageRecord:
        """The record of image ``image_id``.

        Raises:
            DatasetError: if there is no such image.
        """
        rec = self._by_id.get(image_id)  # type: ignore[attr-defined]
        if rec is None:
            raise DatasetError(f"no image with id {image_id}")
        return rec

    def image_path(self, image: ImageRecord | int) -> Path:
        """Where the image file is expected: ``root / image.path`` unless that path is absolute."""
        rec = image if isinstance(image, ImageRecord) else self.image(_image_id(image))
        p = Path(rec.path)
        if p.is_absolute() or self.root is None:
            return p
        return self.root / p

    def ground_truth(self, image_id: int, *, drop_degenerate: bool = False) -> GroundTruth:
        """The objects of one image (its ``annotations`` entry); ``class_ids`` are category ids.

        Args:
            image_id: the image.
            drop_degenerate: drop zero-width or zero-height boxes instead of raising.

        Raises:
            DatasetError: on an unknown image, or a zero-size box (naming the image file and object index)
                when ``drop_degenerate`` is False.
        """
        if image_id not in self.annotations:
            raise DatasetError(f"no image with id {image_id}")
        ann = self.annotations[image_id]
        wh = ann.boxes_xyxy[:, 2:] - ann.boxes_xyxy[:, :2]
        bad = ~np.all(wh > 0, axis=1)
        if bad.any():
            if not drop_degenerate:
                i = int(np.flatnonzero(bad)[0])
                raise DatasetError(
                    f"{self.image(image_id).file_name}: object {i} has a zero-size box "
                    f"{ann.boxes_xyxy[i].tolist()} (xyxy); expected x_max > x_min and y_max > y_min"
                )
            ann = ann[~bad]
        return ann

    def evaluation_inputs(self) -> tuple[list[GroundTruth], list[int], list[int], list[str]]:
        """What ``odkit.eval.COCOEvaluator`` takes: ``(ground_truths, image_ids, class_ids, class_names)``,
        one ``GroundTruth`` per image in image order, every category in id order.

        Example:
            >>> gts, image_ids, class_ids, names = ds.evaluation_inputs()  # doctest: +SKIP
            >>> ev = COCOEvaluator(class_ids=class_ids, class_names=names)  # doctest: +SKIP
            >>> ev.update([predictions[i] for i in image_ids], gts, image_ids)  # doctest: +SKIP
        """
        return ([self.annotations[im.id] for im in self.images], [im.id for im in self.images],
                [c.id for c in self.categories], [c.name for c in self.categories])

    # ---- derived datasets ----------------------------------------------------------------------
    def subset(self, image_ids: list[int] | tuple[int, ...]) -> Dataset:
        """A dataset with only the given images (in the given order); splits are restricted to them."""
        wanted = [_image_id(i) for i in image_ids]
        keep = set(wanted)
        by_id = self._by_id  # type: ignore[attr-defined]
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise DatasetError(f"subset: image ids not in the dataset: {missing[:10]}")
        splits = {k: tuple(i for i in v if i in keep) for k, v in self.splits.items()}
        return replace(
            self,
            images=tuple(by_id[i] for i in wanted),
            annotations={i: self.annotations[i] for i in wanted},
            splits={k: v for k, v in splits.items() if v},
        )

    def split(self, name: str) -> Dataset:
        """The images of split ``name`` (e.g. ``"train"``) as a dataset.

        Raises:
            DatasetError: if the split does not exist; the message lists the known splits.
        """
        if name not in self.splits:
            raise DatasetError(f"no split {name!r}; this dataset has {sorted(self.splits)}")
        return self.subset(self.splits[name])

    def with_images_root(self, root: str | os.PathLike[str] | None) -> Dataset:
        """A copy whose relative image paths resolve against ``root``."""
        return replace(self, root=None if root is None else Path(root))
