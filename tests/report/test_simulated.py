"""The simulated detector the report tests use makes the errors real detectors make."""

from __future__ import annotations

import numpy as np

from odkit.synthetic import make_shapes_dataset
from tests._simulated import simulate_detector


def test_simulated_detector_makes_real_errors() -> None:
    item = make_shapes_dataset(1, image_hw=(160, 224), seed=1)[0]
    rng = np.random.default_rng(0)
    runs = [simulate_detector(item.ground_truth, (160, 224), rng) for _ in range(20)]
    assert any(len(r) > 2 * len(item.ground_truth) for r in runs)  # duplicates around objects
    for r in runs:
        assert np.all(r.boxes_xyxy[:, 2] <= 224) and np.all(r.boxes_xyxy[:, 3] <= 160)
        assert np.all((r.scores > 0) & (r.scores < 1))
