"""``BackupAndRestore``: back up the whole training state so an interrupted ``fit`` resumes where it stopped."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from odkit.callbacks._callback import BatchCounter, Callback, Logs
from odkit.errors import OdkitError

_SLOTS = ("state-a.odk", "state-b.odk")
_METADATA = "training_metadata.json"


def _write_json_atomically(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` through a temp file in the same folder, fsync and ``os.replace``."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class BackupAndRestore(Callback):
    """Back up the training state at each epoch end (or every N batches) and restore it when ``fit`` restarts.

    Layout of ``backup_dir``: ``training_metadata.json`` = ``{"epoch": E, "batch": B, "state_file": name}``
    (E the next epoch to run, B 0 at an epoch end: Keras' keys) and the state file it names, written by
    ``model.save_training_state`` (weights, optimizer, scheduler, EMA, RNG: all that ``fit`` needs to continue
    exactly). A new state is written to the *other* of two files (``state-a.odk`` / ``state-b.odk``) and only
    then is the metadata replaced atomically (temp file, fsync, ``os.replace``): a kill at any moment leaves a
    metadata file naming a complete state.

    ``on_train_begin``: if the metadata exists, ``model.load_training_state(state)`` and
    ``model._initial_epoch = E``, so ``fit`` runs the remaining epochs. ``on_train_end``: with
    ``delete_checkpoint``, the whole ``backup_dir`` is removed, unless training was interrupted (an epoch
    begun and not ended, or epochs left without ``model.stop_training``: a ``fit`` that calls
    ``on_train_end`` from a ``finally`` keeps its backup). A ``fit`` that raises never reaches
    ``on_train_end``, so its backup stays, as in Keras.

    In a distributed ``fit`` (torchrun) every rank restores the same backup (``backup_dir`` must be on a
    filesystem every rank sees) and only rank 0 writes or removes it.

    Args:
        backup_dir: a folder for this run's backup only (not shared with other callbacks or runs).
        save_freq: ``"epoch"``, or an int N: back up every N training batches (counted across epochs, as in
            ``ModelCheckpoint``). As in Keras, a batch-level backup records the epoch it was taken in, and a
            resumed run starts that epoch again from its first batch with the weights of the backup, so only
            epoch-end backups resume exactly.
        double_checkpoint: keep the previous state and metadata too (``training_metadata.json.bkp``) and fall
            back to them when the latest cannot be read (``OSError`` or an ``OdkitError`` of the loader).
        delete_checkpoint: remove ``backup_dir`` when training ends normally.

    Differences from Keras: the state is odkit's resumable checkpoint (Keras: ``latest.weights.h5``); the
    writes are atomic through the two state files; Keras' check that the model is built is the model's
    concern; the epoch recorded by a batch-level backup is the epoch in progress even after a resume (Keras
    recorded 0 until the first epoch end of the resumed run); the backup is kept when ``on_train_end`` comes
    after an interruption.
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        is_count = isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq >= 1
        if save_freq != "epoch" and not is_count:
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             "Expected either 'epoch' or an integer value (>= 1).")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._metadata_path = os.path.join(self.backup_dir, _METADATA)
        self._prev_metadata_path = f"{self._metadata_path}.bkp"
        self._batches = BatchCounter(save_freq)
        self._current_epoch = 0
        self._epoch_open = False
        self._last_epoch_ended: int | None = None

    # -- restore --------------------------------------------------------------------------------------------

    def _read_metadata(self, path: str) -> dict[str, Any]:
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
        if not isinstance(metadata, dict) or not {"epoch", "state_file"} <= metadata.keys():
            raise OdkitError(f"{path}: expected a BackupAndRestore metadata file with 'epoch' and 'state_file' "
                             f"keys; got {metadata!r}")
        return metadata

    def _restore(self, metadata_path: str) -> None:
        metadata = self._read_metadata(metadata_path)
        self.model.load_training_state(os.path.join(self.backup_dir, metadata["state_file"]))
        self.model._initial_epoch = int(metadata["epoch"])
        self._current_epoch = int(metadata["epoch"])

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._epoch_open = False
        self._last_epoch_ended = None
        self._batches.reset()
        if not os.path.exists(self._metadata_path):
            return
        try:
            self._restore(self._metadata_path)
        except (OSError, ValueError, OdkitError):
            if not (self.double_checkpoint and os.path.exists(self._prev_metadata_path)):
                raise
            self._restore(self._prev_metadata_path)

    # -- back up --------------------------------------------------------------------------------------------

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_open = True
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_open = False
        self._last_epoch_ended = epoch
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(batch=0)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._batches.tick(batch):
            self._save(batch=batch)

    def _save(self, batch: int) -> None:
        if not getattr(self.model, "is_main_process", True):
            return  # a distributed fit: rank 0 writes; every rank restores (on_train_begin)
        os.makedirs(self.backup_dir, exist_ok=True)
        current = None
        if os.path.exists(self._metadata_path):
            try:
                current = self._read_metadata(self._metadata_path)
            except (OSError, ValueError, OdkitError):
                current = None
        old_slot = current["state_file"] if current else None
        new_slot = _SLOTS[1] if old_slot == _SLOTS[0] else _SLOTS[0]
        self.model.save_training_state(os.path.join(self.backup_dir, new_slot))
        if self.double_checkpoint and current is not None:
            _write_json_atomically(self._prev_metadata_path, current)
        _write_json_atomically(self._metadata_path,
                               {"epoch": self._current_epoch, "batch": batch, "state_file": new_slot})
        if not self.double_checkpoint and old_slot in _SLOTS and old_slot != new_slot:
            old_path = os.path.join(self.backup_dir, old_slot)
            if os.path.exists(old_path):
                os.remove(old_path)

    # -- clean up -------------------------------------------------------------------------------------------

    def _interrupted(self) -> bool:
        if self._epoch_open:
            return True
        if self.model is not None and getattr(self.model, "stop_training", False):
            return False
        epochs = (self.params or {}).get("epochs")
        if epochs is None:
            return False
        return self._last_epoch_ended is not None and self._last_epoch_ended < int(epochs) - 1

    def on_train_end(self, logs: Logs | None = None) -> None:
        if not getattr(self.model, "is_main_process", True):
            return
        if self.delete_checkpoint and os.path.isdir(self.backup_dir) and not self._interrupted():
            shutil.rmtree(self.backup_dir)
