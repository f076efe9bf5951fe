"""Helpers for the odkit.io tests: tiny images on disk, dataset comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from odkit.io import Dataset

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "io"


def make_image(path: Path, width: int, height: int, fmt: str | None = None, orientation: int | None = None,
               noise: bool = False) -> Path:
    """Write a small image of width x height (as stored): solid, or seeded noise (``noise``, so that most of
    the file is pixel data); ``fmt`` overrides the extension's format; ``orientation`` sets the EXIF tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if noise:
        pixels = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        im = Image.fromarray(pixels)
    else:
        im = Image.new("RGB", (width, height), (120, 60, 30))
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    im.save(path, format=fmt, **kwargs)
    return path


def boxes_by_image(dataset: Dataset) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    """Image base name -> (class name, box xyxy) pairs in object order (every format keeps that order)."""
    names = dataset.category_names
    out = {}
    for im, ann in dataset:
        rows = [(names[int(c)], tuple(b)) for c, b in zip(ann.class_ids.tolist(), ann.boxes_xyxy.tolist())]
        out[Path(im.path).name] = rows
    return out


def assert_same_boxes(a: Dataset, b: Dataset, atol: float) -> None:
    """Same images (by base name), same classes and boxes within ``atol`` pixels."""
    ba, bb = boxes_by_image(a), boxes_by_image(b)
    assert sorted(ba) == sorted(bb)
    for name in ba:
        ra, rb = ba[name], bb[name]
        assert [r[0] for r in ra] == [r[0] for r in rb], name
        if ra:
            np.testing.assert_allclose(np.array([r[1] for r in ra]), np.array([r[1] for r in rb]), rtol=0,
                                       atol=atol, err_msg=name)
