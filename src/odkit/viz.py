"""Drawing boxes on images (Pillow): ground truth and predictions with class and confidence."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from odkit.boxes import Detections, GroundTruth

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont


def class_colour(class_id: int) -> tuple[int, int, int]:
    """A distinct, stable RGB colour for a class id (golden-ratio hue steps)."""
    hue = (int(class_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background`` (RGB 0-255; WCAG relative luminance)."""

    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05): equal at L ~= 0.179
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


def default_line_width(image_hw: tuple[int, int]) -> int:
    """Box outline width in pixels for an image of (height, width): 0.3% of the mean side, at least 2."""
    return max(2, round((image_hw[0] + image_hw[1]) / 2 * 0.003))


def label_font(line_width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at a size that goes with ``line_width`` (11 px at width 2)."""
    from PIL import ImageFont

    size = 5 + 3 * line_width
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def draw_label(
    draw: ImageDraw.ImageDraw,
    text: str,
    anchor_xy: tuple[float, float],
    colour: tuple[int, int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    image_wh: tuple[int, int],
) -> None:
    """Draw ``text`` in a filled box of ``colour`` just above ``anchor_xy`` (a box's top-left corner).

    The label goes inside the box instead when there is no room above it, and is shifted left when it
    would run past the right edge, so it always stays within the (width, height) ``image_wh``.
    """
    x0, y0 = anchor_xy
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = 2
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = max(0.0, min(float(x0), image_wh[0] - w))
    y = float(y0) - h if y0 - h >= 0 else max(0.0, min(float(y0), image_wh[1] - h))
    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=colour)
    draw.text((x + pad - left, y + pad - top), text, fill=text_colour(colour), font=font)


def draw_boxes(
    image: np.ndarray,
    detections: Detections | None = None,
    ground_truth: GroundTruth | None = None,
    class_names: Sequence[str] | None = None,
    line_width: int | None = None,
    *,
    label_ground_truth: bool = False,
) -> np.ndarray:
    """Draw boxes on a copy of an image.

    Ground truth is drawn as thin white outlines (or, with ``label_ground_truth``, in its class colour with
    its class name; crowd regions grey and named ``crowd``); detections in their class colour with a
    ``name score`` label in a filled box of that colour (black or white text, whichever contrasts more),
    above the box or inside it at the top edge of the image.

    Args:
        image: (H, W, 3) or (H, W) uint8 pixels; not modified.
        detections: predicted absolute xyxy boxes with scores and class ids.
        ground_truth: true absolute xyxy boxes and class ids.
        class_names: names indexed by class id; ids are printed when None or out of range.
        line_width: box outline width in pixels; None scales it to the image (see :func:`default_line_width`).
        label_ground_truth: draw ground truth in class colours with names (for a picture of the truth alone).

    Returns:
        (H, W, 3) uint8 RGB image with the boxes drawn.
    """
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    width = default_line_width((canvas.height, canvas.width)) if line_width is None else int(line_width)
    font = label_font(width)
    image_wh = (canvas.width, canvas.height)

    def name(class_id: int) -> str:
        if class_names is not None and 0 <= class_id < len(class_names):
            return str(class_names[class_id])
        return str(class_id)

    def corners(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        """Pillow's inclusive end pixel of a continuous box; a box under a pixel wide is drawn one pixel wide."""
        return [x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)]

    if ground_truth is not None:
        rows = zip(ground_truth.boxes_xyxy.tolist(), ground_truth.class_ids.tolist(), ground_truth.iscrowd.tolist())
        for (x0, y0, x1, y1), cls, crowd in rows:
            if not label_ground_truth:
                draw.rectangle(corners(x0, y0, x1, y1), outline=(255, 255, 255), width=max(1, width // 2))
                continue
            colour = (160, 160, 160) if crowd else class_colour(cls)
            draw.rectangle(corners(x0, y0, x1, y1), outline=colour, width=width)
            draw_label(draw, f"{name(cls)} (crowd)" if crowd else name(cls), (x0, y0), colour, font, image_wh)
    if detections is not None:
        labels = []
        for (x0, y0, x1, y1), score, cls in zip(
            detections.boxes_xyxy.tolist(), detections.scores.tolist(), detections.class_ids.tolist()
        ):
            colour = class_colour(cls)
            draw.rectangle(corners(x0, y0, x1, y1), outline=colour, width=width)
            labels.append((score, f"{name(cls)} {score:.2f}", (x0, y0), colour))
        # labels after every box, the highest score last (on top), so no outline crosses a label
        for _, text, anchor, colour in sorted(labels, key=lambda item: item[0]):
            draw_label(draw, text, anchor, colour, font, image_wh)
    return np.asarray(canvas)
