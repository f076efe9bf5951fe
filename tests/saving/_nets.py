"""Tiny models that follow the odkit model contract without odkit.models (name, config, class_names,
input_info), plus helpers to edit the header of a saved file."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn


class TinyNet(nn.Module):
    """conv -> batch norm -> pooled linear head: parameters, float buffers and an int64 buffer."""

    def __init__(self, width: int = 4, num_classes: int = 3, class_names: list[str] | None = None,
                 image_hw: list[int] | None = None) -> None:
        super().__init__()
        image_hw = list(image_hw or [8, 8])
        self.name = "tiny-net"
        self.config = {"width": width, "num_classes": num_classes, "class_names": class_names, "image_hw": image_hw}
        self.class_names = class_names
        self.input_info = {"image_hw": image_hw, "channels": 3, "color_mode": "rgb",
                           "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}}
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3)))


class WiderHeadNet(TinyNet):
    """TinyNet's name with another architecture: an extra layer and a head of another shape."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        width = config.get("width", 4)
        self.extra = nn.Linear(width, width)
        self.head = nn.Linear(width * 2, config.get("num_classes", 3))


def trained_tiny_net(seed: int = 0, **config: Any) -> TinyNet:
    """A TinyNet whose weights and batch-norm statistics moved away from their initial values."""
    torch.manual_seed(seed)
    net = TinyNet(**{"class_names": ["RBC", "WBC", "Platelets"], **config})
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):
        loss = net(torch.randn(4, 3, 8, 8)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def fake_registry(monkeypatch: pytest.MonkeyPatch, factories: dict[str, Callable[..., Any]]) -> types.ModuleType:
    """Stand in for ``odkit.models`` (being written elsewhere): ``build`` / ``list_models`` over ``factories``."""
    module = types.ModuleType("odkit.models")

    def build(name: str, **config: Any) -> Any:
        return factories[name](**config)

    module.build = build  # type: ignore[attr-defined]
    module.list_models = lambda: sorted(factories)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "odkit.models", module)
    return module


def rewrite_header(path: Path, edit: Callable[[dict[str, Any]], Any], *, raw: str | None = None) -> None:
    """Rewrite the odkit header of a safetensors file in place: ``edit(header)`` changes it, or ``raw`` replaces
    its text. The tensor data is kept byte for byte."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    table = json.loads(data[8 : 8 + n])
    if raw is None:
        header = json.loads(table["__metadata__"]["odkit"])
        edit(header)
        raw = json.dumps(header)
    table["__metadata__"]["odkit"] = raw
    text = json.dumps(table).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n :])


def state_equal(a: nn.Module | dict[str, torch.Tensor], b: nn.Module | dict[str, torch.Tensor]) -> bool:
    """Same names (in any order: safetensors stores tensors sorted), dtypes, shapes and values (bit for bit)."""
    sa = a.state_dict() if isinstance(a, nn.Module) else a
    sb = b.state_dict() if isinstance(b, nn.Module) else b
    return sorted(sa) == sorted(sb) and all(sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]) for k in sa)
