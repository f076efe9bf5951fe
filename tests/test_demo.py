"""The demo (``make demo``) end to end with a tiny budget: real training, its files, and its numbers equal to
pycocotools' on the files it wrote."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from odkit.cli.main import main  # noqa: E402
from odkit.demo import run_demo  # noqa: E402
from odkit.io import read_annotations, read_predictions, write_annotations  # noqa: E402


def test_demo_trains_evaluates_predicts_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.set_num_threads(1)
    result = run_demo(tmp_path, minutes=0.5, n_train=16, n_val=6, epochs=2, imgsz=64)
    printed = capsys.readouterr().out
    assert f"mAP50 {result.metrics['map50']:.3f}" in printed and str(result.report_path) in printed
    assert result.report_path.is_file() and result.model_path.is_file()
    train = tmp_path / "train"
    for name in ("results.csv", "weights/best.odk", "weights/last.odk", "metrics.json", "predictions.json"):
        assert (train / name).is_file(), name
    page = result.report_path.read_text()
    for heading in ("Training curves", "Per class", "Precision-recall", "Confusion matrix", "Where the AP goes"):
        assert heading in page
    dataset = read_annotations(tmp_path / "dataset")
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 16, "val": 6}
    assert read_annotations(tmp_path / "dataset_yolo").num_boxes == dataset.num_boxes
    # predict's outputs are read back by odkit.io
    by_image, _ = read_predictions([tmp_path / "predict" / "labels"], dataset.split("val"))
    assert set(by_image) <= set(dataset.splits["val"])

    # the headline numbers are pycocotools' on the val ground truth and the run's predictions.json
    pycocotools = pytest.importorskip("pycocotools.cocoeval")
    from pycocotools.coco import COCO

    gt_path = tmp_path / "val.json"
    write_annotations(dataset.split("val"), gt_path, "coco")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = pycocotools.COCOeval(gt, gt.loadRes(str(train / "predictions.json")), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose([result.metrics["map"], result.metrics["map50"]], ev.stats[:2], rtol=0, atol=1e-12)
    assert json.loads((train / "metrics.json").read_text())["AP50"] == pytest.approx(ev.stats[1], abs=1e-12)


def test_demo_cli_usage_error() -> None:
    assert main(["demo", "--minutes", "0"]) == 2
