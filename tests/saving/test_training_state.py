"""save_training_state / load_training_state: a resumed run continues bit for bit."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from odkit.errors import CheckpointError
from odkit.saving import load_training_state, read_header, save_training_state
from tests.saving._nets import state_equal

ROOT = Path(__file__).resolve().parents[2]


class Run:
    """A tiny training run whose steps draw from every RNG that a resume must restore: torch (data, dropout),
    NumPy's and Python's global generators (loss weights)."""

    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 2))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=0.05, weight_decay=0.01, betas=(0.8, 0.95))
        warmup = torch.optim.lr_scheduler.LinearLR(self.optimizer, start_factor=0.1, total_iters=2)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=10)
        self.scheduler = torch.optim.lr_scheduler.SequentialLR(self.optimizer, [warmup, cosine], milestones=[2])
        self.ema = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(0.9))

    def steps(self, n: int) -> None:
        for _ in range(n):
            x = torch.randn(16, 4)
            target = x[:, :2] * float(np.random.uniform(0.5, 1.5)) + random.random()
            loss = (self.model(x) - target).square().mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            self.ema.update_parameters(self.model)

    def save(self, path: Path, **kwargs: Any) -> None:
        save_training_state(path, self.model, self.optimizer, self.scheduler, self.ema, **kwargs)

    def load(self, path: Path, **kwargs: Any) -> dict[str, Any]:
        return load_training_state(path, self.model, self.optimizer, self.scheduler, self.ema, **kwargs)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _assert_same_run(a: Run, b: Run) -> None:
    assert state_equal(a.model, b.model)
    assert state_equal(a.ema, b.ema)
    assert a.scheduler.get_last_lr() == b.scheduler.get_last_lr()
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for pid in sa["state"]:
        for key, value in sa["state"][pid].items():
            assert torch.equal(value, sb["state"][pid][key]), (pid, key)


def test_a_resumed_run_continues_bit_for_bit(tmp_path: Path) -> None:
    _seed_all(0)
    straight = Run(seed=0)
    straight.steps(3)
    straight.save(tmp_path / "state.odk", epoch=3)
    straight.steps(3)

    _seed_all(99)  # another process would start from other weights and RNG states
    resumed = Run(seed=99)
    assert not state_equal(resumed.model, straight.model)
    info = resumed.load(tmp_path / "state.odk")
    resumed.steps(3)

    assert info["epoch"] == 3
    _assert_same_run(resumed, straight)


def test_without_the_rng_states_the_run_differs(tmp_path: Path) -> None:
    """The control of the test above: the RNG states are needed, so that test can fail."""
    _seed_all(0)
    straight = Run(seed=0)
    straight.steps(3)
    straight.save(tmp_path / "state.odk")
    straight.steps(3)

    _seed_all(99)
    resumed = Run(seed=99)
    resumed.load(tmp_path / "state.odk", restore_rng=False)
    resumed.steps(3)

    assert not state_equal(resumed.model, straight.model)


@pytest.mark.slow  # a child process: importing torch takes seconds
def test_a_resume_in_a_new_process_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    _seed_all(0)
    first = Run(seed=0)
    first.steps(3)
    first.save(tmp_path / "state.odk", epoch=1)
    first.steps(3)
    script = textwrap.dedent("""
        import sys
        import safetensors.torch
        from tests.saving.test_training_state import Run, _seed_all
        _seed_all(7)
        run = Run(seed=7)
        run.load(sys.argv[1] + "/state.odk")
        run.steps(3)
        safetensors.torch.save_file(run.model.state_dict(), sys.argv[1] + "/resumed.safetensors")
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert state_equal(safetensors.torch.load_file(tmp_path / "resumed.safetensors"), first.model)


def test_file_layout(tmp_path: Path) -> None:
    run = Run(seed=0)
    run.steps(2)
    run.save(tmp_path / "state.odk", epoch=2)

    header = read_header(tmp_path / "state.odk")
    names = set(safetensors.torch.load_file(tmp_path / "state.odk"))

    assert header["format"] == "odkit-training-state" and header["epoch"] == 2
    assert header["model"] == {"class": "torch.nn.modules.container.Sequential"}
    assert {"model/0.weight", "model/2.bias", "ema/module.0.weight", "ema/n_averaged", "rng/torch",
            "optimizer/state/0/exp_avg", "optimizer/state/3/exp_avg_sq", "optimizer/state/0/step"} <= names
    state = header["state"]
    assert state["optimizer"]["param_groups"][0]["betas"] == {"__tuple__": [0.8, 0.95]}
    assert state["optimizer"]["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert state["rng"]["python"]["__tuple__"][0] == 3
    assert state["rng"]["numpy"]["bit_generator"] == "MT19937"
    assert state["scheduler"]["_milestones"] == [2]


def test_extra_state_round_trips_with_its_types(tmp_path: Path) -> None:
    extra = {
        "early_stopping": {"best": float("inf"), "wait": 2, "best_epoch": None, "history": [0.5, float("nan")]},
        "pair": (1, "a", (2.5, True)),
        "by_epoch": {0: 0.1, 3: 0.25},
        "array": np.arange(6, dtype=np.uint16).reshape(2, 3),
        "tensor": torch.tensor([1.5, 2.5]),
        "looks_tagged": {"__tensor__": "model/weight"},  # a user dict, not a reference
        "np_scalar": np.float32(0.25),
    }
    net = nn.Linear(2, 2)
    save_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1), epoch=5, extra=extra)

    got = load_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))["extra"]

    stopping = got["early_stopping"]
    assert stopping["best"] == math.inf and stopping["wait"] == 2 and stopping["best_epoch"] is None
    assert stopping["history"][0] == 0.5 and math.isnan(stopping["history"][1])
    assert got["pair"] == (1, "a", (2.5, True)) and type(got["pair"][2]) is tuple
    assert got["by_epoch"] == {0: 0.1, 3: 0.25}
    assert got["array"].dtype == np.uint16 and np.array_equal(got["array"], extra["array"])
    assert torch.equal(got["tensor"], extra["tensor"])
    assert got["looks_tagged"] == {"__tensor__": "model/weight"}
    assert got["np_scalar"] == 0.25


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ({"fn": lambda: 0}, r"cannot save extra/fn: a .*function"),
        ({"deep": [1, {"obj": object()}]}, r"cannot save extra/deep/1/obj: a builtins\.object"),
        ({"names": np.array(["a", "b"])}, r"cannot save extra/names: a NumPy array of dtype <U1"),
    ],
)
def test_values_that_cannot_be_stored_are_named(tmp_path: Path, extra: dict[str, Any], pattern: str) -> None:
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=pattern):
        save_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1), extra=extra)
    assert not list(tmp_path.iterdir())


def test_a_scheduler_or_ema_that_was_not_saved(tmp_path: Path) -> None:
    run = Run(seed=0)
    save_training_state(tmp_path / "s.odk", run.model, run.optimizer)
    with pytest.raises(CheckpointError, match=r"s\.odk: scheduler= was given but the file holds no scheduler"):
        run.load(tmp_path / "s.odk")
    with pytest.raises(CheckpointError, match=r"ema= was given but the file holds no ema"):
        load_training_state(tmp_path / "s.odk", run.model, run.optimizer, ema=run.ema)


def test_another_model_or_optimizer(tmp_path: Path) -> None:
    run = Run(seed=0)
    run.steps(1)
    run.save(tmp_path / "s.odk")

    other = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 3))
    with pytest.raises(CheckpointError, match=r"do not fit the given Sequential.*2\.weight: model \(3, 8\), "
                                              r"file \(2, 8\)"):
        load_training_state(tmp_path / "s.odk", other, torch.optim.AdamW(other.parameters()))
    fresh = Run(seed=1)
    fewer = torch.optim.AdamW(list(fresh.model.parameters())[:2])
    with pytest.raises(CheckpointError, match=r"the saved optimizer state does not fit the given AdamW"):
        load_training_state(tmp_path / "s.odk", fresh.model, fewer)


def test_a_damaged_state_reference(tmp_path: Path) -> None:
    from tests.saving._nets import rewrite_header

    net = nn.Linear(2, 2)
    save_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
    rewrite_header(tmp_path / "s.odk", lambda h: h["state"]["rng"].update(torch={"__tensor__": "rng/missing"}))
    with pytest.raises(CheckpointError, match=r"refers to tensor 'rng/missing', which the file does not hold"):
        load_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
