"""Per-image errors, worst-first order, side-by-side pictures, and the labels of draw_boxes."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.report import ImageErrors, image_errors, side_by_side, worst_first
from odkit.viz import class_colour, draw_boxes, text_colour
from tests.conftest import assert_unchanged

GT = GroundTruth([[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1])


def dets(rows: list[tuple[list[float], float, int]]) -> Detections:
    if not rows:
        return Detections.empty()
    return Detections([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


@pytest.mark.parametrize(
    ("detections", "ground_truth", "expected"),
    [
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0), ([20, 20, 40, 40], 0.8, 1)]), GT, (2, 0, 0, 0), id="perfect"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0)]), GT, (1, 0, 1, 0), id="one miss"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0), ([0, 0, 10, 9], 0.7, 0), ([20, 20, 40, 40], 0.8, 1)]), GT,
                     (2, 1, 0, 0), id="one duplicate"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0), ([20, 20, 40, 40], 0.8, 0)]), GT, (1, 1, 1, 1),
                     id="wrong class"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0), ([20, 20, 40, 40], 0.2, 1)]), GT, (1, 0, 1, 0),
                     id="below conf"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0), ([50, 0, 60, 10], 0.9, 1)]), GT, (1, 1, 1, 0),
                     id="background"),
        pytest.param(dets([]), GT, (0, 0, 2, 0), id="no detections"),
        pytest.param(dets([([0, 0, 10, 10], 0.9, 0)]), GroundTruth.empty(), (0, 1, 0, 0), id="no ground truth"),
        pytest.param(  # a detection inside a crowd region of its class is ignored; an unmatched crowd is no miss
            dets([([0, 0, 10, 10], 0.9, 0), ([22, 22, 30, 30], 0.8, 1), ([60, 60, 70, 70], 0.7, 1)]),
            GroundTruth([[0, 0, 10, 10], [20, 20, 40, 40], [80, 80, 99, 99]], [0, 1, 0], iscrowd=[False, True, True]),
            (1, 1, 0, 0), id="crowd"),
    ],
)
def test_image_errors(detections: Detections, ground_truth: GroundTruth, expected: tuple[int, ...]) -> None:
    got = image_errors(detections, ground_truth, conf=0.25)
    assert (got.tp, got.fp, got.fn, got.wrong_class) == expected
    assert got.total == got.fp + got.fn


def test_image_errors_takes_the_best_iou_and_the_higher_score_first() -> None:
    gt = GroundTruth([[0, 0, 10, 10], [6, 0, 16, 10]], [0, 0])
    # the higher-scored detection overlaps both GTs and takes the one of highest IoU (the second)
    d = dets([([5, 0, 15, 10], 0.9, 0), ([1, 0, 11, 10], 0.8, 0)])
    assert image_errors(d, gt, 0.5) == ImageErrors(tp=2, fp=0, fn=0, wrong_class=0)


def test_image_errors_checks_thresholds() -> None:
    with pytest.raises(ValueError, match=r"conf must be in \[0, 1\]; got 1.5"):
        image_errors(Detections.empty(), GT, conf=1.5)
    with pytest.raises(ValueError, match=r"iou must be in \[0, 1\]; got -0.1"):
        image_errors(Detections.empty(), GT, conf=0.5, iou=-0.1)


def test_worst_first() -> None:
    errors = [ImageErrors(3, 1, 0, 0), ImageErrors(0, 0, 2, 0), ImageErrors(0, 2, 0, 0), ImageErrors(1, 0, 0, 0),
              ImageErrors(0, 0, 2, 0), ImageErrors(0, 3, 1, 1)]
    assert worst_first(errors) == [5, 1, 4, 2, 0, 3]
    assert worst_first([]) == []


def test_side_by_side_shape_and_panels() -> None:
    image = np.full((60, 80, 3), 30, np.uint8)
    d = dets([([5, 30, 40, 55], 0.9, 0), ([50, 5, 70, 20], 0.1, 1)])
    out = assert_unchanged(lambda im: side_by_side(im, d, GT, ["a", "b"], conf=0.25), image)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[1] > 2 * 80 and out.shape[0] > 60
    header, gap = out.shape[0] - 60, out.shape[1] - 160
    left, right = out[header:, :80], out[header:, 80 + gap:]
    assert tuple(right[54, 5]) == class_colour(0)  # the kept detection's outline (bottom-left corner)
    assert np.all(right[8:18, 55:65] == 30)  # the one below conf is not drawn
    assert tuple(left[39, 39]) == class_colour(1)  # GT in its class colour on the left
    assert side_by_side(np.zeros((40, 30), np.uint8), Detections.empty(), GroundTruth.empty(), None, 0.5).shape[2] == 3
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) or \(H, W, 3\); got \(4, 4, 4\)"):
        side_by_side(np.zeros((4, 4, 4), np.uint8), d, GT, None, 0.5)


def test_labels_stay_inside_and_contrast() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    d = dets([([30, 0, 50, 20], 0.5, 0)])  # touches the top and right edges
    out = draw_boxes(image, d, None, ["a-long-class-name"])
    colour = class_colour(0)
    label_rows = np.flatnonzero(np.all(out[:, :, :] == colour, axis=2).sum(axis=1) > 20)
    assert label_rows.size and label_rows.min() == 0  # the label box is drawn from the top row, inside the image
    assert np.all(out[0:3, 49] == colour)  # ... and reaches the right edge instead of running past it
    assert text_colour((255, 255, 0)) == (0, 0, 0) and text_colour((0, 0, 160)) == (255, 255, 255)


def test_line_width_scales_with_the_image() -> None:
    big = draw_boxes(np.zeros((1000, 1400, 3), np.uint8), dets([([100, 100, 500, 500], 0.9, 2)]))
    column = np.all(big[300, 95:110] == class_colour(2), axis=1)
    assert column.sum() == 4  # round(1200 * 0.003) = 4 pixels
    small = draw_boxes(np.zeros((1000, 1400, 3), np.uint8), dets([([100, 100, 500, 500], 0.9, 2)]), line_width=1)
    assert np.all(small[300, 95:110] == class_colour(2), axis=1).sum() == 1
