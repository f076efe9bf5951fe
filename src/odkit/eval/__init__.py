"""Detection metrics (numpy only, no torch): COCO mAP equal to pycocotools, per-class tables, VOC AP.

Entry points:

- :class:`COCOEvaluator`: ``update(predictions, ground_truths, image_ids)`` per image or batch, ``merge`` /
  ``state_dict`` / ``from_state`` to gather across processes, ``compute() -> MAPResult``; also
  ``compute_voc``, ``f1_confidence``, ``confusion_matrix`` and ``error_breakdown`` on the same state.
  ``COCOEvaluator.from_coco(gt_json, results_json)`` loads COCO files straight into flat arrays.
- :func:`evaluate_coco`: one call for a COCO instances file and a results list (what ``odkit eval`` runs).

Agreement with pycocotools (``COCOeval(..., "bbox")``): the 12 stats and the precision / recall / scores
arrays are equal to the last bit, with all of its rules (per image and category matching, crowd IoA,
``ignore = iscrowd``, the ``area`` field with inclusive bounds, the max_dets cut before matching, stable
ordering of tied scores with file order as the tie-break, ``t`` capped at ``1 - 1e-10``, ...). Where odkit
differs, on purpose:

- undefined values (a category or size range without GT) are NaN, not -1; the mapping happens in one
  place, ``odkit.eval._cocoeval.coco_evaluate``, and every mean skips NaN exactly where pycocotools skips -1;
- the headline AP stats use the largest ``max_dets`` (pycocotools hard-codes 100 and reports -1 when 100
  is not in the list); ``mar_1 / mar_10 / mar_100`` are AR at exactly those values (NaN if not evaluated)
  and ``MAPResult.mar_at(m)`` gives any other;
- results with an image id not in the GT, a category id not in the GT's categories, a malformed bbox, a
  negative size or a non-finite score raise ``EvaluationError`` naming the entry; nothing is dropped;
- a match to a GT whose annotation ``id`` is 0 counts (pycocotools takes ``dtm == 0`` for "unmatched").
"""

from odkit._coco_json import CocoDetections as CocoDetections
from odkit._coco_json import CocoGroundTruth as CocoGroundTruth
from odkit._coco_json import UnknownCategories as UnknownCategories
from odkit._coco_json import load_coco_ground_truth as load_coco_ground_truth
from odkit._coco_json import load_coco_results as load_coco_results
from odkit.eval._coco import COCOEvaluator as COCOEvaluator
from odkit.eval._coco import evaluate_coco as evaluate_coco
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
    "UnknownCategories",
    "VOCResult",
    "evaluate_coco",
    "load_coco_ground_truth",
    "load_coco_results",
    "voc_ap",
]
