"""LearningRateScheduler and ReduceLROnPlateau (Keras 3 rules; cooldown, min_lr, messages)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from odkit.callbacks import LearningRateScheduler, ReduceLROnPlateau
from tests.callbacks._fakes import FakeModel, run_fit, series


def test_scheduler_sets_rate_each_epoch_and_logs_it(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel(learning_rate=0.1)
    seen = []

    def schedule(epoch: int, lr: float) -> float:
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    history = run_fit(model, [LearningRateScheduler(schedule, verbose=1)], [{"loss": 1.0}] * 4)
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.05)]
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05, 0.025]
    assert model.learning_rate == 0.025
    assert capsys.readouterr().out == "".join(
        f"\nEpoch {e}: LearningRateScheduler setting learning rate to {lr}.\n"
        for e, lr in [(1, 0.1), (2, 0.1), (3, 0.05), (4, 0.025)])


def test_scheduler_old_one_argument_api() -> None:
    model = FakeModel()
    run_fit(model, [LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))], [{}] * 3)
    assert model.learning_rate == pytest.approx(0.1 / 3)


def test_scheduler_numpy_float_accepted() -> None:
    model = FakeModel()
    run_fit(model, [LearningRateScheduler(lambda epoch, lr: np.float32(0.5))], [{}])
    assert model.learning_rate == 0.5 and type(model.learning_rate) is float


def test_scheduler_must_return_a_float() -> None:
    with pytest.raises(ValueError, match=r"The output of the `schedule` function should be a float\. Got: 1$"):
        run_fit(FakeModel(), [LearningRateScheduler(lambda epoch, lr: 1)], [{}])


def test_type_error_inside_schedule_is_not_retried() -> None:
    calls = []

    def schedule(epoch: int, lr: float) -> float:
        calls.append(epoch)
        raise TypeError("bug inside the schedule")

    with pytest.raises(TypeError, match="bug inside the schedule"):
        run_fit(FakeModel(), [LearningRateScheduler(schedule)], [{}])
    assert calls == [0]


def test_plateau_cooldown_and_min_lr(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2, verbose=1)
    history = run_fit(model, [cb], series("val_loss", [1.0] * 10))
    # rate in use during each epoch (logged before that epoch's reduction), as Keras logs it
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert model.learning_rate == 0.2
    assert capsys.readouterr().out == (
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"
        "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.25.\n"
        "\nEpoch 6: ReduceLROnPlateau reducing learning rate to 0.2.\n")


def test_plateau_no_cooldown_patience_two() -> None:
    model = FakeModel(learning_rate=1.0)
    history = run_fit(model, [ReduceLROnPlateau(factor=0.1, patience=2)],
                      series("val_loss", [1.0, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5]))
    assert history.history["learning_rate"] == pytest.approx([1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    assert model.learning_rate == pytest.approx(0.01)


def test_plateau_min_delta() -> None:
    model = FakeModel(learning_rate=1.0)
    # steps of 5e-5 are below the default min_delta=1e-4: no improvement
    run_fit(model, [ReduceLROnPlateau(factor=0.5, patience=2)], series("val_loss", [1.0 - 5e-5 * i for i in range(3)]))
    assert model.learning_rate == 0.5
    model = FakeModel(learning_rate=1.0)
    run_fit(model, [ReduceLROnPlateau(factor=0.5, patience=2, min_delta=1e-5)],
            series("val_loss", [1.0 - 5e-5 * i for i in range(3)]))
    assert model.learning_rate == 1.0


def test_plateau_max_mode() -> None:
    model = FakeModel(learning_rate=1.0)
    run_fit(model, [ReduceLROnPlateau(monitor="val_map50", factor=0.5, patience=1)],
            series("val_map50", [0.1, 0.2, 0.3, 0.3]))
    assert model.learning_rate == 0.5


def test_rate_already_at_min_lr_is_not_reduced_again(capsys: pytest.CaptureFixture[str]) -> None:
    # Keras compares with float32(min_lr) = 9.99999974738e-06: promoted to float64 (NumPy 1) that is < 1e-5, and
    # Keras "reduced" 1e-5 to 1e-5 again and again.
    model = FakeModel(learning_rate=1e-5)
    run_fit(model, [ReduceLROnPlateau(patience=1, min_lr=1e-5, verbose=1)], series("val_loss", [1.0] * 4))
    assert model.learning_rate == 1e-5 and capsys.readouterr().out == ""


def test_plateau_factor_must_be_below_one() -> None:
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_plateau_missing_monitor_warns_once() -> None:
    model = FakeModel(learning_rate=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_fit(model, [ReduceLROnPlateau(monitor="val_map", mode="max", patience=0)], [{"loss": 1.0}] * 3)
    assert [str(w.message) for w in caught] == [
        "Learning rate reduction is conditioned on metric `val_map` which is not available. "
        "Available metrics are: loss,learning_rate."]
    assert model.learning_rate == 1.0


def test_plateau_state_reset_between_fits() -> None:
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    run_fit(model, [cb], series("val_loss", [0.1]))
    run_fit(model, [cb], series("val_loss", [5.0, 4.0]))  # worse than the first fit's best, but improving
    assert model.learning_rate == 1.0
