"""Resume after a crash: a ``fit`` killed with SIGKILL mid-run and started again with ``BackupAndRestore`` ends
with exactly the weights of a run that was never interrupted (issue 9, deliverable 6); and ``fit``'s verbose
0 / 1 / 2 output."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from odkit.models import build  # noqa: E402
from odkit.saving import read_header  # noqa: E402
from odkit.synthetic import make_digits  # noqa: E402

# A user's training script: the classifier (it has dropout, so the RNG state matters), arrays of digits, Keras'
# compile strings, fit with BackupAndRestore. argv: out_dir mode torch_seed seeds. For each of the comma-separated
# seeds (build's and fit's: an int, or "none": both unseeded, so the weights and fit's shuffling seed come from
# torch's global RNG), torch is seeded with torch_seed and a run writes its final weights and History to
# out_dir/<seed>/. Mode "kill" adds a callback, after BackupAndRestore, that SIGKILLs the process at the end of
# epoch 2, once that epoch's backup is on disk; "plain" runs without a backup (one process for all the seeds:
# the uninterrupted references).
_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from odkit.callbacks import BackupAndRestore, Callback
    from odkit.models import build
    from odkit.synthetic import make_digits


    class KillAtEpochEnd(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)


    def train(out_dir, mode, seed):
        x, y = make_digits(160, seed=1)
        x = x.astype(np.float32)[..., None] / 255.0
        y = np.eye(10, dtype=np.float32)[y]
        model = build("classifier", num_classes=10, seed=seed)
        model.compile("adam", "categorical_crossentropy", ["accuracy"])
        callbacks = [] if mode == "plain" else [BackupAndRestore(os.path.join(out_dir, "backup"))]
        if mode == "kill":
            callbacks.append(KillAtEpochEnd())
        history = model.fit(x, y, batch_size=32, epochs=5, verbose=0, validation_split=0.25, callbacks=callbacks,
                            seed=seed)
        model.save_weights(os.path.join(out_dir, "final.safetensors"))
        with open(os.path.join(out_dir, "history.json"), "w") as f:
            json.dump({"epoch": history.epoch, "history": history.history}, f)


    out_dir, mode, torch_seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for name in sys.argv[4].split(","):
        torch.manual_seed(torch_seed)
        os.makedirs(os.path.join(out_dir, name), exist_ok=True)
        train(os.path.join(out_dir, name), mode, None if name == "none" else int(name))
""")


def _run(script: Path, out_dir: Path, mode: str, torch_seed: int, seeds: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), str(out_dir), mode, str(torch_seed), seeds],
                          capture_output=True, text=True, timeout=300, env=env)


def _weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def _assert_same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f"tensors differ after the resume: {differ}"


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "train.py"
    path.write_text(_SCRIPT)
    return path


@pytest.fixture(scope="module")
def uninterrupted(script: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference runs, never interrupted, torch seeded with 0: out/0 (seed=0) and out/none (unseeded)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    done = _run(script, out, "plain", 0, "0,none")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize(("seed", "torch_seed_after_crash"), [("0", 0), ("none", 1)],
                         ids=["seed-0", "unseeded-new-process"])
def test_killed_run_resumes_to_the_same_weights(script: Path, uninterrupted: Path, tmp_path: Path, seed: str,
                                                 torch_seed_after_crash: int) -> None:
    """Killed at the end of epoch 2 (after its backup), then run again: epochs 3 and 4 only, same weights.

    "unseeded-new-process": build and fit unseeded; the restarted process seeds torch differently, as an
    unseeded user's new process would be, so its initial weights and fit's shuffling seed (drawn from torch's
    RNG) differ, and the resume must still continue the killed run (which, like the reference, drew them after
    torch.manual_seed(0)).
    """
    killed = _run(script, tmp_path, "kill", 0, seed)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = tmp_path / seed
    assert not (run / "final.safetensors").exists()
    metadata = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 3 and metadata["batch"] == 0
    assert read_header(run / "backup" / metadata["state_file"])["epoch"] == 3  # the next epoch to run

    resumed = _run(script, tmp_path, "resume", torch_seed_after_crash, seed)
    assert resumed.returncode == 0, resumed.stderr
    assert not (run / "backup").exists()  # delete_checkpoint after a run that ended normally
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [3, 4]
    full = json.loads((uninterrupted / seed / "history.json").read_text())
    assert full["epoch"] == [0, 1, 2, 3, 4]
    assert history["history"] == {k: v[3:] for k, v in full["history"].items()}
    _assert_same_weights(_weights(run / "final.safetensors"), _weights(uninterrupted / seed / "final.safetensors"))


# ---- verbose 0 / 1 / 2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_prints_each_epoch_once(verbose: int, capsys: pytest.CaptureFixture) -> None:
    """0: nothing; 1: one progress bar per epoch on stderr, left with the epoch's logs (validation included) and
    no line on stdout; 2: one line per epoch on stdout, ``Epoch 1/2 - 3s - loss: ...``, and no bar."""
    x, y = make_digits(40, seed=2)
    model = build("classifier", num_classes=10, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    capsys.readouterr()
    model.fit(x, y, batch_size=10, epochs=2, verbose=verbose, validation_split=0.25, seed=0)
    out, err = capsys.readouterr()
    if verbose == 0:
        assert (out, err) == ("", "")
    elif verbose == 1:
        assert out == ""
        finals = [line.split("\r")[-1] for line in err.split("\n") if line.strip()]  # each bar's last state
        assert [f.split(":")[0] for f in finals] == ["Epoch 1/2", "Epoch 2/2"]
        for final in finals:
            assert "3/3" in final
            assert all(f"{key}=" in final for key in ("loss", "accuracy", "val_loss", "val_accuracy"))
    else:
        assert err == ""
        lines = out.splitlines()
        number = r"\d+\.\d{4}"
        for i, line in enumerate(lines, 1):
            assert re.fullmatch(rf"Epoch {i}/2 - \d+m?s - loss: {number} - accuracy: {number} - "
                                rf"val_loss: {number} - val_accuracy: {number}", line), line
        assert len(lines) == 2
