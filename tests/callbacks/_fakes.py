"""A fake model implementing the callbacks' contract (numpy weights), a fit-like driver, and Keras' reference.

The driver calls the hooks in the order ``odkit.models``' ``fit`` does (and Keras 3's): ``on_train_begin``;
per epoch ``on_epoch_begin``, per batch ``on_train_batch_begin`` / training / ``on_train_batch_end``, then
``on_epoch_end`` with the epoch's logs; a break when ``model.stop_training``; ``on_train_end``.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from odkit.callbacks import Callback, CallbackList, History

DIRECTIONS = {"accuracy": "max", "map50": "max", "map": "max", "iou": "max", "box_loss": "min"}


class FakeModel:
    """The model contract with numpy weights.

    Training step ``s`` of epoch ``e`` fills the weights with ``e + (s+1)/steps``, so after epoch ``e`` every
    weight equals ``e + 1``: the weights say which epoch they come from.
    ``get_weights`` returns the live arrays (as a torch model's ``.numpy()`` views would), so a callback that
    keeps them without copying sees them change.
    """

    def __init__(self, learning_rate: float = 0.01, directions: dict[str, str] | None = None) -> None:
        self.stop_training = False
        self._initial_epoch = 0
        self.learning_rate = learning_rate
        self.weights = [np.zeros(3), np.zeros((2, 2))]
        self.directions = DIRECTIONS if directions is None else directions
        self.saved: list[tuple[str, str]] = []
        self.loaded_states: list[str] = []
        self.fail_state_save = False

    def train_step(self, epoch: int, step: int, steps: int) -> None:
        for w in self.weights:
            w[...] = epoch + (step + 1) / steps

    def get_weights(self) -> list[np.ndarray]:
        return self.weights

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        for w, new in zip(self.weights, weights, strict=True):
            w[...] = new

    @property
    def weight_value(self) -> float:
        values = {float(v) for w in self.weights for v in w.ravel()}
        assert len(values) == 1, values
        return values.pop()

    def save(self, path: str) -> None:
        Path(path).write_text(f"model {self.weight_value}")
        self.saved.append(("model", str(path)))

    def save_weights(self, path: str) -> None:
        Path(path).write_text(f"weights {self.weight_value}")
        self.saved.append(("weights", str(path)))

    def metric_direction(self, name: str) -> str | None:
        return self.directions.get(name)

    def save_training_state(self, path: str) -> None:
        text = json.dumps({"weights": self.weight_value, "learning_rate": self.learning_rate})
        if self.fail_state_save:  # a crash half way through the write
            Path(path).write_text(text[: len(text) // 2])
            raise OSError("disk full")
        Path(path).write_text(text)

    def load_training_state(self, path: str) -> None:
        state = json.loads(Path(path).read_text())  # a truncated file raises ValueError (JSONDecodeError)
        for w in self.weights:
            w[...] = state["weights"]
        self.learning_rate = state["learning_rate"]
        self.loaded_states.append(str(path))


def run_fit(model: FakeModel, callbacks: Sequence[Callback], epoch_logs: Sequence[dict[str, Any]] | None = None,
            *, epochs: int | None = None, steps: int = 4,
            batch_logs: Callable[[int, int], dict[str, Any]] | None = None,
            after_epoch: Callable[[int], None] | None = None) -> History:
    """Drive ``callbacks`` as ``fit`` would; ``epoch_logs[e]`` are epoch ``e``'s logs; returns the History."""
    epoch_logs = list(epoch_logs or [])
    epochs = len(epoch_logs) if epochs is None else epochs
    history = History()
    cbs = CallbackList([*callbacks, history], model=model, params={"epochs": epochs, "steps": steps, "verbose": 0})
    model.stop_training = False
    cbs.on_train_begin({})
    logs: dict[str, Any] = {}
    for epoch in range(model._initial_epoch, epochs):
        cbs.on_epoch_begin(epoch, {})
        for step in range(steps):
            cbs.on_train_batch_begin(step, {})
            model.train_step(epoch, step, steps)
            cbs.on_train_batch_end(step, batch_logs(epoch, step) if batch_logs else {"loss": 1.0 / (step + 1)})
        logs = dict(epoch_logs[epoch]) if epoch < len(epoch_logs) else {"loss": 1.0}
        cbs.on_epoch_end(epoch, logs)
        if after_epoch is not None:
            after_epoch(epoch)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return history


def series(monitor: str, values: Sequence[float], **extra: float) -> list[dict[str, float]]:
    """Epoch logs with ``monitor`` taking ``values`` (and ``loss`` so that other keys exist)."""
    return [{"loss": 1.0, monitor: v, **extra} for v in values]


def keras_early_stopping(values: Sequence[float | None], *, min_delta: float = 0, patience: int = 0,
                         mode: str = "min", baseline: float | None = None,
                         start_from_epoch: int = 0) -> tuple[int, int]:
    """Keras 3's EarlyStopping.on_epoch_end, transcribed (keras/src/callbacks/early_stopping.py, 3.15).

    Returns (epochs run, best epoch index). A reference for the rules table: it must reproduce the measured
    Keras numbers, and differ from odkit's only where odkit documents a fix.
    """
    op = operator.lt if mode == "min" else operator.gt
    delta = -abs(min_delta) if mode == "min" else abs(min_delta)

    def improves(value: float, reference: float | None) -> bool:
        return reference is None or bool(op(value - delta, reference))

    wait, best, best_epoch = 0, None, 0
    for epoch, current in enumerate(values):
        if current is None or epoch < start_from_epoch:
            continue
        wait += 1
        if improves(current, best):
            best, best_epoch = current, epoch
            if baseline is None or improves(current, baseline):
                wait = 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch
    return len(values), best_epoch
