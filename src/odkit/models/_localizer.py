"""``localizer``: single-object localization, one class and one box per image (classification +
localization, the step before detection)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from odkit.models._base import Model
from odkit.models._classifier import _block
from odkit.models._data import images_to_tensor
from odkit.models._registry import register


def _giou_aligned(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(IoU, GIoU) of row pairs of (N, 4) xyxy boxes; 0 where a union or enclosing area is 0."""
    iw = (torch.minimum(a[:, 2], b[:, 2]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    ih = (torch.minimum(a[:, 3], b[:, 3]) - torch.maximum(a[:, 1], b[:, 1])).clamp(min=0)
    inter = iw * ih
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    cw = torch.maximum(a[:, 2], b[:, 2]) - torch.minimum(a[:, 0], b[:, 0])
    ch = torch.maximum(a[:, 3], b[:, 3]) - torch.minimum(a[:, 1], b[:, 1])
    enclosing = cw * ch
    penalty = torch.where(enclosing > 0, (enclosing - union) / enclosing.clamp(min=1e-12), torch.zeros_like(inter))
    return iou, iou - penalty


@register("localizer")
class Localizer(Model):
    """A CNN with two heads: class logits and one box (sigmoid of normalised centre x, y, width, height).

    Targets are ``(labels, boxes_xyxy)``: (N,) integer class labels and (N, 4) absolute xyxy boxes in the
    input images' pixels (or a dict with ``"labels"`` and ``"boxes"``). The loss is cross-entropy plus L1 on
    the normalised box plus (1 - GIoU); logs ``loss``, ``accuracy`` and ``iou`` (mean IoU of the predicted
    box with the true one; ``val_iou`` with validation data).

    Args:
        num_classes: number of classes.
        class_names: their names, in label order.
        widths: channels per stage (two Conv-BN-ReLU each, then max pooling).
        box_weight: weight of the box terms against the classification term.
        in_channels, image_hw: the input; None: from the first batch.
    """

    name = "localizer"
    task = "localize"

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None,
                 widths: Sequence[int] = (16, 32, 64, 96), box_weight: float = 5.0, in_channels: int | None = None,
                 image_hw: Sequence[int] | None = None) -> None:
        super().__init__(class_names=class_names)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        self.config = {"num_classes": int(num_classes), "class_names": self.class_names,
                       "widths": [int(w) for w in widths], "box_weight": float(box_weight),
                       "in_channels": in_channels, "image_hw": list(image_hw) if image_hw is not None else None}
        self.backbone: nn.Module | None = None
        self._metrics_names = ("accuracy", "iou")
        if in_channels is not None and image_hw is not None:
            self._build(int(in_channels), (int(image_hw[0]), int(image_hw[1])))

    def _build(self, in_channels: int, image_hw: tuple[int, int]) -> None:
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels)]
        c = in_channels
        for w in self.config["widths"]:
            layers += [_block(c, w), nn.MaxPool2d(2)]
            c = w
        layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten()]
        self.backbone = nn.Sequential(*layers)
        self.class_head = nn.Sequential(nn.Dropout(0.2), nn.Linear(c * 16, self.config["num_classes"]))
        self.box_head = nn.Sequential(nn.Linear(c * 16, 128), nn.ReLU(inplace=True), nn.Linear(128, 4))
        self.config["in_channels"], self.config["image_hw"] = in_channels, list(image_hw)
        self.input_info = {"image_hw": list(image_hw), "channels": in_channels}

    def _is_built(self) -> bool:
        return self.backbone is not None

    def _ensure_built(self, sample: torch.Tensor | None = None) -> None:
        if self.backbone is not None:
            return
        if sample is None:
            raise RuntimeError("the localizer is built from its first batch: call fit() or predict() with data "
                               "first, or give in_channels and image_hw")
        self._build(int(sample.shape[1]), (int(sample.shape[2]), int(sample.shape[3])))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (N, C), boxes_xyxy (N, 4))`` in the input's pixels."""
        if self.backbone is None:
            self._ensure_built(x)
            self.to(x.device)
        features = self.backbone(x)  # type: ignore[misc]
        cx, cy, w, h = torch.sigmoid(self.box_head(features)).unbind(dim=1)
        height, width = x.shape[2], x.shape[3]
        boxes = torch.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
                             (cy + h / 2) * height], dim=1)
        return self.class_head(features), boxes

    def metric_direction(self, name: str) -> str | None:
        return {"loss": "min", "accuracy": "max", "iou": "max"}.get(name)

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Sequence[Any] | None = None) -> Model:
        """As :meth:`Model.compile`; the loss is the localizer's own (classification + box), metrics are
        always accuracy and IoU."""
        if loss is not None:
            raise ValueError("the localizer's loss is fixed (cross-entropy + L1 + GIoU); pass loss=None")
        super().compile(optimizer, "sparse_categorical_crossentropy", None)
        return self

    def fit(self, x: Any = None, y: Any = None, *args: Any, validation_data: Any = None, **kwargs: Any) -> Any:
        """As :meth:`Model.fit`, with ``y = (labels, boxes_xyxy)``; ``validation_data=(x, (labels, boxes))``."""
        if validation_data is not None:
            validation_data = (validation_data[0], _pack(validation_data[1]))
        return super().fit(x, _pack(y), *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``[loss, accuracy, iou]`` (or a dict with ``return_dict=True``)."""
        return super().evaluate(x, _pack(y), *args, **kwargs)

    def _losses(self, inputs: torch.Tensor, packed: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits, boxes = self(inputs)
        labels, true_boxes = packed[:, 0].long(), packed[:, 1:].float()
        scale = torch.tensor([inputs.shape[3], inputs.shape[2]] * 2, dtype=torch.float32, device=inputs.device)
        iou, giou = _giou_aligned(boxes, true_boxes)
        box_loss = F.l1_loss(boxes / scale, true_boxes / scale) + (1 - giou).mean()
        loss = F.cross_entropy(logits, labels) + self.config["box_weight"] * box_loss
        with torch.no_grad():
            logs = {"accuracy": float((logits.argmax(1) == labels).float().mean()), "iou": float(iou.mean())}
        return loss, logs

    def train_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        inputs = images_to_tensor(xb, self.device)
        packed = torch.as_tensor(np.asarray(yb), device=self.device)
        self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        loss, logs = self._losses(inputs, packed)
        if torch.isfinite(loss):
            loss.backward()
            self.optimizer.step()  # type: ignore[union-attr]
        return {"loss": float(loss.detach()), **logs}, int(inputs.shape[0])

    def test_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        inputs = images_to_tensor(xb, self.device)
        loss, logs = self._losses(inputs, torch.as_tensor(np.asarray(yb), device=self.device))
        return {"loss": float(loss), **logs}, int(inputs.shape[0])

    @torch.no_grad()
    def predict(self, x: Any, batch_size: int | None = 32, verbose: int = 0, *, device: str | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities (N, C) float32, boxes_xyxy (N, 4) float64)``, boxes in the input's pixels."""
        from odkit.models._base import resolve_device
        from odkit.models._data import as_source

        if device is not None:
            self.to(resolve_device(device))
        self.eval()
        source = as_source(x, None, batch_size, shuffle=False, seed=None)
        self._ensure_built(images_to_tensor(source.peek_images()))
        probs, boxes = [], []
        for xb, _ in source.iter_epoch(0):
            logits, b = self(images_to_tensor(xb, self.device))
            probs.append(torch.softmax(logits, 1).cpu().numpy())
            boxes.append(b.double().cpu().numpy())
        return np.concatenate(probs), np.concatenate(boxes)


def _pack(y: Any) -> np.ndarray | None:
    """``(labels, boxes_xyxy)`` or ``{"labels", "boxes"}`` as one (N, 5) float64 array ``[label, x0, y0, x1, y1]``."""
    if y is None:
        return None
    if isinstance(y, dict):
        y = (y["labels"], y["boxes"])
    if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] == 5:
        return y
    if not isinstance(y, (tuple, list)) or len(y) != 2:
        raise ValueError("localizer targets are (labels (N,), boxes_xyxy (N, 4)) or {'labels', 'boxes'}")
    labels = np.asarray(y[0]).reshape(-1)
    boxes = np.asarray(y[1], dtype=np.float64)
    if boxes.shape != (labels.shape[0], 4):
        raise ValueError(f"boxes_xyxy must have shape ({labels.shape[0]}, 4) to match the labels; got {boxes.shape}")
    if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
        i = int(np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))[0])
        raise ValueError(f"boxes_xyxy[{i}] has x_max < x_min or y_max < y_min: {boxes[i].tolist()}")
    return np.concatenate([labels[:, None].astype(np.float64), boxes], axis=1)
