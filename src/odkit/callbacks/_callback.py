"""The callback base class, the list that dispatches to many, and ``History`` (Keras 3 semantics).

Callbacks never import torch: they talk to the model only through the contract below, so they run (and are
tested) with any object that implements it.

The model contract (what ``odkit.callbacks`` may call; ``odkit.models``' ``fit`` satisfies it):

- ``model.stop_training: bool``: set True to stop after the current epoch;
- ``model.get_weights() -> list[np.ndarray]`` / ``model.set_weights(list)``;
- ``model.save(path)`` writes a whole model (``.odk``); ``model.save_weights(path)`` weights (``.safetensors``);
- ``model.learning_rate``: float property, settable;
- ``model.metric_direction(name) -> "max" | "min" | None`` for a logged metric name without ``val_``;
- ``model.save_training_state(path)`` / ``model.load_training_state(path)``: everything to resume exactly;
- ``model._initial_epoch: int``: the epoch ``fit`` starts at (read after ``on_train_begin``);
- ``model.is_main_process: bool`` (optional, True when absent): False on the ranks other than 0 of a
  distributed ``fit`` (torchrun). There a :class:`CallbackList` skips the callbacks marked
  ``rank_zero_only`` (those that write files), and the others see the same, global, epoch logs on every rank;
  ``fit`` sends rank 0's ``stop_training`` to every rank after ``on_epoch_end``.

``params`` (set by ``fit``): ``{"epochs": int, "steps": int | None, "verbose": int}``. Logs are dicts of floats
(``loss``, ``accuracy``, ``val_loss``, ``val_map50``...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Logs = dict[str, Any]


def _pythonify_logs(logs: Mapping[str, Any] | None) -> Logs:
    """A new dict of ``logs``: nested dicts flattened, keys sorted, values made ``float`` where ``float()`` works.

    Keras' ``pythonify_logs``: scalar tensors and numpy scalars become Python floats; anything else (strings,
    arrays of several values) is kept as is. The caller's dict is never modified.
    """
    result: Logs = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, Mapping):
            result.update(_pythonify_logs(value))
            continue
        with contextlib.suppress(TypeError, ValueError, RuntimeError):
            value = float(value)
        result[key] = value
    return result


class Callback:
    """Base class of training callbacks, with Keras' hooks.

    Subclass it and override the hooks you need; ``fit`` calls them through a :class:`CallbackList`. Batch
    hooks get the batch index within the epoch (0-based); epoch hooks the epoch index (0-based); ``logs`` is a
    dict of floats (see the module docstring for the model contract).

    Attributes:
        model: the model being trained (set by :meth:`set_model`); None before.
        params: ``{"epochs", "steps", "verbose"}`` from ``fit`` (set by :meth:`set_params`); None before.
        rank_zero_only: class attribute: in a distributed ``fit`` only rank 0 calls this callback's hooks
            (True for the callbacks that write files: checkpoints, CSV logs).
    """

    rank_zero_only = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] | None = None

    def set_params(self, params: dict[str, Any] | None) -> None:
        """Receive ``fit``'s parameters."""
        self.params = params

    def set_model(self, model: Any) -> None:
        """Receive the model being trained."""
        self.model = model

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Backwards compatibility alias of :meth:`on_train_batch_begin` (Keras)."""

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Backwards compatibility alias of :meth:`on_train_batch_end` (Keras)."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called at the start of epoch ``epoch`` (0-based), in training only."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called at the end of epoch ``epoch`` (0-based) with the epoch's metrics (validation ones ``val_``)."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before training batch ``batch`` (0-based within the epoch); calls :meth:`on_batch_begin`."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after training batch ``batch`` with the running epoch metrics; calls :meth:`on_batch_end`."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before a batch of ``evaluate`` (or of ``fit``'s validation)."""

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after a batch of ``evaluate`` (or of ``fit``'s validation)."""

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before a batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after a batch of ``predict``."""

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once at the end of ``fit`` (not when it raised) with the last epoch's logs."""

    def on_test_begin(self, logs: Logs | None = None) -> None:
        """Called at the start of ``evaluate`` or of ``fit``'s validation."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """Called at the end of ``evaluate`` or of ``fit``'s validation."""

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: Logs | None = None) -> None:
        """Called at the end of ``predict``."""


class History(Callback):
    """Records every epoch's logs; ``fit`` returns it.

    Attributes:
        history: ``{metric name: [value per epoch]}``; not cleared between ``fit`` calls (Keras).
        epoch: the epoch indices (0-based) of this ``fit`` call, one per recorded epoch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class CallbackList(Callback):
    """Dispatches every hook to many callbacks, in order, as Keras' ``CallbackList`` does.

    Each hook first makes a new dict of the logs (:func:`_pythonify_logs`: flattened, keys sorted, scalars as
    ``float``), and hands that same dict to every callback in turn, so what one callback adds (e.g.
    ``learning_rate`` from :class:`ReduceLROnPlateau`) is seen by the callbacks after it (e.g. ``History``),
    while the caller's dict is never modified.

    Args:
        callbacks: the callbacks, called in this order.
        add_history: append a :class:`History` unless one is in ``callbacks``.
        model: passed to every callback's ``set_model`` (and ``model.history`` is set to the History).
        params: passed to every callback's ``set_params``; Keras' keyword form (``epochs=10, steps=5``) is
            accepted too and merged into it.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False, model: Any = None,
                 params: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.callbacks: list[Callback] = list(callbacks or [])
        self._in_begin_end_block_count = 0
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        self.set_model(model)
        self.set_params({**(params or {}), **kwargs})

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def append(self, callback: Callback) -> None:
        """Add ``callback`` at the end (it gets this list's model and params)."""
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)
        self.callbacks.append(callback)

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _on_begin(self) -> None:
        self._in_begin_end_block_count += 1

    def _on_end(self) -> None:
        self._in_begin_end_block_count -= 1
        if self._in_begin_end_block_count < 0:
            raise ValueError("`on_xxx_end` called without corresponding `on_xxx_begin`")

    def _call(self, hook: str, *args: Any, logs: Mapping[str, Any] | None) -> None:
        clean = _pythonify_logs(logs)
        main = bool(getattr(self.model, "is_main_process", True)) if self.model is not None else True
        for callback in self.callbacks:
            if main or not callback.rank_zero_only:
                getattr(callback, hook)(*args, clean)

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._on_begin()
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._call("on_train_end", logs=logs)
        self._on_end()

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._on_begin()
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._call("on_test_end", logs=logs)
        self._on_end()

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._on_begin()
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._call("on_predict_end", logs=logs)
        self._on_end()


class BatchCounter:
    """Keras' ``save_freq=N`` counter, shared by ModelCheckpoint and BackupAndRestore: training batches are
    counted across epoch boundaries (a batch index not past the last one seen starts a new epoch) and
    :meth:`tick` is True every ``every`` of them; ``"epoch"`` never ticks."""

    def __init__(self, every: str | int) -> None:
        self.every = every
        self.reset()

    def reset(self) -> None:
        """Forget the batches seen (a new ``fit``)."""
        self.seen = 0
        self.last: int | None = None

    def tick(self, batch: int) -> bool:
        """Count batch ``batch`` (0-based within its epoch); True when ``every`` batches have passed."""
        if self.every == "epoch":
            return False
        self.seen += batch + 1 if self.last is None or batch <= self.last else batch - self.last
        self.last = batch
        if self.seen >= int(self.every):
            self.seen = 0
            return True
        return False
