"""``export_onnx``: a detector or the classifier as an ONNX file that onnxruntime runs (``odkit export``).

A detector's graph takes letterboxed images and decodes its boxes in the graph:

- input ``images`` (B, 3, H, W) float32, RGB, 0..255, letterboxed to ``input_hw`` with fill 114;
- outputs ``boxes`` (B, P, 4) xyxy input pixels, clipped to the input, and ``scores`` (B, P, C) float32 =
  sqrt(class probability * centerness), for the P locations of the three levels (as ``odkit.models._fcos.decode``
  computes them before its confidence threshold);
- with ``nms=True`` NMS follows in the graph instead (outputs ``det_indices``, ``det_boxes``, ``det_scores``;
  ``conf``, ``iou`` and ``max_det`` are graph inputs: see ``odkit.export._onnx_nms``).

The letterbox and its undoing stay in odkit (:class:`~odkit.export.OnnxDetector`), so the boxes in original
pixels match PyTorch's. A classifier's graph takes ``images`` (B, C, H, W) float32 as the classifier does and
returns ``probabilities`` (B, K) (softmax of the logits; sigmoid for a single output).

The file is written with torch's TorchScript-based exporter (``dynamo=False``: no onnxscript needed, seconds
rather than tens of seconds), checked with ``onnx.checker`` (full check, shape inference included) and written
atomically; its ``metadata_props`` carry class names, input size and preprocessing (``_onnx_meta``).
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.errors import OdkitError
from odkit.export._onnx_meta import OnnxInfo
from odkit.export._onnx_nms import MIN_OPSET, append_nms

#: Output formats of ``odkit export``.
FORMATS = ("onnx",)
DEFAULT_OPSET = 17
#: The highest opset torch's TorchScript-based exporter writes.
MAX_OPSET = 20
#: Candidates per image before NMS, as ``odkit.models._fcos.decode``'s default.
PRE_NMS_TOP_K = 1000

_DETECTOR_OUTPUTS = ("boxes (B, P, 4) float32 xyxy input pixels clipped to the input; scores (B, P, C) float32 "
                     "sqrt(class probability * centerness)")
_NMS_OUTPUTS = ("det_indices (K, 3) int64 rows (image, class, location); det_boxes (K, 4) float32 xyxy input "
                "pixels; det_scores (K,) float32; inputs conf, iou (float32 scalars), max_det (int64 scalar, per "
                "image and class)")
_CLASSIFIER_OUTPUTS = "probabilities (B, K) float32"


def require(module: str) -> Any:
    """Import an optional dependency of the ``export`` extra, or raise an ``OdkitError`` saying how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OdkitError(f"ONNX export and inference need the {module} package: pip install 'odkit[export]'"
                         ) from None


class _DetectorGraph(nn.Module):
    """The FCOS network with its decoding: ``images (B, 3, H, W)`` -> ``boxes (B, P, 4)``, ``scores (B, P, C)``."""

    def __init__(self, net: nn.Module, image_hw: tuple[int, int]) -> None:
        from odkit.models._fcos import make_points

        super().__init__()
        self.net = net
        points, _, _ = make_points(image_hw, torch.device("cpu"))
        self.register_buffer("points", points)  # (P, 2) xy input pixels
        h, w = image_hw
        self.register_buffer("limits", torch.tensor([w, h, w, h], dtype=torch.float32))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls, ltrb, ctr = self.net(images)
        scores = torch.sqrt(cls.sigmoid() * ctr.sigmoid().unsqueeze(-1))  # (B, P, C)
        boxes = torch.cat([self.points - ltrb[..., :2], self.points + ltrb[..., 2:]], -1)  # (B, P, 4)
        boxes = torch.minimum(boxes.clamp(min=0), self.limits)  # decode's clamp(0, w) / clamp(0, h)
        return boxes, scores


class _ClassifierGraph(nn.Module):
    """The classifier's network and its output activation: ``images (B, C, H, W)`` -> ``probabilities (B, K)``."""

    def __init__(self, net: nn.Module, activation: str | None) -> None:
        super().__init__()
        self.net = net
        self.activation = activation

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.net(images)
        if self.activation == "softmax":
            return torch.softmax(out, dim=1)
        if self.activation == "sigmoid":
            return torch.sigmoid(out)
        return out


class _FixedAdaptiveAvgPool(nn.Module):
    """``nn.AdaptiveAvgPool2d`` for one input size, as two matrix products (the TorchScript exporter refuses
    adaptive pooling whose output size does not divide the input's: the classifier's 7 -> 3)."""

    def __init__(self, input_hw: tuple[int, int], output_hw: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("rows", _pool_matrix(input_hw[0], output_hw[0]))  # (h_out, H)
        self.register_buffer("cols", _pool_matrix(input_hw[1], output_hw[1]).T.contiguous())  # (W, w_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(torch.matmul(self.rows, x), self.cols)  # (B, C, h_out, w_out)


def _pool_matrix(size: int, out: int) -> torch.Tensor:
    """(out, size) averaging weights of adaptive pooling: bin i spans [floor(i*size/out), ceil((i+1)*size/out))."""
    m = torch.zeros(out, size)
    for i in range(out):
        lo, hi = (i * size) // out, -(-(i + 1) * size // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _fix_adaptive_pools(net: nn.Module, example: torch.Tensor) -> None:
    """Replace, in ``net`` (a copy), each ``AdaptiveAvgPool2d`` by its matrix form for the input it gets from
    ``example``."""
    seen: dict[str, tuple[int, int]] = {}
    pools = {name: m for name, m in net.named_modules() if isinstance(m, nn.AdaptiveAvgPool2d)}
    hooks = [m.register_forward_hook(lambda mod, args, out, name=name: seen.__setitem__(
        name, (int(args[0].shape[-2]), int(args[0].shape[-1])))) for name, m in pools.items()]
    with torch.no_grad():
        net(example)
    for h in hooks:
        h.remove()
    for name, pool in pools.items():
        size = pool.output_size
        out_hw = (size, size) if isinstance(size, int) else tuple(size)
        if name in seen and None not in out_hw:
            parent = net.get_submodule(name.rpartition(".")[0]) if "." in name else net
            setattr(parent, name.rpartition(".")[2], _FixedAdaptiveAvgPool(seen[name], out_hw))  # type: ignore


def _check_opset(opset: Any) -> int:
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be an integer in {MIN_OPSET}..{MAX_OPSET}; got {opset!r}")
    return opset


def _export_hw(model: Any, image_hw: Sequence[int] | None) -> tuple[int, int]:
    if image_hw is None:
        hw = model.input_info.get("image_hw")
        if not hw:
            raise ValueError(f"the {model.name} model has no input size yet (input_info['image_hw']): build or fit "
                             "it first, or give image_hw")
        return int(hw[0]), int(hw[1])
    hw = tuple(image_hw)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 32 for v in hw):
        raise ValueError(f"image_hw must be (height, width), integers >= 32 pixels; got {image_hw!r}")
    return int(hw[0]), int(hw[1])


def export_onnx(model: Any, path: str | os.PathLike[str], *, image_hw: Sequence[int] | None = None,
                dynamic: bool = False, opset: int = DEFAULT_OPSET, nms: bool = False, batch_size: int = 1) -> Path:
    """Write ``model`` (a detector or the classifier) as an ONNX file that :func:`odkit.export.load_onnx` runs.

    Args:
        model: an ``odkit.models.Detector`` (``detector-n`` / ``detector-s``) or a built ``classifier``; not
            modified (a CPU copy of its network is exported, in eval mode: BatchNorm running statistics).
        path: the ``.onnx`` file to write (atomically: temp file + ``os.replace``).
        image_hw: (height, width) of the input in pixels; default the model's ``input_info["image_hw"]``.
        dynamic: a dynamic batch axis (any batch size at run time); else ``batch_size`` images per run.
        opset: ONNX opset, ``11..20``.
        nms: detectors: class-aware NMS in the graph (``conf``, ``iou``, ``max_det`` as graph inputs); else the
            graph ends at the decoded boxes and scores and odkit runs its own NMS after onnxruntime.
        batch_size: the static batch size when not ``dynamic``.

    Returns:
        the path written.

    Raises:
        ValueError: a model that is neither a detector nor the classifier, an unbuilt classifier, a bad
            ``opset`` / ``image_hw`` / ``batch_size``, ``nms`` for a classifier.
        OdkitError: the ``onnx`` package is missing, or the written graph fails ``onnx.checker``.
    """
    from odkit import __version__
    from odkit.models._detector import Detector
    from odkit.saving._file import atomic_write_bytes

    onnx = require("onnx")
    opset = _check_opset(opset)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    name = getattr(model, "name", type(model).__name__)
    if isinstance(model, Detector):
        task = "detect"
    elif name == "classifier":
        task = "classify"
        if nms:
            raise ValueError("nms=True is for detectors; the classifier has no boxes")
        if getattr(model, "net", None) is None:
            raise ValueError("the classifier is not built yet (its layers come from the first batch): fit it or "
                             "give in_channels and image_hw")
    else:
        raise ValueError(f"export_onnx takes a detector (detector-n, detector-s) or the classifier; got {name!r}")
    hw = _export_hw(model, image_hw)
    net = copy.deepcopy(model.net).cpu().eval()
    class_names = [str(n) for n in (model.class_names or range(int(model.config["num_classes"])))]
    if task == "detect":
        wrapper: nn.Module = _DetectorGraph(net, hw)
        channels, outputs = 3, ["boxes", "scores"]
        preprocess: dict[str, Any] = {"resize": "letterbox", "fill": 114, "color_mode": "rgb", "scale": "0..255",
                                      "layout": "NCHW", "dtype": "float32"}
    else:
        channels = int(model.input_info.get("channels") or model.config["in_channels"])
        activation = None if model.outputs == "probabilities" else (
            "sigmoid" if int(model.config["num_classes"]) == 1 else "softmax")
        _fix_adaptive_pools(net, torch.full((1, channels, *hw), 114.0))
        wrapper, outputs = _ClassifierGraph(net, activation), ["probabilities"]
        preprocess = {"resize": "bilinear", "color_mode": model.input_info.get("color_mode", "rgb"),
                      "scale": "0..255 (files; arrays as given)", "layout": "NCHW", "dtype": "float32"}
    wrapper.eval()
    example = torch.full((1 if dynamic else batch_size, channels, *hw), 114.0)
    axes = {n: {0: "batch"} for n in ["images", *outputs]} if dynamic else None
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript exporter's deprecation notice, and group_norm's batch-size check seen by the tracer
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        torch.onnx.export(wrapper, (example,), buffer, dynamo=False, opset_version=opset, input_names=["images"],
                          output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
    proto = onnx.load_from_string(buffer.getvalue())
    if nms:
        proto = append_nms(proto, int(wrapper.points.shape[0]), len(class_names), PRE_NMS_TOP_K)
    info = OnnxInfo(task=task, model_name=str(name), class_names=class_names, input_hw=hw,
                    batch=None if dynamic else batch_size, preprocess=preprocess, nms_in_graph=bool(nms),
                    pre_nms_top_k=PRE_NMS_TOP_K)
    described = _CLASSIFIER_OUTPUTS if task == "classify" else (_NMS_OUTPUTS if nms else _DETECTOR_OUTPUTS)
    onnx.helper.set_model_props(proto, info.to_props(__version__, described))
    proto.producer_name, proto.producer_version = "odkit", __version__
    proto.doc_string = f"odkit {name}: images (B, {channels}, {hw[0]}, {hw[1]}) float32 -> {described}"
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise OdkitError(f"{os.fspath(path)}: the exported graph fails onnx.checker: {exc}") from None
    atomic_write_bytes(path, proto.SerializeToString())
    return Path(path)
