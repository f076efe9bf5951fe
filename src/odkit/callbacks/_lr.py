"""Learning-rate callbacks: ``LearningRateScheduler`` (a function of the epoch) and ``ReduceLROnPlateau``."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from odkit.callbacks._callback import Callback, Logs
from odkit.callbacks._monitor import _MonitorCallback


def _takes_two_arguments(schedule: Callable[..., float]) -> bool:
    """Whether ``schedule`` can be called as ``schedule(epoch, lr)``."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # builtins without a signature: assume the current API
        return True
    try:
        signature.bind(0, 0.0)
    except TypeError:
        return False
    return True


class LearningRateScheduler(Callback):
    """Set ``model.learning_rate = schedule(epoch, lr)`` at the start of every epoch (Keras).

    Args:
        schedule: ``schedule(epoch, lr) -> float`` (epoch 0-based, lr the current rate); a one-argument
            ``schedule(epoch)`` (Keras' old API) is accepted too.
        verbose: 0 quiet; 1 prints ``Epoch E: LearningRateScheduler setting learning rate to LR.``

    The rate in use is added to the epoch's logs as ``learning_rate`` (so ``History`` and ``CSVLogger``
    after this callback record it), as Keras does.

    Difference from Keras: which API the schedule uses is decided from its signature; Keras calls
    ``schedule(epoch, lr)`` and, on any ``TypeError``, retries ``schedule(epoch)``, which hid ``TypeError``\\ s
    raised inside the schedule behind a confusing second error.

    Raises:
        ValueError: if the schedule returns something other than a float (Keras' message).
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if not hasattr(self.model, "learning_rate"):
            raise ValueError('Model must have a "learning_rate" attribute.')
        if _takes_two_arguments(self.schedule):
            learning_rate = self.schedule(epoch, float(self.model.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        self.model.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.learning_rate)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving (Keras 3).

    At each epoch end the current rate is added to the logs as ``learning_rate``; then, if ``monitor`` is in
    the logs: during a cooldown the counter goes down and ``wait`` is reset; an improvement (by more than
    ``min_delta``) resets ``wait``; otherwise, outside a cooldown, ``wait += 1`` and once ``wait >= patience``
    the rate becomes ``max(lr * factor, min_lr)`` (if it is above ``min_lr``), the cooldown starts and
    ``wait`` is reset.

    Args:
        monitor: the logs key watched.
        factor: ``new_lr = lr * factor``; must be < 1.
        patience: epochs with no improvement before a reduction.
        verbose: 0 quiet; 1 prints ``Epoch E: ReduceLROnPlateau reducing learning rate to LR.``
        mode: ``"auto"``, ``"min"`` or ``"max"`` (see ``EarlyStopping``).
        min_delta: threshold for a new optimum.
        cooldown: epochs to wait after a reduction before counting ``wait`` again.
        min_lr: lower bound on the learning rate.

    Differences from Keras, on purpose: a missing ``monitor`` warns once per ``fit`` (Keras: every epoch);
    the rate (a Python float here) is compared with ``min_lr`` as a float (Keras compares with
    ``float32(min_lr)`` because its rate is a float32 variable; under NumPy 1's promotion rules that made a
    rate already at ``min_lr=1e-5`` "reduce" to itself again every ``patience`` epochs).

    Raises:
        ValueError: if ``factor >= 1``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0
        super().on_train_begin(logs)

    def in_cooldown(self) -> bool:
        """Whether a reduction happened less than ``cooldown`` epochs ago."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._ensure_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            self._warn_missing_once(logs, "Learning rate reduction is conditioned on metric `{monitor}` which is "
                                          "not available. Available metrics are: {available}.")
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, epoch: int) -> bool:
        old_lr = float(self.model.learning_rate)
        if old_lr <= self.min_lr:
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        self.model.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
