"""Box format vocabulary: layout (xyxy / xywh / cxcywh) and coordinate space (absolute / normalized)."""

from __future__ import annotations

from enum import Enum

from odkit.errors import BoxFormatError


class BoxFormat(str, Enum):
    """A box format: layout plus coordinate space.

    Absolute formats are in continuous pixels (origin at the top-left corner of the top-left pixel,
    ``x_max`` exclusive). ``*_norm`` formats are divided by the image width (x, w) and height (y, h).
    """

    XYXY = "xyxy"  # (x_min, y_min, x_max, y_max)
    XYWH = "xywh"  # (x_min, y_min, width, height)   COCO "bbox"; never centre-based
    CXCYWH = "cxcywh"  # (x_center, y_center, width, height)   YOLO (normalized)
    XYXY_NORM = "xyxy_norm"
    XYWH_NORM = "xywh_norm"
    CXCYWH_NORM = "cxcywh_norm"  # YOLO txt

    @classmethod
    def from_value(cls, value: BoxFormat | str) -> BoxFormat:
        """Parse a format name; the error lists the valid names."""
        if isinstance(value, BoxFormat):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise BoxFormatError(
                f"unknown box format {value!r}; expected one of {[f.value for f in cls]}"
            ) from None

    @property
    def layout(self) -> str:
        """The layout without the coordinate space: 'xyxy', 'xywh' or 'cxcywh'."""
        return self.value.removesuffix("_norm")

    @property
    def normalized(self) -> bool:
        """True for formats relative to the image size."""
        return self.value.endswith("_norm")

    def with_space(self, normalized: bool) -> BoxFormat:
        """The same layout in the given coordinate space."""
        return BoxFormat(self.layout + ("_norm" if normalized else ""))
