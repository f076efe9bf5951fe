"""detector-n / detector-s: forward / backward, config round trip, predict in original pixels, a learning test
(overfit a handful of generated images to mAP50 > 0.9) and determinism."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import odkit.models  # noqa: E402
from odkit.data import Letterbox, detection_dataset  # noqa: E402
from odkit.eval import COCOEvaluator  # noqa: E402
from odkit.io import Category, Dataset, GroundTruth, ImageRecord  # noqa: E402
from odkit.models import _detector  # noqa: E402
from odkit.models._fcos import level_shapes  # noqa: E402
from odkit.synthetic import SHAPE_CLASSES, make_shapes_dataset  # noqa: E402


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread: small convolutions on a shared 2-core machine run several times faster so."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _shapes(folder: Path, n: int, image_hw: tuple[int, int], seed: int = 0) -> Dataset:
    """``n`` generated images written as PNG files, as an ``odkit.io.Dataset`` (category ids 1..3)."""
    from PIL import Image

    items = make_shapes_dataset(n, image_hw=image_hw, max_objects=3, size_range=(16, 40), seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    records, annotations = [], {}
    for i, item in enumerate(items, start=1):
        name = f"shapes_{i:03d}.png"
        Image.fromarray(item.image).save(folder / name)
        records.append(ImageRecord(id=i, file_name=name, path=name, width=image_hw[1], height=image_hw[0]))
        annotations[i] = GroundTruth(item.ground_truth.boxes_xyxy, item.ground_truth.class_ids + 1)
    return Dataset(images=tuple(records), annotations=annotations, root=folder,
                   categories=tuple(Category(id=k + 1, name=c) for k, c in enumerate(SHAPE_CLASSES)))


@pytest.mark.parametrize(("name", "low", "high"), [("detector-n", 0.2e6, 0.4e6), ("detector-s", 0.9e6, 1.4e6)])
def test_forward_backward_tiny(name: str, low: float, high: float) -> None:
    model = odkit.models.build(name, num_classes=3, imgsz=64, seed=0)
    assert low < model.count_params() < high
    images = torch.rand(2, 3, 64, 96) * 255
    cls, ltrb, ctr = model(images)
    points = sum(h * w for h, w in level_shapes((64, 96)))
    assert cls.shape == (2, points, 3) and ltrb.shape == (2, points, 4) and ctr.shape == (2, points)
    targets = [{"boxes": np.array([[4.0, 6.0, 30.0, 40.0]], np.float32), "labels": np.array([2])},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}]
    losses = model(images, targets)
    assert set(losses) == {"loss", "cls_loss", "box_loss", "ctr_loss"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_build_from_name_and_config_round_trip() -> None:
    model = odkit.models.build("detector-s", num_classes=3, class_names=["RBC", "WBC", "Platelets"],
                               imgsz=(160, 224), seed=3)
    assert model.name == "detector-s" and model.image_hw == (160, 224)
    config = json.loads(json.dumps(model.config))
    again = odkit.models.build(model.name, seed=3, **config)
    assert again.config == model.config and again.class_names == ["RBC", "WBC", "Platelets"]
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    assert model.metric_direction("map50") == "max" and model.metric_direction("loss") == "min"


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"num_classes": 2, "class_names": ["a"]},
                                    {"num_classes": 2, "imgsz": 16}, {"num_classes": 2, "imgsz": 64,
                                                                      "image_hw": (64, 64)}])
def test_bad_config_raises(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        odkit.models.build("detector-n", **kwargs)


def test_predict_undoes_the_letterbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A box the network 'finds' at known letterboxed pixels comes back in the original image's pixels."""
    model = odkit.models.build("detector-n", num_classes=3, imgsz=128, seed=0)
    # a (100, 200) image letterboxed into 128 x 128: scale 0.64, 64 rows tall, 32 rows of padding on top
    letterboxed = torch.tensor([[0.0, 32.0, 64.0, 64.0], [64.0, 64.0, 128.0, 96.0]])

    def fake_decode(outputs: tuple, image_hw: tuple, conf: float, pre_nms_top_k: int = 1000) -> list:
        n = outputs[0].shape[0]
        return [(letterboxed, torch.tensor([0.9, 0.8]), torch.tensor([1, 2]))] * n

    monkeypatch.setattr(_detector, "decode", fake_decode)
    image = np.zeros((100, 200, 3), np.uint8)
    from PIL import Image

    Image.fromarray(image).save(tmp_path / "wide.png")
    expected = np.array([[0.0, 0.0, 100.0, 50.0], [100.0, 50.0, 200.0, 100.0]])
    for x in (image, [image, image], tmp_path / "wide.png", str(tmp_path), [str(tmp_path / "wide.png")]):
        dets = model.predict(x)
        assert len(dets) in (1, 2)
        np.testing.assert_allclose(dets[0].boxes_xyxy, expected, atol=1e-4)
        assert dets[0].boxes_xyxy.dtype == np.float64
        np.testing.assert_array_equal(dets[0].class_ids, [1, 2])
        np.testing.assert_allclose(dets[0].scores, [0.9, 0.8], rtol=1e-6)


def test_predict_untrained_gives_valid_detections() -> None:
    model = odkit.models.build("detector-n", num_classes=2, imgsz=64, seed=0)
    dets = model.predict(np.full((2, 50, 70, 3), 128, np.uint8), conf=0.0, max_det=7, device="auto")
    assert len(dets) == 2
    for det in dets:
        assert len(det) <= 7
        assert (det.boxes_xyxy[:, [0, 2]] <= 70).all() and (det.boxes_xyxy[:, [1, 3]] <= 50).all()
    with pytest.raises(TypeError, match="predict takes"):
        model.predict(3.5)


def test_learns_a_handful_of_images(tmp_path: Path, one_thread: None) -> None:
    """The learning test: 8 generated non-square images, overfit to mAP50 > 0.9, scored on ``predict``'s
    boxes in the original pixels (the letterbox undone) against the original ground truth."""
    dataset = _shapes(tmp_path / "shapes", 8, image_hw=(96, 128))
    model = odkit.models.build("detector-n", num_classes=3, class_names=list(SHAPE_CLASSES), imgsz=128, seed=0,
                               learning_rate=5e-3, warmup_iters=20)
    start = time.monotonic()
    history = model.fit(detection_dataset(dataset, transforms=Letterbox((128, 128))), epochs=60, batch_size=4,
                        verbose=0, seed=0)
    seconds = time.monotonic() - start
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    paths = [str(dataset.image_path(record)) for record in dataset.images]
    predictions = model.predict(paths, conf=0.001)
    gts, image_ids, class_ids, names = dataset.evaluation_inputs()
    evaluator = COCOEvaluator(class_ids=class_ids, class_names=names)
    labelled = [type(d)(d.boxes_xyxy, d.scores, np.asarray(class_ids)[d.class_ids]) for d in predictions]
    result = evaluator.update(labelled, gts, image_ids).compute()
    assert result.map50 > 0.9, (result.map50, seconds)
    logs = model.evaluate(detection_dataset(dataset), return_dict=True)
    assert logs["map50"] == pytest.approx(result.map50, abs=0.02)
    assert seconds < 120


def test_fit_logs_and_is_deterministic(tmp_path: Path, one_thread: None) -> None:
    """Same seed, same weights (with the default augmentation); the logs Keras callbacks monitor."""
    dataset = _shapes(tmp_path / "shapes", 4, image_hw=(64, 80))

    def run() -> tuple[dict, list[np.ndarray]]:
        model = odkit.models.build("detector-n", num_classes=3, imgsz=64, seed=1)
        history = model.fit(detection_dataset(dataset), validation_data=detection_dataset(dataset), epochs=2,
                            batch_size=2, verbose=0, seed=1)
        return history.history, model.get_weights()

    logs_a, weights_a = run()
    logs_b, weights_b = run()
    for key in ("loss", "cls_loss", "box_loss", "ctr_loss", "val_loss", "val_map50", "val_map"):
        assert len(logs_a[key]) == 2, key
    assert logs_a == logs_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_evaluate_is_keras_like(tmp_path: Path, one_thread: None) -> None:
    dataset = _shapes(tmp_path / "shapes", 3, image_hw=(64, 64))
    model = odkit.models.build("detector-n", num_classes=3, imgsz=64, seed=0)
    values = model.evaluate(detection_dataset(dataset))
    logs = model.evaluate(detection_dataset(dataset), return_dict=True)
    assert list(logs) == ["loss", "cls_loss", "box_loss", "ctr_loss", "map50", "map"]
    assert values == list(logs.values())
    with pytest.raises(ValueError, match="y must be None"):
        model.evaluate(detection_dataset(dataset), y=np.zeros(3))


def test_save_and_load_model_predict_the_same(tmp_path: Path, one_thread: None) -> None:
    pytest.importorskip("odkit.saving")
    import odkit

    model = odkit.models.build("detector-n", num_classes=3, class_names=["a", "b", "c"], imgsz=64, seed=0)
    model.save(tmp_path / "det.odk")
    again = odkit.load_model(tmp_path / "det.odk")
    assert type(again) is type(model) and again.config == model.config and again.class_names == ["a", "b", "c"]
    images = np.random.default_rng(0).integers(0, 256, (2, 50, 70, 3), dtype=np.uint8)
    for a, b in zip(model.predict(images, conf=0.0), again.predict(images, conf=0.0)):
        np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
        np.testing.assert_array_equal(a.scores, b.scores)


def test_backup_and_restore_resumes_exactly(tmp_path: Path, one_thread: None) -> None:
    """Interrupted after epoch index 1 (its backup written), a new fit with BackupAndRestore resumes at epoch 2
    with the EMA, the training weights and the schedule's step counter: the same weights as an uninterrupted run."""
    from odkit.callbacks import BackupAndRestore, Callback

    dataset = _shapes(tmp_path / "shapes", 4, image_hw=(64, 80))

    class Crash(Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 1:
                raise KeyboardInterrupt  # after BackupAndRestore (earlier in the list) wrote its backup

    def run(backup: Path | None, crash: bool) -> odkit.models.Model:
        model = odkit.models.build("detector-n", num_classes=3, imgsz=64, seed=1)
        callbacks = ([BackupAndRestore(backup)] if backup else []) + ([Crash()] if crash else [])
        model.fit(detection_dataset(dataset), epochs=3, batch_size=2, verbose=0, seed=1, callbacks=callbacks)
        return model

    reference = run(None, crash=False)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "backup", crash=True)
    resumed = run(tmp_path / "backup", crash=False)
    assert resumed.history.epoch == [2] and not (tmp_path / "backup").exists()
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
