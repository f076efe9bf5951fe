"""``ModelCheckpoint``: save the model (or its weights) every epoch, every N batches, or at each new best."""

from __future__ import annotations

import os
import warnings

import numpy as np

from odkit.callbacks._callback import BatchCounter, Logs
from odkit.callbacks._monitor import _MonitorCallback

MODEL_SUFFIX = ".odk"
WEIGHTS_SUFFIX = ".safetensors"


class ModelCheckpoint(_MonitorCallback):
    """Save the model or its weights at some frequency, optionally only when ``monitor`` improves (Keras 3).

    Args:
        filepath: where to save; may hold ``str.format`` fields filled at each save with ``epoch`` (1-based),
            ``batch`` (1-based, integer ``save_freq`` only, unless the logs have a ``batch`` key) and the logs'
            keys, e.g. ``"ckpt/{epoch:02d}-{val_loss:.2f}.odk"``. Must end in ``.odk`` (a whole model, odkit's
            twin of ``.keras``) or, with ``save_weights_only``, in ``.safetensors`` (Keras: ``.weights.h5``).
            Missing parent folders are created; a field missing from the logs is a ``KeyError``.
        monitor: the logs key judged by ``save_best_only``.
        verbose: 0 silent; 1 prints Keras 3.15's messages (``Epoch E: val_loss improved from None to 0.71234,
            saving model to ...``, ``... did not improve from ...``, ``... saving model to ...``,
            ``... finished saving model to ...``).
        save_best_only: save only when ``monitor`` improves on :attr:`best`; a constant ``filepath`` is then
            overwritten by each new best. If ``monitor`` is not in the logs, a warning is issued and the model
            is saved anyway (Keras).
        save_weights_only: ``model.save_weights(path)`` instead of ``model.save(path)``.
        mode: ``"auto"``, ``"min"`` or ``"max"`` (see ``_MonitorCallback``; auto asks the model about
            metrics other than the loss and raises when it cannot tell).
        save_freq: ``"epoch"``, or an int N: save after every N training batches, counted across epoch
            boundaries (N=3 with 4 batches per epoch saves after epoch 1 batch 3 and epoch 2 batch 2). Batch
            logs hold running training metrics only (no ``val_`` keys).
        initial_value_threshold: the initial :attr:`best` for ``save_best_only``.

    Attributes:
        best: the best ``monitor`` value saved so far (starts at ``initial_value_threshold``); kept across
            ``fit`` calls, as in Keras.
        best_model_path: the file written at the latest improvement (``save_best_only``); None until then.

    Differences from Keras, on purpose: the suffixes above; the missing-``monitor`` warning also names the
    available keys and is given once per ``fit`` (Keras repeats it at every save); ``mode`` is resolved in
    ``on_train_begin`` (Keras: at the first epoch end, which made a second ``save_best_only`` save by batch
    before the first epoch end fail); ``save_freq`` must be ``"epoch"`` or an int >= 1 (Keras accepted
    ``True`` and 0).
    """

    rank_zero_only = True  # writes files: rank 0 only in a distributed fit

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.best_model_path: str | None = None
        self._batches = BatchCounter(save_freq)
        self._current_epoch = 0
        self._improved = False

        is_count = isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq >= 1
        if save_freq != "epoch" and not is_count:
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer "
                             "values (>= 1)")
        if save_weights_only:
            if not self.filepath.endswith(WEIGHTS_SUFFIX):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided "
                                 f"must end in `{WEIGHTS_SUFFIX}` (odkit weights format). "
                                 f"Received: filepath={self.filepath}")
        elif not self.filepath.endswith(MODEL_SUFFIX):
            raise ValueError(f"The filepath provided must end in `{MODEL_SUFFIX}` (odkit model format). "
                             f"Received: filepath={self.filepath}")

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._batches.tick(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._ensure_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _get_file_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from e

    def _should_save_model(self, epoch: int, logs: Logs, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            self._warn_missing_once(logs, "Can save best model only with {monitor} available. "
                                          "Available metrics are: {available}")
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.", UserWarning, stacklevel=3)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            self._improved = True
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: Logs | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        self._improved = False
        if not self._should_save_model(epoch, logs, filepath):
            return
        directory_error = IsADirectoryError(
            "Please specify a non-directory filepath for ModelCheckpoint. "
            f"Filepath used is an existing directory: {filepath}")
        if os.path.isdir(filepath):
            raise directory_error
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        try:
            if self.save_weights_only:
                self.model.save_weights(filepath)
            else:
                self.model.save(filepath)
        except IsADirectoryError as e:
            raise directory_error from e
        if self._improved:
            self.best_model_path = filepath
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")
