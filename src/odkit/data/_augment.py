"""Box-aware augmentation for detector training.

Flip, random scale, random crop, colour jitter and mosaic are thin adapters over albumentations 2.x
(``pip install odkit[data]``): a well-kept library whose box handling is tested by many users. Letterbox
and plain resize are hand-written (``_letterbox.py``): they are short, deterministic and need an inverse
for predictions.

Box convention: absolute xyxy in continuous pixels (``x_max`` exclusive), which is albumentations'
``pascal_voc`` format; a horizontal flip maps ``x`` to ``W - x``.

**Box rule** (every geometric transform): boxes are clipped to the output image, then a box is dropped
when less than ``min_visibility`` of its area (measured before the transform, after scaling) is still
visible, or when its clipped width or height is under ``min_size`` pixels. Defaults: 0.1 and 1.0.

Every transform is a callable ``t(image, boxes_xyxy, class_ids, rng, others=None)`` returning
``(image, boxes_xyxy, class_ids)``: image (H, W, C) uint8 with C = 1 (grayscale), 3 (RGB) or 4
(RGBA: alpha moves with the pixels), boxes (N, 4) float32, class ids (N,) int64.
Inputs are never modified. ``rng`` (a ``numpy.random.Generator``) makes the result reproducible.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from odkit.boxes import BoxFormat, validate_boxes
from odkit.data._letterbox import letterbox, resize_uint8

__all__ = [
    "ColorJitter",
    "Compose",
    "HorizontalFlip",
    "Letterbox",
    "Mosaic",
    "RandomCrop",
    "RandomScale",
    "Resize",
]

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]


def _albumentations() -> Any:
    try:
        import albumentations
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "this transform needs albumentations; install the data extra: pip install 'odkit[data]'"
        ) from exc
    return albumentations


def _check(image: np.ndarray, boxes_xyxy: np.ndarray, class_ids: np.ndarray) -> Sample:
    if image.ndim != 3 or image.dtype != np.uint8 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must be (H, W, C) uint8 with C in (1, 3, 4); got {image.shape} {image.dtype}")
    boxes = validate_boxes(boxes_xyxy, BoxFormat.XYXY, "boxes_xyxy").astype(np.float32)
    ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if ids.shape[0] != boxes.shape[0]:
        raise ValueError(f"class_ids must have shape ({boxes.shape[0]},) to match the boxes; got {ids.shape}")
    return image, boxes, ids


class _Albumentations:
    """One albumentations transform with odkit's box rule; thread-safe, seeded per call."""

    needs_others = False

    def __init__(self, transform: Any, min_visibility: float, min_size: float, geometric: bool = True) -> None:
        A = _albumentations()
        self.min_visibility = float(min_visibility)
        self.min_size = float(min_size)
        self.geometric = geometric
        if not geometric:  # pixel-only: boxes pass through untouched
            self._compose = A.Compose([transform], seed=0)
            self._lock = threading.Lock()
            return
        self._compose = A.Compose(
            [transform],
            bbox_params=A.BboxParams(
                format="pascal_voc",
                label_fields=["class_ids"],
                min_visibility=self.min_visibility,
                min_width=self.min_size,
                min_height=self.min_size,
                clip=True,
            ),
            seed=0,
        )
        self._lock = threading.Lock()

    def __call__(
        self,
        image: np.ndarray,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rng: np.random.Generator,
        others: Sequence[Sample] | None = None,
    ) -> Sample:
        image, boxes, ids = _check(image, boxes_xyxy, class_ids)
        kwargs: dict[str, Any] = {"image": image}
        if self.geometric:
            kwargs.update(bboxes=boxes, class_ids=ids)
        if self.needs_others:
            kwargs["mosaic_metadata"] = [
                {"image": o[0], "bboxes": np.asarray(o[1], np.float32).reshape(-1, 4), "class_ids": o[2]}
                for o in (others or ())
            ]
        seed = int(rng.integers(2**31 - 1))
        with self._lock:  # the compose holds one RNG: seed and call atomically
            self._compose.set_random_seed(seed)
            out = self._compose(**kwargs)
        result = np.ascontiguousarray(out["image"])
        if result.ndim == 2:
            result = result[:, :, None]
        if not self.geometric:
            return result, boxes, ids
        return (
            result,
            np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4),
            np.asarray(out["class_ids"], dtype=np.int64).reshape(-1),
        )


class HorizontalFlip(_Albumentations):
    """Mirror left-right with probability ``p``; a box ``(x1, y1, x2, y2)`` becomes ``(W - x2, y1, W - x1, y2)``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(_albumentations().HorizontalFlip(p=p), 0.0, 0.0)


class RandomScale(_Albumentations):
    """Resize by a factor drawn uniformly from ``scale_range`` (the output size changes)."""

    def __init__(self, scale_range: tuple[float, float] = (0.5, 1.5), p: float = 1.0, min_size: float = 1.0) -> None:
        low, high = scale_range
        if not 0 < low <= high:
            raise ValueError(f"scale_range must satisfy 0 < low <= high; got {scale_range}")
        super().__init__(_albumentations().RandomScale(scale_limit=(low - 1.0, high - 1.0), p=p), 0.0, min_size)


class RandomCrop(_Albumentations):
    """A random ``crop_hw`` window (padded with ``fill`` when the image is smaller); box rule applies."""

    def __init__(
        self,
        crop_hw: tuple[int, int],
        p: float = 1.0,
        fill: int = 114,
        min_visibility: float = 0.1,
        min_size: float = 1.0,
    ) -> None:
        A = _albumentations()
        transform = A.RandomCrop(int(crop_hw[0]), int(crop_hw[1]), pad_if_needed=True, fill=fill, p=p)
        super().__init__(transform, min_visibility, min_size)


class ColorJitter(_Albumentations):
    """Random brightness, contrast, saturation and hue (boxes unchanged).

    RGB: all four. Grayscale (H, W, 1): brightness and contrast (saturation and hue have no effect).
    RGBA: the RGB channels are jittered exactly as an RGB image would be; alpha is kept unchanged.
    """

    def __init__(
        self,
        brightness: float = 0.2,
        contrast: float = 0.2,
        saturation: float = 0.2,
        hue: float = 0.02,
        p: float = 1.0,
    ) -> None:
        A = _albumentations()
        transform = A.ColorJitter(brightness=brightness, contrast=contrast, saturation=saturation, hue=hue, p=p)
        super().__init__(transform, 0.0, 0.0, geometric=False)

    def __call__(
        self,
        image: np.ndarray,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rng: np.random.Generator,
        others: Sequence[Sample] | None = None,
    ) -> Sample:
        image, boxes, ids = _check(image, boxes_xyxy, class_ids)
        if image.shape[2] != 4:  # 1 and 3 channels: albumentations handles them
            return super().__call__(image, boxes, ids, rng, others)
        rgb, _, _ = super().__call__(np.ascontiguousarray(image[:, :, :3]), boxes, ids, rng, others)
        return np.concatenate([rgb, image[:, :, 3:]], axis=2), boxes, ids


class Mosaic(_Albumentations):
    """A 2x2 mosaic of this sample and three others, cropped to ``image_hw`` around a random centre.

    Each source is fitted into a cell of ``image_hw`` keeping its aspect ratio (``fit_mode="contain"``);
    the dataset supplies the three other samples (``others``). The box rule applies to the crop.
    """

    needs_others = True

    def __init__(
        self,
        image_hw: tuple[int, int],
        p: float = 1.0,
        fill: int = 114,
        center_range: tuple[float, float] = (0.3, 0.7),
        min_visibility: float = 0.1,
        min_size: float = 1.0,
    ) -> None:
        A = _albumentations()
        size = (int(image_hw[0]), int(image_hw[1]))
        transform = A.Mosaic(
            grid_yx=(2, 2),
            target_size=size,
            cell_shape=size,
            center_range=center_range,
            fit_mode="contain",
            fill=fill,
            p=p,
        )
        super().__init__(transform, min_visibility, min_size)


class Letterbox:
    """Fit into ``image_hw`` keeping the aspect ratio, centred, padded with ``fill`` (deterministic).

    Use :func:`odkit.data.letterbox` directly when the :class:`LetterboxInfo` is needed to map
    predictions back (``unletterbox_boxes``); the detection dataset records it in each target.
    """

    needs_others = False

    def __init__(self, image_hw: tuple[int, int], fill: int = 114, allow_upscale: bool = True) -> None:
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.fill = int(fill)
        self.allow_upscale = bool(allow_upscale)

    def __call__(
        self,
        image: np.ndarray,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rng: np.random.Generator | None = None,
        others: Sequence[Sample] | None = None,
    ) -> Sample:
        image, boxes, ids = _check(image, boxes_xyxy, class_ids)
        out, mapped, _ = letterbox(image, boxes, self.image_hw, fill=self.fill, allow_upscale=self.allow_upscale)
        return out, mapped, ids


class Resize:
    """Stretch to ``image_hw`` (aspect ratio not kept); boxes scale with the image."""

    needs_others = False

    def __init__(self, image_hw: tuple[int, int]) -> None:
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))

    def __call__(
        self,
        image: np.ndarray,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rng: np.random.Generator | None = None,
        others: Sequence[Sample] | None = None,
    ) -> Sample:
        image, boxes, ids = _check(image, boxes_xyxy, class_ids)
        h, w = image.shape[:2]
        sx, sy = self.image_hw[1] / w, self.image_hw[0] / h
        scaled = boxes * np.array([sx, sy, sx, sy], np.float32)
        return resize_uint8(image, self.image_hw), scaled.astype(np.float32), ids


class Compose:
    """Apply transforms in order; reproducible per sample from ``(seed, epoch, index)`` (inside
    ``detection_dataset`` the dataset's seed is mixed in as well).

    Args:
        transforms: callables following the transform protocol above.
        seed: base seed.
    """

    def __init__(self, transforms: Sequence[Any], seed: int = 0) -> None:
        self.transforms = list(transforms)
        self.seed = int(seed)

    @property
    def needs_others(self) -> bool:
        """True when a transform (mosaic) needs other samples."""
        return any(getattr(t, "needs_others", False) for t in self.transforms)

    def rng(self, index: int, epoch: int = 0) -> np.random.Generator:
        """The generator used for sample ``index`` in ``epoch``."""
        return np.random.default_rng([self.seed, int(epoch), int(index)])

    def __call__(
        self,
        image: np.ndarray,
        boxes_xyxy: np.ndarray,
        class_ids: np.ndarray,
        rng: np.random.Generator | None = None,
        others: Sequence[Sample] | None = None,
    ) -> Sample:
        rng = rng if rng is not None else self.rng(0)
        sample = _check(image, boxes_xyxy, class_ids)
        for transform in self.transforms:
            sample = transform(*sample, rng, others) if getattr(transform, "needs_others", False) else transform(
                *sample, rng
            )
        return sample
