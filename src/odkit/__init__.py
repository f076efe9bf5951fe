"""odkit: an object-detection toolkit.

The core (``odkit.boxes``, ``odkit.ops``, ``odkit.eval``, ``odkit.io``) needs numpy only; torch is needed
by models and training alone. Box and op names are imported here; the evaluation, annotation and dataset
names below are loaded on first use, so ``import odkit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_LAZY = {
    "COCOEvaluator": "odkit.eval",
    "evaluate_coco": "odkit.eval",
    "Dataset": "odkit.io",
    "read_annotations": "odkit.io",
    "write_annotations": "odkit.io",
    "image_dataset_from_directory": "odkit.data",
    "detection_dataset": "odkit.data",
    "Model": "odkit.models",
    "load_model": "odkit.saving",
}

__all__ = [
    "BoxFormat",
    "Boxes",
    "COCOEvaluator",
    "Dataset",
    "Detections",
    "GroundTruth",
    "Model",
    "OdkitError",
    "__version__",
    "batched_nms",
    "box_convert",
    "box_iou",
    "detection_dataset",
    "evaluate_coco",
    "image_dataset_from_directory",
    "load_model",
    "nms",
    "read_annotations",
    "write_annotations",
]


# subpackages reachable as attributes (``odkit.models.build``) without importing torch at ``import odkit``
_SUBPACKAGES = ("boxes", "ops", "eval", "io", "data", "models", "callbacks", "saving", "report")


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"odkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'odkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
