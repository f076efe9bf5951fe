"""Resume after a crash: a ``fit`` killed with SIGKILL mid-run and started again with ``BackupAndRestore`` ends
with exactly the weights of a run that was never interrupted (issue 9, deliverable 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from odkit.saving import read_header  # noqa: E402

# One training run, as a user's script would be: the classifier (it has dropout, so the RNG state matters),
# arrays of digits, Keras' compile strings, fit with BackupAndRestore. argv: out_dir mode torch_seed seed, where
# seed is build's and fit's (an int) or "none": both unseeded, the weights and fit's shuffling seed then come
# from torch's global RNG, which the script seeds with torch_seed.
# mode "kill" adds a callback, after BackupAndRestore, that SIGKILLs the process at the end of epoch 2, once the
# backup of that epoch is on disk; "plain" runs without a backup at all.
_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from odkit.callbacks import BackupAndRestore, Callback
    from odkit.models import build
    from odkit.synthetic import make_digits

    out_dir, mode, torch_seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = None if sys.argv[4] == "none" else int(sys.argv[4])
    torch.manual_seed(torch_seed)


    class KillAtEpochEnd(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)


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
""")


def _run(script: Path, out_dir: Path, mode: str, torch_seed: int = 0, seed: str = "0"
         ) -> subprocess.CompletedProcess[str]:
    out_dir.mkdir(exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), str(out_dir), mode, str(torch_seed), seed],
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
    out = tmp_path_factory.mktemp("uninterrupted")
    done = _run(script, out, "plain")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize(("torch_seed_after_crash", "seed"), [(0, "0"), (1, "none")],
                         ids=["same-script", "unseeded-new-process"])
def test_killed_run_resumes_to_the_same_weights(script: Path, uninterrupted: Path, tmp_path: Path,
                                                 torch_seed_after_crash: int, seed: str) -> None:
    """Killed at the end of epoch 2 (after its backup), then run again: epochs 3 and 4 only, same weights.

    "unseeded-new-process": fit(seed=None) draws its shuffling seed from torch's RNG, and the restarted process
    seeds torch differently, as an unseeded user's would be; the resume must still continue the killed run
    (the uninterrupted reference and the killed run draw the same seed from torch.manual_seed(0)).
    """
    if seed == "none":
        reference = tmp_path / "reference"
        done = _run(script, reference, "plain", 0, "none")
        assert done.returncode == 0, done.stderr
    else:
        reference = uninterrupted
    killed = _run(script, tmp_path, "kill", 0, seed)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "final.safetensors").exists()
    metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 3 and metadata["batch"] == 0
    assert read_header(tmp_path / "backup" / metadata["state_file"])["epoch"] == 3  # the next epoch to run

    resumed = _run(script, tmp_path, "resume", torch_seed_after_crash, seed)
    assert resumed.returncode == 0, resumed.stderr
    assert not (tmp_path / "backup").exists()  # delete_checkpoint after a run that ended normally
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epoch"] == [3, 4]
    full = json.loads((reference / "history.json").read_text())
    assert full["epoch"] == [0, 1, 2, 3, 4]
    assert history["history"] == {k: v[3:] for k, v in full["history"].items()}
    _assert_same_weights(_weights(tmp_path / "final.safetensors"), _weights(reference / "final.safetensors"))

