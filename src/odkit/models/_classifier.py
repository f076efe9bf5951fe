"""``classifier``: a small CNN from 28x28 grayscale up to 224 RGB, its input shape taken from the data."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from odkit.models._base import Model
from odkit.models._registry import register


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


@register("classifier")
class Classifier(Model):
    """Stages of two Conv-BN-ReLU and a max pooling (the course's Conv2D + MaxPooling2D), each halving the
    resolution, then
    average pooling to a 3x3 grid and a linear layer.

    The input is normalised by a BatchNorm of its own, so images in 0..255 or 0..1 train alike. Layers are
    created at the first batch (``in_channels`` and the number of stages from the image size: stages until
    about 4 px remain, at most ``len(widths)``) and recorded in ``config`` so that a saved model rebuilds
    without data.

    Args:
        num_classes: number of outputs (logits; ``predict`` gives softmax probabilities).
        class_names: names of the classes, in output order.
        widths: channels per stage.
        dropout: before the last layer.
        in_channels: image channels; None: from the first batch.
        image_hw: (height, width) the model was built for; None: from the first batch.
    """

    name = "classifier"

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None,
                 widths: Sequence[int] = (16, 32, 64), dropout: float = 0.2, in_channels: int | None = None,
                 image_hw: Sequence[int] | None = None) -> None:
        super().__init__(class_names=class_names)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class_names for num_classes={num_classes}")
        self.config = {"num_classes": int(num_classes), "class_names": self.class_names,
                       "widths": [int(w) for w in widths], "dropout": float(dropout),
                       "in_channels": in_channels, "image_hw": list(image_hw) if image_hw is not None else None}
        self.net: nn.Module | None = None
        if in_channels is not None and image_hw is not None:
            self._build(int(in_channels), (int(image_hw[0]), int(image_hw[1])))

    def _build(self, in_channels: int, image_hw: tuple[int, int]) -> None:
        widths = self.config["widths"]
        n_stages, side = 0, min(image_hw)
        while n_stages < len(widths) and side >= 8:
            n_stages, side = n_stages + 1, side // 2
        n_stages = max(n_stages, 1)
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels)]
        c = in_channels
        for w in widths[:n_stages]:
            layers += [_block(c, w), nn.MaxPool2d(2)]
            c = w
        # a 3x3 grid keeps where things are (as the course's Flatten does) at any input size
        layers += [nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Dropout(self.config["dropout"]),
                   nn.Linear(c * 9, self.config["num_classes"])]
        self.net = nn.Sequential(*layers)
        self.config["in_channels"], self.config["image_hw"] = in_channels, list(image_hw)
        self.input_info = {"image_hw": list(image_hw), "channels": in_channels,
                           "color_mode": {1: "grayscale", 3: "rgb", 4: "rgba"}.get(in_channels, "other")}

    def _is_built(self) -> bool:
        return self.net is not None

    def _ensure_built(self, sample: torch.Tensor | None = None) -> None:
        if self.net is not None:
            return
        if sample is None:
            raise RuntimeError("the classifier is built from its first batch: call fit() or predict() with data "
                               "first, or give in_channels and image_hw")
        self._build(int(sample.shape[1]), (int(sample.shape[2]), int(sample.shape[3])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.net is None:
            self._ensure_built(x)
            self.to(x.device)
        return self.net(x)  # type: ignore[misc]

    def default_loss(self) -> str:
        return "sparse_categorical_crossentropy"

