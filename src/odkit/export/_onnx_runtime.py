"""An exported ``.onnx`` file run with onnxruntime, standing in for the model it came from.

``load_onnx(path)`` returns an :class:`OnnxDetector` or an :class:`OnnxClassifier` (from the file's odkit
metadata), each with what ``odkit.runs.predict_run`` and ``validate_detector`` / ``validate_classifier`` use
from a model: ``name``, ``class_names``, ``config["num_classes"]``, ``input_info``, ``to(device)`` and
``predict``. Images are read and letterboxed (detector) or resized (classifier) by odkit exactly as the PyTorch
model reads them, so the detections match PyTorch's; only the network runs in onnxruntime.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from odkit.boxes import Detections
from odkit.errors import CheckpointError
from odkit.export._onnx_export import require
from odkit.export._onnx_meta import OnnxInfo, parse_props


class OnnxModel:
    """An odkit ONNX export in an onnxruntime session (make one with :func:`load_onnx`).

    Attributes:
        path: the ``.onnx`` file.
        info: its parsed odkit metadata.
        name: the exported model's registry name (``"detector-n"``, ``"classifier"``).
        class_names: class name per label index.
        config: ``{"num_classes", "class_names"}``.
        input_info: what the network expects (``image_hw``, ``channels``, ``color_mode``...), as the model's own.
        session: the ``onnxruntime.InferenceSession``.
    """

    def __init__(self, path: Path, session: Any, info: OnnxInfo, threads: int | None) -> None:
        self.path, self.session, self.info, self._threads = path, session, info, threads
        self.name = info.model_name
        self.class_names = list(info.class_names)
        self.config = {"num_classes": len(info.class_names), "class_names": self.class_names}
        self.image_hw = info.input_hw
        self.input_info: dict[str, Any] = {"image_hw": list(info.input_hw)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({os.fspath(self.path)!r}, name={self.name!r})"

    def to(self, device: Any) -> OnnxModel:
        """Run on ``device`` (a ``torch.device`` or its string): CUDA when onnxruntime has its provider, else the
        CPU with a warning. Returns self."""
        ort = require("onnxruntime")
        kind = str(device).split(":")[0]
        if kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            self.session = _session(self.path, self._threads, ["CUDAExecutionProvider", "CPUExecutionProvider"])
        elif kind != "cpu":
            warnings.warn(f"{self.path}: onnxruntime has no execution provider for {device}; running on the CPU",
                          stacklevel=2)
        return self

    def eval(self) -> OnnxModel:
        """No-op (a session has no training mode); returns self."""
        return self

    def _pieces(self, images: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
        """``(batch, real)`` pieces of ``images`` (N, C, H, W) float32 the session takes: the whole array for a
        dynamic batch; for a static batch B, pieces of B, the last padded with fill-114 images (``real`` of its
        rows are images)."""
        size = self.info.batch
        if size is None:
            yield images, len(images)
            return
        for start in range(0, len(images), size):
            piece = images[start:start + size]
            real = len(piece)
            if real < size:
                pad = np.full((size - real, *piece.shape[1:]), 114.0, np.float32)
                piece = np.concatenate([piece, pad])
            yield piece, real


class OnnxDetector(OnnxModel):
    """A detector export: ``predict`` gives what ``Detector.predict`` gives (boxes xyxy in original pixels)."""

    task = "detect"

    def __init__(self, path: Path, session: Any, info: OnnxInfo, threads: int | None) -> None:
        super().__init__(path, session, info, threads)
        self.input_info.update(channels=3, color_mode="rgb", resize="letterbox", fill=114, scale="0..255")

    def predict(self, x: Any, batch_size: int | None = 8, verbose: int = 0, *, conf: float = 0.25, iou: float = 0.5,
                max_det: int = 100, device: str | None = None, stream: bool = False
                ) -> list[Detections] | Iterator[Detections]:
        """Detections per image, boxes xyxy float64 in the original image's pixels (the letterbox undone).

        Args and returns as ``odkit.models.Detector.predict``: ``x`` any source ``odkit.models._sources`` reads;
        ``conf`` lowest score kept; ``iou`` class-aware NMS IoU threshold; ``max_det`` most detections per image
        (all classes together); ``stream`` a generator instead of the list.
        """
        from odkit.data import unletterbox_boxes
        from odkit.models._detector_data import load_letterboxed
        from odkit.models._sources import chunks, resolve_predict_source

        source = resolve_predict_source(x)
        if device is not None:
            self.to(device)

        def detections() -> Iterator[Detections]:
            for chunk in chunks(iter(source), int(batch_size or 8)):
                loaded = [load_letterboxed(item.image, self.image_hw) for item in chunk]
                images = np.stack([im for im, _ in loaded]).transpose(0, 3, 1, 2).astype(np.float32)
                for det, (_, info) in zip(self.detect(images, conf=conf, iou=iou, max_det=max_det), loaded):
                    yield Detections(unletterbox_boxes(det.boxes_xyxy, info).astype(np.float64), det.scores,
                                     det.class_ids)

        return detections() if stream else list(detections())

    def detect(self, images: np.ndarray, *, conf: float = 0.25, iou: float = 0.5, max_det: int = 100
               ) -> list[Detections]:
        """Detections of letterboxed ``images`` (N, 3, H, W) float32 RGB 0..255 (not modified), boxes xyxy in
        input pixels, scores float64, label indices; by descending score (ties by location, then class)."""
        out: list[Detections] = []
        for piece, real in self._pieces(np.ascontiguousarray(images, dtype=np.float32)):
            out += self._detect_nms(piece, real, conf, iou, max_det) if self.info.nms_in_graph \
                else self._detect(piece, real, conf, iou, max_det)
        return out

    def _detect(self, images: np.ndarray, real: int, conf: float, iou: float, max_det: int) -> list[Detections]:
        """Decoded boxes and scores from the graph; the rest as ``Detector._detections``: candidates with
        ``score >= conf`` (float32), the ``pre_nms_top_k`` best, ``odkit.ops.batched_nms``."""
        import torch

        from odkit.ops import batched_nms

        boxes, scores = self.session.run(["boxes", "scores"], {"images": images})  # (B, P, 4), (B, P, C)
        num_classes = scores.shape[2]
        out = []
        for i in range(real):
            s = scores[i].reshape(-1)  # (P*C,) location-major, as decode's flatten
            keep = np.flatnonzero(s >= np.float32(conf))
            if len(keep) > self.info.pre_nms_top_k:  # torch's topk, for the same order of tied scores
                keep = keep[torch.from_numpy(s[keep]).topk(self.info.pre_nms_top_k).indices.numpy()]
            b = boxes[i, keep // num_classes].astype(np.float64)
            sc = s[keep].astype(np.float64)
            c = (keep % num_classes).astype(np.int64)
            k = batched_nms(b, sc, c, iou, max_det=max_det)
            out.append(Detections(b[k], sc[k], c[k]))
        return out

    def _detect_nms(self, images: np.ndarray, real: int, conf: float, iou: float, max_det: int) -> list[Detections]:
        """NMS in the graph; here only the cut to ``max_det`` per image over all classes, by descending score."""
        c32 = np.float32(conf)
        feeds = {"images": images, "conf": np.asarray(np.nextafter(c32, np.float32(-np.inf))),  # graph: score > conf
                 "iou": np.asarray(iou, np.float32), "max_det": np.asarray(max_det, np.int64)}
        indices, boxes, scores = self.session.run(["det_indices", "det_boxes", "det_scores"], feeds)
        num_classes = len(self.class_names)
        out = []
        for i in range(real):
            rows = np.flatnonzero(indices[:, 0] == i)
            cls, loc = indices[rows, 1], indices[rows, 2]
            sc = scores[rows].astype(np.float64)
            order = np.lexsort((loc * num_classes + cls, -sc))[:max_det]
            out.append(Detections(boxes[rows][order].astype(np.float64), sc[order], cls[order].astype(np.int64)))
        return out


class OnnxClassifier(OnnxModel):
    """A classifier export: ``predict`` gives what ``Model.predict`` gives (class probabilities)."""

    task = "classify"

    def __init__(self, path: Path, session: Any, info: OnnxInfo, threads: int | None) -> None:
        super().__init__(path, session, info, threads)
        shape = session.get_inputs()[0].shape  # [batch, channels, height, width]
        channels = int(shape[1])
        self.input_info.update(channels=channels, color_mode=info.preprocess.get(
            "color_mode", {1: "grayscale", 3: "rgb", 4: "rgba"}.get(channels, "other")))

    def predict(self, x: Any, batch_size: int | None = 32, verbose: int = 0, *, device: str | None = None,
                stream: bool = False) -> np.ndarray | Iterator[np.ndarray]:
        """Class probabilities (N, K) float32, images read as ``odkit.Model.predict`` reads them (arrays as
        given; files resized bilinear to ``input_info["image_hw"]`` in its color mode, 0..255)."""
        from odkit.models._base import Model
        from odkit.models._data import images_to_tensor

        if device is not None:
            self.to(device)
        batches = Model._load_files(self, x, int(batch_size or 32))  # type: ignore[arg-type]

        def probabilities() -> Iterator[np.ndarray]:
            for xb in batches:
                images = images_to_tensor(xb).numpy()  # (B, C, H, W) float32, as Model.predict feeds it
                for piece, real in self._pieces(images):
                    yield self.session.run(["probabilities"], {"images": piece})[0][:real]

        if stream:
            return (row for batch in probabilities() for row in batch)
        out = list(probabilities())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _session(path: Path, threads: int | None, providers: list[str]) -> Any:
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(os.fspath(path), options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own classes (InvalidProtobuf, Fail, NoSuchFile...)
        raise CheckpointError(f"{path}: onnxruntime cannot load it as an ONNX model: "
                              f"{str(exc).strip().splitlines()[-1][:300]}") from None


def load_onnx(path: str | os.PathLike[str], *, threads: int | None = None) -> OnnxDetector | OnnxClassifier:
    """An odkit ``.onnx`` export, ready to ``predict``.

    Args:
        path: a file written by :func:`odkit.export.export_onnx` / ``odkit export``.
        threads: onnxruntime intra-op threads; None: onnxruntime's default (the physical cores).

    Raises:
        CheckpointError: a missing file, one onnxruntime cannot load, or an ONNX file without odkit metadata.
        OdkitError: onnxruntime is not installed.
    """
    where = Path(path)
    if not where.is_file():
        raise CheckpointError(f"{where}: no such model file")
    session = _session(where, threads, ["CPUExecutionProvider"])
    info = parse_props(session.get_modelmeta().custom_metadata_map, os.fspath(where))
    cls = OnnxDetector if info.task == "detect" else OnnxClassifier
    return cls(where, session, info, threads)
