"""Callback base class, CallbackList dispatch (log cleaning, order, params) and History."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.callbacks import Callback, CallbackList, History, LearningRateScheduler
from tests.callbacks._fakes import FakeModel, run_fit

HOOKS = [
    ("on_train_begin", ()), ("on_epoch_begin", (0,)), ("on_train_batch_begin", (0,)), ("on_train_batch_end", (0,)),
    ("on_epoch_end", (0,)), ("on_train_end", ()), ("on_test_begin", ()), ("on_test_batch_begin", (0,)),
    ("on_test_batch_end", (0,)), ("on_test_end", ()), ("on_predict_begin", ()), ("on_predict_batch_begin", (0,)),
    ("on_predict_batch_end", (0,)), ("on_predict_end", ()), ("on_batch_begin", (0,)), ("on_batch_end", (0,)),
]


class Recorder(Callback):
    """Records every hook call with the logs it got."""

    def __init__(self, name: str, calls: list) -> None:
        super().__init__()
        self.name, self.calls = name, calls
        for hook, _ in HOOKS:
            setattr(self, hook, self._recorder(hook))

    def _recorder(self, hook: str):
        def record(*args, **kwargs):
            self.calls.append((self.name, hook, args))
        return record


@pytest.mark.parametrize(("hook", "args"), HOOKS)
def test_every_hook_dispatched_in_order_with_a_clean_copy_of_the_logs(hook: str, args: tuple) -> None:
    calls: list = []
    cbs = CallbackList([Recorder("a", calls), Recorder("b", calls)])
    logs = {"z": np.float32(0.5), "a": {"nested": np.array(2.0)}, "text": "x", "vec": np.array([1.0, 2.0])}
    if hook.endswith("_end") and not hook.endswith("batch_end") and hook != "on_epoch_end":
        getattr(cbs, hook.replace("_end", "_begin"))({})
        calls.clear()
    getattr(cbs, hook)(*args, logs)
    assert [(name, h) for name, h, _ in calls] == [("a", hook), ("b", hook)]
    received = calls[0][2][-1]
    assert received is calls[1][2][-1]  # one dict shared by the callbacks of one dispatch
    assert list(received) == ["nested", "text", "vec", "z"]  # flattened, sorted (Keras' pythonify_logs)
    assert type(received["z"]) is float and received["nested"] == 2.0 and received["text"] == "x"
    assert isinstance(received["vec"], np.ndarray)
    assert set(logs) == {"z", "a", "text", "vec"}  # the caller's dict is not modified


def test_base_class_hooks_are_no_ops_and_batch_aliases_forward() -> None:
    cb = Callback()
    for hook, args in HOOKS:
        assert getattr(cb, hook)(*args, {}) is None
    seen = []

    class Old(Callback):
        def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
            seen.append(("end", batch))

        def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            seen.append(("begin", batch))

    old = Old()
    old.on_train_batch_begin(3, {})
    old.on_train_batch_end(3, {})
    assert seen == [("begin", 3), ("end", 3)]


def test_model_and_params_reach_every_callback() -> None:
    model = FakeModel()
    a, b = Callback(), Callback()
    cbs = CallbackList([a], model=model, params={"epochs": 3, "steps": None, "verbose": 0})
    cbs.append(b)
    assert a.model is model and b.model is model
    assert a.params == b.params == {"epochs": 3, "steps": None, "verbose": 0}
    keras_style = CallbackList([Callback()], epochs=2, steps=5)
    assert keras_style.callbacks[0].params == {"epochs": 2, "steps": 5} and len(keras_style) == 1


def test_add_history_once_and_model_history_set() -> None:
    model = FakeModel()
    cbs = CallbackList([Callback()], add_history=True, model=model)
    histories = [cb for cb in cbs if isinstance(cb, History)]
    assert len(histories) == 1 and model.history is histories[0]
    own = History()
    assert [cb for cb in CallbackList([own], add_history=True) if isinstance(cb, History)] == [own]


def test_end_without_begin_is_an_error() -> None:
    with pytest.raises(ValueError, match="`on_xxx_end` called without corresponding `on_xxx_begin`"):
        CallbackList([]).on_train_end({})


def test_history_records_epochs_and_logs_added_by_earlier_callbacks() -> None:
    model = FakeModel(learning_rate=0.5)
    history = run_fit(model, [LearningRateScheduler(lambda e, lr: lr / 2)],
                      [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}])
    assert history.epoch == [0, 1]
    assert history.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5], "learning_rate": [0.25, 0.125]}
    assert model.history is history


def test_history_keeps_values_across_fits_but_resets_epochs() -> None:
    model = FakeModel()
    history = History()
    run_fit(model, [history], [{"loss": 1.0}])
    run_fit(model, [history], [{"loss": 0.5}, {"loss": 0.25}])
    assert history.epoch == [0, 1] and history.history["loss"] == [1.0, 0.5, 0.25]
