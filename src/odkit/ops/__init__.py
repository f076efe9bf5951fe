"""Box operations: the IoU family and non-maximum suppression (numpy only)."""

from odkit.ops._iou import box_ioa as box_ioa
from odkit.ops._iou import box_iou as box_iou
from odkit.ops._iou import complete_box_iou as complete_box_iou
from odkit.ops._iou import distance_box_iou as distance_box_iou
from odkit.ops._iou import generalized_box_iou as generalized_box_iou
from odkit.ops._nms import batched_nms as batched_nms
from odkit.ops._nms import nms as nms
from odkit.ops._nms import soft_nms as soft_nms

__all__ = [
    "batched_nms",
    "box_ioa",
    "box_iou",
    "complete_box_iou",
    "distance_box_iou",
    "generalized_box_iou",
    "nms",
    "soft_nms",
]
