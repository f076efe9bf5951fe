"""Boxes, Detections and GroundTruth containers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from odkit.boxes import Boxes, BoxFormat, Detections, GroundTruth
from odkit.errors import BoxFormatError


def _dets() -> Detections:
    return Detections(
        boxes_xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2]], dtype=np.int64),
        scores=[0.5, 0.9, 0.5],
        class_ids=np.array([1.0, 2.0, 1.0]),
    )


def test_detections_normalize_dtypes_and_copy_inputs() -> None:
    boxes = np.array([[0, 0, 10, 10]], dtype=np.float64)
    dets = Detections(boxes, np.array([0.3]), np.array([7]))
    boxes[0, 0] = 5
    assert dets.boxes_xyxy.dtype == np.float64 and dets.boxes_xyxy[0, 0] == 0
    assert dets.scores.dtype == np.float64 and dets.class_ids.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        dets.boxes_xyxy[0, 0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        dets.scores = np.zeros(1)  # type: ignore[misc]


def test_indexing_returns_new_containers() -> None:
    dets = _dets()
    assert isinstance(dets[0], Detections) and len(dets[0]) == 1
    assert len(dets[1:]) == 2
    high = dets[dets.scores > 0.6]
    np.testing.assert_array_equal(high.class_ids, [2])
    np.testing.assert_array_equal(dets[np.array([2, 0])].boxes_xyxy[:, 0], [1, 0])
    assert len(dets) == 3  # original untouched


def test_sorted_is_stable_on_ties() -> None:
    order = _dets().sorted()
    np.testing.assert_array_equal(order.boxes_xyxy[:, 0], [5, 0, 1])


def test_empty_sets_are_normal() -> None:
    for empty in (Detections.empty(), GroundTruth.empty(), Detections([], [], [])):
        assert len(empty) == 0 and empty.boxes_xyxy.shape == (0, 4)
    assert len(_dets()[np.zeros(3, dtype=bool)]) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": [0.1, 0.2]}, r"scores must have shape \(3,\)"),
        ({"class_ids": [1, 2]}, r"class_ids must have shape \(3,\)"),
        ({"class_ids": [1, 2.5, 3]}, r"class_ids\[1\] must be an integer"),
        ({"scores": [0.1, np.nan, 0.2]}, r"scores\[1\] must be finite"),
        ({"boxes_xyxy": [[0, 0, 1, 1], [0, 0, 1, 1], [3, 0, 1, 1]]}, r"boxes_xyxy\[2\]"),
    ],
)
def test_detections_reject_bad_input(kwargs: dict, message: str) -> None:
    base = {"boxes_xyxy": np.zeros((3, 4)), "scores": np.zeros(3), "class_ids": np.zeros(3)}
    with pytest.raises(BoxFormatError, match=message):
        Detections(**{**base, **kwargs})


def test_ground_truth_defaults_and_area() -> None:
    gt = GroundTruth(np.array([[0, 0, 4, 5], [2, 2, 3, 3]]), [0, 1])
    np.testing.assert_array_equal(gt.area, [20, 1])
    assert gt.iscrowd.dtype == np.bool_ and not gt.iscrowd.any()
    assert not gt.difficult.any()
    explicit = GroundTruth([[0, 0, 4, 5]], [3], iscrowd=[1], area=[12.5], difficult=[True])
    assert explicit.iscrowd[0] and explicit.area[0] == 12.5 and explicit[0].difficult[0]
    with pytest.raises(BoxFormatError, match=r"area\[0\] must be finite and >= 0"):
        GroundTruth([[0, 0, 4, 5]], [3], area=[-1])


def test_boxes_container_converts() -> None:
    boxes = Boxes(np.array([[0.5, 0.5, 0.5, 0.25]]), "cxcywh_norm", image_hw=(100, 200))
    assert boxes.format is BoxFormat.CXCYWH_NORM
    np.testing.assert_allclose(boxes.xyxy, [[50, 37.5, 150, 62.5]])
    xywh = boxes.convert(BoxFormat.XYWH)
    assert xywh.format is BoxFormat.XYWH and xywh.image_hw == (100, 200)
    np.testing.assert_allclose(xywh.data, [[50, 37.5, 100, 25]])
    assert len(boxes[0]) == 1
    with pytest.raises(BoxFormatError, match="negative width"):
        Boxes(np.array([[0, 0, -1, 1]]), "xywh")


def test_ground_truth_is_float64_end_to_end_and_rejects_inverted_boxes() -> None:
    boxes = np.array([[0.1, 0.2, 10.123456789012, 10.5]])
    gt = GroundTruth(boxes, [3], ann_ids=[7], truncated=[True], extras=({"pose": "Left"},))
    assert gt.boxes_xyxy.dtype == np.float64 and gt.boxes_xyxy[0, 2] == 10.123456789012  # no float32 round trip
    assert gt.area.tolist() == [(10.123456789012 - 0.1) * (10.5 - 0.2)]
    assert gt.ann_ids.tolist() == [7] and gt.truncated.tolist() == [True] and gt.extras[0]["pose"] == "Left"
    assert gt[0].extras[0]["pose"] == "Left" and len(GroundTruth.concat([gt, gt])) == 2
    with pytest.raises(BoxFormatError, match=r"boxes_xyxy\[1\] \(xyxy\) has x_max < x_min"):
        GroundTruth([[0, 0, 1, 1], [5, 0, 1, 1]], [1, 1])
    with pytest.raises(BoxFormatError, match="extras must have 1 entries"):
        GroundTruth([[0, 0, 1, 1]], [1], extras=())
    empty = GroundTruth.empty()
    assert empty.boxes_xyxy.shape == (0, 4) and empty.boxes_xyxy.dtype == np.float64
