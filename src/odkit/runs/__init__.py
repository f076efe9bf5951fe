"""The workflow a person runs: ``train``, ``val`` and ``predict`` runs, each writing a run folder.

Run folders are ``runs/<kind>-<N>`` (``runs/train-1``, ``runs/val-3``...) unless the user names one; what each
run writes is listed in its function's docstring. The CLI commands ``odkit train / val / predict`` call these.
"""

from __future__ import annotations

from typing import Any

from odkit.runs._folders import new_run_dir as new_run_dir

# train / val load torch: imported on first use, so `odkit.runs.new_run_dir` stays light
_LAZY = {"train_run": "odkit.runs._train", "TrainRun": "odkit.runs._train", "val_run": "odkit.runs._val",
         "ValRun": "odkit.runs._val", "validate_detector": "odkit.runs._val",
         "validate_classifier": "odkit.runs._val", "detection_splits": "odkit.runs._data",
         "predict_run": "odkit.runs._predict", "PredictRun": "odkit.runs._predict"}

__all__ = ["PredictRun", "TrainRun", "ValRun", "detection_splits", "new_run_dir", "predict_run", "train_run",
           "val_run", "validate_classifier", "validate_detector"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'odkit.runs' has no attribute {name!r}")
