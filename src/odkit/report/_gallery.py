"""The gallery of a run: which images a model gets most wrong, and pictures of truth beside prediction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from odkit.boxes import Detections, GroundTruth
from odkit.ops import box_ioa, box_iou


@dataclass(frozen=True)
class ImageErrors:
    """How one image's detections (at a confidence threshold) compare with its ground truth.

    Attributes:
        tp: detections matched to a ground-truth object of their class.
        fp: detections matched to nothing (wrong-class ones included).
        fn: ground-truth objects no detection matched (crowd regions never count).
        wrong_class: false positives that sit on an unmatched object of another class.
    """

    tp: int
    fp: int
    fn: int
    wrong_class: int

    @property
    def total(self) -> int:
        """Errors in all: ``fp + fn``."""
        return self.fp + self.fn


def image_errors(detections: Detections, ground_truth: GroundTruth, conf: float, iou: float = 0.5) -> ImageErrors:
    """Count the errors of one image at a confidence threshold.

    Detections with ``score >= conf`` are taken greedily by descending score (ties in input order). Each is
    matched to the unmatched, non-crowd ground-truth object of its class with the highest IoU >= ``iou``
    (a true positive). Failing that, a detection on a crowd region of its class (intersection over the
    detection's area >= ``iou``, as COCO) is ignored: neither a true nor a false positive. Any other detection
    is a false positive, and also a ``wrong_class`` one when it has IoU >= ``iou`` with a non-crowd object of
    another class that is still unmatched at that point. Non-crowd objects left unmatched are false negatives.

    Args:
        detections: predicted absolute xyxy boxes with scores and class ids.
        ground_truth: the true objects; ``iscrowd`` marks crowd regions.
        conf: confidence threshold in [0, 1]; detections below it are left out.
        iou: IoU threshold of a match, in [0, 1].

    Returns:
        The counts.

    Raises:
        ValueError: if ``conf`` or ``iou`` is not in [0, 1].
    """
    for label, value in (("conf", conf), ("iou", iou)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{label} must be in [0, 1]; got {value!r}")
    keep = np.flatnonzero(detections.scores >= conf)
    order = keep[np.argsort(-detections.scores[keep], kind="stable")]
    boxes, classes = detections.boxes_xyxy[order], detections.class_ids[order]
    crowd = ground_truth.iscrowd
    ious = box_iou(boxes, ground_truth.boxes_xyxy)  # (D, G)
    ioas = box_ioa(boxes, ground_truth.boxes_xyxy)  # (D, G): intersection over the detection's area
    matched = np.zeros(len(ground_truth), dtype=bool)
    tp = fp = wrong = 0
    for d in range(order.size):
        same = ground_truth.class_ids == classes[d]
        free = same & ~crowd & ~matched & (ious[d] >= iou)
        if free.any():
            matched[np.flatnonzero(free)[int(np.argmax(ious[d][free]))]] = True
            tp += 1
            continue
        if np.any(same & crowd & (ioas[d] >= iou)):
            continue
        fp += 1
        if np.any(~same & ~crowd & ~matched & (ious[d] >= iou)):
            wrong += 1
    fn = int(np.sum(~matched & ~crowd))
    return ImageErrors(tp=tp, fp=fp, fn=fn, wrong_class=wrong)


def worst_first(errors: Sequence[ImageErrors]) -> list[int]:
    """Indices into ``errors``, most errors first; ties: more false negatives first, then by index."""
    return sorted(range(len(errors)), key=lambda i: (-errors[i].total, -errors[i].fn, i))


def side_by_side(
    image: np.ndarray,
    detections: Detections,
    ground_truth: GroundTruth,
    class_names: Sequence[str] | None,
    conf: float,
    line_width: int | None = None,
) -> np.ndarray:
    """Truth beside prediction: the ground truth on the left, the detections with ``score >= conf`` on the right.

    Each panel has a header strip ("ground truth (N)" / "predictions >= 0.25 (M)"); boxes are in class
    colours with names (and scores), see :func:`odkit.viz.draw_boxes`.

    Args:
        image: (H, W, 3) or (H, W) uint8 pixels; not modified.
        detections: predicted absolute xyxy boxes.
        ground_truth: the true objects (absolute xyxy).
        class_names: names indexed by class id (ids are shown when None).
        conf: confidence threshold of the right panel.
        line_width: box outline width in pixels; None scales it to the image.

    Returns:
        (H + header, 2 * W + gap, 3) uint8 RGB image; the header and gap grow with the image size.

    Raises:
        ValueError: if ``image`` is not (H, W) or (H, W, 3).
    """
    from PIL import Image, ImageDraw

    from odkit.viz import default_line_width, draw_boxes, label_font

    pixels = np.asarray(image)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3); got {pixels.shape}")
    height, width = pixels.shape[:2]
    shown = detections[detections.scores >= conf]
    left = draw_boxes(pixels, None, ground_truth, class_names, line_width, label_ground_truth=True)
    right = draw_boxes(pixels, shown, None, class_names, line_width)

    lw = default_line_width((height, width)) if line_width is None else int(line_width)
    font = label_font(lw + 1)
    gap = 4 * lw
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    _, top, _, bottom = probe.textbbox((0, 0), "Ag(0)", font=font)
    header = bottom - top + 4 * lw
    canvas = Image.new("RGB", (2 * width + gap, height + header), (255, 255, 255))
    canvas.paste(Image.fromarray(left), (0, header))
    canvas.paste(Image.fromarray(right), (width + gap, header))
    draw = ImageDraw.Draw(canvas)
    titles = (f"ground truth ({len(ground_truth)})", f"predictions >= {conf:g} ({len(shown)})")
    for x, text in zip((0, width + gap), titles):
        draw.rectangle([x, 0, x + width - 1, header - lw - 1], fill=(40, 40, 40))
        draw.text((x + 2 * lw, 2 * lw - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(canvas)
