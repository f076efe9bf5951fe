"""Drawing boxes on images (Pillow): ground truth and predictions with class and confidence."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from odkit.boxes import Detections, GroundTruth


def class_colour(class_id: int) -> tuple[int, int, int]:
    """A distinct, stable RGB colour for a class id (golden-ratio hue steps)."""
    hue = (int(class_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_boxes(
    image: np.ndarray,
    detections: Detections | None = None,
    ground_truth: GroundTruth | None = None,
    class_names: Sequence[str] | None = None,
    line_width: int = 2,
) -> np.ndarray:
    """Draw boxes on a copy of an image.

    Ground truth is drawn as thin white-outlined boxes; detections in their class colour with a
    ``name score`` label above the box.

    Args:
        image: (H, W, 3) or (H, W) uint8 pixels; not modified.
        detections: predicted absolute xyxy boxes with scores and class ids.
        ground_truth: true absolute xyxy boxes and class ids.
        class_names: names indexed by class id; ids are printed when None or out of range.
        line_width: box outline width in pixels.

    Returns:
        (H, W, 3) uint8 RGB image with the boxes drawn.
    """
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)

    def name(class_id: int) -> str:
        if class_names is not None and 0 <= class_id < len(class_names):
            return str(class_names[class_id])
        return str(class_id)

    if ground_truth is not None:
        for x0, y0, x1, y1 in ground_truth.boxes_xyxy.tolist():
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 255, 255), width=1)
    if detections is not None:
        for (x0, y0, x1, y1), score, cls in zip(
            detections.boxes_xyxy.tolist(), detections.scores.tolist(), detections.class_ids.tolist()
        ):
            colour = class_colour(cls)
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=colour, width=line_width)
            label = f"{name(cls)} {score:.2f}"
            left, top, right, bottom = draw.textbbox((x0, y0), label)
            lift = bottom - top + 2
            ty = y0 - lift if y0 - lift >= 0 else y0
            draw.rectangle([x0, ty, x0 + right - left + 3, ty + lift], fill=colour)
            draw.text((x0 + 2, ty), label, fill=(0, 0, 0))
    return np.asarray(canvas)
