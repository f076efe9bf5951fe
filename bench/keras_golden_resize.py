"""Write tests/data/golden/tf_resize.npz: tf.image.resize / resize_with_pad / Keras smart_resize outputs.

Run with the TensorFlow benchmark environment (never part of the test set-up):
    python3 -m venv .venv-tf && .venv-tf/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1 pillow==13.0.0
    .venv-tf/bin/python bench/keras_golden_resize.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
from keras.src.backend import tensorflow as tf_backend
from keras.src.utils import image_utils

METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
CASES = [((7, 9), (4, 5)), ((5, 4), (11, 13)), ((28, 28), (28, 28)), ((37, 23), (16, 30)), ((9, 31), (9, 8))]
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden" / "tf_resize.npz"


def main() -> None:
    rng = np.random.RandomState(7)
    arrays: dict[str, np.ndarray] = {}
    for c, (in_hw, out_hw) in enumerate(CASES):
        image = rng.randint(0, 256, size=(*in_hw, 3)).astype(np.uint8)
        arrays[f"in_{c}"] = image
        arrays[f"size_{c}"] = np.array(out_hw)
        for m in METHODS:
            arrays[f"resize_{c}_{m}"] = tf.image.resize(image, out_hw, method=m).numpy()
            arrays[f"pad_{c}_{m}"] = tf.image.resize_with_pad(image, out_hw[0], out_hw[1], method=m).numpy()
            if m not in ("gaussian", "mitchellcubic"):  # Keras's TF backend resize rejects these two
                # A dynamic-shape tensor, as in the dataset map function (the float32 size path).
                fn = tf.function(
                    lambda x, m=m, out_hw=out_hw: image_utils.smart_resize(
                        x, out_hw, interpolation=m, backend_module=tf_backend
                    ),
                    input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)],
                )
                arrays[f"crop_{c}_{m}"] = fn(tf.constant(image)).numpy()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays)")


if __name__ == "__main__":
    main()
