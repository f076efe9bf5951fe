"""Hand-computed COCO AP on tiny scenes (no pycocotools needed)."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.eval import COCOEvaluator, COCOParams

EPS = np.spacing(1)


def test_two_objects_tp_fp_tp() -> None:
    gt = GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1], area=[100.0, 100.0])
    det = Detections([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [1, 1, 1])
    res = COCOEvaluator().update([det], [gt]).compute()
    # recall 0.5, 0.5, 1; precision 1, 1/2, 2/3 -> envelope 1, 2/3, 2/3; 51 recall points read 1, 50 read 2/3
    expected = (51 * (1 / (1 + EPS)) + 50 * (2 / (3 + EPS))) / 101
    assert res.map == pytest.approx(expected, abs=1e-15)
    # (means over different numbers of cells round differently in the last bit)
    assert res.map50 == pytest.approx(expected, abs=1e-15) and res.map75 == pytest.approx(expected, abs=1e-15)
    assert res.map_small == res.map and np.isnan(res.map_medium) and np.isnan(res.map_large)
    assert res.mar_1 == 0.5 and res.mar_10 == 1.0 and res.mar_100 == 1.0
    assert res.per_class[0].n_gt == 2 and res.per_class[0].n_det == 3
    np.testing.assert_allclose(res.scores[0, :51, 0, 0, 2], 0.9, rtol=1e-6)
    np.testing.assert_allclose(res.scores[0, 51:, 0, 0, 2], 0.7, rtol=1e-6)


def test_iou_threshold_sweep() -> None:
    gt = GroundTruth([[0, 0, 10, 10]], [3])
    det = Detections([[0, 0, 10, 7]], [0.5], [3])  # IoU 0.7
    res = COCOEvaluator().update([det], [gt]).compute()
    # a hit at thresholds 0.5 .. 0.7 (5 of 10), a miss above
    assert res.map == pytest.approx(5 / 10 * (1 / (1 + EPS)), abs=1e-15)
    assert res.map50 == pytest.approx(1 / (1 + EPS)) and res.map75 == 0.0
    assert res.mar_100 == pytest.approx(0.5)


def test_crowd_absorbs_detections_and_empty_cases() -> None:
    gt = GroundTruth([[0, 0, 100, 100], [200, 200, 210, 210]], [1, 1], iscrowd=[True, False])
    det = Detections([[10, 10, 20, 20], [30, 30, 40, 40], [200, 200, 210, 210]], [0.9, 0.8, 0.1], [1, 1, 1])
    res = COCOEvaluator().update([det], [gt]).compute()
    # both boxes inside the crowd region are ignored: the only counted detection is the true positive
    assert res.map == pytest.approx(1 / (1 + EPS))
    empty = COCOEvaluator().update([Detections.empty()], [GroundTruth.empty()]).compute()
    assert all(np.isnan(v) for v in empty.stats.values())
    no_dets = COCOEvaluator().update([Detections.empty()], [gt]).compute()
    assert no_dets.map == 0.0 and no_dets.mar_100 == 0.0


def test_custom_max_dets_changes_headline() -> None:
    gt = GroundTruth([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], [1, 1, 1])
    det = Detections([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], [0.9, 0.8, 0.7], [1, 1, 1])
    ev = COCOEvaluator(COCOParams(max_dets=(1, 2))).update([det], [gt])
    res = ev.compute()
    # two detections kept per image: recall 2/3 at most, AP = 67 recall points at precision 1
    assert res.map == pytest.approx(67 / 101 * (1 / (1 + EPS)), abs=1e-15)
    assert res.mar_at(2) == pytest.approx(2 / 3) and np.isnan(res.mar_100)
