"""The localizer: one class and one box per image, learned from generated single-shape images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import odkit  # noqa: E402
from odkit.synthetic import make_shapes_dataset  # noqa: E402


def _single_objects(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    items = make_shapes_dataset(n, image_hw=(64, 64), max_objects=1, size_range=(14, 40), seed=seed)
    images = np.stack([it.image for it in items]).astype(np.float32) / 255.0
    labels = np.array([int(it.ground_truth.class_ids[0]) for it in items])
    boxes = np.stack([it.ground_truth.boxes_xyxy[0] for it in items])
    return images, labels, boxes


def test_localizer_learns_class_and_box(tmp_path: Path) -> None:
    x, labels, boxes = _single_objects(480, seed=0)
    model = odkit.models.build("localizer", num_classes=3, class_names=["circle", "square", "triangle"], seed=0)
    model.compile("adam")
    history = model.fit(x[:400], (labels[:400], boxes[:400]), validation_data=(x[400:], (labels[400:], boxes[400:])),
                        epochs=8, batch_size=16, verbose=0, seed=0)
    assert {"loss", "accuracy", "iou", "val_loss", "val_accuracy", "val_iou"} <= set(history.history)
    assert history.history["val_iou"][-1] > 0.6 and history.history["val_accuracy"][-1] > 0.8
    probs, pred_boxes = model.predict(x[400:])
    assert probs.shape == (80, 3) and pred_boxes.shape == (80, 4)
    from odkit.ops import box_iou

    assert np.mean(box_iou(pred_boxes, boxes[400:], aligned=True)) == pytest.approx(history.history["val_iou"][-1],
                                                                                   abs=0.02)
    model.save(tmp_path / "loc.odk")
    again = odkit.load_model(tmp_path / "loc.odk")
    np.testing.assert_array_equal(again.predict(x[:4])[1], model.predict(x[:4])[1])
    with pytest.raises(ValueError, match="boxes_xyxy\\[0\\] has x_max < x_min"):
        model.fit(x[:2], ([0, 1], [[5, 5, 1, 9], [0, 0, 4, 4]]), verbose=0)
