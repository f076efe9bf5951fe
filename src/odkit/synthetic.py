"""Generated detection datasets, for the demo, tests and benchmarks.

- :func:`make_shapes_dataset`: 3 classes of flat shapes, never overlapping, on noisy flat backgrounds (tests).
- :func:`make_scenes_dataset`: 6 classes (``SCENE_CLASSES``), small to large, overlapping, on textured
  backgrounds; :func:`write_scenes_dataset` writes train and held-out val splits as a COCO folder (the demo).

Everything is drawn with Pillow from a seed, so the same seed gives the same pixels and boxes everywhere.
Boxes are absolute xyxy in continuous pixels: a shape drawn over pixel columns ``x0..x1`` (inclusive) has
``x_min = x0`` and ``x_max = x1 + 1``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


SCENE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring")
_OUTLINED = ("circle", "square", "triangle", "star", "cross")  # a ring has no inside to outline


def _scene_background(rng: np.random.Generator, image_hw: tuple[int, int]) -> np.ndarray:
    """A textured (H, W, 3) float64 background in 0..255: a colour gradient in a random direction, smooth
    low-frequency blobs and, in half the images, faint stripes of a random period and angle."""
    from PIL import Image

    height, width = image_hw
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    start, end = rng.uniform(25, 230, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    background = start + (end - start) * ramp[..., None]
    cells = int(rng.integers(2, 6))
    coarse = rng.normal(0, 22, size=(3, cells, cells)).astype(np.float32)
    background += np.stack([np.asarray(Image.fromarray(c, mode="F").resize((width, height), Image.Resampling.BICUBIC))
                            for c in coarse], axis=-1)
    if rng.random() < 0.5:
        period = rng.uniform(5, 24)
        tilt = rng.uniform(0, np.pi)
        wave = np.sin(2 * np.pi * (xs * np.cos(tilt) + ys * np.sin(tilt)) / period)
        background += wave[..., None] * rng.uniform(6, 22) * rng.choice([-1.0, 1.0], size=3)
    return background


def _draw_scene_shape(draw: Any, name: str, centre_xy: tuple[float, float], side: int, angle: float,
                      outline: int) -> None:
    """Draw one shape on an "L" label image: value 1 for its inside, 2 for its ``outline``-pixel edge.

    The shape fits in a ``side`` x ``side`` square around ``centre_xy`` (pixels); ``angle`` (radians) turns the
    triangle, the star and the cross."""
    cx, cy = centre_xy
    half = side / 2
    square = [cx - half, cy - half, cx - half + side - 1, cy - half + side - 1]  # Pillow's ends are inclusive
    edge = 2 if outline else None
    if name == "circle":
        draw.ellipse(square, fill=1, outline=edge, width=outline)
    elif name == "square":
        draw.rectangle(square, fill=1, outline=edge, width=outline)
    elif name == "ring":
        draw.ellipse(square, outline=1, width=max(2, round(side * 0.2)))
    else:
        if name == "triangle":
            radii, turns = [half] * 3, np.arange(3) / 3
        elif name == "star":
            radii, turns = [half, half * 0.45] * 5, np.arange(10) / 10
        else:  # cross: a plus sign whose arms are 0.36 of its side wide
            arm, reach = half * 0.36, half
            corners = [(arm, reach), (arm, arm), (reach, arm), (reach, -arm), (arm, -arm), (arm, -reach)]
            corners += [(-x, -y) for x, y in corners]
            radii = [float(np.hypot(x, y)) for x, y in corners]
            turns = np.array([np.arctan2(y, x) for x, y in corners]) / (2 * np.pi)
        points = [(cx + r * np.sin(2 * np.pi * t + angle), cy - r * np.cos(2 * np.pi * t + angle))
                  for r, t in zip(radii, turns)]
        draw.polygon(points, fill=1, outline=edge, width=outline)


def make_scenes_dataset(
    n_images: int,
    image_hw: tuple[int, int] = (192, 192),
    classes: Sequence[str] = SCENE_CLASSES,
    max_objects: int = 8,
    size_range: tuple[int, int] | None = None,
    max_overlap: float = 0.3,
    seed: int = 0,
    background: str = "textured",
) -> list[SyntheticImage]:
    """Generate ``n_images`` scenes of 1..``max_objects`` shapes of several classes that may overlap.

    Sizes are log-uniform in ``size_range`` (so small shapes are as common as large ones), the triangles,
    stars and crosses are turned at random, and half the shapes get a 1-2 pixel outline of a darker or lighter
    colour. A shape's colour differs from the mean background under it by at least 60 (RGB distance): clear,
    not glaring. Later shapes are drawn over earlier ones; a shape is placed only when its box has IoU
    <= ``max_overlap`` with every earlier box and every earlier shape keeps at least 60% of its pixels
    visible, so no object is hidden beyond fair recognition. Each box is the whole shape's (as annotators
    draw occluded objects), not only its visible part.

    Args:
        n_images: number of images.
        image_hw: (height, width) of every image, in pixels.
        classes: the shape classes to draw, a subset of ``SCENE_CLASSES`` in any order; class ids index it.
        max_objects: most shapes per image (at least one is always drawn; crowded images may get fewer).
        size_range: smallest and largest side of the square a shape is drawn in, in pixels; default
            ``(max(6, S // 12), S // 2)`` with ``S = min(image_hw)``: (16, 96) at 192 x 192.
        max_overlap: the largest IoU between two boxes of an image, in [0, 1); 0 = no overlap.
        seed: random seed: the same seed gives the same pixels and boxes.
        background: ``"textured"`` (gradient, blobs, stripes, then pixel noise over everything) or ``"flat"``
            (one colour per image and no noise, so that every pixel that differs from it is a shape's).

    Returns:
        A list of ``SyntheticImage``: (H, W, 3) uint8 images and boxes in absolute xyxy, tight around each
        shape's pixels (a shape over pixel columns ``x0..x1`` has ``x_min = x0``, ``x_max = x1 + 1``).

    Raises:
        ValueError: on an unknown class, a ``size_range`` that does not fit the image, ``max_overlap`` outside
            [0, 1) or an unknown ``background``.
    """
    from PIL import Image, ImageDraw

    if n_images < 0 or max_objects < 1:
        raise ValueError(f"need n_images >= 0 and max_objects >= 1; got {n_images}, {max_objects}")
    classes = tuple(classes)
    unknown = [c for c in classes if c not in SCENE_CLASSES]
    if not classes or unknown or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct names from {list(SCENE_CLASSES)}; got {list(classes)}")
    height, width = image_hw
    lo, hi = size_range or (max(6, min(image_hw) // 12), min(image_hw) // 2)
    if not 6 <= lo <= hi <= min(height, width):
        raise ValueError(f"size_range {size_range} must satisfy 6 <= lo <= hi <= min(image_hw) = {min(image_hw)}")
    if not 0 <= max_overlap < 1:
        raise ValueError(f"max_overlap must be in [0, 1); got {max_overlap}")
    if background not in ("textured", "flat"):
        raise ValueError(f"background must be 'textured' or 'flat'; got {background!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_images):
        if background == "flat":
            canvas = np.broadcast_to(rng.uniform(25, 230, size=3), (height, width, 3)).copy()
        else:
            canvas = _scene_background(rng, (height, width))
        owner = np.full((height, width), -1, dtype=np.int64)  # which shape each pixel shows, -1 = background
        areas: list[int] = []
        boxes_xyxy: list[list[float]] = []
        class_ids: list[int] = []
        wanted = int(rng.integers(1, max_objects + 1))
        for _attempt in range(wanted * 25):
            if len(boxes_xyxy) == wanted:
                break
            side = round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
            centre = (rng.uniform(side / 2, width - side / 2), rng.uniform(side / 2, height - side / 2))
            cls = int(rng.integers(0, len(classes)))
            outline = int(rng.integers(1, 3)) if classes[cls] in _OUTLINED and rng.random() < 0.5 else 0
            label = Image.new("L", (width, height))
            _draw_scene_shape(ImageDraw.Draw(label), classes[cls], centre, side, float(rng.uniform(0, 2 * np.pi)),
                              outline)
            mask = np.asarray(label)
            rows, cols = np.nonzero(mask)
            if rows.size == 0:
                continue
            box = [float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)]
            if boxes_xyxy and _box_iou_max(box, boxes_xyxy) > max_overlap:
                continue
            hidden = np.bincount(owner[mask > 0] + 1, minlength=len(areas) + 1)[1:]
            if any(area - h < 0.6 * area for area, h in zip(areas, hidden)):
                continue
            local = canvas[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].reshape(-1, 3).mean(axis=0)
            colour = rng.uniform(0, 255, size=3)
            for _ in range(20):
                if np.linalg.norm(colour - local) >= 60:
                    break
                colour = rng.uniform(0, 255, size=3)
            else:
                colour = np.where(local < 128, 255.0, 0.0)
            edge = colour * 0.35 if colour.mean() > 110 else colour + (255 - colour) * 0.6
            canvas[mask == 1] = colour
            canvas[mask == 2] = edge
            owner[mask > 0] = len(areas)
            areas.append(int(rows.size))
            boxes_xyxy.append(box)
            class_ids.append(cls)
        if background == "textured":
            canvas = canvas + rng.normal(0, rng.uniform(2, 8), size=canvas.shape)
        pixels = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        gt = GroundTruth(np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4), np.asarray(class_ids, np.int64))
        out.append(SyntheticImage(pixels, gt))
    return out


def _box_iou_max(box_xyxy: list[float], boxes_xyxy: list[list[float]]) -> float:
    """The largest IoU of one xyxy box with a list of xyxy boxes (0 where a union is 0)."""
    others = np.asarray(boxes_xyxy, dtype=np.float64)
    iw = np.clip(np.minimum(others[:, 2], box_xyxy[2]) - np.maximum(others[:, 0], box_xyxy[0]), 0, None)
    ih = np.clip(np.minimum(others[:, 3], box_xyxy[3]) - np.maximum(others[:, 1], box_xyxy[1]), 0, None)
    inter = iw * ih
    union = ((others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
             + (box_xyxy[2] - box_xyxy[0]) * (box_xyxy[3] - box_xyxy[1]) - inter)
    return float(np.max(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)))


def write_scenes_dataset(
    out_dir: str | os.PathLike[str],
    n_train: int,
    n_val: int,
    *,
    image_hw: tuple[int, int] = (192, 192),
    seed: int = 0,
    **options: Any,
) -> Path:
    """Generate a train and a held-out val split of scenes and write them as a COCO folder.

    Train is ``make_scenes_dataset(n_train, seed=2 * seed)`` and val ``make_scenes_dataset(n_val,
    seed=2 * seed + 1)``: different random streams, so no val image or layout is seen in training.

    Layout: ``images/train/scene_00001.png``..., ``images/val/...``, and ``annotations/instances_train.json``
    / ``instances_val.json`` (category ids 1..K in the order of ``classes``; image ids 1..n_train then
    n_train+1..n_train+n_val), which ``odkit.io.read_annotations(out_dir)`` reads back with both splits.

    Args:
        out_dir: the folder to write (created; files of the same names are replaced).
        n_train, n_val: images per split.
        image_hw: (height, width) of the images, in pixels.
        seed: random seed of the whole dataset.
        **options: passed to :func:`make_scenes_dataset` (``classes``, ``max_objects``, ``size_range``,
            ``max_overlap``, ``background``).

    Returns:
        ``out_dir`` as a ``Path``.
    """
    from PIL import Image

    from odkit.io import Category, Dataset, ImageRecord, write_annotations

    out = Path(out_dir)
    classes = tuple(options.get("classes", SCENE_CLASSES))
    records: list[ImageRecord] = []
    annotations: dict[int, GroundTruth] = {}
    splits: dict[str, list[int]] = {}
    for split, count, split_seed in (("train", n_train, 2 * seed), ("val", n_val, 2 * seed + 1)):
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        splits[split] = []
        for i, item in enumerate(make_scenes_dataset(count, image_hw=image_hw, seed=split_seed, **options), 1):
            image_id = len(records) + 1
            name = f"scene_{i:05d}.png"
            Image.fromarray(item.image).save(folder / name, compress_level=1)
            records.append(ImageRecord(id=image_id, file_name=name, path=f"images/{split}/{name}",
                                       width=image_hw[1], height=image_hw[0]))
            annotations[image_id] = GroundTruth(item.ground_truth.boxes_xyxy, item.ground_truth.class_ids + 1)
            splits[split].append(image_id)
    dataset = Dataset(images=tuple(records), categories=tuple(Category(id=k + 1, name=n) for k, n in
                                                              enumerate(classes)),
                      annotations=annotations, root=out, splits={k: tuple(v) for k, v in splits.items()})
    # the images are already where the COCO layout puts them (images/<split>/), so "copy" copies nothing and
    # only points each file_name at its split folder
    write_annotations(dataset, out, "coco", copy_images="copy")
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
