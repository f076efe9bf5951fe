"""A small generated detection dataset (coloured shapes on noisy backgrounds), for the demo and tests.

Everything is drawn with Pillow from a seed, so the same seed gives the same pixels and boxes everywhere.
Boxes are absolute xyxy in continuous pixels: a shape drawn over pixel columns ``x0..x1`` (inclusive) has
``x_min = x0`` and ``x_max = x1 + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from odkit.boxes import GroundTruth

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")


@dataclass(frozen=True, eq=False)
class SyntheticImage:
    """One generated image.

    Attributes:
        image: (H, W, 3) uint8 RGB pixels.
        ground_truth: boxes (absolute xyxy) and class ids (indices into ``SHAPE_CLASSES``).
    """

    image: np.ndarray
    ground_truth: GroundTruth


def make_shapes_dataset(
    n_images: int,
    image_hw: tuple[int, int] = (128, 128),
    max_objects: int = 4,
    size_range: tuple[int, int] = (16, 56),
    seed: int = 0,
) -> list[SyntheticImage]:
    """Generate ``n_images`` images with 1..``max_objects`` non-overlapping shapes each.

    Args:
        n_images: number of images.
        image_hw: (height, width) of every image, in pixels.
        max_objects: most shapes per image (at least one is always drawn).
        size_range: smallest and largest shape side, in pixels.
        seed: random seed.

    Returns:
        A list of ``SyntheticImage``; class ids index ``SHAPE_CLASSES``.
    """
    from PIL import Image, ImageDraw  # Pillow is a core dependency, imported where used

    if n_images < 0 or max_objects < 1:
        raise ValueError(f"need n_images >= 0 and max_objects >= 1; got {n_images}, {max_objects}")
    height, width = image_hw
    lo, hi = size_range
    if not 1 <= lo <= hi <= min(height, width):
        raise ValueError(f"size_range {size_range} must satisfy 1 <= lo <= hi <= min(image_hw) = {min(image_hw)}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_images):
        base = rng.integers(40, 200, size=3)
        noise = rng.normal(0, 12, size=(height, width, 3))
        pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
        canvas = Image.fromarray(pixels)
        draw = ImageDraw.Draw(canvas)
        boxes_xyxy: list[list[float]] = []
        class_ids: list[int] = []
        wanted = int(rng.integers(1, max_objects + 1))
        for _attempt in range(wanted * 20):
            if len(boxes_xyxy) == wanted:
                break
            side = int(rng.integers(lo, hi + 1))
            x0 = int(rng.integers(0, width - side + 1))
            y0 = int(rng.integers(0, height - side + 1))
            box = [x0, y0, x0 + side, y0 + side]
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes_xyxy):
                continue
            cls = int(rng.integers(0, len(SHAPE_CLASSES)))
            colour = tuple(int(v) for v in (base + 128 + rng.integers(-30, 30, size=3)) % 256)
            x1, y1 = x0 + side - 1, y0 + side - 1  # Pillow's end coordinates are inclusive
            if SHAPE_CLASSES[cls] == "circle":
                draw.ellipse([x0, y0, x1, y1], fill=colour)
            elif SHAPE_CLASSES[cls] == "square":
                draw.rectangle([x0, y0, x1, y1], fill=colour)
            else:
                draw.polygon([(x0, y1), (x1, y1), ((x0 + x1) / 2, y0)], fill=colour)
            boxes_xyxy.append([float(v) for v in box])
            class_ids.append(cls)
        gt = GroundTruth(np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4), np.asarray(class_ids))
        out.append(SyntheticImage(np.asarray(canvas), gt))
    return out


def make_digits(n_images: int, seed: int = 0, image_hw: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, np.ndarray]:
    """Handwriting-like digits 0-9 for classification examples and tests (nothing to download).

    Each digit is drawn with Pillow's built-in font at a random size (14-24 px), position, stroke width and
    rotation (+-15 degrees), on a dark background with a little noise, like MNIST's white-on-black.

    Returns:
        ``(images, labels)``: (N, H, W) uint8 and (N,) int64 in 0..9, classes balanced (``i % 10``) and
        shuffled with the seed.
    """
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    height, width = image_hw
    labels = rng.permutation(np.arange(n_images) % 10).astype(np.int64)
    images = np.empty((n_images, height, width), dtype=np.uint8)
    fonts = {size: ImageFont.load_default(size=size) for size in range(14, 25)}
    for i, digit in enumerate(labels.tolist()):
        canvas = Image.new("L", (width * 2, height * 2))
        draw = ImageDraw.Draw(canvas)
        size = int(rng.integers(14, 25)) * 2 * min(height, width) // 28
        font = fonts[min(24, max(14, size // 2))].font_variant(size=size)
        draw.text((width + rng.normal(0, 1.5) * 2, height + rng.normal(0, 1.5) * 2), str(digit), fill=255,
                  font=font, anchor="mm", stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR)
        small = np.asarray(canvas.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float64)
        noisy = small + rng.normal(0, 8, small.shape)
        images[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return images, labels
