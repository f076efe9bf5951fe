"""odkit: an object-detection toolkit.

The core (``odkit.boxes``, ``odkit.ops``, ``odkit.eval``, ``odkit.io``) needs numpy only; torch is needed
by ``odkit.models`` and training alone.
"""

from odkit.boxes import Boxes as Boxes
from odkit.boxes import BoxFormat as BoxFormat
from odkit.boxes import Detections as Detections
from odkit.boxes import GroundTruth as GroundTruth
from odkit.boxes import box_convert as box_convert
from odkit.errors import OdkitError as OdkitError
from odkit.ops import batched_nms as batched_nms
from odkit.ops import box_iou as box_iou
from odkit.ops import nms as nms

__version__ = "0.1.0"

__all__ = [
    "BoxFormat",
    "Boxes",
    "Detections",
    "GroundTruth",
    "OdkitError",
    "__version__",
    "batched_nms",
    "box_convert",
    "box_iou",
    "nms",
]
