"""Fixtures of the report tests: a small simulated evaluation (the browser fixtures are in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from odkit.boxes import Detections
from odkit.eval import COCOEvaluator
from odkit.ops import batched_nms
from odkit.synthetic import SHAPE_CLASSES, SyntheticImage, make_shapes_dataset
from tests._simulated import simulate_detector


@dataclass(frozen=True)
class Scene:
    """Generated images, their simulated detections (after NMS), and an evaluator holding both."""

    items: list[SyntheticImage]
    predictions: list[Detections]
    evaluator: COCOEvaluator


def make_scene(n_images: int = 12, seed: int = 0, extra_class: bool = False, no_detections: bool = False) -> Scene:
    """A scene; ``extra_class`` adds a class with no ground truth, ``no_detections`` predicts nothing."""
    rng = np.random.default_rng(seed)
    items = make_shapes_dataset(n_images, image_hw=(120, 160), size_range=(14, 60), seed=seed)
    predictions = []
    for item in items:
        raw = Detections.empty() if no_detections else simulate_detector(item.ground_truth, item.image.shape[:2], rng)
        keep = batched_nms(raw.boxes_xyxy, raw.scores, raw.class_ids, iou_threshold=0.5, max_det=100)
        predictions.append(raw[keep])
    names = [*SHAPE_CLASSES, "hexagon"] if extra_class else list(SHAPE_CLASSES)
    evaluator = COCOEvaluator(class_ids=list(range(len(names))), class_names=names)
    evaluator.update(predictions, [item.ground_truth for item in items])
    return Scene(items, predictions, evaluator)


@pytest.fixture(scope="session")
def scene() -> Scene:
    return make_scene()
