"""Two CPU processes (gloo on loopback) train as one process does on the same global batch.

Tolerances: with SGD the final weights of 2 processes x batch 2 and of 1 process x batch 4 agree within
atol 1e-5 after 4 steps (the gradients differ only by float rounding: sums in another order), and the logged
losses within rtol 1e-5; val_map is equal. With AdamW (the default) rounding noise in near-zero gradients is
magnified by Adam's normalisation, so the weights agree within atol 2e-3 only, the logs still within 1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():  # pragma: no cover - builds without torch.distributed
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)

from tests.distributed._launch import check, run_single, run_torchrun  # noqa: E402
from tests.runs._tiny import write_shapes  # noqa: E402

WORKER = "tests.distributed._worker"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes"), n=12, val=4)


@pytest.fixture(scope="module")
def single_sgd(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one")
    check(run_single([WORKER, str(out), str(data), "--batch", "4", "--optimizer", "sgd"]))
    return out


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as f:
        return [f[k] for k in f.files]


def _history(path: Path) -> dict:
    return json.loads(path.read_text())


def test_two_processes_train_as_one(data: Path, single_sgd: Path, tmp_path: Path) -> None:
    check(run_torchrun([WORKER, str(tmp_path), str(data), "--batch", "2", "--optimizer", "sgd"]))
    one, two, other = (_weights(p) for p in (single_sgd / "weights-0.npz", tmp_path / "weights-0.npz",
                                             tmp_path / "weights-1.npz"))
    for a, b, c in zip(one, two, other):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
        np.testing.assert_array_equal(b, c)  # the ranks hold the same weights
    h1, h2 = _history(single_sgd / "history-0.json"), _history(tmp_path / "history-0.json")
    assert h1["epoch"] == h2["epoch"] == [0, 1]
    assert set(h1["history"]) == set(h2["history"])
    for key, values in h1["history"].items():
        np.testing.assert_allclose(h2["history"][key], values, rtol=1e-5, atol=1e-7, err_msg=key)
    assert h2["history"]["val_map"] == h1["history"]["val_map"]
    assert sorted(p.name for p in tmp_path.glob("*.odk")) == ["best.odk"]  # ModelCheckpoint on rank 0 only


def test_adamw_default_within_tolerance(data: Path, tmp_path: Path) -> None:
    check(run_single([WORKER, str(tmp_path / "one"), str(data), "--batch", "4"]))
    check(run_torchrun([WORKER, str(tmp_path / "two"), str(data), "--batch", "2"]))
    for a, b in zip(_weights(tmp_path / "one" / "weights-0.npz"), _weights(tmp_path / "two" / "weights-0.npz")):
        np.testing.assert_allclose(b, a, atol=2e-3, rtol=0)
    h1, h2 = _history(tmp_path / "one" / "history-0.json"), _history(tmp_path / "two" / "history-0.json")
    for key, values in h1["history"].items():
        np.testing.assert_allclose(h2["history"][key], values, rtol=1e-4, atol=1e-6, err_msg=key)


def test_a_stop_on_rank_0_stops_every_rank(data: Path, tmp_path: Path) -> None:
    check(run_torchrun([WORKER, str(tmp_path), str(data), "--batch", "2", "--epochs", "4",
                        "--stop-rank0-after", "1"], timeout=120))
    for rank in (0, 1):
        assert _history(tmp_path / f"history-{rank}.json")["epoch"] == [0]


def test_resume_under_ddp(data: Path, single_sgd: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    common = [WORKER, str(tmp_path / "run"), str(data), "--batch", "2", "--optimizer", "sgd", "--backup", str(backup)]
    check(run_torchrun([*common, "--crash-after", "1"]))
    assert (backup / "training_metadata.json").exists()
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
    check(run_torchrun(common))
    assert not backup.exists()  # removed by rank 0 when training ended normally
    assert _history(tmp_path / "run" / "history-0.json")["epoch"] == [1]
    for a, b in zip(_weights(single_sgd / "weights-0.npz"), _weights(tmp_path / "run" / "weights-1.npz")):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)


def test_torchrun_odkit_train_writes_one_run_folder(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_torchrun(["odkit", "train", str(data), "--model", "detector-n", "--imgsz", "64", "--batch", "2",
                           "--epochs", "3", "--patience", "0", "--device", "cpu", "--out", str(out), "--verbose", "0"],
                          cwd=tmp_path, timeout=240)
    check(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no runs/train-N from the other rank
    assert sorted(p.name for p in (out / "weights").iterdir()) == ["best.odk", "last.odk"]
    assert not (out / "backup").exists()
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert 2 <= len(rows) <= 4  # header + one row per epoch run; EarlyStopping(patience 0) may stop early
    assert (out / "report.html").exists() and (out / "args.yaml").exists()
    assert result.stdout.count("run folder:") == 1  # printed by rank 0 only
