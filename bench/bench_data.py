"""Folder-loading benchmark: odkit vs Keras + TensorFlow image_dataset_from_directory.

5,000 28x28 grayscale PNGs in 10 class folders; ``label_mode="categorical"``, ``color_mode="grayscale"``,
``image_size=(28, 28)``, batches of 32; one full pass. Each side runs in its own subprocess (odkit from
.venv, Keras from .venv-tf when it exists), alternating, several rounds; best and median are printed.

    .venv/bin/python bench/bench_data.py [--rounds 7] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
TF_PYTHON = REPO / ".venv-tf" / "bin" / "python"
KWARGS = "label_mode='categorical', color_mode='grayscale', image_size=(28, 28), batch_size=32, seed=1"

ODKIT_CHILD = """
import json, sys, time
from odkit.data import image_dataset_from_directory
t0 = time.perf_counter()
ds = image_dataset_from_directory(sys.argv[1], {kwargs}, verbose=False, num_workers={workers})
t1 = time.perf_counter()
n = 0
for images, labels in ds:
    n += len(images)
t2 = time.perf_counter()
print(json.dumps({{"index_s": t1 - t0, "pass_s": t2 - t1, "images": n, "shape": list(images.shape[1:])}}))
"""

KERAS_CHILD = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, tensorflow as tf
t0 = time.perf_counter()
ds = keras.utils.image_dataset_from_directory(sys.argv[1], {kwargs}, verbose=False)
t1 = time.perf_counter()
n = 0
for images, labels in ds:
    n += int(images.shape[0])
t2 = time.perf_counter()
print(json.dumps({{"index_s": t1 - t0, "pass_s": t2 - t1, "images": n, "shape": list(images.shape[1:])}}))
"""


def make_folder(root: Path, n: int = 5000, classes: int = 10) -> None:
    rng = np.random.RandomState(0)
    for c in range(classes):
        (root / f"class_{c}").mkdir(parents=True)
    for i in range(n):
        img = rng.randint(0, 256, (28, 28), dtype=np.uint8)
        Image.fromarray(img, "L").save(root / f"class_{i % classes}" / f"img_{i:05d}.png")


def run(python: Path, code: str, folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([str(python), "-c", code, str(folder)], capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "digits"
        make_folder(folder)
        sides = {"odkit": (Path(sys.executable), ODKIT_CHILD.format(kwargs=KWARGS, workers=args.workers))}
        if TF_PYTHON.exists():
            sides["keras"] = (TF_PYTHON, KERAS_CHILD.format(kwargs=KWARGS))
        else:
            print(f"(no {TF_PYTHON}: Keras anchor skipped)")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, (python, code) in sides.items():
                results[name].append(run(python, code, folder))
    print(f"5,000 28x28 grayscale PNGs, 10 classes, batches of 32, {args.rounds} rounds (alternating)")
    print(f"{'':8s} {'index best':>10s} {'pass best':>10s} {'pass median':>11s} {'images/s':>9s}  shape")
    best, median = {}, {}
    for name, runs in results.items():
        passes = [r["pass_s"] for r in runs]
        best[name], median[name] = min(passes), statistics.median(passes)
        print(
            f"{name:8s} {min(r['index_s'] for r in runs):10.3f} {min(passes):10.3f} {statistics.median(passes):11.3f} "
            f"{runs[0]['images'] / min(passes):9.0f}  {runs[0]['shape']}"
        )
    if "keras" in best:
        print(
            f"pass time ratio keras/odkit: best {best['keras'] / best['odkit']:.2f}x, median "
            f"{median['keras'] / median['odkit']:.2f}x  (>1 means odkit is faster)"
        )


if __name__ == "__main__":
    main()
