"""ModelCheckpoint: Keras 3.15's templates, save_best_only, save_freq counter, suffix errors and messages."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from odkit.callbacks import ModelCheckpoint
from tests.callbacks._fakes import FakeModel, run_fit, series


def _names(model: FakeModel) -> list[str]:
    return [Path(path).name for _, path in model.saved]


def test_template_epoch_is_one_based_with_log_fields(tmp_path: Path) -> None:
    # M: ep{epoch:02d}-vl{val_loss:.2f}-va{val_accuracy:.3f}.keras -> ep01-vl0.71-va0.438 ... ep04-vl0.64-va0.625
    logs = [{"loss": 1.0, "val_loss": vl, "val_accuracy": va}
            for vl, va in [(0.7123, 0.4375), (0.69, 0.5), (0.6601, 0.5625), (0.6412, 0.625)]]
    model = FakeModel()
    run_fit(model, [ModelCheckpoint(str(tmp_path / "ep{epoch:02d}-vl{val_loss:.2f}-va{val_accuracy:.3f}.odk"))], logs)
    assert _names(model) == ["ep01-vl0.71-va0.438.odk", "ep02-vl0.69-va0.500.odk", "ep03-vl0.66-va0.562.odk",
                             "ep04-vl0.64-va0.625.odk"]
    assert sorted(p.name for p in tmp_path.iterdir()) == _names(model)
    assert (tmp_path / "ep02-vl0.69-va0.500.odk").read_text() == "model 2.0"  # the weights after epoch 2


def test_missing_template_field_is_keras_key_error(tmp_path: Path) -> None:
    filepath = str(tmp_path / "{epoch}-{val_loss:.2f}.odk")
    with pytest.raises(KeyError) as info:
        run_fit(FakeModel(), [ModelCheckpoint(filepath)], [{"loss": 1.0}])
    assert info.value.args[0] == f'Failed to format this callback filepath: "{filepath}". Reason: \'val_loss\''


@pytest.mark.parametrize(("batches", "epochs", "expected"), [
    (4, 2, ["e1-b3.odk", "e2-b2.odk"]),  # M: the counter carries across epochs
    (4, 3, ["e1-b3.odk", "e2-b2.odk", "e3-b1.odk", "e3-b4.odk"]),
    (3, 2, ["e1-b3.odk", "e2-b3.odk"]),
])
def test_int_save_freq_counts_batches_across_epochs(tmp_path: Path, batches: int, epochs: int,
                                                    expected: list[str]) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.odk"), save_freq=3)
    run_fit(model, [mc], [{"loss": 1.0}] * epochs, steps=batches)
    assert _names(model) == expected


def test_batch_key_in_logs_wins(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "b{batch}.odk"), save_freq=2)
    run_fit(model, [mc], [{"loss": 1.0}], steps=2, batch_logs=lambda e, s: {"loss": 1.0, "batch": 7})
    assert _names(model) == ["b7.0.odk"]  # logs values are floats (Keras' pythonify_logs too)


def test_save_best_only_overwrites_one_file_with_each_best(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(tmp_path / "best.odk", save_best_only=True)
    run_fit(model, [mc], series("val_loss", [0.9, 0.8, 0.85, 0.7, 0.75]))
    assert [p for _, p in model.saved] == [str(tmp_path / "best.odk")] * 3
    assert (tmp_path / "best.odk").read_text() == "model 4.0"
    assert mc.best == 0.7 and mc.best_model_path == str(tmp_path / "best.odk")


def test_save_best_only_max_mode_and_best_model_path(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m-{epoch}.odk"), monitor="val_map50", save_best_only=True)
    run_fit(model, [mc], series("val_map50", [0.2, 0.5, 0.4, 0.6, 0.6]))
    assert _names(model) == ["m-1.odk", "m-2.odk", "m-4.odk"]
    assert mc.best == 0.6 and mc.best_model_path == str(tmp_path / "m-4.odk")


def test_initial_value_threshold_never_beaten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # M: threshold 1e-4 for val_loss -> "did not improve from 0.00010" every epoch, no file written
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m.odk"), verbose=1, save_best_only=True, initial_value_threshold=1e-4)
    run_fit(model, [mc], series("val_loss", [0.5, 0.4]))
    assert model.saved == [] and list(tmp_path.iterdir()) == [] and mc.best_model_path is None
    assert capsys.readouterr().out == ("\nEpoch 1: val_loss did not improve from 0.00010\n"
                                       "\nEpoch 2: val_loss did not improve from 0.00010\n")


def test_initial_value_threshold_beaten(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m{epoch}.odk"), save_best_only=True, initial_value_threshold=0.6)
    run_fit(model, [mc], series("val_loss", [0.7, 0.5, 0.55, 0.4]))
    assert _names(model) == ["m2.odk", "m4.odk"]


def test_verbose_messages_save_best_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fp = str(tmp_path / "m.odk")
    run_fit(FakeModel(), [ModelCheckpoint(fp, verbose=1, save_best_only=True)], series("val_loss", [0.712341, 0.8]))
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 0.71234, saving model to {fp}\n"
        f"\nEpoch 1: finished saving model to {fp}\n"
        "\nEpoch 2: val_loss did not improve from 0.71234\n")


def test_verbose_messages_every_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fp = str(tmp_path / "m.odk")
    run_fit(FakeModel(), [ModelCheckpoint(fp, verbose=1)], series("val_loss", [0.7]))
    assert capsys.readouterr().out == (f"\nEpoch 1: saving model to {fp}\n\nEpoch 1: finished saving model to {fp}\n")


def test_batch_saves_print_the_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fp = str(tmp_path / "m.odk")
    run_fit(FakeModel(), [ModelCheckpoint(fp, verbose=1, save_freq=4)], [{"loss": 1.0}] * 2, steps=4)
    out = capsys.readouterr().out
    assert out.count("\nEpoch 1: saving model to") == 1 and out.count("\nEpoch 2: saving model to") == 1


def test_missing_monitor_warns_once_and_saves_anyway(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m{epoch}.odk"), monitor="val_loss", save_best_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_fit(model, [mc], [{"loss": 1.0, "accuracy": 0.5}] * 3)
    assert _names(model) == ["m1.odk", "m2.odk", "m3.odk"]
    assert [str(w.message) for w in caught] == [
        "Can save best model only with val_loss available. Available metrics are: accuracy,loss"]


def test_batch_level_best_only_sees_training_logs(tmp_path: Path) -> None:
    # Keras' top complaint: with an int save_freq the batch logs have no val_ keys.
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m.odk"), save_best_only=True, save_freq=2)
    with pytest.warns(UserWarning, match="Available metrics are: loss"):
        run_fit(model, [mc], series("val_loss", [0.5]), steps=4)
    assert len(model.saved) == 2


def test_batch_level_best_only_with_a_training_monitor(tmp_path: Path) -> None:
    # Keras resolved the direction at the first epoch end only, so a second batch save before it crashed.
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m.odk"), monitor="loss", save_best_only=True, save_freq=1)
    run_fit(model, [mc], [{"loss": 1.0}], steps=4, batch_logs=lambda e, s: {"loss": [0.9, 0.8, 0.85, 0.7][s]})
    assert len(model.saved) == 3 and mc.best == 0.7


def test_save_weights_only(tmp_path: Path) -> None:
    model = FakeModel()
    run_fit(model, [ModelCheckpoint(str(tmp_path / "w{epoch}.safetensors"), save_weights_only=True)], [{}] * 2)
    assert model.saved == [("weights", str(tmp_path / "w1.safetensors")), ("weights", str(tmp_path / "w2.safetensors"))]


@pytest.mark.parametrize(("filepath", "weights_only", "message"), [
    ("m.keras", False, "The filepath provided must end in `.odk` (odkit model format). Received: filepath=m.keras"),
    ("m.h5", False, "The filepath provided must end in `.odk` (odkit model format). Received: filepath=m.h5"),
    ("{epoch}", False, "The filepath provided must end in `.odk` (odkit model format). Received: filepath={epoch}"),
    ("m.safetensors", False,
     "The filepath provided must end in `.odk` (odkit model format). Received: filepath=m.safetensors"),
    ("m.odk", True, "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                    "`.safetensors` (odkit weights format). Received: filepath=m.odk"),
    ("m.weights.h5", True, "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must "
                           "end in `.safetensors` (odkit weights format). Received: filepath=m.weights.h5"),
])
def test_suffix_errors(filepath: str, weights_only: bool, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ModelCheckpoint(filepath, save_weights_only=weights_only)
    assert str(info.value) == message


@pytest.mark.parametrize("save_freq", ["batch", "steps", 0, -2, True, 2.5])
def test_bad_save_freq(save_freq: object) -> None:
    with pytest.raises(ValueError, match=f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch'"):
        ModelCheckpoint("m.odk", save_freq=save_freq)


def test_parent_folders_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "m.odk"
    run_fit(FakeModel(), [ModelCheckpoint(str(target))], [{}])
    assert target.read_text() == "model 1.0"


def test_existing_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "m.odk").mkdir()
    with pytest.raises(OSError, match=r"Please specify a non-directory filepath for ModelCheckpoint\. "
                                      r"Filepath used is an existing directory: .*m\.odk$"):
        run_fit(FakeModel(), [ModelCheckpoint(str(tmp_path / "m.odk"))], [{}])


def test_pathlike_filepath(tmp_path: Path) -> None:
    mc = ModelCheckpoint(tmp_path / "m.odk")
    assert mc.filepath == os.fspath(tmp_path / "m.odk")


def test_best_kept_across_fits(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m{epoch}.odk"), save_best_only=True)
    run_fit(model, [mc], series("val_loss", [0.5]))
    run_fit(model, [mc], series("val_loss", [0.6, 0.4]))
    assert _names(model) == ["m1.odk", "m2.odk"] and mc.best == 0.4


def test_non_scalar_monitor_warns_and_saves(tmp_path: Path) -> None:
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "m{epoch}.odk"), monitor="val_ap", mode="max", save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only when `monitor` is a scalar value"):
        run_fit(model, [mc], [{"val_ap": np.array([0.1, 0.2])}] * 2)
    assert _names(model) == ["m1.odk", "m2.odk"] and mc.best is None
