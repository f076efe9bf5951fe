"""Tiny generated datasets for the workflow tests (seconds to train on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from odkit.io import Category, Dataset, GroundTruth, ImageRecord, write_annotations
from odkit.synthetic import SHAPE_CLASSES, make_digits, make_shapes_dataset


def write_shapes(root: Path, n: int = 12, *, seed: int = 0, image_hw: tuple[int, int] = (64, 64),
                 val: int | None = 4) -> Path:
    """A COCO dataset of ``n`` shapes images in ``root`` (``images/`` + ``annotations/``); with ``val``, the last
    ``val`` images form a 'val' split and the others 'train' (``instances_<split>.json``), else no splits."""
    items = make_shapes_dataset(n, image_hw=image_hw, max_objects=2, size_range=(16, 40), seed=seed)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    records, annotations = [], {}
    for i, item in enumerate(items, start=1):
        name = f"im_{i:03d}.png"
        Image.fromarray(item.image).save(images_dir / name)
        records.append(ImageRecord(id=i, file_name=name, path=name, width=image_hw[1], height=image_hw[0]))
        annotations[i] = GroundTruth(item.ground_truth.boxes_xyxy, item.ground_truth.class_ids + 1)
    splits = {} if val is None else {"train": tuple(range(1, n - val + 1)), "val": tuple(range(n - val + 1, n + 1))}
    dataset = Dataset(images=tuple(records), categories=tuple(Category(id=k + 1, name=c) for k, c in
                                                                  enumerate(SHAPE_CLASSES)),
                      annotations=annotations, root=images_dir, splits=splits)
    if val is None:
        write_annotations(dataset, root / "annotations" / "instances.json", "coco")
    else:
        write_annotations(dataset, root, "coco")
    return root


def write_digit_folders(root: Path, n: int = 60, seed: int = 0) -> Path:
    """A class-folder tree ``root/<digit>/*.png`` of ``n`` generated 28x28 digits (classes 0, 1, 2)."""
    images, labels = make_digits(n * 4, seed=seed)
    kept = np.flatnonzero(labels < 3)[:n]
    for i in kept:
        folder = root / str(int(labels[i]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(images[i]).squeeze().astype(np.uint8)).save(folder / f"d{i:04d}.png")
    return root
