"""The generated shapes dataset: deterministic, and its boxes are tight around the drawn pixels."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.synthetic import SHAPE_CLASSES, make_shapes_dataset


def test_same_seed_same_data_and_counts() -> None:
    a, b = make_shapes_dataset(5, seed=3), make_shapes_dataset(5, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.ground_truth.boxes_xyxy, y.ground_truth.boxes_xyxy)
    assert all(1 <= len(x.ground_truth) <= 4 for x in a)
    assert a[0].image.shape == (128, 128, 3) and a[0].image.dtype == np.uint8


# Share of its box that each shape covers: 1 for a square, about pi/4 for a circle, about 1/2 for a triangle.
COVERAGE = {"square": (1.0, 1.0), "circle": (0.70, 0.85), "triangle": (0.42, 0.62)}


def test_boxes_are_tight_around_the_shapes() -> None:
    height, width = 96, 160
    n_shapes = 0
    for item in make_shapes_dataset(20, image_hw=(height, width), seed=7):
        gt = item.ground_truth
        for (x0, y0, x1, y1), cls in zip(gt.boxes_xyxy.astype(int), gt.class_ids):
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            # Every shape covers the centre of its box and has one flat colour, far (80+ levels) from the noisy
            # background in some channel, so the pixels of exactly that colour are the shape.
            colour = item.image[(y0 + y1) // 2, (x0 + x1) // 2]
            # The box grown by one pixel (inside the image): the shape must reach each edge of the box and
            # no pixel of it may lie in the ring just outside, i.e. the box is its exact bounding box.
            top, left = max(y0 - 1, 0), max(x0 - 1, 0)
            window = item.image[top : min(y1 + 1, height), left : min(x1 + 1, width)]
            rows, cols = np.nonzero(np.all(window == colour, axis=2))
            assert (rows.min() + top, rows.max() + top + 1) == (y0, y1), (x0, y0, x1, y1)
            assert (cols.min() + left, cols.max() + left + 1) == (x0, x1), (x0, y0, x1, y1)
            # and the class is the shape that was drawn
            low, high = COVERAGE[SHAPE_CLASSES[cls]]
            assert low <= len(rows) / ((x1 - x0) * (y1 - y0)) <= high, SHAPE_CLASSES[cls]
            n_shapes += 1
    assert n_shapes >= 40


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size_range"):
        make_shapes_dataset(1, image_hw=(32, 32), size_range=(10, 40))
