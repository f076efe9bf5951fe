"""Callbacks that stop training for a reason other than a plateau: a NaN loss, a time budget."""

from __future__ import annotations

import math
import time

import numpy as np

from odkit.callbacks._callback import Callback, Logs


class TerminateOnNaN(Callback):
    """Stop training when a batch's ``loss`` is NaN or infinite (Keras).

    Prints ``Batch B: Invalid loss, terminating training`` and sets ``model.stop_training`` (``fit`` stops
    at the end of that batch or epoch, then calls ``on_train_end`` of every callback).

    Args:
        raise_error: instead, raise ``RuntimeError`` at once (no ``on_train_end``: a ``BackupAndRestore``
            backup is kept).
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                               "Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class TimeLimit(Callback):
    """Stop after the last epoch that fits in ``seconds`` of training (an odkit addition; Keras has none).

    The clock (``time.monotonic``) starts at ``on_train_begin``. At each epoch end the duration of an epoch
    is estimated as the mean over this ``fit``'s epochs so far (time since train begin / epochs done, so it
    includes validation and the other callbacks); if ``elapsed + estimate > seconds``, the next epoch would
    overrun the budget and ``model.stop_training`` is set. An epoch is never cut short: the first one always
    runs in full, even if it alone is longer than the budget, and the total can exceed ``seconds`` when
    epochs get slower than their mean. A run resumed with ``BackupAndRestore`` gets a fresh budget.

    Args:
        seconds: the budget, > 0.
        verbose: 0 quiet; 1 prints ``Epoch E: TimeLimit stopping: 590.1s of 600s used, the next epoch
            (~20.3s) would not fit.`` when it stops training.

    Attributes:
        stopped_epoch: the 0-based epoch after which it stopped training, or None.
        elapsed: seconds from train begin to the latest epoch end.
    """

    def __init__(self, seconds: float, verbose: int = 0) -> None:
        super().__init__()
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"TimeLimit needs a finite number of seconds > 0; got seconds={seconds!r}")
        self.seconds = float(seconds)
        self.verbose = verbose
        self.stopped_epoch: int | None = None
        self.elapsed = 0.0
        self._start: float | None = None
        self._epochs_done = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._start = time.monotonic()
        self._epochs_done = 0
        self.stopped_epoch = None
        self.elapsed = 0.0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._start is None:
            raise RuntimeError("TimeLimit.on_epoch_end called before on_train_begin")
        self._epochs_done += 1
        self.elapsed = time.monotonic() - self._start
        estimate = self.elapsed / self._epochs_done
        if self.elapsed + estimate <= self.seconds:
            return
        self.stopped_epoch = epoch
        self.model.stop_training = True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: TimeLimit stopping: {self.elapsed:.1f}s of {self.seconds:g}s used, "
                  f"the next epoch (~{estimate:.1f}s) would not fit.")
