"""BackupAndRestore: Keras' resume semantics (M: interrupted at epoch index 2 of 5 -> metadata epoch 2, 3 more
epochs, folder removed), atomic two-file writes, double_checkpoint fallback, and no deletion after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odkit.callbacks import BackupAndRestore, Callback, CallbackList
from tests.callbacks._fakes import FakeModel, run_fit


class Interrupt(Callback):
    """Raises at the start of epoch ``at`` (a crash: ``fit`` does not reach ``on_train_end``)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.at:
            raise KeyboardInterrupt


def _metadata(backup: Path) -> dict:
    return json.loads((backup / "training_metadata.json").read_text())


def test_interrupted_run_resumes_at_the_next_epoch(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    model = FakeModel()
    model.learning_rate = 0.123
    with pytest.raises(KeyboardInterrupt):
        run_fit(model, [BackupAndRestore(backup), Interrupt(2)], [{"loss": 1.0}] * 5)
    meta = _metadata(backup)
    assert (meta["epoch"], meta["batch"]) == (2, 0)
    assert sorted(p.name for p in backup.iterdir()) == ["state-b.odk", "training_metadata.json"]

    resumed = FakeModel()
    history = run_fit(resumed, [BackupAndRestore(backup)], [{"loss": 1.0}] * 5)
    assert resumed.loaded_states == [str(backup / meta["state_file"])]
    assert resumed.learning_rate == 0.123  # the state came back before epoch 2 ran
    assert history.epoch == [2, 3, 4]
    assert resumed._initial_epoch == 2
    assert not backup.exists()  # removed at the end of a completed run


def test_restored_weights_are_those_of_the_last_finished_epoch(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        run_fit(FakeModel(), [BackupAndRestore(backup), Interrupt(3)], [{}] * 5)
    resumed = FakeModel()
    seen = []

    class Spy(Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            seen.append(self.model.weight_value)

    run_fit(resumed, [BackupAndRestore(backup, delete_checkpoint=False), Spy()], [{}] * 5)
    assert seen[0] == 3.0  # weights after epoch index 2
    assert _metadata(backup)["epoch"] == 5


def test_nothing_to_restore_starts_at_zero(tmp_path: Path) -> None:
    model = FakeModel()
    history = run_fit(model, [BackupAndRestore(tmp_path / "backup")], [{}] * 2)
    assert history.epoch == [0, 1] and model.loaded_states == []


def test_delete_checkpoint_false_keeps_the_folder(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    run_fit(FakeModel(), [BackupAndRestore(backup, delete_checkpoint=False)], [{}] * 3)
    assert _metadata(backup) == {"epoch": 3, "batch": 0, "state_file": "state-a.odk"}
    assert sorted(p.name for p in backup.iterdir()) == ["state-a.odk", "training_metadata.json"]


def test_early_stop_counts_as_finished(tmp_path: Path) -> None:
    class StopAt1(Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 1:
                self.model.stop_training = True

    backup = tmp_path / "backup"
    run_fit(FakeModel(), [BackupAndRestore(backup), StopAt1()], [{}] * 5)
    assert not backup.exists()


def test_train_end_after_an_interruption_keeps_the_backup(tmp_path: Path) -> None:
    # a fit that calls on_train_end from a `finally`, interrupted in the middle of epoch 1
    backup = tmp_path / "backup"
    model = FakeModel()
    cbs = CallbackList([BackupAndRestore(backup)], model=model, params={"epochs": 5, "steps": 2, "verbose": 0})
    cbs.on_train_begin({})
    cbs.on_epoch_begin(0, {})
    cbs.on_epoch_end(0, {})
    cbs.on_epoch_begin(1, {})
    cbs.on_train_end({})
    assert _metadata(backup)["epoch"] == 1


def test_train_end_between_epochs_with_epochs_left_keeps_the_backup(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    model = FakeModel()
    cbs = CallbackList([BackupAndRestore(backup)], model=model, params={"epochs": 5, "steps": 2, "verbose": 0})
    cbs.on_train_begin({})
    cbs.on_epoch_begin(0, {})
    cbs.on_epoch_end(0, {})
    cbs.on_train_end({})
    assert backup.exists()


def test_crash_while_writing_the_state_leaves_the_previous_backup_usable(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    model = FakeModel()

    def fail_from_epoch_2(epoch: int) -> None:
        model.fail_state_save = epoch == 1  # the save at the end of epoch index 2 fails half way

    with pytest.raises(OSError, match="disk full"):
        run_fit(model, [BackupAndRestore(backup)], [{}] * 5, after_epoch=fail_from_epoch_2)
    assert _metadata(backup)["epoch"] == 2
    resumed = FakeModel()
    history = run_fit(resumed, [BackupAndRestore(backup)], [{}] * 5)
    assert history.epoch == [2, 3, 4]


def test_corrupt_state_without_double_checkpoint_raises(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        run_fit(FakeModel(), [BackupAndRestore(backup), Interrupt(2)], [{}] * 5)
    (backup / _metadata(backup)["state_file"]).write_text("{trunc")
    with pytest.raises(ValueError):
        run_fit(FakeModel(), [BackupAndRestore(backup)], [{}] * 5)


def test_double_checkpoint_falls_back_to_the_previous_state(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        run_fit(FakeModel(), [BackupAndRestore(backup, double_checkpoint=True), Interrupt(3)], [{}] * 5)
    assert json.loads((backup / "training_metadata.json.bkp").read_text())["epoch"] == 2
    (backup / _metadata(backup)["state_file"]).write_text("{trunc")
    resumed = FakeModel()
    history = run_fit(resumed, [BackupAndRestore(backup, double_checkpoint=True)], [{}] * 5)
    assert history.epoch == [2, 3, 4]
    assert len(resumed.loaded_states) == 1


def test_int_save_freq_backs_up_every_n_batches(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    metas = []

    class Watch(Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            metas.append(_metadata(backup) if (backup / "training_metadata.json").exists() else None)

    run_fit(FakeModel(), [BackupAndRestore(backup, save_freq=3, delete_checkpoint=False), Watch()], [{}] * 2,
            steps=4)
    written = [(m["epoch"], m["batch"]) for m in metas if m is not None]
    assert written[0] == (0, 2) and (1, 1) in written
    assert _metadata(backup)["epoch"] == 1  # no epoch-end backup with an int save_freq


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"backup_dir": ""}, "Empty `backup_dir` argument passed"),
    ({"backup_dir": "b", "save_freq": "batch"}, "Invalid value for argument `save_freq`. Received: save_freq=batch"),
    ({"backup_dir": "b", "save_freq": 0}, "Invalid value for argument `save_freq`. Received: save_freq=0"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BackupAndRestore(**kwargs)
