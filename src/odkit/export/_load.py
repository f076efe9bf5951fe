"""``load_any_model``: one loader for the model files ``odkit predict`` and ``odkit val`` take."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def load_any_model(path: str | os.PathLike[str]) -> Any:
    """A ``.onnx`` export as :func:`odkit.export.load_onnx` loads it, anything else as ``odkit.load_model``
    (an ``.odk`` file).

    Raises:
        CheckpointError: the file is missing, foreign or damaged (from the loader its suffix picks).
    """
    if Path(path).suffix.lower() == ".onnx":
        from odkit.export._onnx_runtime import load_onnx

        return load_onnx(path)
    from odkit.saving import load_model

    return load_model(path)
