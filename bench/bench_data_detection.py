"""Detection input-pipeline benchmark: BCCD (364 640x480 JPEGs, VOC), letterbox to 416, batches of 16.

Sides, alternating over rounds, each a full pass (boxes included):
  odkit-wN   odkit.data.detection_dataset(..., transforms=Letterbox((416, 416)), batch_size=16, num_workers=N)
  naive-pil  a single-threaded Pillow loop (open, EXIF transpose, RGB, resize, pad, stack) in this process
  tf.data    decode_jpeg + resize_with_pad(416) + batch(16), AUTOTUNE, in .venv-tf (when present;
             best of two passes per round, so graph start-up is not counted)

    .venv/bin/python bench/bench_data_detection.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from odkit.data import Letterbox, detection_dataset
from odkit.io import read_annotations

REPO = Path(__file__).resolve().parents[1]
BCCD = REPO.parent / "shared" / "datasets" / "bccd" / "BCCD"
TF_PYTHON = REPO / ".venv-tf" / "bin" / "python"

TF_CHILD = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
paths = json.loads(sys.argv[1])
def load(p):
    img = tf.io.decode_jpeg(tf.io.read_file(p), channels=3)
    return tf.cast(tf.image.resize_with_pad(img, 416, 416), tf.uint8)
ds = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(16)
ds = ds.prefetch(tf.data.AUTOTUNE)
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); n = sum(int(b.shape[0]) for b in ds); times.append(time.perf_counter() - t)
print(json.dumps({"images": n, "times": times}))
"""


def naive_pass(dataset: object, paths: list[str]) -> int:
    n = 0
    batch: list[np.ndarray] = []
    for path, (_, ann) in zip(paths, dataset):  # type: ignore[call-overload]
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            scale = min(416 / im.height, 416 / im.width)
            new_w, new_h = round(im.width * scale), round(im.height * scale)
            canvas = np.full((416, 416, 3), 114, np.uint8)
            top, left = (416 - new_h) // 2, (416 - new_w) // 2
            canvas[top : top + new_h, left : left + new_w] = np.asarray(im.resize((new_w, new_h), Image.BILINEAR))
        _ = np.asarray(ann.boxes_xyxy) * scale + [left, top, left, top]
        batch.append(canvas)
        if len(batch) == 16:
            n += len(np.stack(batch))
            batch = []
    return n + (len(np.stack(batch)) if batch else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not BCCD.is_dir():
        print(f"BCCD not found at {BCCD}; skipped")
        return
    dataset = read_annotations(BCCD)
    paths = [str(dataset.image_path(im)) for im in dataset.images]
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):
        for workers in (1, 2, 4):
            ds = detection_dataset(dataset, transforms=Letterbox((416, 416)), batch_size=16, num_workers=workers)
            t = time.perf_counter()
            counts[f"odkit-w{workers}"] = sum(len(images) for images, _ in ds)
            times.setdefault(f"odkit-w{workers}", []).append(time.perf_counter() - t)
        t = time.perf_counter()
        counts["naive-pil"] = naive_pass(dataset, paths)
        times.setdefault("naive-pil", []).append(time.perf_counter() - t)
        if TF_PYTHON.exists():
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            proc = subprocess.run(
                [str(TF_PYTHON), "-c", TF_CHILD, json.dumps(paths), "2"], capture_output=True, text=True, env=env
            )
            if proc.returncode == 0:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                counts["tf.data"] = result["images"]
                times.setdefault("tf.data", []).append(min(result["times"]))  # warm pass
    print(f"BCCD {len(paths)} JPEGs 640x480 -> letterbox 416, batches of 16, {args.rounds} rounds (alternating)")
    print(f"{'side':10s} {'best s':>7s} {'median s':>9s} {'images/s (best)':>16s}")
    for name, ts in times.items():
        print(f"{name:10s} {min(ts):7.3f} {statistics.median(ts):9.3f} {counts[name] / min(ts):16.0f}")
    best = {name: min(ts) for name, ts in times.items()}
    fastest = min((n for n in best if n.startswith("odkit")), key=best.__getitem__)
    for anchor in ("naive-pil", "tf.data"):
        if anchor in best:
            print(f"{fastest} vs {anchor}: {best[anchor] / best[fastest]:.2f}x faster")


if __name__ == "__main__":
    main()
