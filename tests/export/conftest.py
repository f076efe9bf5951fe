"""Fixtures of the export tests: a detector-n trained a few epochs on generated shapes, a classifier on digits,
held-out images, and the ONNX files exported from them (each exported once per session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import odkit.models  # noqa: E402
from odkit.data import Letterbox, detection_dataset  # noqa: E402
from odkit.io import read_annotations  # noqa: E402
from odkit.synthetic import SHAPE_CLASSES, make_digits, make_shapes_dataset  # noqa: E402
from tests.runs._tiny import write_digit_folders, write_shapes  # noqa: E402

#: Held-out image sizes: wider and taller than the 64 x 64 input, so the letterbox pads both ways.
HELD_OUT_HW = ((64, 96), (90, 60))


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A COCO dataset of 16 generated 64 x 96 images: 12 'train', 4 'val' (held out)."""
    return write_shapes(tmp_path_factory.mktemp("shapes") / "ds", n=16, image_hw=(64, 96), val=4)


@pytest.fixture(scope="session")
def detector(shapes: Path) -> Any:
    """detector-n (64 x 64 input) fitted 12 epochs on the train split: it detects the shapes, weakly."""
    torch.set_num_threads(1)
    model = odkit.models.build("detector-n", num_classes=3, class_names=list(SHAPE_CLASSES), imgsz=64, seed=0,
                               learning_rate=5e-3, warmup_iters=5)
    ds = read_annotations(shapes)
    model.fit(detection_dataset(ds, split="train", transforms=Letterbox((64, 64))), epochs=12, batch_size=6,
              verbose=0, seed=0)
    return model.eval()


@pytest.fixture(scope="session")
def detector_file(detector: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "det.odk"
    detector.save(path)
    return path


@pytest.fixture(scope="session")
def held_out(shapes: Path) -> list[np.ndarray]:
    """(H, W, 3) uint8 images the detector never saw: the val split and generated images of other sizes."""
    from PIL import Image

    ds = read_annotations(shapes).split("val")
    images = [np.asarray(Image.open(ds.image_path(r)).convert("RGB")) for r in ds.images]
    for seed, hw in enumerate(HELD_OUT_HW, start=10):
        images += [item.image for item in make_shapes_dataset(2, image_hw=hw, max_objects=2, size_range=(16, 32),
                                                              seed=seed)]
    return images


@pytest.fixture(scope="session")
def exported(detector: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``exported(**export_onnx kwargs)`` -> the detector's .onnx file for those arguments (made once)."""
    from odkit.export import export_onnx

    folder = tmp_path_factory.mktemp("onnx")
    made: dict[str, Path] = {}

    def get(**kwargs: Any) -> Path:
        key = "_".join(f"{k}-{v}" for k, v in sorted(kwargs.items())) or "default"
        if key not in made:
            made[key] = export_onnx(detector, folder / f"det_{key}.onnx", **kwargs)
        return made[key]

    return get


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class-folder tree of 60 generated 28 x 28 digits (classes 0, 1, 2)."""
    return write_digit_folders(tmp_path_factory.mktemp("digits") / "tree", n=60)


@pytest.fixture(scope="session")
def classifier() -> Any:
    """The classifier fitted 2 epochs on generated 28 x 28 digits 0, 1, 2 (the tree's classes), as RGB (what
    ``odkit val`` reads a class-folder tree as)."""
    torch.set_num_threads(1)
    x, y = make_digits(600, seed=1)
    keep = y < 3
    x, y = np.repeat(x[keep][..., None], 3, axis=-1), y[keep]
    model = odkit.models.build("classifier", num_classes=3, class_names=["0", "1", "2"], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, seed=0)
    return model.eval()
