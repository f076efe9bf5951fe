"""TerminateOnNaN and TimeLimit (with a fake clock)."""

from __future__ import annotations

import math
import time

import pytest

from odkit.callbacks import Callback, TerminateOnNaN, TimeLimit
from tests.callbacks._fakes import FakeModel, run_fit


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_terminate_on_nan_stops(bad: float, capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    history = run_fit(model, [TerminateOnNaN()], [{"loss": 1.0}] * 5,
                      batch_logs=lambda e, s: {"loss": bad if (e, s) == (1, 2) else 0.5})
    assert model.stop_training and history.epoch == [0, 1]
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_terminate_on_nan_ignores_finite_and_absent_loss(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    history = run_fit(model, [TerminateOnNaN()], [{"loss": 1.0}] * 3,
                      batch_logs=lambda e, s: {"loss": 1e30} if s else {"accuracy": math.nan})
    assert history.epoch == [0, 1, 2] and capsys.readouterr().out == ""


def test_terminate_on_nan_raise_error() -> None:
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch 1\. Loss value: nan\."):
        run_fit(FakeModel(), [TerminateOnNaN(raise_error=True)], [{}],
                batch_logs=lambda e, s: {"loss": math.nan if s == 1 else 0.5})


class Clock:
    """A fake ``time.monotonic``; tests move ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("durations", "budget", "epochs_run"), [
    ([10.0] * 10, 35, 3),  # after 3 epochs: 30 s + ~10 s > 35
    ([10.0] * 10, 40, 4),  # 30 + 10 fits exactly; after 4: 40 + 10 > 40
    ([10.0] * 10, 200, 10),  # the budget is never reached
    ([50.0] * 10, 20, 1),  # the first epoch always runs in full
    # epochs slowing down: after 3, 30 s + mean 10 s fits the 40 s; the 4th takes 20 s and overruns (documented)
    ([5.0, 5.0, 20.0, 20.0, 20.0], 40, 4),
])
def test_time_limit(monkeypatch: pytest.MonkeyPatch, durations: list[float], budget: float,
                    epochs_run: int) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    model = FakeModel()
    limit = TimeLimit(budget)

    class Advance(Callback):  # the epoch's time passes between its begin and end
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            clock.now += durations[epoch]

    history = run_fit(model, [Advance(), limit], [{"loss": 1.0}] * len(durations))
    assert len(history.epoch) == epochs_run
    assert limit.stopped_epoch == (epochs_run - 1 if epochs_run < len(durations) else None)


def test_time_limit_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    limit = TimeLimit(25, verbose=1)
    run_fit(FakeModel(), [limit], [{"loss": 1.0}] * 5,
            batch_logs=lambda e, s: setattr(clock, "now", clock.now + 2.5) or {"loss": 1.0})
    assert limit.stopped_epoch == 1 and limit.elapsed == 20.0
    assert capsys.readouterr().out == ("\nEpoch 2: TimeLimit stopping: 20.0s of 25s used, "
                                       "the next epoch (~10.0s) would not fit.\n")


def test_time_limit_clock_restarts_each_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    limit = TimeLimit(100)
    advance = lambda e, s: setattr(clock, "now", clock.now + 10) or {"loss": 1.0}  # noqa: E731 - 40 s per epoch
    first = run_fit(FakeModel(), [limit], [{}] * 5, batch_logs=advance)
    second = run_fit(FakeModel(), [limit], [{}] * 5, batch_logs=advance)
    assert len(first.epoch) == len(second.epoch) == 2


@pytest.mark.parametrize("seconds", [0, -1, math.inf, math.nan, "600"])
def test_time_limit_needs_positive_seconds(seconds: object) -> None:
    with pytest.raises(ValueError, match="TimeLimit needs a finite number of seconds > 0"):
        TimeLimit(seconds)  # type: ignore[arg-type]
