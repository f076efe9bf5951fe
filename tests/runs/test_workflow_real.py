"""The workflow on real layouts: the raccoon dataset as it is, a Roboflow data.yaml, a real Ctrl-C, and a
training run's report opened in headless Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from odkit.cli.main import main  # noqa: E402
from tests.runs._tiny import write_shapes  # noqa: E402

TINY = ["--model", "detector-n", "--imgsz", "64", "--batch", "8", "--verbose", "0"]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_raccoon_as_it_is_train_val_predict(datasets_dir: Path, tmp_path: Path) -> None:
    """The issue's bar: `odkit train` on the raccoon VOC folder as it is, then `odkit val` and `odkit predict`."""
    raccoon = datasets_dir / "raccoon"
    run = tmp_path / "train"
    assert main(["train", str(raccoon), *TINY, "--epochs", "1", "--out", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["images"] == 40  # the stated 80/20 split of 200
    best = run / "weights" / "best.odk"
    assert main(["val", str(best), str(raccoon), "--out", str(tmp_path / "val")]) == 0
    assert (tmp_path / "val" / "report.html").is_file()
    assert main(["predict", str(best), str(raccoon / "images"), "--conf", "0.1", "--save-txt", "--out",
                 str(tmp_path / "pred")]) == 0
    assert len(list((tmp_path / "pred").glob("*.jpg"))) == 200


def test_roboflow_data_yaml_with_paths_elsewhere(tmp_path: Path) -> None:
    """A Roboflow export's data.yaml says `train: ../train/images` from the dataset's own folder: works as it is."""
    root = tmp_path / "export"
    source = write_shapes(tmp_path / "src", n=10, val=4)
    import odkit.io as io

    dataset = io.read_annotations(source)
    for split, folder in (("train", "train"), ("val", "valid")):
        io.write_annotations(dataset.split(split), root / folder, "yolo", copy_images="copy")
    names = [c.name for c in dataset.categories]
    (root / "data.yaml").write_text(f"train: ../train/images\nval: ../valid/images\nnc: {len(names)}\n"
                                    f"names: {names}\n")
    for folder in ("train", "valid"):  # the per-split YAMLs the writer left are not part of a Roboflow export
        for extra in (root / folder).glob("*.yaml"):
            extra.unlink()
    assert main(["train", str(root / "data.yaml"), *TINY, "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["images"] == 4


def test_ctrl_c_leaves_a_resumable_run(tmp_path: Path) -> None:
    """SIGINT after the first epoch: exit 130, the resume command printed, and --resume finishes the run."""
    data = write_shapes(tmp_path / "ds", n=40, val=4)
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "odkit", "train", str(data), *TINY, "--epochs", "6", "--out",
                             str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (run / "results.csv").exists() and time.monotonic() < deadline:  # the last file an epoch writes
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"odkit train --resume {run}" in err
    assert (run / "weights" / "last.odk").is_file() and (run / "backup").is_dir()
    done = len((run / "results.csv").read_text().splitlines()) - 1
    assert 1 <= done < 6
    assert main(["train", "--resume", str(run), "--verbose", "0"]) == 0
    assert len((run / "results.csv").read_text().splitlines()) - 1 == 6
    assert not (run / "backup").exists()


def test_training_report_in_a_real_browser(tmp_path: Path, browser_page) -> None:  # type: ignore[no-untyped-def]
    data = write_shapes(tmp_path / "ds", n=10, val=4)
    run = tmp_path / "run"
    assert main(["train", str(data), *TINY, "--epochs", "2", "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    page = browser_page(run / "report.html", tmp_path / "shot.png", ["#tile-map50", "h1"])
    assert page.console_errors == [] and page.page_errors == [] and page.external_requests == []
    assert page.texts["#tile-map50"] is not None and f"{metrics['AP50']:.3f}" in page.texts["#tile-map50"]
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    with Image.open(page.screenshot) as shot:
        assert shot.width >= 1000
