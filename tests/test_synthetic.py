"""The generated shapes and scenes datasets: deterministic, and their boxes are tight around the drawn pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from odkit.synthetic import (
    SCENE_CLASSES,
    SHAPE_CLASSES,
    make_scenes_dataset,
    make_shapes_dataset,
    write_scenes_dataset,
)


def test_same_seed_same_data_and_counts() -> None:
    a, b = make_shapes_dataset(5, seed=3), make_shapes_dataset(5, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.ground_truth.boxes_xyxy, y.ground_truth.boxes_xyxy)
    assert all(1 <= len(x.ground_truth) <= 4 for x in a)
    assert a[0].image.shape == (128, 128, 3) and a[0].image.dtype == np.uint8


# Share of its box that each shape covers: 1 for a square, about pi/4 for a circle, about 1/2 for a triangle.
COVERAGE = {"square": (1.0, 1.0), "circle": (0.70, 0.85), "triangle": (0.42, 0.62)}


def test_boxes_are_tight_around_the_shapes() -> None:
    height, width = 96, 160
    n_shapes = 0
    for item in make_shapes_dataset(20, image_hw=(height, width), seed=7):
        gt = item.ground_truth
        for (x0, y0, x1, y1), cls in zip(gt.boxes_xyxy.astype(int), gt.class_ids):
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            # Every shape covers the centre of its box and has one flat colour, far (80+ levels) from the noisy
            # background in some channel, so the pixels of exactly that colour are the shape.
            colour = item.image[(y0 + y1) // 2, (x0 + x1) // 2]
            # The box grown by one pixel (inside the image): the shape must reach each edge of the box and
            # no pixel of it may lie in the ring just outside, i.e. the box is its exact bounding box.
            top, left = max(y0 - 1, 0), max(x0 - 1, 0)
            window = item.image[top : min(y1 + 1, height), left : min(x1 + 1, width)]
            rows, cols = np.nonzero(np.all(window == colour, axis=2))
            assert (rows.min() + top, rows.max() + top + 1) == (y0, y1), (x0, y0, x1, y1)
            assert (cols.min() + left, cols.max() + left + 1) == (x0, x1), (x0, y0, x1, y1)
            # and the class is the shape that was drawn
            low, high = COVERAGE[SHAPE_CLASSES[cls]]
            assert low <= len(rows) / ((x1 - x0) * (y1 - y0)) <= high, SHAPE_CLASSES[cls]
            n_shapes += 1
    assert n_shapes >= 40


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size_range"):
        make_shapes_dataset(1, image_hw=(32, 32), size_range=(10, 40))


# ---- make_scenes_dataset / write_scenes_dataset ----------------------------------------------------------


def test_scenes_same_seed_same_pixels_different_seed_differs() -> None:
    a, b = make_scenes_dataset(4, image_hw=(64, 96), seed=5), make_scenes_dataset(4, image_hw=(64, 96), seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.ground_truth.boxes_xyxy, y.ground_truth.boxes_xyxy)
        np.testing.assert_array_equal(x.ground_truth.class_ids, y.ground_truth.class_ids)
    c = make_scenes_dataset(4, image_hw=(64, 96), seed=6)
    assert not any(np.array_equal(x.image, y.image) for x, y in zip(a, c))
    assert a[0].image.shape == (64, 96, 3) and a[0].image.dtype == np.uint8


def test_scenes_draw_every_class_and_only_the_chosen_ones() -> None:
    items = make_scenes_dataset(30, image_hw=(96, 96), size_range=(10, 40), seed=0)
    ids = np.concatenate([x.ground_truth.class_ids for x in items])
    assert set(ids.tolist()) == set(range(len(SCENE_CLASSES))) and len(SCENE_CLASSES) >= 4
    assert all(1 <= len(x.ground_truth) <= 8 for x in items)
    chosen = make_scenes_dataset(10, image_hw=(96, 96), classes=("star", "ring"), size_range=(10, 40), seed=0)
    assert set(np.concatenate([x.ground_truth.class_ids for x in chosen]).tolist()) == {0, 1}


# Share of its box that each shape covers (one shape per image, so all of it is visible). Squares fill their
# box; circles about pi/4; rings show the background at their centre.
SCENE_COVERAGE = {"circle": (0.70, 0.86), "square": (1.0, 1.0), "triangle": (0.30, 0.62), "star": (0.18, 0.50),
                  "cross": (0.25, 0.66), "ring": (0.30, 0.70)}


@pytest.mark.parametrize("seed", [0, 1])
def test_scene_boxes_are_tight_around_the_drawn_pixels(seed: int) -> None:
    height, width = 80, 112
    seen = set()
    for item in make_scenes_dataset(40, image_hw=(height, width), max_objects=1, size_range=(8, 64), seed=seed,
                                    background="flat"):
        (x0, y0, x1, y1), = item.ground_truth.boxes_xyxy.astype(int)
        assert np.array_equal(item.ground_truth.boxes_xyxy, [[x0, y0, x1, y1]])  # whole pixels
        # a flat background: the pixels that differ from the corner's colour are the shape's, and their
        # bounding box is the annotated box exactly (x_max exclusive)
        shape = np.any(item.image != item.image[0, 0], axis=2) if x0 > 0 or y0 > 0 else \
            np.any(item.image != item.image[-1, -1], axis=2)
        rows, cols = np.nonzero(shape)
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (x0, y0, x1, y1)
        name = SCENE_CLASSES[int(item.ground_truth.class_ids[0])]
        low, high = SCENE_COVERAGE[name]
        assert low <= len(rows) / ((x1 - x0) * (y1 - y0)) <= high, name
        if name == "ring" and x1 - x0 >= 12:
            assert not shape[(y0 + y1) // 2, (x0 + x1) // 2]
        seen.add(name)
    assert seen == set(SCENE_CLASSES)


def test_scene_overlaps_are_bounded_and_every_shape_pixel_is_in_a_box() -> None:
    from odkit.ops import box_iou

    worst, overlapping = 0.0, 0
    for item in make_scenes_dataset(30, image_hw=(96, 96), max_objects=8, size_range=(16, 60), max_overlap=0.3,
                                    seed=2, background="flat"):
        boxes = item.ground_truth.boxes_xyxy
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= 96) and np.all(boxes[:, 3] <= 96)
        iou = box_iou(boxes, boxes)
        np.fill_diagonal(iou, 0.0)
        worst = max(worst, float(iou.max()))
        overlapping += int(np.any(iou > 0))
        covered = np.zeros((96, 96), dtype=bool)
        for x0, y0, x1, y1 in boxes.astype(int):
            covered[y0:y1, x0:x1] = True
        colours, counts = np.unique(item.image.reshape(-1, 3), axis=0, return_counts=True)
        background = colours[np.argmax(counts)]  # a flat background: the commonest colour
        assert not np.any(np.any(item.image != background, axis=2) & ~covered)
    assert 0 < worst <= 0.3 and overlapping >= 5
    for item in make_scenes_dataset(10, image_hw=(96, 96), max_overlap=0.0, seed=2):
        iou = box_iou(item.ground_truth.boxes_xyxy, item.ground_truth.boxes_xyxy)
        np.fill_diagonal(iou, 0.0)
        assert iou.max(initial=0.0) == 0.0


def test_write_scenes_dataset_reads_back_with_its_splits(tmp_path: Path) -> None:
    from PIL import Image

    from odkit.data import detection_dataset
    from odkit.io import read_annotations

    folder = write_scenes_dataset(tmp_path / "scenes", 6, 3, image_hw=(64, 80), seed=4, classes=SCENE_CLASSES[:4])
    assert (folder / "annotations" / "instances_train.json").is_file()
    assert (folder / "annotations" / "instances_val.json").is_file()
    dataset = read_annotations(folder)
    assert [c.name for c in dataset.categories] == list(SCENE_CLASSES[:4])
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 6, "val": 3}
    for split, seed in (("train", 8), ("val", 9)):
        expected = make_scenes_dataset(6 if split == "train" else 3, image_hw=(64, 80), seed=seed,
                                       classes=SCENE_CLASSES[:4])
        for image_id, item in zip(dataset.splits[split], expected):
            record = dataset.image(image_id)
            np.testing.assert_array_equal(np.asarray(Image.open(dataset.image_path(record))), item.image)
            gt = dataset.annotations[image_id]
            np.testing.assert_array_equal(gt.boxes_xyxy, item.ground_truth.boxes_xyxy)
            np.testing.assert_array_equal(gt.class_ids, item.ground_truth.class_ids + 1)  # category ids 1..K
    train = detection_dataset(folder, split="train")
    assert len(train.records) == 6 and list(train.class_names) == list(SCENE_CLASSES[:4])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"classes": ("circle", "hexagon")}, "classes"),
    ({"classes": ()}, "classes"),
    ({"size_range": (10, 200)}, "size_range"),
    ({"max_overlap": 1.0}, "max_overlap"),
    ({"background": "plaid"}, "background"),
    ({"max_objects": 0}, "max_objects"),
])
def test_scenes_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_scenes_dataset(1, image_hw=(64, 64), **kwargs)
