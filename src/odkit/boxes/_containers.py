"""Immutable containers: ``Boxes``, ``Detections`` (predictions) and ``GroundTruth`` for one image.

Arrays are copied on construction and made read-only; indexing (int, slice, bool mask or index array)
returns a new container. Empty sets have boxes of shape (0, 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from odkit._arrays import readonly_column, readonly_copy
from odkit.boxes._convert import box_area, box_convert, validate_boxes
from odkit.boxes._formats import BoxFormat
from odkit.errors import BoxFormatError

_EMPTY_EXTRA: Mapping[str, Any] = MappingProxyType({})


def _select(obj: Any, index: Any) -> dict[str, Any]:
    """Field values of ``obj`` with every per-box array indexed by ``index`` (always 1-D result)."""
    if isinstance(index, (int, np.integer)):
        index = [int(index)]
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = value[index] if isinstance(value, np.ndarray) else value
    return out


@dataclass(frozen=True, eq=False)
class Boxes:
    """(N, 4) boxes that carry their format and, for normalized formats, the image size.

    Attributes:
        data: (N, 4) float64 array in ``format``.
        format: the box format.
        image_hw: (height, width) in pixels, or None.
    """

    data: np.ndarray
    format: BoxFormat = BoxFormat.XYXY
    image_hw: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        fmt = BoxFormat.from_value(self.format)
        object.__setattr__(self, "format", fmt)
        arr = validate_boxes(self.data, fmt, "data")
        object.__setattr__(self, "data", readonly_copy(arr.astype(np.float64)))
        if self.image_hw is not None:
            object.__setattr__(self, "image_hw", (int(self.image_hw[0]), int(self.image_hw[1])))

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: Any) -> Boxes:
        return Boxes(**_select(self, index))

    def convert(self, fmt: BoxFormat | str) -> Boxes:
        """A new ``Boxes`` in ``fmt`` (``image_hw`` needed to change coordinate space)."""
        data = box_convert(self.data, self.format, fmt, self.image_hw)
        return Boxes(data, BoxFormat.from_value(fmt), self.image_hw)

    @property
    def xyxy(self) -> np.ndarray:
        """(N, 4) float64 absolute xyxy boxes."""
        return self.convert(BoxFormat.XYXY).data


@dataclass(frozen=True, eq=False)
class Detections:
    """Predicted boxes for one image.

    Attributes:
        boxes_xyxy: (N, 4) float64 absolute xyxy boxes, in pixels (``x_max >= x_min``).
        scores: (N,) float64 confidences (finite; usually in [0, 1]).
        class_ids: (N,) int64 category ids.
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __post_init__(self) -> None:
        boxes = validate_boxes(self.boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy")
        n = boxes.shape[0]
        object.__setattr__(self, "boxes_xyxy", readonly_copy(boxes.astype(np.float64)))
        scores = readonly_column(self.scores, n, np.float64, "scores", 0.0)
        if not np.all(np.isfinite(scores)):
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise BoxFormatError(f"scores[{i}] must be finite; got {scores[i]!r}")
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", readonly_column(self.class_ids, n, np.int64, "class_ids", 0))

    @classmethod
    def empty(cls) -> Detections:
        """No detections: boxes (0, 4) float64, scores (0,) float64, class_ids (0,) int64."""
        return cls(np.zeros((0, 4), np.float64), np.zeros(0, np.float64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.boxes_xyxy.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        return Detections(**_select(self, index))

    def sorted(self) -> Detections:
        """Detections by descending score; ties keep their order (stable sort)."""
        return self[np.argsort(-self.scores, kind="stable")]


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The annotated objects of one image: the one ground-truth container of odkit.

    The dataset model (``odkit.io.Dataset.annotations``), the evaluators and the training targets all hold
    this type, at one precision: float64 boxes as the annotation file gave them (so that metrics match
    pycocotools bit for bit); only networks see float32.

    Attributes:
        boxes_xyxy: (N, 4) float64 absolute xyxy boxes in continuous pixels; finite, ``x_max >= x_min`` and
            ``y_max >= y_min`` (zero-size boxes are valid: their IoU is 0; ``odkit check`` flags them).
        class_ids: (N,) int64 category ids (``Category.id`` of the dataset, not contiguous indices).
        iscrowd: (N,) bool; crowd regions are matched by IoA and ignored in COCO evaluation.
        area: (N,) float64 area in pixels^2 used for COCO size ranges (segment area in COCO files);
            defaults to the box area.
        difficult: (N,) bool; VOC's difficult flag (ignored by VOC AP).
        truncated: (N,) bool; VOC's truncated flag (kept for the writers).
        ann_ids: (N,) int64 annotation ids (COCO ``id``); -1 where the source has none.
        extras: N read-only mappings of format-specific fields kept for the writers (COCO ``segmentation``,
            VOC ``pose``...); empty mappings when there are none.

    Raises:
        BoxFormatError: on a box that is not finite or is inverted (naming the row), or a column whose
            length differs from the boxes'.
    """

    boxes_xyxy: np.ndarray
    class_ids: np.ndarray
    iscrowd: np.ndarray | None = None
    area: np.ndarray | None = None
    difficult: np.ndarray | None = None
    truncated: np.ndarray | None = None
    ann_ids: np.ndarray | None = None
    extras: tuple[Mapping[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        boxes = validate_boxes(self.boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy")
        n = boxes.shape[0]
        object.__setattr__(self, "boxes_xyxy", readonly_copy(boxes.astype(np.float64)))
        object.__setattr__(self, "class_ids", readonly_column(self.class_ids, n, np.int64, "class_ids", 0))
        object.__setattr__(self, "iscrowd", readonly_column(self.iscrowd, n, np.bool_, "iscrowd", False))
        if self.area is None:
            area = readonly_copy(box_area(boxes).astype(np.float64))
        else:
            area = readonly_column(self.area, n, np.float64, "area", 0.0)
            if not np.all(np.isfinite(area)) or np.any(area < 0):
                i = int(np.flatnonzero(~np.isfinite(area) | (area < 0))[0])
                raise BoxFormatError(f"area[{i}] must be finite and >= 0; got {area[i]!r}")
        object.__setattr__(self, "area", area)
        object.__setattr__(self, "difficult", readonly_column(self.difficult, n, np.bool_, "difficult", False))
        object.__setattr__(self, "truncated", readonly_column(self.truncated, n, np.bool_, "truncated", False))
        object.__setattr__(self, "ann_ids", readonly_column(self.ann_ids, n, np.int64, "ann_ids", -1))
        extras = tuple(e if isinstance(e, MappingProxyType) else MappingProxyType(dict(e))
                       for e in (self.extras if self.extras is not None else (_EMPTY_EXTRA,) * n))
        if len(extras) != n:
            raise BoxFormatError(f"extras must have {n} entries to match boxes_xyxy; got {len(extras)}")
        object.__setattr__(self, "extras", extras)

    @classmethod
    def empty(cls) -> GroundTruth:
        """No objects: boxes (0, 4) float64 and empty per-box fields."""
        return _EMPTY_GT

    @classmethod
    def concat(cls, parts: Sequence[GroundTruth]) -> GroundTruth:
        """The objects of several ``GroundTruth`` in order, as one."""
        if not parts:
            return cls.empty()
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _GT_COLUMNS}
        return cls(**columns, extras=tuple(e for p in parts for e in p.extras))

    def __len__(self) -> int:
        return int(self.boxes_xyxy.shape[0])

    def __getitem__(self, index: Any) -> GroundTruth:
        """A new ``GroundTruth`` with the objects selected by an int, slice, bool mask or index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        rows = np.arange(len(self))[index]
        columns = {name: getattr(self, name)[rows] for name in _GT_COLUMNS}
        return GroundTruth(**columns, extras=tuple(self.extras[i] for i in rows.tolist()))

    def with_(self, **changes: Any) -> GroundTruth:
        """A copy with some columns replaced (same length; validated again)."""
        return replace(self, **changes)


#: The per-object array columns of :class:`GroundTruth` (``extras`` aside), in field order.
_GT_COLUMNS = ("boxes_xyxy", "class_ids", "iscrowd", "area", "difficult", "truncated", "ann_ids")


def trusted_ground_truth(columns: Mapping[str, np.ndarray], extras: tuple[Mapping[str, Any], ...]) -> GroundTruth:
    """Internal fast constructor for readers that validated whole files at once (vectorized): ``columns``
    hold every name of ``_GT_COLUMNS`` with the right dtypes and shapes, already read-only (e.g. slices of
    one frozen array), and ``extras`` are read-only mappings. Skips ``__post_init__``."""
    obj = object.__new__(GroundTruth)
    for name in _GT_COLUMNS:
        object.__setattr__(obj, name, columns[name])
    object.__setattr__(obj, "extras", extras)
    return obj


_EMPTY_GT = GroundTruth(np.zeros((0, 4), np.float64), np.zeros(0, np.int64))
