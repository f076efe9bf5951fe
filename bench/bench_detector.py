"""Detector benchmarks on the CPU: training images/s and inference ms/image per size, and the accuracy reached
on BCCD's val split after a fixed training time (the issue's bar: COCO mAP50 >= 0.85 after 600 s, 2 cores).

    python bench/bench_detector.py speed                      # both sizes, 288 x 384, batch 8 / batch 1
    python bench/bench_detector.py bccd --seconds 600         # detector-s, TimeLimit(600), scored on val

The BCCD run trains on the ``train`` split (205 images) with the model's default transforms plus vertical flips
(cells have no up), ``TimeLimit(seconds)`` and no per-epoch validation (it would spend the budget), then
scores ``model.predict(val, conf=0.001)`` (boxes in the original 640 x 480 pixels) with ``odkit.eval``
against the val split's ground truth. Prints one JSON object per measurement.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    from odkit.eval import COCOEvaluator

    train = detection_dataset(data, split="train", drop_degenerate=True)
    val = detection_dataset(data, split="val", drop_degenerate=True)
    model = odkit.models.build(name, num_classes=len(train.class_names), class_names=train.class_names,
                               image_hw=image_hw, vertical_flip=True, seed=seed)
    start = time.monotonic()
    history = model.fit(train, epochs=10_000, callbacks=[TimeLimit(seconds)], verbose=2, seed=seed)
    train_seconds = time.monotonic() - start
    start = time.monotonic()
    predictions = model.predict(val, conf=0.001, iou=0.5, max_det=100)
    predict_seconds = time.monotonic() - start
    category = np.asarray(val.category_ids)
    gts = [val.dataset.annotations[r.id] for r in val.records]
    evaluator = COCOEvaluator(class_ids=list(val.category_ids), class_names=list(val.class_names))
    labelled = [type(d)(d.boxes_xyxy, d.scores, category[d.class_ids]) for d in predictions]
    result = evaluator.update(labelled, gts, [r.id for r in val.records]).compute()
    print(result, flush=True)
    print(json.dumps({"bench": "bccd", "model": name, "params": model.count_params(), "image_hw": image_hw,
                      "threads": torch.get_num_threads(), "seconds_budget": seconds,
                      "train_seconds": round(train_seconds, 1), "epochs": len(history.epoch),
                      "train_images_per_s": round(len(history.epoch) * len(train.records) / train_seconds, 2),
                      "final_loss": round(history.history["loss"][-1], 4), "val_map50": round(result.map50, 4),
                      "val_map": round(result.map, 4),
                      "ap50_per_class": {c.name: round(c.ap50, 4) for c in result.per_class},
                      "predict_seconds_val": round(predict_seconds, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "bccd"], nargs="?", default="speed",
                        help="speed (default, a minute) or bccd (the 600 s accuracy run)")
    parser.add_argument("--sizes", nargs="+", default=["detector-n", "detector-s"])
    parser.add_argument("--model", default="detector-s", help="bccd: the model")
    parser.add_argument("--image-hw", nargs=2, type=int, default=[288, 384])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BCCD)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image_hw = (args.image_hw[0], args.image_hw[1])
    if args.what == "speed":
        speed(args.sizes, image_hw, args.batch, args.steps)
    else:
        bccd(args.model, args.seconds, image_hw, args.data, args.seed)


if __name__ == "__main__":
    main()
