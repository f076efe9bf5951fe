"""Detector benchmarks on the CPU: training images/s and inference ms/image per size, and the accuracy reached
on BCCD's val split after a fixed training time (the issue's bar: COCO mAP50 >= 0.85 after 600 s, 2 cores).

    python bench/bench_detector.py speed                      # both sizes, 288 x 384, batch 8 / batch 1
    python bench/bench_detector.py bccd --seconds 600         # detector-s, TimeLimit(600), scored on val
    python bench/bench_detector.py shapes --seconds 180       # generated scenes, the demo's recipe

The BCCD run trains on the ``train`` split (205 images) with the model's default transforms plus vertical flips
(cells have no up), ``TimeLimit(seconds)`` and no per-epoch validation (it would spend the budget), then
scores ``model.predict(val, conf=0.001)`` (boxes in the original 640 x 480 pixels) with ``odkit.eval``
against the val split's ground truth.

The shapes run generates ``odkit.synthetic.write_scenes_dataset`` in a temporary folder (by default the demo's
task: 400 train and 100 held-out val images of 160 x 160, 4 classes (circle, square, triangle, cross), sides
20-80 px, up to 6 per image, box IoU up to 0.3, textured backgrounds), trains ``detector-n`` (batch 4, learning
rate 6e-3) with per-epoch validation, ``EarlyStopping(val_map50, patience, restore_best_weights)`` and
``TimeLimit(seconds)`` as the demo does (``--epochs`` caps the epochs and ends the schedule there, so that a
loaded machine can measure the curve by epochs), then scores ``model.predict(val, conf=0.001)`` with
``odkit.eval``. Prints one JSON object per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

BCCD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "bccd" / "BCCD"


def speed(sizes: list[str], image_hw: tuple[int, int], batch: int, steps: int) -> None:
    import odkit.models

    rng = np.random.default_rng(0)
    for name in sizes:
        model = odkit.models.build(name, num_classes=3, image_hw=image_hw, seed=0)
        model.compile()
        model._total_steps = 10**6
        model._ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.train()
        images = rng.integers(0, 256, (batch, *image_hw, 3), dtype=np.uint8)
        targets = [{"boxes": np.array([[40, 40, 90, 95], [150, 60, 175, 80], [200, 120, 330, 250]], np.float32),
                    "labels": np.array([0, 1, 2])}] * batch
        for _ in range(2):
            model.train_step(images, targets)
        start = time.perf_counter()
        for _ in range(steps):
            model.train_step(images, targets)
        train_ips = steps * batch / (time.perf_counter() - start)
        one = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)]
        for _ in range(3):
            model.predict(one, conf=0.001)
        times = []
        for _ in range(20):
            start = time.perf_counter()
            model.predict(one, conf=0.001)
            times.append(time.perf_counter() - start)
        print(json.dumps({"bench": "speed", "model": name, "params": model.count_params(), "image_hw": image_hw,
                          "threads": torch.get_num_threads(), "train_images_per_s": round(train_ips, 2),
                          "train_batch": batch, "predict_ms_per_image_median": round(1000 * float(np.median(times)), 1),
                          "predict_note": "batch 1, a 640x480 array: letterbox, forward, decode, NMS, unletterbox"}),
              flush=True)


def bccd(name: str, seconds: float, image_hw: tuple[int, int], data: Path, seed: int) -> None:
    import odkit.models
    from odkit.callbacks import TimeLimit
    from odkit.data import detection_dataset

    train = detection_dataset(data, split="train", drop_degenerate=True)
    val = detection_dataset(data, split="val", drop_degenerate=True)
    model = odkit.models.build(name, num_classes=len(train.class_names), class_names=train.class_names,
                               image_hw=image_hw, vertical_flip=True, seed=seed)
    start = time.monotonic()
    history = model.fit(train, epochs=10_000, callbacks=[TimeLimit(seconds)], verbose=2, seed=seed)
    train_seconds = time.monotonic() - start
    result, predict_seconds = _score(model, val)
    print(result, flush=True)
    print(json.dumps({"bench": "bccd", "model": name, "params": model.count_params(), "image_hw": image_hw,
                      "threads": torch.get_num_threads(), "seconds_budget": seconds,
                      "train_seconds": round(train_seconds, 1), "epochs": len(history.epoch),
                      "train_images_per_s": round(len(history.epoch) * len(train.records) / train_seconds, 2),
                      "final_loss": round(history.history["loss"][-1], 4), "val_map50": round(result.map50, 4),
                      "val_map": round(result.map, 4),
                      "ap50_per_class": {c.name: round(c.ap50, 4) for c in result.per_class},
                      "predict_seconds_val": round(predict_seconds, 1)}), flush=True)


def _score(model: Any, val: Any) -> tuple[Any, float]:
    """COCO result of ``model.predict(val, conf=0.001)`` against ``val``'s ground truth, and its seconds."""
    from odkit.eval import COCOEvaluator

    start = time.monotonic()
    predictions = model.predict(val, conf=0.001, iou=0.5, max_det=100)
    seconds = time.monotonic() - start
    category = np.asarray(val.category_ids)
    gts = [val.dataset.annotations[r.id] for r in val.records]
    evaluator = COCOEvaluator(class_ids=list(val.category_ids), class_names=list(val.class_names))
    labelled = [type(d)(d.boxes_xyxy, d.scores, category[d.class_ids]) for d in predictions]
    return evaluator.update(labelled, gts, [r.id for r in val.records]).compute(), seconds


def _epoch_clock() -> Any:
    """A callback that splits each epoch's seconds into training (to the last batch's end) and the rest
    (validation, other callbacks): ``train_seconds`` and ``val_seconds``, lists with one value per epoch."""
    from odkit.callbacks import Callback

    class EpochClock(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.train_seconds: list[float] = []
            self.val_seconds: list[float] = []
            self._begin = self._last = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._begin = self._last = time.monotonic()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._last = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.train_seconds.append(self._last - self._begin)
            self.val_seconds.append(time.monotonic() - self._last)

    return EpochClock()


def shapes(name: str, seconds: float, imgsz: int, n_train: int, n_val: int, batch: int, lr: float,
           patience: int, seed: int, data_seed: int, classes: list[str], epochs: int,
           size_range: tuple[int, int] | None, max_objects: int) -> None:
    import odkit.models
    from odkit.callbacks import EarlyStopping, TimeLimit
    from odkit.data import detection_dataset
    from odkit.synthetic import write_scenes_dataset

    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        folder = write_scenes_dataset(tmp, n_train, n_val, image_hw=(imgsz, imgsz), seed=data_seed,
                                      classes=tuple(classes), size_range=size_range,
                                      max_objects=max_objects)
        generate_seconds = time.monotonic() - start
        train = detection_dataset(folder, split="train")
        val = detection_dataset(folder, split="val")
        model = odkit.models.build(name, num_classes=len(train.class_names), class_names=train.class_names,
                                   imgsz=imgsz, batch_size=batch, learning_rate=lr, seed=seed)
        clock = _epoch_clock()
        start = time.monotonic()
        history = model.fit(train, validation_data=val, epochs=epochs, verbose=2, seed=seed,
                            callbacks=[TimeLimit(seconds), clock,
                                       EarlyStopping("val_map50", mode="max", patience=patience,
                                                     restore_best_weights=True)])
        train_seconds = time.monotonic() - start
        result, predict_seconds = _score(model, val)
    print(result, flush=True)
    logged = history.history.get("val_map50", [])
    reached = next((i + 1 for i, v in enumerate(logged) if v >= 0.9), None)
    elapsed = np.cumsum(np.add(clock.train_seconds, clock.val_seconds))
    print(json.dumps({"bench": "shapes", "model": name, "params": model.count_params(), "imgsz": imgsz,
                      "classes": list(train.class_names),
                      "size_range": size_range, "max_objects": max_objects, "train_images": n_train,
                      "val_images": n_val,
                      "batch": batch, "learning_rate": lr, "patience": patience, "seed": seed,
                      "data_seed": data_seed, "threads": torch.get_num_threads(), "seconds_budget": seconds,
                      "epochs_budget": epochs, "generate_seconds": round(generate_seconds, 1),
                      "fit_seconds": round(train_seconds, 1), "epochs": len(history.epoch),
                      "first_epoch_val_map50_ge_0.9": reached,
                      "fit_seconds_to_it": None if reached is None else round(float(elapsed[reached - 1]), 1),
                      "train_images_per_s": round(len(history.epoch) * n_train / sum(clock.train_seconds), 2),
                      "val_seconds_per_epoch": round(float(np.mean(clock.val_seconds)), 1),
                      "val_map50_per_epoch": [round(v, 3) for v in logged],
                      "val_map50": round(result.map50, 4), "val_map": round(result.map, 4),
                      "ap50_per_class": {c.name: round(c.ap50, 4) for c in result.per_class},
                      "predict_seconds_val": round(predict_seconds, 1), "load_avg_1m": os.getloadavg()[0]}),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "bccd", "shapes"], nargs="?", default="speed",
                        help="speed (default, a minute), bccd (the 600 s accuracy run) or shapes (generated scenes)")
    parser.add_argument("--sizes", nargs="+", default=["detector-n", "detector-s"])
    parser.add_argument("--model", default=None, help="bccd / shapes: the model (default detector-s / detector-n)")
    parser.add_argument("--image-hw", nargs=2, type=int, default=[288, 384])
    parser.add_argument("--batch", type=int, default=None, help="speed 8, shapes 4")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=None, help="training budget (bccd 600, shapes 180)")
    parser.add_argument("--imgsz", type=int, default=160, help="shapes: image side, generated and trained")
    parser.add_argument("--train-images", type=int, default=400, help="shapes")
    parser.add_argument("--val-images", type=int, default=100, help="shapes")
    parser.add_argument("--lr", type=float, default=6e-3, help="shapes: learning rate")
    parser.add_argument("--patience", type=int, default=5, help="shapes: EarlyStopping patience, epochs")
    parser.add_argument("--data-seed", type=int, default=0, help="shapes: the dataset's seed")
    parser.add_argument("--classes", nargs="+", default=["circle", "square", "triangle", "cross"],
                        help="shapes: a subset of odkit.synthetic.SCENE_CLASSES")
    parser.add_argument("--size-range", nargs=2, type=int, default=[20, 80], help="shapes: smallest, largest side (px)")
    parser.add_argument("--max-objects", type=int, default=6, help="shapes: most shapes per image")
    parser.add_argument("--epochs", type=int, default=10_000,
                        help="shapes: most epochs (the schedule ends at this or at --seconds, whichever is first)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BCCD)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image_hw = (args.image_hw[0], args.image_hw[1])
    if args.what == "speed":
        speed(args.sizes, image_hw, args.batch or 8, args.steps)
    elif args.what == "bccd":
        bccd(args.model or "detector-s", args.seconds or 600.0, image_hw, args.data, args.seed)
    else:
        shapes(args.model or "detector-n", args.seconds or 180.0, args.imgsz, args.train_images, args.val_images,
               args.batch or 4, args.lr, args.patience, args.seed, args.data_seed, args.classes, args.epochs,
               None if args.size_range is None else (args.size_range[0], args.size_range[1]), args.max_objects)


if __name__ == "__main__":
    main()
