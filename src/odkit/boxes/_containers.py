"""Immutable containers: ``Boxes``, ``Detections`` (predictions) and ``GroundTruth`` for one image.

Arrays are copied on construction and made read-only; indexing (int, slice, bool mask or index array)
returns a new container. Empty sets have boxes of shape (0, 4).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from odkit._arrays import readonly_column, readonly_copy
from odkit.boxes._convert import box_area, box_convert, validate_boxes
from odkit.boxes._formats import BoxFormat
from odkit.errors import BoxFormatError


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
        data: (N, 4) float32 array in ``format``.
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
        object.__setattr__(self, "data", readonly_copy(arr.astype(np.float32)))
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
        """(N, 4) float32 absolute xyxy boxes."""
        return self.convert(BoxFormat.XYXY).data


@dataclass(frozen=True, eq=False)
class Detections:
    """Predicted boxes for one image.

    Attributes:
        boxes_xyxy: (N, 4) float32 absolute xyxy boxes, in pixels.
        scores: (N,) float32 confidences.
        class_ids: (N,) int64 category ids.
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __post_init__(self) -> None:
        boxes = validate_boxes(self.boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy")
        n = boxes.shape[0]
        object.__setattr__(self, "boxes_xyxy", readonly_copy(boxes.astype(np.float32)))
        scores = readonly_column(self.scores, n, np.float32, "scores", 0.0)
        if not np.all(np.isfinite(scores)):
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise BoxFormatError(f"scores[{i}] must be finite; got {scores[i]!r}")
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", readonly_column(self.class_ids, n, np.int64, "class_ids", 0))

    @classmethod
    def empty(cls) -> Detections:
        """No detections: boxes (0, 4) float32, scores (0,) float32, class_ids (0,) int64."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.boxes_xyxy.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        return Detections(**_select(self, index))

    def sorted(self) -> Detections:
        """Detections by descending score; ties keep their order (stable sort)."""
        return self[np.argsort(-self.scores, kind="stable")]


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Ground-truth boxes for one image.

    Attributes:
        boxes_xyxy: (N, 4) float32 absolute xyxy boxes, in pixels.
        class_ids: (N,) int64 category ids.
        iscrowd: (N,) bool; crowd regions are matched by IoA and ignored in COCO evaluation.
        area: (N,) float64 area in pixels^2 used for COCO size ranges (segment area in COCO files);
            defaults to the box area.
        difficult: (N,) bool; VOC's difficult flag (ignored by VOC AP).
    """

    boxes_xyxy: np.ndarray
    class_ids: np.ndarray
    iscrowd: np.ndarray | None = None
    area: np.ndarray | None = None
    difficult: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = validate_boxes(self.boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy")
        n = boxes.shape[0]
        object.__setattr__(self, "boxes_xyxy", readonly_copy(boxes.astype(np.float32)))
        object.__setattr__(self, "class_ids", readonly_column(self.class_ids, n, np.int64, "class_ids", 0))
        object.__setattr__(self, "iscrowd", readonly_column(self.iscrowd, n, np.bool_, "iscrowd", False))
        if self.area is None:
            area = readonly_copy(box_area(boxes))
        else:
            area = readonly_column(self.area, n, np.float64, "area", 0.0)
            if not np.all(np.isfinite(area)) or np.any(area < 0):
                i = int(np.flatnonzero(~np.isfinite(area) | (area < 0))[0])
                raise BoxFormatError(f"area[{i}] must be finite and >= 0; got {area[i]!r}")
        object.__setattr__(self, "area", area)
        object.__setattr__(self, "difficult", readonly_column(self.difficult, n, np.bool_, "difficult", False))

    @classmethod
    def empty(cls) -> GroundTruth:
        """No objects: boxes (0, 4) float32 and empty per-box fields."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.boxes_xyxy.shape[0])

    def __getitem__(self, index: Any) -> GroundTruth:
        return GroundTruth(**_select(self, index))
