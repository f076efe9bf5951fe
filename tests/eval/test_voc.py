"""PASCAL VOC AP: hand-computed cases (11-point, all-point, difficult, +1 pixel)."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.eval import COCOEvaluator, voc_ap


def _scene() -> tuple[list[Detections], list[GroundTruth]]:
    """3 GTs of class 1 in two images; 5 detections giving TP, FP, TP, FP(duplicate), TP by score."""
    g0 = GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1])
    g1 = GroundTruth([[0, 0, 10, 10]], [1])
    d0 = Detections(
        [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30], [0, 0, 10, 9]], [0.9, 0.8, 0.7, 0.6], [1, 1, 1, 1]
    )
    d1 = Detections([[0, 0, 10, 10]], [0.5], [1])
    return [d0, d1], [g0, g1]


def test_voc_all_point_and_11_point_by_hand() -> None:
    dets, gts = _scene()
    ev = COCOEvaluator().update(dets, gts)
    # precision after each: 1, 1/2, 2/3, 2/4, 3/5; recall: 1/3, 1/3, 2/3, 2/3, 1
    all_point = ev.compute_voc(method="all_point")
    assert all_point.ap[0] == pytest.approx(1 / 3 * 1 + 1 / 3 * (2 / 3) + 1 / 3 * 0.6, abs=1e-12)
    eleven = ev.compute_voc(method="11point")
    assert eleven.ap[0] == pytest.approx((4 * 1 + 3 * (2 / 3) + 4 * 0.6) / 11, abs=1e-12)
    rec, prec, scores = all_point.curves[0]
    np.testing.assert_allclose(rec, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(prec, [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(scores, [0.9, 0.8, 0.7, 0.6, 0.5], rtol=1e-6)
    assert all_point.map == all_point.ap[0] and all_point.n_gt.tolist() == [3] and all_point.n_det.tolist() == [5]


def test_difficult_gt_is_ignored() -> None:
    gt = GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1], difficult=[False, True])
    det = Detections([[20, 20, 30, 30], [0, 0, 10, 10], [40, 40, 50, 50]], [0.9, 0.8, 0.7], [1, 1, 1])
    res = COCOEvaluator().update([det], [gt]).compute_voc()
    # the detection on the difficult GT is neither TP nor FP: sequence TP, FP over npos=1
    rec, prec, _ = res.curves[0]
    np.testing.assert_allclose(rec, [0.0, 1.0, 1.0])
    np.testing.assert_allclose(prec, [0.0, 1.0, 0.5])
    assert res.ap[0] == pytest.approx(1.0) and res.n_gt[0] == 1


def test_plus_one_pixel_changes_the_match() -> None:
    gt = GroundTruth([[0, 0, 4, 4]], [1])
    det = Detections([[2, 0, 6, 4]], [0.9], [1])
    ev = COCOEvaluator().update([det], [gt])
    # continuous: inter 2*4=8, union 24 -> 0.333; +1: inter 3*5=15, union 25+25-15=35 -> 0.4286
    assert ev.compute_voc(iou_threshold=0.4).ap[0] == 0.0
    assert ev.compute_voc(iou_threshold=0.4, plus_one=True).ap[0] == pytest.approx(1.0)


def test_threshold_is_strict_and_missing_class_is_nan() -> None:
    gt = GroundTruth([[0, 0, 10, 10]], [1])
    det = Detections([[0, 0, 10, 5], [0, 0, 10, 10]], [0.9, 0.1], [1, 2])  # IoU exactly 0.5; class 2 has no GT
    res = COCOEvaluator().update([det], [gt]).compute_voc(iou_threshold=0.5)
    assert res.ap[0] == 0.0
    assert np.isnan(res.ap[1]) and res.map == 0.0
    assert res.to_dict()["per_class"][1]["AP"] is None


def test_voc_ap_function_and_bad_method() -> None:
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)
    assert voc_ap(np.array([]), np.array([]), "11point") == 0.0
    with pytest.raises(ValueError, match="unknown VOC AP method"):
        voc_ap(np.array([1.0]), np.array([1.0]), "101point")  # type: ignore[arg-type]
