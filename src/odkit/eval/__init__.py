"""Detection metrics (numpy only, no torch): COCO mAP equal to pycocotools, per-class tables, VOC AP."""

from odkit.eval._coco import COCOEvaluator as COCOEvaluator
from odkit.eval._coco import evaluate_coco as evaluate_coco
from odkit.eval._coco_json import CocoDetections as CocoDetections
from odkit.eval._coco_json import CocoGroundTruth as CocoGroundTruth
from odkit.eval._coco_json import load_coco_ground_truth as load_coco_ground_truth
from odkit.eval._coco_json import load_coco_results as load_coco_results
from odkit.eval._params import COCO_AREA_RANGES as COCO_AREA_RANGES
from odkit.eval._params import COCOParams as COCOParams
from odkit.eval._result import STAT_KEYS as STAT_KEYS
from odkit.eval._result import ClassResult as ClassResult
from odkit.eval._result import MAPResult as MAPResult
from odkit.eval._voc import VOCResult as VOCResult
from odkit.eval._voc import voc_ap as voc_ap

__all__ = [
    "COCO_AREA_RANGES",
    "STAT_KEYS",
    "COCOEvaluator",
    "COCOParams",
    "ClassResult",
    "CocoDetections",
    "CocoGroundTruth",
    "MAPResult",
    "VOCResult",
    "evaluate_coco",
    "load_coco_ground_truth",
    "load_coco_results",
    "voc_ap",
]
