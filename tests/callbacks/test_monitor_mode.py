"""mode='auto' resolution shared by ModelCheckpoint, EarlyStopping and ReduceLROnPlateau (Keras >= 3.11 rules)."""

from __future__ import annotations

import operator

import pytest

from odkit.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from tests.callbacks._fakes import FakeModel

FACTORIES = {
    "ModelCheckpoint": lambda monitor, mode: ModelCheckpoint("m.odk", monitor=monitor, mode=mode),
    "EarlyStopping": lambda monitor, mode: EarlyStopping(monitor=monitor, mode=mode),
    "ReduceLROnPlateau": lambda monitor, mode: ReduceLROnPlateau(monitor=monitor, mode=mode),
}


@pytest.mark.parametrize("cls", list(FACTORIES))
@pytest.mark.parametrize(("monitor", "mode", "expected"), [
    ("val_loss", "auto", operator.lt),
    ("loss", "auto", operator.lt),
    ("val_accuracy", "auto", operator.gt),  # M: val_accuracy -> greater
    ("accuracy", "auto", operator.gt),
    ("val_map50", "auto", operator.gt),
    ("val_box_loss", "auto", operator.lt),  # the model says min
    ("val_loss", "max", operator.gt),  # explicit mode wins over the name
    ("val_accuracy", "min", operator.lt),
    ("val_my_score", "max", operator.gt),
])
def test_direction(cls: str, monitor: str, mode: str, expected: object) -> None:
    callback = FACTORIES[cls](monitor, mode)
    callback.set_model(FakeModel())
    callback.on_train_begin({})
    assert callback.monitor_op is expected


@pytest.mark.parametrize("cls", list(FACTORIES))
@pytest.mark.parametrize("monitor", ["val_my_score", "val_acc"])
def test_unknown_metric_under_auto_is_an_error_before_the_first_epoch(cls: str, monitor: str) -> None:
    callback = FACTORIES[cls](monitor, "auto")
    callback.set_model(FakeModel())
    with pytest.raises(ValueError) as info:
        callback.on_train_begin({})
    assert str(info.value) == (
        f"{cls} callback received monitor={monitor}, but odkit isn't able to automatically determine whether that "
        "metric should be maximized or minimized. Pass `mode='max'` in order to monitor based on the highest "
        "metric value, or pass `mode='min'` in order to use the lowest value.")


def test_model_without_metric_direction_only_knows_the_loss() -> None:
    class Bare:
        stop_training = False

    es = EarlyStopping(monitor="val_accuracy")
    es.set_model(Bare())
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        es.on_train_begin({})
    loss = EarlyStopping(monitor="val_loss")
    loss.set_model(Bare())
    loss.on_train_begin({})
    assert loss.monitor_op is operator.lt


@pytest.mark.parametrize("cls", list(FACTORIES))
def test_unknown_mode_warns_and_falls_back_to_auto(cls: str) -> None:
    with pytest.warns(UserWarning) as record:
        callback = FACTORIES[cls]("val_accuracy", "maximum")
    assert [str(w.message) for w in record] == [f"{cls} mode 'maximum' is unknown, fallback to auto mode."]
    assert callback.mode == "auto"
    callback.set_model(FakeModel())
    callback.on_train_begin({})
    assert callback.monitor_op is operator.gt


def test_resolved_lazily_when_driven_without_train_begin() -> None:
    es = EarlyStopping(monitor="val_accuracy", patience=0)
    es.set_model(FakeModel())
    es.on_epoch_end(0, {"val_accuracy": 0.5})
    assert es.monitor_op is operator.gt
