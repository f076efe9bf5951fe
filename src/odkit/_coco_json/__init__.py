"""The one COCO JSON reader, beneath ``odkit.io`` (datasets) and ``odkit.eval`` (metrics).

An instances file (``{"images", "annotations", "categories"}``) and a results list (``[{image_id,
category_id, bbox, score}]``) are parsed (orjson when installed, the standard library otherwise) and turned
straight into columns: each field is pulled out with one list comprehension, validated vectorized, and
only when something is wrong is the input scanned entry by entry, to name the first bad entry (or, for a
lenient read, every bad entry, which is then skipped).

Layout: ``_fields`` (the rules below and the parsing both readers share), ``_instances`` (the
ground-truth reader), ``_results`` (the predictions reader).

The rules, the same for every reader of COCO in odkit:

- **ids**: image and category ids are JSON integers or strings. An integral float (``3.0``) is the
  integer 3 (pycocotools' dicts treat ``3.0`` and ``3`` as one key); a numeric string ``"3"`` is a string,
  a different id from ``3`` (as in pycocotools). Fractional floats, booleans, ``null``, lists and objects
  are errors naming the entry; ids are unique. Annotation ids are optional and odkit needs them only to be
  unique (and for pycocotools' id-0 quirk, see ``COCOEvaluator.from_coco``): any JSON number, boolean or
  string is taken as it is; lists and objects are errors.
- **boxes**: ``bbox`` is ``[x, y, w, h]``, 4 finite numbers (not booleans) with ``w >= 0`` and ``h >= 0``;
  zero-size boxes are valid (their IoU is 0), negative sizes are errors naming the entry (pycocotools
  would compute with them and give meaningless IoUs).
- **crowd**: ``iscrowd`` is 0, 1, ``true`` or ``false`` (absent: 0); anything else (0.5, 2, "1") is an
  error, because pycocotools ignores a GT when ``bool(iscrowd)`` but matches it crowd-style when
  ``int(iscrowd)``.
- **missing fields**: ``annotations`` absent = no objects; ``area`` absent = the bbox ``w*h``; a category
  without ``name`` is named by its id; ``image_id``, ``category_id`` and ``bbox`` (and ``score`` in
  results) are required.
"""

from odkit._coco_json._fields import ErrorSink as ErrorSink
from odkit._coco_json._fields import PathOrData as PathOrData
from odkit._coco_json._instances import CocoGroundTruth as CocoGroundTruth
from odkit._coco_json._instances import load_coco_ground_truth as load_coco_ground_truth
from odkit._coco_json._results import CocoDetections as CocoDetections
from odkit._coco_json._results import UnknownCategories as UnknownCategories
from odkit._coco_json._results import load_coco_results as load_coco_results

__all__ = [
    "CocoDetections",
    "CocoGroundTruth",
    "ErrorSink",
    "PathOrData",
    "UnknownCategories",
    "load_coco_ground_truth",
    "load_coco_results",
]
