"""Pixel agreement with Keras/TF on real photos: BCCD JPEGs (640x480) through both loaders.

Runs Keras's own per-file loader (``image_dataset_utils._load_image_tf``) in .venv-tf and odkit's in this
process, for several colour modes, sizes and interpolations, and prints the max and mean absolute
differences in 0..255 units and as a percentage of the range.

    .venv/bin/python bench/verify_keras_pixels.py [--images 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from odkit.data import load_image
from odkit.data._resize import crop_to_aspect_ratio, resize_image, resize_with_pad

REPO = Path(__file__).resolve().parents[1]
BCCD = REPO.parent / "shared" / "datasets" / "bccd" / "BCCD" / "JPEGImages"
TF_PYTHON = REPO / ".venv-tf" / "bin" / "python"
COMBOS = [
    ("rgb", "bilinear", (256, 256), False, False),
    ("grayscale", "bilinear", (28, 28), False, False),
    ("rgb", "nearest", (224, 224), False, False),
    ("rgb", "bicubic", (300, 200), False, False),
    ("rgb", "area", (120, 160), False, False),
    ("rgb", "lanczos3", (256, 256), True, False),
    ("rgb", "bilinear", (256, 256), False, True),
    ("rgb", "lanczos5", (224, 224), False, False),
    ("rgb", "gaussian", (256, 256), False, True),
    ("grayscale", "mitchellcubic", (120, 160), False, False),
]
TF_CHILD = """
import json, os, sys
import numpy as np
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from keras.src.utils import image_dataset_utils as u
paths, combos, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
arrays = {}
for c, (color, interp, size, crop, pad) in enumerate(combos):
    ch = {"rgb": 3, "grayscale": 1, "rgba": 4}[color]
    for i, p in enumerate(paths):
        img = u._load_image_tf(tf.constant(p), tuple(size), ch, interp, "channels_last", crop, pad)
        arrays[f"{c}_{i}"] = img.numpy()
np.savez(out, **arrays)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()
    if not TF_PYTHON.exists():
        sys.exit(f"needs the TensorFlow environment {TF_PYTHON}")
    paths = sorted(str(p) for p in BCCD.glob("*.jpg"))[: args.images]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tf.npz")
        subprocess.run(
            [str(TF_PYTHON), "-c", TF_CHILD, json.dumps(paths), json.dumps(COMBOS), out],
            check=True, capture_output=True, text=True,
        )
        reference = dict(np.load(out))
    print(f"{len(paths)} BCCD JPEGs; |odkit - keras| in 0..255 units; exact: images equal bit for bit")
    print(
        f"{'color':9s} {'interp':13s} {'size':10s} {'mode':5s} {'max':>8s} {'mean':>8s} {'mean %':>7s} "
        f"{'p99.9':>8s} {'exact':>7s}"
    )
    for c, (color, interp, size, crop, pad) in enumerate(COMBOS):
        diffs = []
        exact = 0
        for i, path in enumerate(paths):
            image = load_image(path, {"rgb": 3, "grayscale": 1, "rgba": 4}[color])
            if crop:
                ours = resize_image(crop_to_aspect_ratio(image, size), size, interp)
            elif pad:
                ours = resize_with_pad(image, size, interp)
            else:
                ours = resize_image(image, size, interp)
            want = reference[f"{c}_{i}"]
            assert ours.shape == want.shape and ours.dtype == want.dtype, (ours.shape, want.shape)
            diffs.append(np.abs(ours.astype(np.float64) - want.astype(np.float64)).ravel())
            exact += int(np.array_equal(ours, want))
        d = np.concatenate(diffs)
        mode = "crop" if crop else "pad" if pad else "-"
        print(
            f"{color:9s} {interp:13s} {tuple(size)!s:10s} {mode:5s} {d.max():8.2g} {d.mean():8.2g} "
            f"{100 * d.mean() / 255:6.2f}% {np.percentile(d, 99.9):8.2g} {exact:3d}/{len(paths)}"
        )


if __name__ == "__main__":
    main()
