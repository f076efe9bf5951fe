"""Letterbox an image to a fixed size (and map predictions back): small enough to hand-write.

``letterbox`` scales the image by one factor so that it fits ``image_hw``, centres it and pads with a
constant; ``unletterbox_boxes`` undoes the box mapping for predictions made on the letterboxed image.
The x and y factors are the actual rounded-size ratios (``new_w / w``, ``new_h / h``), so a box maps to
exactly the pixels the resized image shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from odkit.boxes import BoxFormat, validate_boxes

__all__ = ["LetterboxInfo", "letterbox", "letterbox_info", "resize_uint8", "unletterbox_boxes"]


@dataclass(frozen=True)
class LetterboxInfo:
    """How an image was letterboxed.

    Attributes:
        source_hw: (height, width) of the original image in pixels.
        scale_xy: (x, y) factors from source to letterboxed pixels.
        pad_xy: (left, top) padding in letterboxed pixels.
        image_hw: (height, width) of the letterboxed image.
    """

    source_hw: tuple[int, int]
    scale_xy: tuple[float, float]
    pad_xy: tuple[int, int]
    image_hw: tuple[int, int]


def resize_uint8(image: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (H, W, C) uint8 image to ``image_hw`` (OpenCV when installed, else Pillow).

    Returns:
        A new (height, width, C) uint8 array.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    if image.shape[:2] == (h, w):
        return image.copy()
    try:
        import cv2
    except ImportError:
        channels = image.shape[2]
        planes = [np.asarray(Image.fromarray(image[:, :, c]).resize((w, h), Image.Resampling.BILINEAR))
                  for c in range(channels)]
        return np.stack(planes, axis=2)
    out = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return out[:, :, None] if out.ndim == 2 else out


def letterbox_info(source_hw: tuple[int, int], image_hw: tuple[int, int], allow_upscale: bool = True) -> LetterboxInfo:
    """The geometry :func:`letterbox` uses for a ``source_hw`` image and an ``image_hw`` output."""
    src_h, src_w = int(source_hw[0]), int(source_hw[1])
    out_h, out_w = int(image_hw[0]), int(image_hw[1])
    scale = min(out_h / src_h, out_w / src_w)
    if not allow_upscale:
        scale = min(scale, 1.0)
    new_w = max(1, min(out_w, round(src_w * scale)))
    new_h = max(1, min(out_h, round(src_h * scale)))
    left, top = (out_w - new_w) // 2, (out_h - new_h) // 2
    return LetterboxInfo((src_h, src_w), (new_w / src_w, new_h / src_h), (left, top), (out_h, out_w))


def letterbox(
    image: np.ndarray,
    boxes_xyxy: np.ndarray,
    image_hw: tuple[int, int],
    *,
    fill: int = 114,
    allow_upscale: bool = True,
) -> tuple[np.ndarray, np.ndarray, LetterboxInfo]:
    """Fit ``image`` into ``image_hw`` keeping its aspect ratio, centred, padded with ``fill``.

    Args:
        image: (H, W, C) uint8 image; not modified.
        boxes_xyxy: (N, 4) absolute xyxy boxes on ``image``; not modified.
        image_hw: output (height, width).
        fill: padding value (114 is the YOLO grey).
        allow_upscale: when False, a smaller image is only padded, not enlarged.

    Returns:
        The (height, width, C) uint8 letterboxed image, the (N, 4) float32 boxes on it, and the info
        needed by :func:`unletterbox_boxes`.
    """
    boxes = validate_boxes(boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy").astype(np.float32)
    info = letterbox_info(image.shape[:2], image_hw, allow_upscale)
    (sx, sy), (left, top) = info.scale_xy, info.pad_xy
    new_w, new_h = round(info.source_hw[1] * sx), round(info.source_hw[0] * sy)
    canvas = np.full((*info.image_hw, image.shape[2]), fill, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resize_uint8(image, (new_h, new_w))
    mapped = boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([left, top, left, top], np.float32)
    return canvas, mapped.astype(np.float32), info


def unletterbox_boxes(boxes_xyxy: np.ndarray, info: LetterboxInfo, *, clip: bool = True) -> np.ndarray:
    """Map boxes predicted on a letterboxed image back to the original image.

    Args:
        boxes_xyxy: (N, 4) absolute xyxy boxes on the letterboxed image; not modified.
        info: what :func:`letterbox` returned for that image.
        clip: clip the result to the original image (predictions may reach into the padding).

    Returns:
        (N, 4) float32 absolute xyxy boxes on the original image.
    """
    boxes = validate_boxes(boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy").astype(np.float64)
    (sx, sy), (left, top) = info.scale_xy, info.pad_xy
    out = (boxes - np.array([left, top, left, top])) / np.array([sx, sy, sx, sy])
    if clip:
        h, w = info.source_hw
        out = np.clip(out, 0, np.array([w, h, w, h], dtype=np.float64))
    return out.astype(np.float32)
