"""Record what Keras 3.15.1's image_dataset_from_directory does on the generated test tree.

Writes tests/data/golden/keras_folder.json (class names, file order, labels, splits, printed lines,
errors, shapes, dtypes) and tests/data/golden/keras_pixels.npz (per-file decoded + resized pixels).
The tests compare odkit against these files without TensorFlow. Run in the TF environment:

    python3 -m venv .venv-tf && .venv-tf/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1 pillow==13.0.0
    .venv-tf/bin/python bench/keras_golden_folder.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import tensorflow as tf
from keras.src.utils import image_dataset_utils

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "data"))
from _tree import make_small_tree, make_tree  # noqa: E402

GOLDEN = REPO / "tests" / "data" / "golden"

# name -> kwargs for image_dataset_from_directory (directory added by the runner)
CASES: dict[str, dict[str, object]] = {
    "sorted": {"shuffle": False, "image_size": (8, 10), "batch_size": None},
    "shuffled_seed7": {"shuffle": True, "seed": 7, "image_size": (8, 10)},
    "train_123": {"validation_split": 0.2, "subset": "training", "seed": 123, "image_size": (8, 10)},
    "val_123": {"validation_split": 0.2, "subset": "validation", "seed": 123, "image_size": (8, 10)},
    "both_123": {"validation_split": 0.2, "subset": "both", "seed": 123, "image_size": (8, 10)},
    "both_1337_03": {"validation_split": 0.3, "subset": "both", "seed": 1337, "image_size": (8, 10)},
    "noshuffle_split": {"validation_split": 0.25, "subset": "both", "shuffle": False, "image_size": (8, 10)},
    "labels_none": {"labels": None, "shuffle": False, "image_size": (8, 10)},
    "follow_links": {"follow_links": True, "shuffle": False, "image_size": (8, 10)},
    "class_subset": {"class_names": ["dogs", "Zebra"], "shuffle": False, "image_size": (8, 10)},
    "categorical_gray": {"label_mode": "categorical", "color_mode": "grayscale", "shuffle": False, "image_size": 6},
    "nearest_rgba_cf": {
        "interpolation": "nearest", "color_mode": "rgba", "data_format": "channels_first", "shuffle": False,
        "image_size": (5, 7), "batch_size": 4,
    },
    "binary_subset": {"class_names": ["cats", "dogs"], "label_mode": "binary", "shuffle": False, "image_size": 4},
    "label_mode_none": {"label_mode": None, "shuffle": False, "image_size": 4},
    # errors
    "err_no_seed": {"validation_split": 0.2, "subset": "training"},
    "err_subset_only": {"subset": "training", "seed": 1},
    "err_split_1": {"validation_split": 1.0, "subset": "training", "seed": 1},
    "err_subset_test": {"validation_split": 0.2, "subset": "test", "seed": 1},
    "err_class_names": {"class_names": ["dogs", "wolves"]},
    "err_binary": {"label_mode": "binary"},
    "err_labels_str": {"labels": "auto"},
    "err_label_mode": {"label_mode": "sparse"},
    "err_color_mode": {"color_mode": "bgr"},
    "err_interp": {"interpolation": "cubic"},
    "err_crop_pad": {"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True},
    "err_labels_len": {"labels": [0, 1]},
    "err_data_format": {"data_format": "channels_middle"},
}

# (color_mode, interpolation, image_size, crop, pad) for the per-file pixel goldens: all 8 interpolations,
# each colour mode, plain / crop / pad. Keras's TF backend rejects gaussian and mitchellcubic with crop.
PIXEL_COMBOS = [
    ("rgb", "bilinear", (8, 10), False, False),
    ("grayscale", "bilinear", (8, 10), False, False),
    ("rgba", "nearest", (8, 10), False, False),
    ("rgb", "area", (12, 8), True, False),
    ("rgb", "bicubic", (12, 8), False, True),
    ("rgb", "lanczos3", (12, 8), True, False),
    ("grayscale", "lanczos5", (8, 10), False, False),
    ("rgb", "gaussian", (12, 8), False, True),
    ("rgba", "mitchellcubic", (8, 10), False, False),
]


def _rel(paths: list[str], base: str) -> list[str]:
    return [os.path.relpath(p, base) for p in paths]


def _spec(ds: tf.data.Dataset) -> list[list[object]]:
    specs = ds.element_spec if isinstance(ds.element_spec, tuple) else (ds.element_spec,)
    return [[list(s.shape), s.dtype.name] for s in specs]


def _run(directory: str, base: str, kwargs: dict[str, object]) -> dict[str, object]:
    out = io.StringIO()
    result: dict[str, object] = {"kwargs": {k: v for k, v in kwargs.items()}}
    try:
        with contextlib.redirect_stdout(out):
            ds = keras.utils.image_dataset_from_directory(directory, **kwargs)
    except Exception as exc:  # recorded, compared by the tests
        result["error"] = [type(exc).__name__, str(exc).replace(directory, "<dir>")]
        result["stdout"] = out.getvalue().replace(directory, "<dir>").splitlines()
        return result
    result["stdout"] = out.getvalue().replace(directory, "<dir>").splitlines()
    parts = ds if isinstance(ds, list) else [ds]
    result["datasets"] = []
    for i, part in enumerate(parts):
        entry: dict[str, object] = {
            "class_names": part.class_names,
            "file_paths": _rel(part.file_paths, base),
            "element_spec": _spec(part),
        }
        deterministic = kwargs.get("shuffle") is False or (kwargs.get("subset") == "both" and i == 1)
        if deterministic and kwargs.get("label_mode", "int") == "int" and kwargs.get("labels", 1) is not None:
            try:
                flat = part if kwargs.get("batch_size", 32) is None else part.unbatch()
                entry["labels"] = [int(y) for _, y in flat]
            except tf.errors.InvalidArgumentError as exc:
                entry["labels_error"] = str(exc)[:200]
        result["datasets"].append(entry)
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = make_tree(base)
        small = make_small_tree(base)
        golden: dict[str, object] = {"keras": keras.__version__, "tensorflow": tf.__version__, "cases": {}}
        for name, kwargs in CASES.items():
            golden["cases"][name] = _run(str(root), str(base), kwargs)  # type: ignore[index]
        golden["cases"]["explicit_labels"] = _run(  # type: ignore[index]
            str(root), str(base), {"labels": [i % 3 * 2 for i in range(_count(root))], "shuffle": False}
        )
        for subset in ("training", "validation", "both"):
            golden["cases"][f"small_{subset}"] = _run(  # type: ignore[index]
                str(small), str(base), {"validation_split": 0.2, "subset": subset, "seed": 1, "image_size": 4}
            )
        (base / "empty").mkdir()
        golden["cases"]["empty_dir"] = _run(str(base / "empty"), str(base), {})  # type: ignore[index]
        (base / "empty2" / "only").mkdir(parents=True)
        golden["cases"]["empty_class_only"] = _run(str(base / "empty2"), str(base), {})  # type: ignore[index]

        pixels: dict[str, np.ndarray] = {}
        files = [
            os.path.join(r, f)
            for r, _, fs in os.walk(root, followlinks=True)
            for f in fs
            if f.lower().endswith(image_dataset_utils.ALLOWLIST_FORMATS)
        ]
        errors: dict[str, str] = {}
        for c, (color, interp, size, crop, pad) in enumerate(PIXEL_COMBOS):
            channels = {"rgb": 3, "grayscale": 1, "rgba": 4}[color]
            for path in sorted(files):
                key = f"{c}|{os.path.relpath(path, base)}"
                try:
                    img = image_dataset_utils._load_image_tf(
                        tf.constant(path), size, channels, interp, "channels_last", crop, pad
                    )
                    pixels[key] = img.numpy()
                except tf.errors.InvalidArgumentError as exc:
                    errors[key] = str(exc).splitlines()[0][:160]
        golden["pixel_combos"] = [list(map(str, combo)) for combo in PIXEL_COMBOS]
        golden["pixel_errors"] = errors
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / "keras_folder.json").write_text(json.dumps(golden, indent=1, default=str) + "\n")
    np.savez_compressed(GOLDEN / "keras_pixels.npz", **pixels)
    print(f"wrote {len(golden['cases'])} cases, {len(pixels)} pixel arrays, {len(errors)} TF decode errors")


def _count(root: Path) -> int:
    return sum(
        1
        for _, _, fs in os.walk(root)
        for f in fs
        if f.lower().endswith(image_dataset_utils.ALLOWLIST_FORMATS)
    )


if __name__ == "__main__":
    main()
