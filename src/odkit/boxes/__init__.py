"""Box formats, conversion, validation and the immutable box containers."""

from odkit.boxes._containers import Boxes as Boxes
from odkit.boxes._containers import Detections as Detections
from odkit.boxes._containers import GroundTruth as GroundTruth
from odkit.boxes._convert import as_box_array as as_box_array
from odkit.boxes._convert import box_area as box_area
from odkit.boxes._convert import box_convert as box_convert
from odkit.boxes._convert import clip_boxes as clip_boxes
from odkit.boxes._convert import validate_boxes as validate_boxes
from odkit.boxes._formats import BoxFormat as BoxFormat

__all__ = [
    "BoxFormat",
    "Boxes",
    "Detections",
    "GroundTruth",
    "as_box_array",
    "box_area",
    "box_convert",
    "clip_boxes",
    "validate_boxes",
]
