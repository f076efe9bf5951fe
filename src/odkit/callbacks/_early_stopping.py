"""``EarlyStopping``: stop training when a monitored metric has stopped improving (Keras 3 rules)."""

from __future__ import annotations

from typing import Any

import numpy as np

from odkit.callbacks._callback import Logs
from odkit.callbacks._monitor import _MonitorCallback


class EarlyStopping(_MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras 3's algorithm).

    At each epoch end (epochs before ``start_from_epoch``, and epochs whose logs lack ``monitor``, are
    skipped): ``wait += 1``; an improvement on the best value (by more than ``min_delta``) records it, its
    epoch and (``restore_best_weights``) a copy of the weights, and resets ``wait`` to 0 when there is no
    ``baseline`` or the value also beats it; otherwise, once ``wait >= patience`` and the epoch is not the
    first, ``model.stop_training`` is set. The first monitored epoch is always an improvement, so
    ``patience=0`` runs 2 epochs and ``patience=2`` with nothing improving runs 3.

    Args:
        monitor: the logs key watched.
        min_delta: an improvement must beat the best by more than ``abs(min_delta)``.
        patience: number of epochs with no improvement after which training stops.
        verbose: 0 silent; 1 prints ``Epoch E: early stopping`` and ``Restoring model weights from the end of
            the best epoch: E.`` at train end (E 1-based).
        mode: ``"auto"``, ``"min"`` or ``"max"`` (auto: ``loss`` is min, other metrics are asked of the model;
            unknown is a ``ValueError`` asking for ``mode``).
        baseline: a value to reach: if no epoch beats it, training stops after ``patience`` epochs.
        restore_best_weights: at train end, set the weights of the best epoch, whether or not training was
            stopped early (Keras 3). The snapshots are copies in host memory (``model.get_weights()``).
        start_from_epoch: epochs with index < this are ignored entirely (a warm-up).

    Positional order is Keras': ``EarlyStopping('val_loss', 0, 5, 1, restore_best_weights=True)`` is
    monitor, min_delta, patience, verbose.

    Differences from Keras, on purpose:

    - **baseline**: Keras returns right after any improvement on the best value, before the stop check, so a
      metric that improves every epoch without ever reaching ``baseline`` never stops (measured: all 10 epochs
      ran), contrary to its own docstring ("if no epoch improves on baseline, training will run for patience
      epochs"). Here an improvement that does not beat the baseline still counts towards ``patience``, so
      training stops after ``patience`` epochs as documented.
    - a missing ``monitor`` key warns once per ``fit``, naming the available keys (Keras: every epoch);
    - the weight snapshots are copied (``np.array(w, copy=True)``) so a model whose ``get_weights`` returns
      views of its live tensors cannot change them;
    - ``mode`` is resolved in ``on_train_begin`` (Keras: first epoch end).

    Attributes:
        wait, stopped_epoch, best, best_epoch, best_weights: reset in ``on_train_begin``, so an instance can be
            reused across ``fit`` calls.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        super().on_train_begin(logs)

    def _snapshot(self) -> list[np.ndarray]:
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._ensure_monitor_op()
        current = self.get_monitor_value(logs or {})
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self._snapshot()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
                return
            # odkit fix: an improvement that misses the baseline still counts towards patience (Keras returns).
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Logs) -> Any:
        """``logs[monitor]``, or None with a warning (once per ``fit``) naming the available keys."""
        value = logs.get(self.monitor)
        if value is None:
            self._warn_missing_once(logs, "Early stopping conditioned on metric `{monitor}` which is not "
                                          "available. Available metrics are: {available}")
        return value
