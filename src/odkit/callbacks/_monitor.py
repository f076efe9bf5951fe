"""The base of callbacks that watch one logged metric: the direction (mode) and the improvement test.

Keras 3's ``MonitorCallback`` (keras/src/callbacks/monitor_callback.py), with the direction of a metric asked of
the model (``model.metric_direction(name)``) instead of Keras' compiled metric objects.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from odkit.callbacks._callback import Callback

_MODES = ("auto", "min", "max")


class _MonitorCallback(Callback):
    """Resolves ``mode`` and tests improvements of ``monitor``; not used directly.

    Args:
        monitor: the logs key watched, e.g. ``"val_loss"``, ``"val_map50"``.
        mode: ``"min"``, ``"max"`` or ``"auto"``. ``auto`` strips a leading ``val_``; ``loss`` means min;
            otherwise the model is asked (``model.metric_direction(name)``) and None is a ``ValueError`` asking
            for ``mode='max'`` or ``mode='min'``. Any other string warns and falls back to ``auto`` (Keras).
        baseline: the initial ``best`` (None: the first value is always an improvement).
        min_delta: an improvement must beat ``best`` by more than ``abs(min_delta)``.

    Unlike Keras, which resolves ``auto`` lazily at the first ``on_epoch_end``, the direction is resolved in
    ``on_train_begin`` (and at the first use when a test drives the callback without it), so a metric whose
    direction is unknown is an error before the first epoch has been spent, not after it.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in _MODES:
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          UserWarning, stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best: Any = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], Any] | None = None
        self._warned_missing = False

    def _set_monitor_op(self) -> None:
        """Choose ``less`` (min) or ``greater`` (max) from ``mode``; raise if ``auto`` cannot tell."""
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            direction = "min" if name == "loss" else None
            ask = getattr(self.model, "metric_direction", None)
            if direction is None and callable(ask):
                direction = ask(name)
            if direction not in ("min", "max"):
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but odkit isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. "
                    "Pass `mode='max'` in order to monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
            self.monitor_op = operator.lt if direction == "min" else operator.gt

    def _ensure_monitor_op(self) -> Callable[[Any, Any], Any]:
        if self.monitor_op is None:
            self._set_monitor_op()
        assert self.monitor_op is not None  # internal invariant: _set_monitor_op sets it or raises
        return self.monitor_op

    def _is_improvement(self, value: Any, reference: Any) -> bool:
        """``value`` beats ``reference`` by more than ``min_delta`` in the monitored direction (None: True)."""
        if reference is None:
            return True
        op = self._ensure_monitor_op()
        delta = -self.min_delta if op is operator.lt else self.min_delta
        return bool(op(value - delta, reference))

    def _warn_missing_once(self, logs: Mapping[str, Any], message: str) -> None:
        """Warn that ``monitor`` is missing, naming the available keys, once per ``fit`` (Keras: every epoch)."""
        if self._warned_missing:
            return
        self._warned_missing = True
        available = ",".join(logs.keys())
        warnings.warn(message.format(monitor=self.monitor, available=available), UserWarning, stacklevel=3)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._warned_missing = False
        self._ensure_monitor_op()
