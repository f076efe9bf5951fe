"""The in-memory dataset model shared by every reader and writer.

One ``Dataset`` holds images, categories and, for every image (with or without objects), an
``ImageAnnotations``. Boxes are absolute xyxy in continuous pixels (origin at the top-left corner of the
top-left pixel, ``x_max`` exclusive); format conventions (VOC's 1-based pixels, YOLO's normalized centres)
exist only inside the readers and writers.

Boxes are stored as float64 here (not float32 as in ``odkit.boxes`` containers) so that a COCO file with
fractional coordinates survives read -> write unchanged; ``Dataset.ground_truth`` hands out the float32
``GroundTruth`` the rest of odkit uses. The model does not reject inverted or out-of-bounds boxes, so that
``odkit check`` can report them with their file and index; ``ground_truth`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from odkit._arrays import readonly_column, readonly_copy
from odkit.boxes import GroundTruth, box_area
from odkit.errors import BoxFormatError, DatasetError

_EMPTY_EXTRA: Mapping[str, Any] = MappingProxyType({})


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
        id: image id, unique within a dataset.
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

    id: int
    file_name: str
    path: str
    width: int = 0
    height: int = 0
    annotation_file: str = ""

    @property
    def image_hw(self) -> tuple[int, int]:
        """(height, width) in pixels as annotated; (0, 0) when unknown."""
        return (self.height, self.width)


@dataclass(frozen=True, eq=False)
class ImageAnnotations:
    """The objects of one image, as same-length columns (N may be 0).

    Attributes:
        boxes_xyxy: (N, 4) float64 absolute xyxy boxes in continuous pixels. Not validated: inverted,
            zero-size or out-of-bounds boxes are kept so they can be reported.
        category_ids: (N,) int64 category ids (``Category.id``).
        iscrowd: (N,) bool, COCO crowd regions.
        area: (N,) float64 area in pixels^2 (COCO segment area); defaults to the box area.
        difficult: (N,) bool, VOC's difficult flag.
        truncated: (N,) bool, VOC's truncated flag.
        ann_ids: (N,) int64 annotation ids (COCO ``id``); -1 where the format has none.
        extras: N mappings of format-specific fields kept for the writers (COCO ``segmentation``, VOC
            ``pose``/``occluded``...); empty mappings when there are none.
    """

    boxes_xyxy: np.ndarray
    category_ids: np.ndarray
    iscrowd: np.ndarray | None = None
    area: np.ndarray | None = None
    difficult: np.ndarray | None = None
    truncated: np.ndarray | None = None
    ann_ids: np.ndarray | None = None
    extras: tuple[Mapping[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes_xyxy, dtype=np.float64)
        if boxes.size == 0:
            boxes = np.zeros((0, 4), np.float64)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise BoxFormatError(f"boxes_xyxy must have shape (N, 4); got {boxes.shape}")
        n = boxes.shape[0]
        object.__setattr__(self, "boxes_xyxy", readonly_copy(boxes))
        object.__setattr__(self, "category_ids", readonly_column(self.category_ids, n, np.int64, "category_ids", 0))
        object.__setattr__(self, "iscrowd", readonly_column(self.iscrowd, n, np.bool_, "iscrowd", False))
        if self.area is None:
            area = readonly_copy(np.abs(box_area(boxes)) if n else np.zeros(0))
        else:
            area = readonly_column(self.area, n, np.float64, "area", 0.0)
        object.__setattr__(self, "area", area)
        object.__setattr__(self, "difficult", readonly_column(self.difficult, n, np.bool_, "difficult", False))
        object.__setattr__(self, "truncated", readonly_column(self.truncated, n, np.bool_, "truncated", False))
        object.__setattr__(self, "ann_ids", readonly_column(self.ann_ids, n, np.int64, "ann_ids", -1))
        extras = tuple(e if isinstance(e, MappingProxyType) else MappingProxyType(dict(e))
                       for e in (self.extras or (_EMPTY_EXTRA,) * n))
        if len(extras) != n:
            raise BoxFormatError(f"extras must have {n} entries to match boxes_xyxy; got {len(extras)}")
        object.__setattr__(self, "extras", extras)

    @classmethod
    def empty(cls) -> ImageAnnotations:
        """No objects (boxes of shape (0, 4))."""
        return cls(np.zeros((0, 4)), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.boxes_xyxy.shape[0])

    def __getitem__(self, index: Any) -> ImageAnnotations:
        """A new ``ImageAnnotations`` with the objects selected by an int, slice, mask or index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        rows = np.arange(len(self))[index]
        return ImageAnnotations(
            boxes_xyxy=self.boxes_xyxy[rows],
            category_ids=self.category_ids[rows],
            iscrowd=self.iscrowd[rows],
            area=self.area[rows],
            difficult=self.difficult[rows],
            truncated=self.truncated[rows],
            ann_ids=self.ann_ids[rows],
            extras=tuple(self.extras[i] for i in rows),
        )

    def with_(self, **changes: Any) -> ImageAnnotations:
        """A copy with some columns replaced (same length)."""
        return replace(self, **changes)


def trusted_annotations(columns: dict[str, np.ndarray], extras: tuple[Mapping[str, Any], ...]) -> ImageAnnotations:
    """Internal fast constructor for readers: columns already have the right dtypes, shapes and are
    read-only (e.g. slices of one frozen array); extras already immutable. Skips ``__post_init__``."""
    obj = object.__new__(ImageAnnotations)
    for name, value in columns.items():
        object.__setattr__(obj, name, value)
    object.__setattr__(obj, "extras", extras)
    return obj


def concat_annotations(parts: list[ImageAnnotations]) -> ImageAnnotations:
    """Objects of several ``ImageAnnotations`` in order, as one."""
    if not parts:
        return ImageAnnotations.empty()
    return ImageAnnotations(
        boxes_xyxy=np.concatenate([p.boxes_xyxy for p in parts]),
        category_ids=np.concatenate([p.category_ids for p in parts]),
        iscrowd=np.concatenate([p.iscrowd for p in parts]),
        area=np.concatenate([p.area for p in parts]),
        difficult=np.concatenate([p.difficult for p in parts]),
        truncated=np.concatenate([p.truncated for p in parts]),
        ann_ids=np.concatenate([p.ann_ids for p in parts]),
        extras=tuple(e for p in parts for e in p.extras),
    )


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
        annotations: image id -> ``ImageAnnotations`` for **every** image (empty when it has no objects).
        root: folder that relative ``ImageRecord.path`` values are relative to; None when all are absolute
            or when the images' location is unknown.
        splits: split name (``"train"``, ``"val"``, ``"test"``...) -> image ids, when the source defines
            splits (YOLO ``data.yaml``, VOC ``ImageSets/Main``); empty otherwise.
        issues: problems a lenient reader skipped (``strict=False``); empty after a strict read.
        source: where the dataset was read from, e.g. ``{"format": "voc", "path": "..."}``; informative only.
    """

    images: tuple[ImageRecord, ...]
    categories: tuple[Category, ...]
    annotations: Mapping[int, ImageAnnotations]
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
        anns = {int(k): v for k, v in self.annotations.items()}
        unknown = set(anns) - set(ids)
        if unknown:
            raise DatasetError(f"annotations for image ids not in images: {sorted(unknown)[:10]}")
        empty = ImageAnnotations.empty()  # immutable, so one instance can serve every image
        for i in ids:
            anns.setdefault(i, empty)
        object.__setattr__(self, "annotations", MappingProxyType(anns))
        splits = {str(k): tuple(int(i) for i in v) for k, v in self.splits.items()}
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

    def __iter__(self) -> Iterator[tuple[ImageRecord, ImageAnnotations]]:
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
        rec = image if isinstance(image, ImageRecord) else self.image(int(image))
        p = Path(rec.path)
        if p.is_absolute() or self.root is None:
            return p
        return self.root / p

    def ground_truth(self, image_id: int, *, drop_degenerate: bool = False) -> GroundTruth:
        """The objects of one image as a float32 ``GroundTruth`` (class_ids are category ids).

        Args:
            image_id: the image.
            drop_degenerate: drop boxes with zero or negative width/height instead of raising.

        Raises:
            DatasetError: on an unknown image, or an inverted/zero-size box (naming the image file and
                object index) when ``drop_degenerate`` is False.
        """
        if image_id not in self.annotations:
            raise DatasetError(f"no image with id {image_id}")
        ann = self.annotations[image_id]
        wh = ann.boxes_xyxy[:, 2:] - ann.boxes_xyxy[:, :2]
        bad = ~np.all(wh > 0, axis=1) | ~np.all(np.isfinite(ann.boxes_xyxy), axis=1)
        if bad.any():
            if not drop_degenerate:
                i = int(np.flatnonzero(bad)[0])
                raise DatasetError(
                    f"{self.image(image_id).file_name}: object {i} has a zero-size, inverted or non-finite "
                    f"box {ann.boxes_xyxy[i].tolist()} (xyxy); expected x_max > x_min and y_max > y_min"
                )
            ann = ann[~bad]
        return GroundTruth(
            boxes_xyxy=ann.boxes_xyxy.astype(np.float32),
            class_ids=ann.category_ids,
            iscrowd=ann.iscrowd,
            area=ann.area,
            difficult=ann.difficult,
        )

    # ---- derived datasets ----------------------------------------------------------------------
    def subset(self, image_ids: list[int] | tuple[int, ...]) -> Dataset:
        """A dataset with only the given images (in the given order); splits are restricted to them."""
        wanted = [int(i) for i in image_ids]
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
