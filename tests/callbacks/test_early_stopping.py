"""EarlyStopping against the Keras 3 rules table (measured numbers marked M in the reference notes)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from odkit.callbacks import EarlyStopping
from tests.callbacks._fakes import FakeModel, keras_early_stopping, run_fit, series

NAN = math.nan
FLAT = [1.0] * 10
DOWN = [1.0 - 0.1 * i for i in range(10)]  # improves every epoch, never reaches 1e-4

# id, monitor, values, EarlyStopping kwargs, epochs run by Keras 3, epochs run by odkit, best epoch index (odkit)
RULES = [
    ("patience0-flat (M: 2 epochs)", "val_loss", FLAT, {"patience": 0}, 2, 2, 0),
    ("patience2-flat (M: 3 epochs)", "val_loss", FLAT, {"patience": 2}, 3, 3, 0),
    ("patience2-worse", "val_loss", [1.0, 1.1, 1.2, 1.3, 1.4], {"patience": 2}, 3, 3, 0),
    ("patience2-late-best", "val_loss", [1.0, 0.5, 0.7, 0.8, 0.9, 0.9], {"patience": 2}, 4, 4, 1),
    ("improves-every-epoch", "val_loss", DOWN, {"patience": 0}, 10, 10, 9),
    ("min_delta-too-small-steps", "val_loss", [1.0 - 0.01 * i for i in range(10)],
     {"patience": 2, "min_delta": 0.05}, 3, 3, 0),
    ("min_delta-negative-is-abs", "val_loss", [1.0 - 0.01 * i for i in range(10)],
     {"patience": 2, "min_delta": -0.05}, 3, 3, 0),
    ("min_delta-large-steps", "val_loss", [1.0 - 0.06 * i for i in range(10)],
     {"patience": 2, "min_delta": 0.05}, 10, 10, 9),
    ("max-mode-min_delta", "val_accuracy", [0.5 + 0.01 * i for i in range(10)],
     {"patience": 2, "min_delta": 0.05}, 3, 3, 0),
    ("max-mode-auto", "val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.59, 0.7], {"patience": 2}, 4, 4, 1),
    ("nan-never-improves", "val_loss", [1.0, NAN, NAN, NAN], {"patience": 1}, 2, 2, 0),
    ("start_from_epoch (M: 5 epochs)", "val_loss", FLAT, {"patience": 1, "start_from_epoch": 3}, 5, 5, 3),
    ("start_from_epoch-ignores-warmup-best", "val_loss", [0.1, 0.1, 1.0, 1.0, 0.9, 0.9, 0.9, 0.9],
     {"patience": 2, "start_from_epoch": 2}, 7, 7, 4),
    # The gotcha: improving without reaching the baseline never stops in Keras (M: all 10 epochs ran).
    ("baseline-never-reached (Keras gotcha, fixed)", "val_loss", DOWN, {"patience": 3, "baseline": 1e-4}, 10, 3, 2),
    ("baseline-never-reached-patience0", "val_loss", DOWN, {"patience": 0, "baseline": 1e-4}, 10, 2, 1),
    ("baseline-reached-late (fixed: stops first)", "val_loss", [1.0, 0.9, 0.8, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
     {"patience": 3, "baseline": 0.45}, 7, 3, 2),
    ("baseline-reached-in-time", "val_loss", [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
     {"patience": 3, "baseline": 0.85}, 6, 6, 2),
    # with a baseline the first epoch does not reset wait, so a flat series stops one epoch sooner
    ("baseline-flat-not-reached", "val_loss", FLAT, {"patience": 2, "baseline": 0.5}, 2, 2, 0),
]


@pytest.mark.parametrize(("monitor", "values", "kwargs", "keras_epochs", "odkit_epochs", "best_epoch"),
                         [pytest.param(*row[1:], id=row[0]) for row in RULES])
def test_rules_table(monitor: str, values: list[float], kwargs: dict, keras_epochs: int, odkit_epochs: int,
                     best_epoch: int) -> None:
    mode = "max" if monitor == "val_accuracy" else "min"
    reference_kwargs = {k: v for k, v in kwargs.items() if k != "restore_best_weights"}
    assert keras_early_stopping(values, mode=mode, **reference_kwargs)[0] == keras_epochs

    model = FakeModel()
    es = EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    history = run_fit(model, [es], series(monitor, values))
    assert len(history.epoch) == odkit_epochs
    assert es.best_epoch == best_epoch
    assert model.weight_value == best_epoch + 1  # restored the best epoch's weights
    assert es.stopped_epoch == (odkit_epochs - 1 if odkit_epochs < len(values) else 0)


def test_only_documented_rows_differ_from_keras() -> None:
    differing = {row[0] for row in RULES if row[4] != row[5]}
    assert differing == {"baseline-never-reached (Keras gotcha, fixed)", "baseline-never-reached-patience0",
                         "baseline-reached-late (fixed: stops first)"}


def test_positional_order_is_keras() -> None:
    es = EarlyStopping("val_loss", 0, 5, 1, restore_best_weights=True)
    assert (es.monitor, es.min_delta, es.patience, es.verbose, es.restore_best_weights) == ("val_loss", 0, 5, 1, True)
    es = EarlyStopping("val_accuracy", 0.1, 3, 0, "max", 0.9, False, 2)
    assert (es.mode, es.baseline, es.start_from_epoch) == ("max", 0.9, 2)


def test_restore_when_run_to_the_end_prints_keras_messages(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    es = EarlyStopping("val_loss", 0, 5, 1, restore_best_weights=True)
    history = run_fit(model, [es], series("val_loss", DOWN))
    assert len(history.epoch) == 10 and model.weight_value == 10
    assert capsys.readouterr().out == "Restoring model weights from the end of the best epoch: 10.\n"


def test_stop_messages(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    es = EarlyStopping(patience=2, verbose=1, restore_best_weights=True)
    run_fit(model, [es], series("val_loss", [1.0, 0.5, 0.7, 0.8, 0.9]))
    assert capsys.readouterr().out == (
        "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n")


def test_silent_and_weights_untouched_without_restore(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    run_fit(model, [EarlyStopping(patience=1)], series("val_loss", [1.0, 2.0, 3.0]))
    assert model.weight_value == 2 and capsys.readouterr().out == ""


def test_snapshot_is_a_copy_of_live_weights() -> None:
    # FakeModel.get_weights returns its live arrays: without a copy the "best" snapshot would follow training.
    model = FakeModel()
    es = EarlyStopping(patience=3, restore_best_weights=True)
    run_fit(model, [es], series("val_loss", [0.1, 0.5, 0.5, 0.5, 0.5]))
    assert model.weight_value == 1
    assert all(np.all(w == 1) for w in es.best_weights)


def test_missing_monitor_warns_once_naming_keys() -> None:
    model = FakeModel()
    es = EarlyStopping(monitor="val_acc", mode="max", patience=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = run_fit(model, [es], series("val_accuracy", [0.5] * 6))
    messages = [str(w.message) for w in caught]
    assert messages == ["Early stopping conditioned on metric `val_acc` which is not available. "
                        "Available metrics are: loss,val_accuracy"]
    assert len(history.epoch) == 6  # never stops, never crashes


def test_missing_monitor_warns_again_in_a_new_fit() -> None:
    es = EarlyStopping(monitor="val_acc", mode="max")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_fit(FakeModel(), [es], series("val_accuracy", [0.5] * 3))
        run_fit(FakeModel(), [es], series("val_accuracy", [0.5] * 3))
    assert len(caught) == 2


def test_state_reset_between_fits() -> None:
    es = EarlyStopping(patience=1)
    first = run_fit(FakeModel(), [es], series("val_loss", [0.1, 0.2, 0.3]))
    second = run_fit(FakeModel(), [es], series("val_loss", [5.0, 4.0, 3.0, 2.0]))  # worse than 0.1, improving
    assert len(first.epoch) == 2 and len(second.epoch) == 4 and es.best == 2.0
