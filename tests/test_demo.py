"""The demo (``make demo``): every step runs and its numbers are the ones pycocotools gives on its files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from odkit.demo import run_demo, simulate_detector
from odkit.io import read_annotations
from odkit.synthetic import make_shapes_dataset


def test_demo_writes_a_consistent_workflow(tmp_path: Path) -> None:
    result = run_demo(tmp_path, n_images=12, seed=3, verbose=False)
    coco = tmp_path / "dataset" / "annotations" / "instances.json"
    assert read_annotations(coco).num_boxes == read_annotations(tmp_path / "yolo").num_boxes > 0
    page = result.report_path.read_text()
    for heading in ("Summary", "Per class", "Precision-recall", "Confusion matrix", "Where the AP goes", "Samples"):
        assert heading in page
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["AP"] == pytest.approx(result.stats["map"])
    assert 0 < metrics["AP"] < 1

    pycocotools = pytest.importorskip("pycocotools.cocoeval")
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(coco))
        ev = pycocotools.COCOeval(gt, gt.loadRes(str(tmp_path / "predictions.json")), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    ours = np.array(list(result.stats.values()))
    np.testing.assert_allclose(ours, np.where(ev.stats == -1, np.nan, ev.stats), rtol=0, atol=1e-12)


def test_simulated_detector_makes_real_errors() -> None:
    item = make_shapes_dataset(1, image_hw=(160, 224), seed=1)[0]
    rng = np.random.default_rng(0)
    runs = [simulate_detector(item.ground_truth, (160, 224), rng) for _ in range(20)]
    assert any(len(r) > 2 * len(item.ground_truth) for r in runs)  # duplicates around objects
    for r in runs:
        assert np.all(r.boxes_xyxy[:, 2] <= 224) and np.all(r.boxes_xyxy[:, 3] <= 160)
        assert np.all((r.scores > 0) & (r.scores < 1))
