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


def test_boxes_are_tight_around_the_shapes() -> None:
    for item in make_shapes_dataset(20, image_hw=(96, 160), seed=7):
        gt = item.ground_truth
        assert np.all(gt.boxes_xyxy[:, 2] <= 160) and np.all(gt.boxes_xyxy[:, 3] <= 96)
        for (x0, y0, x1, y1), cls in zip(gt.boxes_xyxy.astype(int), gt.class_ids):
            patch = item.image[y0:y1, x0:x1].astype(int)
            if SHAPE_CLASSES[cls] == "square":  # a filled square covers its whole box with one colour
                assert np.all(patch == patch[0, 0])
            # the shape reaches the box's bottom row (at the centre) and its top row
            bottom = patch[-1]
            colour = patch[-1, (x1 - x0) // 2]
            assert np.all(bottom[(x1 - x0) // 2] == colour) and np.any(np.all(patch[0] == colour, axis=1))
            # and nothing of that colour lies just outside the box
            ring = [item.image[y0 - 1, x0:x1]] if y0 > 0 else []
            ring += [item.image[y0:y1, x1]] if x1 < 160 else []
            assert not any(np.any(np.all(r.astype(int) == colour, axis=1)) for r in ring)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size_range"):
        make_shapes_dataset(1, image_hw=(32, 32), size_range=(10, 40))
