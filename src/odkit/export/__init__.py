"""Export (torch side): detectors and the classifier as ONNX files, and those files run with onnxruntime.

Example::

    from odkit.export import export_onnx, load_onnx

    export_onnx(odkit.load_model("best.odk"), "best.onnx", dynamic=True)   # or: odkit export best.odk --format onnx
    dets = load_onnx("best.onnx").predict("photo.jpg", conf=0.25)[0]      # Detections, xyxy pixels of photo.jpg

Needs the ``export`` extra (``onnx``, ``onnxruntime``).
"""

from __future__ import annotations

from odkit.export._load import load_any_model as load_any_model
from odkit.export._onnx_export import DEFAULT_OPSET as DEFAULT_OPSET
from odkit.export._onnx_export import FORMATS as FORMATS
from odkit.export._onnx_export import MAX_OPSET as MAX_OPSET
from odkit.export._onnx_export import export_onnx as export_onnx
from odkit.export._onnx_meta import OnnxInfo as OnnxInfo
from odkit.export._onnx_nms import MIN_OPSET as MIN_OPSET
from odkit.export._onnx_runtime import OnnxClassifier as OnnxClassifier
from odkit.export._onnx_runtime import OnnxDetector as OnnxDetector
from odkit.export._onnx_runtime import OnnxModel as OnnxModel
from odkit.export._onnx_runtime import load_onnx as load_onnx

__all__ = ["DEFAULT_OPSET", "FORMATS", "MAX_OPSET", "MIN_OPSET", "OnnxClassifier", "OnnxDetector", "OnnxInfo",
           "OnnxModel", "export_onnx", "load_any_model", "load_onnx"]
