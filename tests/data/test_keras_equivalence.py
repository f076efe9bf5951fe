"""image_dataset_from_directory against what Keras 3.15.1 + TF 2.21 did on the same generated tree.

The expected values were recorded by ``bench/keras_golden_folder.py`` (run in the TensorFlow benchmark
environment) into ``tests/data/golden/``; TensorFlow is not needed here.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from odkit.data import INTERPOLATIONS, image_dataset_from_directory, load_image
from odkit.data._resize import crop_to_aspect_ratio, resize_image, resize_with_pad
from odkit.errors import DatasetError
from tests.data._golden import assert_tf_agreement
from tests.data._tree import make_small_tree, make_tree

GOLDEN = Path(__file__).parent / "golden"
HAVE_SIMPLEJPEG = importlib.util.find_spec("simplejpeg") is not None
KERAS = json.loads((GOLDEN / "keras_folder.json").read_text())
CASES: dict[str, Any] = KERAS["cases"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tree")
    make_tree(base)
    make_small_tree(base)
    (base / "empty").mkdir()
    (base / "empty2" / "only").mkdir(parents=True)
    return base


def _call(base: Path, case: str, capsys: pytest.CaptureFixture[str]) -> tuple[Any, list[str]]:
    kwargs = dict(CASES[case]["kwargs"])
    if "image_size" in kwargs and isinstance(kwargs["image_size"], list):
        kwargs["image_size"] = tuple(kwargs["image_size"])
    directory = {"small": base / "small", "empty_dir": base / "empty", "empty_class_only": base / "empty2"}
    root = next((v for k, v in directory.items() if case.startswith(k)), base / "root")
    result: Any
    try:
        result = image_dataset_from_directory(str(root), **kwargs)
    except ValueError as exc:
        result = exc
    out = capsys.readouterr().out.replace(str(root), "<dir>").splitlines()
    return result, out


def _spec(ds: Any) -> list[list[Any]]:
    """Keras-style element spec: batch dimension None unless unbatched."""
    first = next(iter(ds.iter_epoch(0)))
    parts = first if isinstance(first, tuple) else (first,)
    lead = [] if ds.batch_size is None else [None]
    return [[lead + list(np.shape(p))[len(lead) :], np.asarray(p).dtype.name] for p in parts]


# small_validation is Keras's small-split bug (all 4 files as "validation"): odkit's fix is tested below.
DATASET_CASES = [name for name, c in CASES.items() if "datasets" in c and name != "small_validation"]
ERROR_CASES = [name for name, c in CASES.items() if "error" in c and not name.startswith("small_")]


@pytest.mark.parametrize("case", DATASET_CASES)
def test_same_files_labels_classes_and_messages_as_keras(tree: Path, case: str, capsys: Any) -> None:
    expected = CASES[case]
    result, out = _call(tree, case, capsys)
    assert out == expected["stdout"]
    parts = result if isinstance(result, list) else [result]
    assert len(parts) == len(expected["datasets"])
    for ds, want in zip(parts, expected["datasets"]):
        assert ds.class_names == want["class_names"]
        assert [os.path.relpath(p, tree) for p in ds.file_paths] == want["file_paths"]
        if "labels" in want:
            assert ds.labels.tolist() == want["labels"]
        # Keras's labels for inferred classes are the class folder of each file.
        if ds.class_names and CASES[case]["kwargs"].get("labels", "inferred") == "inferred":
            folders = [Path(os.path.relpath(p, tree)).parts[1] for p in ds.file_paths]
            assert [ds.class_names[i] for i in ds.labels] == folders
        assert _spec(ds) == want["element_spec"]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_same_argument_errors_as_keras(tree: Path, case: str, capsys: Any) -> None:
    expected = CASES[case]
    result, out = _call(tree, case, capsys)
    assert isinstance(result, ValueError), result
    assert str(result).replace(str(tree / "root"), "<dir>").replace(str(tree / "empty2"), "<dir>").replace(
        str(tree / "empty"), "<dir>"
    ) == expected["error"][1]
    assert out == expected["stdout"]


def test_split_that_rounds_to_zero_is_fixed(tree: Path, capsys: Any) -> None:
    # Keras 3.15.1: training raises "No images found", validation returns all 4 files (recorded).
    assert "error" in CASES["small_training"]
    assert len(CASES["small_validation"]["datasets"][0]["file_paths"]) == 4
    train = image_dataset_from_directory(tree / "small", validation_split=0.2, subset="training", seed=1)
    assert len(train.file_paths) == 4
    with pytest.raises(DatasetError, match=r"int\(0.2 \* 4\) rounds to 0"):
        image_dataset_from_directory(tree / "small", validation_split=0.2, subset="validation", seed=1)
    with pytest.raises(DatasetError, match="leaves no validation files"):
        image_dataset_from_directory(tree / "small", validation_split=0.2, subset="both", seed=1)
    out = capsys.readouterr().out
    assert "Using 4 files for training." in out and "Using 0 files for validation." in out


def test_both_equals_separate_calls_and_partitions(tree: Path) -> None:
    train, val = image_dataset_from_directory(
        tree / "root", validation_split=0.2, subset="both", seed=123, verbose=False
    )
    alone = image_dataset_from_directory(
        tree / "root", validation_split=0.2, subset="validation", seed=123, verbose=False
    )
    assert val.file_paths == alone.file_paths
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == 47


PIXEL_COMBOS = KERAS["pixel_combos"]
PIXELS = np.load(GOLDEN / "keras_pixels.npz")
CHANNELS = {"rgb": 3, "grayscale": 1, "rgba": 4}


def _odkit_pixels(path: Path, combo: list[str]) -> np.ndarray:
    color, interp, size_text, crop, pad = combo
    image_hw = tuple(int(v) for v in size_text.strip("()").split(","))
    image = load_image(path, CHANNELS[color])
    if crop == "True":
        return resize_image(crop_to_aspect_ratio(image, image_hw), image_hw, interp)
    if pad == "True":
        return resize_with_pad(image, image_hw, interp)
    return resize_image(image, image_hw, interp)


@pytest.mark.parametrize("combo_index", range(len(PIXEL_COMBOS)))
def test_pixels_equal_keras_for_every_file(tree: Path, combo_index: int) -> None:
    combo = PIXEL_COMBOS[combo_index]
    keys = [k for k in [*PIXELS.files, *KERAS["pixel_errors"]] if k.startswith(f"{combo_index}|")]
    assert len(keys) >= 48  # every image file of the tree, symlinked folder included
    for key in keys:
        rel = key.split("|", 1)[1]
        ours = _odkit_pixels(tree / rel, combo)
        if key in KERAS["pixel_errors"]:
            # TensorFlow refuses GIF/BMP as grayscale and GIF/JPEG as RGBA; odkit converts them.
            assert ours.shape[2] == CHANNELS[combo[0]], key
            continue
        want = PIXELS[key]
        if not rel.lower().endswith((".jpg", ".jpeg")) or HAVE_SIMPLEJPEG:
            # Lossless sources, and JPEG with TF's fast IDCT (simplejpeg): as the README says (bit for bit
            # for tests.data._golden.TF_BIT_EXACT, within TF_TOLERANCE for lanczos3 and lanczos5).
            assert_tf_agreement(combo[1], ours, want, key)
        else:
            assert ours.shape == want.shape and ours.dtype == want.dtype, key
            diff = np.abs(ours.astype(np.float64) - want.astype(np.float64))
            # OpenCV / Pillow use the accurate IDCT: within 1% of the range on average.
            assert diff.mean() <= 2.55 and diff.max() <= 12.0, key


def test_real_file_golden_covers_every_method_and_mode() -> None:
    assert sorted({combo[1] for combo in PIXEL_COMBOS}) == sorted(INTERPOLATIONS)
    assert {combo[0] for combo in PIXEL_COMBOS} == set(CHANNELS)
    assert any(combo[3] == "True" for combo in PIXEL_COMBOS) and any(combo[4] == "True" for combo in PIXEL_COMBOS)


JPEG_KEYS = [k for k in PIXELS.files if k.lower().endswith((".jpg", ".jpeg"))]


def test_jpeg_without_simplejpeg_is_within_one_percent(tree: Path, monkeypatch: Any) -> None:
    from odkit.data import _decode

    monkeypatch.setattr(_decode, "_simplejpeg", False)  # the OpenCV / Pillow fallback (accurate IDCT)
    assert len(JPEG_KEYS) >= 10
    for key in JPEG_KEYS:
        combo_index, rel = key.split("|")
        ours = _odkit_pixels(tree / rel, PIXEL_COMBOS[int(combo_index)])
        diff = np.abs(ours.astype(np.float64) - PIXELS[key].astype(np.float64))
        assert 0 < diff.max() <= 12.0 and diff.mean() <= 2.55, key
