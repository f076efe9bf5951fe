"""F1 against confidence, the confusion matrix and the TIDE-style error breakdown on small known scenes."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.eval import COCOEvaluator

from ._scenes import make_scene


def test_f1_confidence_by_hand() -> None:
    gt = GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1])
    det = Detections([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [1, 1, 1])
    out = COCOEvaluator().update([det], [gt]).f1_confidence(confidences=[0.0, 0.75, 0.85, 0.95])
    c = out["per_class"][1]
    # thresholds 0.9: P=1 R=.5 F1=.667; 0.8: P=.5 R=.5 F1=.5; 0.7: P=2/3 R=1 F1=.8
    assert c["best_threshold"] == pytest.approx(0.7) and c["best_f1"] == pytest.approx(0.8)
    assert c["best_precision"] == pytest.approx(2 / 3) and c["best_recall"] == 1.0
    np.testing.assert_allclose(c["f1"], [0.8, 0.5, 2 / 3, 0.0])
    np.testing.assert_allclose(c["recall"], [1.0, 0.5, 0.5, 0.0])


def test_f1_ties_keep_all_tied_detections() -> None:
    gt = GroundTruth([[0, 0, 10, 10]], [1])
    det = Detections([[50, 50, 60, 60], [0, 0, 10, 10]], [0.5, 0.5], [1, 1])
    c = COCOEvaluator().update([det], [gt]).f1_confidence()["per_class"][1]
    assert c["best_threshold"] == 0.5 and c["best_precision"] == 0.5 and c["best_recall"] == 1.0


def test_confusion_matrix_by_hand() -> None:
    gt = GroundTruth(
        [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [0, 60, 40, 100]],
        [1, 2, 2, 1],
        iscrowd=[False, False, False, True],
    )
    det = Detections(
        [[0, 0, 10, 10], [20, 20, 30, 30], [70, 70, 80, 80], [40, 40, 50, 50], [5, 65, 15, 75], [0, 0, 10, 10]],
        [0.9, 0.8, 0.7, 0.1, 0.6, 0.5],
        [1, 1, 2, 2, 1, 1],
    )
    out = COCOEvaluator(class_ids=[1, 2]).update([det], [gt]).confusion_matrix(0.5, 0.25)
    expected = np.array(
        [
            [1, 0, 0],  # GT class 1: detected as 1
            [1, 0, 1],  # GT class 2: one detected as class 1, one missed (its detection scored 0.1)
            [1, 1, 0],  # background: a duplicate of class 1 and a class-2 box on nothing
        ]
    )
    np.testing.assert_array_equal(out["matrix"], expected)  # the detection inside the crowd is not counted
    assert out["labels"] == [1, 2, "background"]


def test_error_breakdown_types_by_hand() -> None:
    gts = GroundTruth(
        [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70], [80, 80, 90, 90]], [1, 1, 1, 2, 1]
    )
    dets = Detections(
        [
            [0, 0, 10, 10],  # TP on GT0
            [0, 0, 10, 10],  # duplicate of GT0
            [20, 20, 30, 50],  # localization: IoU 100/300 with GT1 (class 1)
            [40, 40, 50, 50],  # classification: class 2 on GT2 (class 1), IoU 1
            [120, 120, 130, 130],  # background
            [60, 60, 63, 70],  # both: class 1 on GT3 (class 2), IoU 30/100
        ],
        [0.5, 0.45, 0.85, 0.8, 0.75, 0.7],  # the true positive scores below every error but the duplicate
        [1, 1, 1, 2, 1, 1],
    )
    out = COCOEvaluator().update([dets], [gts]).error_breakdown()
    # missed: GT4 (no detection) and GT3 (only a "both" error points at it; GT1 and GT2 are covered by the
    # localization and classification errors)
    assert out["counts"] == {
        "classification": 1,
        "localization": 1,
        "both": 1,
        "duplicate": 1,
        "background": 1,
        "missed": 2,
    }
    for name, delta in out["delta_ap"].items():
        if name == "duplicate":  # it scores below the only true positive: removing it changes nothing
            assert delta == 0.0
        else:
            assert delta > 0, name
    assert 0 <= out["ap"] < 1


def test_error_breakdown_base_ap_equals_map50() -> None:
    gt, results = make_scene(11, n_images=15, crowd_p=0.1)
    ev = COCOEvaluator.from_coco(gt, results)
    out = ev.error_breakdown()
    assert out["ap"] == pytest.approx(ev.compute().map50, abs=1e-12)
    assert all(v >= -1e-12 for v in out["delta_ap"].values())


def test_analyses_on_degenerate_inputs() -> None:
    only_det = COCOEvaluator().update([Detections([[0, 0, 5, 5]], [0.5], [3])], [GroundTruth.empty()])
    assert only_det.confusion_matrix()["matrix"].tolist() == [[0, 0], [1, 0]]
    assert only_det.error_breakdown()["counts"]["background"] == 1
    assert np.isnan(only_det.f1_confidence()["per_class"][3]["best_f1"])
    only_gt = COCOEvaluator().update([Detections.empty()], [GroundTruth([[0, 0, 5, 5]], [3])])
    assert only_gt.confusion_matrix()["matrix"].tolist() == [[0, 1], [0, 0]]
    assert only_gt.error_breakdown()["counts"]["missed"] == 1
    assert only_gt.f1_confidence()["per_class"][3]["best_f1"] == 0.0
    assert only_gt.compute_voc().ap.tolist() == [0.0]
    nothing = COCOEvaluator(class_ids=[1, 2]).update([Detections.empty()], [GroundTruth.empty()])
    assert nothing.confusion_matrix()["matrix"].sum() == 0
    assert all(np.isnan(v) for v in nothing.error_breakdown()["delta_ap"].values())
