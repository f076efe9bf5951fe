"""A simulated detector for tests of evaluation and reports that need detector-like errors without a model."""

from __future__ import annotations

import numpy as np

from odkit.boxes import Detections, GroundTruth
from odkit.synthetic import SHAPE_CLASSES


def simulate_detector(ground_truth: GroundTruth, image_hw: tuple[int, int], rng: np.random.Generator) -> Detections:
    """Raw detector-like output for one image: several jittered boxes per object plus false positives.

    Per object: 0 boxes with probability 0.1 (a miss), else 2-6 boxes jittered by ~6% of the object's size
    with scores around 0.75; 8% of objects are given the wrong class. Plus 0-3 background boxes with scores
    around 0.3.

    Args:
        ground_truth: the true objects of the image (absolute xyxy).
        image_hw: (height, width) in pixels; boxes are clipped to it.
        rng: random generator.

    Returns:
        Unfiltered detections (before NMS).
    """
    height, width = image_hw
    boxes, scores, classes = [], [], []
    for box, cls in zip(ground_truth.boxes_xyxy.astype(np.float64), ground_truth.class_ids):
        if rng.random() < 0.1:
            continue
        size = box[2:] - box[:2]
        label = int(rng.integers(0, len(SHAPE_CLASSES))) if rng.random() < 0.08 else int(cls)
        confidence = float(np.clip(rng.normal(0.75, 0.12), 0.05, 0.99))
        for _ in range(int(rng.integers(2, 7))):
            jitter = rng.normal(0, 0.06, size=4) * np.r_[size, size]
            boxes.append(box + jitter)
            scores.append(float(np.clip(confidence - abs(rng.normal(0, 0.08)), 0.01, 0.99)))
            classes.append(label)
    for _ in range(int(rng.integers(0, 4))):
        side = rng.uniform(10, 50, size=2)
        x0, y0 = rng.uniform(0, width - side[0]), rng.uniform(0, height - side[1])
        boxes.append(np.array([x0, y0, x0 + side[0], y0 + side[1]]))
        scores.append(float(np.clip(rng.normal(0.3, 0.12), 0.01, 0.99)))
        classes.append(int(rng.integers(0, len(SHAPE_CLASSES))))
    if not boxes:
        return Detections.empty()
    boxes_xyxy = np.asarray(boxes)
    boxes_xyxy[:, 0::2] = np.clip(boxes_xyxy[:, 0::2], 0, width)
    boxes_xyxy[:, 1::2] = np.clip(boxes_xyxy[:, 1::2], 0, height)
    boxes_xyxy[:, 2:] = np.maximum(boxes_xyxy[:, 2:], boxes_xyxy[:, :2])
    return Detections(boxes_xyxy, np.asarray(scores), np.asarray(classes))
