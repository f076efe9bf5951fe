"""Keras' compile strings as torch objects: optimizers, losses and metrics.

Losses take the model's raw outputs (logits for the built-in classifier; ``outputs="probabilities"`` for a
user module that ends in a softmax, as Keras models usually do) and targets as Keras gives them: one-hot
rows for ``categorical_crossentropy``, integer labels for ``sparse_categorical_crossentropy``, 0/1 for
``binary_crossentropy``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    # Keras' defaults: Adam/AdamW lr 1e-3, SGD lr 0.01, RMSprop lr 1e-3 (rho 0.9, eps 1e-7)
    "adam": (torch.optim.Adam, {"lr": 1e-3, "eps": 1e-7}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3, "eps": 1e-7, "weight_decay": 4e-3}),
    "sgd": (torch.optim.SGD, {"lr": 1e-2}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7}),
}

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_optimizer(spec: str | torch.optim.Optimizer | Any, params: Iterable[torch.nn.Parameter]
                   ) -> torch.optim.Optimizer:
    """An optimizer from a Keras name (``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``), an optimizer
    instance (used as is), or an optimizer class / ``functools.partial`` called with the parameters."""
    if isinstance(spec, torch.optim.Optimizer):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {spec!r}; expected one of {sorted(OPTIMIZERS)} or a torch optimizer")
        cls, kwargs = OPTIMIZERS[key]
        return cls(params, **kwargs)
    if callable(spec):
        return spec(params)
    raise TypeError(f"optimizer must be a name, a torch.optim.Optimizer or a callable; got {type(spec).__name__}")


def _log_probs(outputs: torch.Tensor, probabilities: bool) -> torch.Tensor:
    if probabilities:  # Keras clips probabilities to [eps, 1 - eps] before the log
        return torch.log(outputs.clamp(1e-7, 1 - 1e-7))
    return F.log_softmax(outputs, dim=1)


def make_loss(spec: str | LossFn, probabilities: bool = False) -> tuple[str, LossFn]:
    """``(name, fn(outputs, targets) -> mean loss)`` from a Keras name or a callable."""
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    key = spec.lower()
    if key in ("categorical_crossentropy", "categoricalcrossentropy"):
        return key, lambda out, y: -(y.float() * _log_probs(out, probabilities)).sum(dim=1).mean()
    if key in ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"):
        return key, lambda out, y: F.nll_loss(_log_probs(out, probabilities), y.long().reshape(-1))
    if key in ("binary_crossentropy", "binarycrossentropy"):
        if probabilities:
            return key, lambda out, y: F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), y.float().reshape(out.shape))
        return key, lambda out, y: F.binary_cross_entropy_with_logits(out, y.float().reshape(out.shape))
    if key in ("mse", "mean_squared_error"):
        return key, lambda out, y: F.mse_loss(_probs(out, probabilities), y.float().reshape(out.shape))
    if key in ("mae", "mean_absolute_error"):
        return key, lambda out, y: F.l1_loss(_probs(out, probabilities), y.float().reshape(out.shape))
    raise ValueError(f"unknown loss {spec!r}; expected categorical_crossentropy, sparse_categorical_crossentropy, "
                     "binary_crossentropy, mse, mae or a callable(outputs, targets)")


def _probs(outputs: torch.Tensor, probabilities: bool) -> torch.Tensor:
    if probabilities:
        return outputs
    return torch.sigmoid(outputs) if outputs.shape[1] == 1 else F.softmax(outputs, dim=1)


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Share of correct predictions: argmax against one-hot rows or integer labels; 0.5 threshold for a
    single output (logits 0 or probabilities 0.5 -- the same decision)."""
    if outputs.shape[1] == 1:
        predicted = (outputs.reshape(-1) > (0.5 if bool(((outputs >= 0) & (outputs <= 1)).all()) else 0.0))
        return (predicted == (targets.reshape(-1) > 0.5)).float().mean()
    predicted = outputs.argmax(dim=1)
    truth = targets.argmax(dim=1) if targets.ndim == 2 and targets.shape[1] == outputs.shape[1] else targets.reshape(-1)
    return (predicted == truth.long()).float().mean()


METRICS: dict[str, tuple[LossFn, str]] = {"accuracy": (accuracy, "max"), "acc": (accuracy, "max")}


def make_metrics(specs: Iterable[str | LossFn] | None) -> list[tuple[str, LossFn, str | None]]:
    """``(name, fn, direction)`` per metric; direction ``"max"`` / ``"min"`` / None (unknown)."""
    out = []
    for spec in specs or ():
        if isinstance(spec, str):
            if spec.lower() not in METRICS:
                raise ValueError(f"unknown metric {spec!r}; expected one of {sorted(METRICS)} or a callable")
            fn, direction = METRICS[spec.lower()]
            out.append(("accuracy" if spec.lower() == "acc" else spec.lower(), fn, direction))
        elif callable(spec):
            out.append((getattr(spec, "__name__", type(spec).__name__), spec, getattr(spec, "direction", None)))
        else:
            raise TypeError(f"metrics must be names or callables; got {spec!r}")
    return out
