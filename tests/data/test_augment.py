"""Box-aware augmentation: after every transform, each box still covers the pixels of its object."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.data import (
    ColorJitter,
    Compose,
    HorizontalFlip,
    Letterbox,
    Mosaic,
    RandomCrop,
    RandomScale,
    Resize,
    letterbox,
    unletterbox_boxes,
)
from tests.conftest import assert_unchanged

pytest.importorskip("albumentations")

COLOURS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 128, 0],
     [128, 0, 255], [0, 128, 255], [255, 255, 255], [128, 255, 0], [255, 0, 128]],
    dtype=np.uint8,
)


def scene(rng: np.random.Generator, hw: tuple[int, int], ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Black image with one solid rectangle per id (colour COLOURS[id]), rectangles not overlapping."""
    h, w = hw
    image = np.zeros((h, w, 3), np.uint8)
    boxes = []
    cols = len(ids)
    for k, cid in enumerate(ids):
        cell_w = w // cols
        x1 = k * cell_w + int(rng.integers(1, max(2, cell_w // 4)))
        x2 = min((k + 1) * cell_w - 1, x1 + int(rng.integers(cell_w // 3, max(cell_w // 3 + 1, cell_w - 2))))
        y1 = int(rng.integers(0, h // 2))
        y2 = int(rng.integers(y1 + h // 6, h))
        image[y1:y2, x1:x2] = COLOURS[cid]
        boxes.append([x1, y1, x2, y2])
    return image, np.array(boxes, np.float32), np.array(ids, np.int64)


def colour_extent(image: np.ndarray, cid: int, tol: int = 60) -> np.ndarray | None:
    """Continuous xyxy extent of the pixels close to COLOURS[cid], or None."""
    close = np.abs(image.astype(np.int16) - COLOURS[cid].astype(np.int16)).max(axis=2) <= tol
    ys, xs = np.nonzero(close)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def assert_boxes_cover_pixels(image: np.ndarray, boxes: np.ndarray, ids: np.ndarray, slack: float = 2.0) -> None:
    assert image.dtype == np.uint8 and image.ndim == 3
    assert boxes.dtype == np.float32 and boxes.shape == (len(ids), 4)
    assert ids.dtype == np.int64
    h, w = image.shape[:2]
    assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= w) and np.all(boxes[:, 3] <= h)
    assert np.all(boxes[:, 2] - boxes[:, 0] >= 1) and np.all(boxes[:, 3] - boxes[:, 1] >= 1)
    for box, cid in zip(boxes, ids):
        extent = colour_extent(image, int(cid))
        assert extent is not None, f"box {box} of id {cid} covers no pixel of its colour"
        np.testing.assert_allclose(extent, box, atol=slack, err_msg=f"id {cid}")


GEOMETRIC = {
    "flip": lambda: HorizontalFlip(p=1.0),
    "scale_down": lambda: RandomScale((0.5, 0.7)),
    "scale_up": lambda: RandomScale((1.3, 1.6)),
    "crop": lambda: RandomCrop((48, 64)),
    "crop_larger_than_image": lambda: RandomCrop((120, 150)),
    "letterbox": lambda: Letterbox((64, 64)),
    "letterbox_tall": lambda: Letterbox((160, 40)),
    "resize": lambda: Resize((50, 90)),
}


@pytest.mark.parametrize("name", sorted(GEOMETRIC))
@pytest.mark.parametrize("seed", range(6))
def test_boxes_follow_pixels_after_each_transform(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    image, boxes, ids = scene(rng, (80, 120), [0, 1, 2, 3])
    transform = GEOMETRIC[name]()
    out_image, out_boxes, out_ids = assert_unchanged(
        lambda im, b, i: transform(im, b, i, np.random.default_rng(seed)), image, boxes, ids
    )
    assert set(out_ids.tolist()) <= set(ids.tolist())
    if name in ("flip", "letterbox", "letterbox_tall", "resize", "scale_down", "scale_up"):
        assert len(out_ids) == len(ids)  # nothing leaves the image
    assert_boxes_cover_pixels(out_image, out_boxes, out_ids)


def test_flip_maps_x_to_width_minus_x() -> None:
    image, boxes, ids = scene(np.random.default_rng(0), (40, 60), [0, 1])
    _, flipped, _ = HorizontalFlip(p=1.0)(image, boxes, ids, np.random.default_rng(0))
    expected = np.stack([60 - boxes[:, 2], boxes[:, 1], 60 - boxes[:, 0], boxes[:, 3]], 1)
    np.testing.assert_allclose(flipped, expected, atol=1e-4)


def test_crop_drops_boxes_below_min_visibility_and_clips_the_rest() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[0, 0, 50, 50], [45, 45, 100, 100]], np.float32)
    # a 50x50 crop at the origin keeps box 0 whole and 25/3025 of box 1 (< 0.1): dropped
    crop = RandomCrop((50, 50), min_visibility=0.1)
    for seed in range(40):
        _, out, kept = crop(image, boxes, np.array([0, 1]), np.random.default_rng(seed))
        assert out.shape[0] == len(kept)
        assert np.all(out >= 0) and np.all(out <= 50)
        for box, k in zip(out, kept):
            area = (box[2] - box[0]) * (box[3] - box[1])
            original = (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1])
            assert area >= 0.1 * original - 1e-3


def test_color_jitter_keeps_geometry() -> None:
    image, boxes, ids = scene(np.random.default_rng(1), (40, 60), [0, 1, 2])
    out, out_boxes, out_ids = ColorJitter(0.4, 0.4, 0.4, 0.1)(image, boxes, ids, np.random.default_rng(3))
    assert out.shape == image.shape and not np.array_equal(out, image)
    np.testing.assert_allclose(out_boxes, boxes, atol=1e-4)
    np.testing.assert_array_equal(out_ids, ids)


def _run_mosaic(seed: int) -> int:
    rng = np.random.default_rng(seed)
    main = scene(rng, (60, 80), [0, 1, 2])
    others = [scene(rng, (50, 70), ids) for ids in ([3, 4, 5], [6, 7, 8], [9, 10, 11])]
    out_image, out_boxes, out_ids = Mosaic((64, 64))(*main, np.random.default_rng(seed), others)
    assert out_image.shape == (64, 64, 3)
    assert len(out_ids) == len(set(out_ids.tolist()))
    assert_boxes_cover_pixels(out_image, out_boxes, out_ids)
    return len({int(i) // 3 for i in out_ids})  # how many of the four sources contributed a box


@pytest.mark.parametrize("seed", range(8))
def test_mosaic_boxes_follow_pixels_of_all_four_sources(seed: int) -> None:
    _run_mosaic(seed)


def test_mosaic_mixes_sources() -> None:
    contributed = [_run_mosaic(seed) for seed in range(8)]
    assert max(contributed) >= 3  # the crop around the centre shows several sources


def test_compose_is_reproducible_per_index_and_epoch() -> None:
    image, boxes, ids = scene(np.random.default_rng(2), (80, 120), [0, 1, 2, 3])
    pipeline = Compose([RandomScale((0.6, 1.4)), HorizontalFlip(), RandomCrop((60, 60)), Letterbox((64, 64))], seed=5)
    a = pipeline(image, boxes, ids, pipeline.rng(3, epoch=1))
    b = pipeline(image, boxes, ids, pipeline.rng(3, epoch=1))
    c = pipeline(image, boxes, ids, pipeline.rng(4, epoch=1))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].shape == (64, 64, 3)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))
    assert_boxes_cover_pixels(*a)


@pytest.mark.parametrize("source_hw", [(480, 640), (640, 480), (100, 100), (37, 211)])
def test_unletterbox_inverts_letterbox(source_hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    h, w = source_hw
    xy = rng.uniform(0, 1, (20, 2)) * [w, h]
    wh = rng.uniform(1, 30, (20, 2))
    boxes = np.clip(np.concatenate([xy, xy + wh], 1), 0, [w, h, w, h]).astype(np.float32)
    image = np.zeros((h, w, 3), np.uint8)
    out, mapped, info = letterbox(image, boxes, (416, 416))
    assert out.shape == (416, 416, 3)
    assert np.all(mapped >= 0) and np.all(mapped <= 416)
    np.testing.assert_allclose(unletterbox_boxes(mapped, info), boxes, atol=1e-3)


ALL = {**GEOMETRIC, "jitter": lambda: ColorJitter(0.4, 0.4, 0.4, 0.1), "mosaic": lambda: Mosaic((64, 64))}


def _apply(name: str, transform, image: np.ndarray, boxes: np.ndarray, ids: np.ndarray, seed: int):  # type: ignore[no-untyped-def]
    others = None
    if name == "mosaic":  # the other three sources with the same channels as the image
        others = [(np.roll(image, k, axis=1), boxes, ids) for k in (7, 13, 21)]
    return assert_unchanged(
        lambda im, b, i: transform(im, b, i, np.random.default_rng(seed), others), image, boxes, ids
    )


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("seed", range(3))
def test_every_transform_on_grayscale_rgb_and_rgba(name: str, seed: int) -> None:
    """Regression: ColorJitter raised a bare TypeError from albumentations on RGBA. Every transform keeps the
    channel count; RGBA = the RGB result plus an alpha that moves with the pixels (jitter: alpha unchanged);
    grayscale = the geometry of the RGB result."""
    rgb, boxes, ids = scene(np.random.default_rng(seed), (80, 120), [0, 1, 2, 3])
    alpha = rgb[:, :, :1].copy()  # alpha = a copy of R, so after a geometric transform it must equal out R
    rgba = np.concatenate([rgb, alpha], axis=2)
    gray = rgb[:, :, 1:2].copy()
    transform = ALL[name]()
    out3, boxes3, ids3 = _apply(name, transform, rgb, boxes, ids, seed)
    out4, boxes4, ids4 = _apply(name, transform, rgba, boxes, ids, seed)
    out1, boxes1, ids1 = _apply(name, transform, gray, boxes, ids, seed)
    assert out3.shape[2] == 3 and out4.shape[2] == 4 and out1.shape[2] == 1
    assert out4.dtype == out1.dtype == np.uint8
    np.testing.assert_array_equal(out4[:, :, :3], out3)
    if name == "jitter":
        np.testing.assert_array_equal(out4[:, :, 3], alpha[:, :, 0])
        assert not np.array_equal(out1, gray)
    else:
        np.testing.assert_array_equal(out4[:, :, 3], out3[:, :, 0])
        assert out1.shape[:2] == out3.shape[:2]
        np.testing.assert_array_equal(out1[:, :, 0], out3[:, :, 1])
    for b, i in ((boxes4, ids4), (boxes1, ids1)):
        np.testing.assert_allclose(b, boxes3, atol=1e-4)
        np.testing.assert_array_equal(i, ids3)
    if name not in ("jitter", "mosaic"):  # mosaic's other sources reuse the colours (see the mosaic tests)
        assert_boxes_cover_pixels(out3, boxes3, ids3)


def test_two_channel_images_are_a_clear_error() -> None:
    image = np.zeros((10, 10, 2), np.uint8)
    for transform in (ColorJitter(), HorizontalFlip(), Letterbox((8, 8))):
        with pytest.raises(ValueError, match=r"C in \(1, 3, 4\); got \(10, 10, 2\)"):
            transform(image, np.zeros((0, 4)), np.zeros(0), np.random.default_rng(0))
