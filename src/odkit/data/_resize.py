"""Image resizing that reproduces ``tf.image.resize`` (TF 2.x, ``antialias=False``) in numpy.

Every method is separable, so it is computed as two 1-D passes, each a short list of taps
``out[i] = sum_k weight[i, k] * in[index[i, k]]`` along one axis, in float32:

* ``bilinear``: half-pixel centres, ``src = (i + 0.5) * in/out - 0.5``, neighbours clamped to the image.
* ``nearest``: half-pixel centres, ``src = min(floor((i + 0.5) * in/out), in - 1)``; keeps the dtype (uint8).
* ``bicubic``: Keys kernel with a = -0.5 (1024-entry table, as TF), taps outside the image get weight 0 and
  the weights are renormalised.
* ``area``: TF's ``ResizeArea`` (no half-pixel offset): box average over the covered source pixels.
* ``lanczos3``, ``lanczos5``, ``gaussian``, ``mitchellcubic``: TF's ``ScaleAndTranslate`` without
  antialiasing (kernel scale 1), weights renormalised per output pixel.

Everything except ``nearest`` returns float32, as Keras's ``image_dataset_from_directory`` does.
"""

from __future__ import annotations

import math

import numpy as np

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")

__all__ = ["INTERPOLATIONS", "crop_to_aspect_ratio", "resize_image", "resize_with_pad"]

_TABLE_SIZE = 1024
# Methods whose weights are exactly the identity when the size does not change.
_IDENTITY_WHEN_SAME = ("bilinear", "nearest", "bicubic", "area")


def _keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    inner = ((a + 2) * x - (a + 3)) * x * x + 1
    outer = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, inner, np.where(x < 2, outer, 0.0))


def _lanczos(radius: float):  # type: ignore[no-untyped-def]
    def kernel(x: np.ndarray) -> np.ndarray:
        x = np.abs(x)
        pi = 3.14159265359
        with np.errstate(divide="ignore", invalid="ignore"):
            value = radius * np.sin(pi * x) * np.sin(pi * x / radius) / (pi * pi * x * x)
        return np.where(x > radius, 0.0, np.where(x <= 1e-3, 1.0, value))

    return kernel


def _gaussian(x: np.ndarray) -> np.ndarray:
    radius, sigma = 1.5, 0.5
    x = np.abs(x)
    return np.where(x >= radius, 0.0, np.exp(-x * x / (2.0 * sigma * sigma)))


def _mitchell(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    outer = (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
    inner = (((7.0 / 6.0) * x - 2.0) * x) * x + 8.0 / 9.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, outer, inner))


_SCALE_TRANSLATE = {
    "lanczos3": (3.0, _lanczos(3.0)),
    "lanczos5": (5.0, _lanczos(5.0)),
    "gaussian": (1.5, _gaussian),
    "mitchellcubic": (2.0, _mitchell),
}


def _taps(method: str, in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(out, K) int64 source indices and (out, K) float32 weights for one axis."""
    scale = np.float32(in_size) / np.float32(out_size)
    out = np.arange(out_size, dtype=np.float32)
    if method == "bilinear":
        src = (out + np.float32(0.5)) * scale - np.float32(0.5)
        floor = np.floor(src)
        lower = np.maximum(floor.astype(np.int64), 0)
        upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
        lerp = (src - floor).astype(np.float32)
        return np.stack([lower, upper], 1), np.stack([1 - lerp, lerp], 1).astype(np.float32)
    if method == "nearest":
        src = np.floor((out + np.float32(0.5)) * scale).astype(np.int64)
        return np.clip(src, 0, in_size - 1)[:, None], np.ones((out_size, 1), np.float32)
    if method == "bicubic":
        src = (out + np.float32(0.5)) * scale - np.float32(0.5)
        base = np.floor(src).astype(np.int64)
        delta = np.rint((src - base) * _TABLE_SIZE) / _TABLE_SIZE  # TF samples a 1024-entry table
        index = base[:, None] + np.arange(-1, 3)[None, :]
        weight = _keys_cubic(np.stack([1 + delta, delta, 1 - delta, 2 - delta], 1))
        weight = np.where((index >= 0) & (index < in_size), weight, 0.0)
        total = weight.sum(1, keepdims=True)
        weight = np.where(np.abs(total) > 0, weight / np.where(total == 0, 1, total), weight)
        return np.clip(index, 0, in_size - 1), weight.astype(np.float32)
    if method == "area":
        start = out * scale
        end = (out + 1) * scale
        k = math.ceil(float(scale)) + 1
        first = np.floor(start).astype(np.int64)
        index = first[:, None] + np.arange(k)[None, :]
        cells = index.astype(np.float32)
        overlap = np.minimum(cells + 1, end[:, None]) - np.maximum(cells, start[:, None])
        inside = index < np.ceil(end).astype(np.int64)[:, None]
        weight = np.where(inside, np.maximum(overlap, 0), 0) / scale
        return np.clip(index, 0, in_size - 1), weight.astype(np.float32)
    radius, kernel = _SCALE_TRANSLATE[method]
    sample = (out + np.float32(0.5)) * (np.float32(1.0) / (np.float32(out_size) / np.float32(in_size)))
    span = min(2 * math.ceil(radius) + 1, in_size)
    start = np.clip(np.ceil(sample - radius - 0.5).astype(np.int64), 0, in_size - 1)
    end = np.clip(np.floor(sample + radius - 0.5).astype(np.int64), 0, in_size - 1) + 1
    index = start[:, None] + np.arange(span)[None, :]
    weight = kernel(index.astype(np.float32) + np.float32(0.5) - sample[:, None])
    weight = np.where(index < end[:, None], weight, 0.0)
    total = weight.sum(1, keepdims=True)
    weight = np.where(np.abs(total) > 0, weight / np.where(total == 0, 1, total), weight)
    return np.clip(index, 0, in_size - 1), weight.astype(np.float32)


def _apply(image: np.ndarray, axis: int, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    taken = np.take(image, index[:, 0], axis=axis)
    shape = [1] * image.ndim
    shape[axis] = -1
    result = taken * weight[:, 0].reshape(shape)
    for k in range(1, index.shape[1]):
        result += np.take(image, index[:, k], axis=axis) * weight[:, k].reshape(shape)
    return result


def resize_image(image: np.ndarray, image_hw: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize one (H, W, C) image like ``tf.image.resize(image, image_hw, method=interpolation)``.

    Args:
        image: (H, W, C) array, any real dtype; not modified.
        image_hw: output (height, width) in pixels.
        interpolation: one of ``INTERPOLATIONS``.

    Returns:
        (height, width, C) float32 array, or the input dtype for ``"nearest"``.

    Raises:
        ValueError: for an unknown method, a non-positive size or an image that is not (H, W, C).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}; got {interpolation!r}")
    if image.ndim != 3:
        raise ValueError(f"image must have shape (H, W, C); got {image.shape}")
    out_h, out_w = int(image_hw[0]), int(image_hw[1])
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"image_hw must be positive; got {image_hw}")
    in_h, in_w = image.shape[:2]
    if interpolation == "nearest":
        rows = _taps("nearest", in_h, out_h)[0][:, 0]
        cols = _taps("nearest", in_w, out_w)[0][:, 0]
        return image[rows[:, None], cols[None, :]]
    if (in_h, in_w) == (out_h, out_w) and interpolation in _IDENTITY_WHEN_SAME:
        return image.astype(np.float32)
    work = image.astype(np.float32)
    # TF interpolates along x first, then y; do the same (also the cheaper order when heights shrink less).
    if in_w != out_w or interpolation not in _IDENTITY_WHEN_SAME:
        work = _apply(work, 1, *_taps(interpolation, in_w, out_w))
    if in_h != out_h or interpolation not in _IDENTITY_WHEN_SAME:
        work = _apply(work, 0, *_taps(interpolation, in_h, out_h))
    return work.astype(np.float32, copy=False)


def crop_to_aspect_ratio(image: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """The largest centred crop of ``image`` with the aspect ratio of ``image_hw`` (Keras ``smart_resize``).

    Sizes are computed in float32 as Keras's TensorFlow path does: ``crop_h = int(w * th / tw)`` clamped to
    [1, h], start ``int((h - crop_h) / 2)``; likewise for the width.

    Args:
        image: (H, W, C) array; not modified (a view is returned).
        image_hw: target (height, width).

    Returns:
        (crop_h, crop_w, C) view.
    """
    height, width = image.shape[:2]
    target_h, target_w = image_hw
    crop_h = int(np.float32(width * target_h) / np.float32(target_w))
    crop_h = max(min(height, crop_h), 1)
    crop_w = int(np.float32(height * target_w) / np.float32(target_h))
    crop_w = max(min(width, crop_w), 1)
    top = int(np.float32(height - crop_h) / np.float32(2))
    left = int(np.float32(width - crop_w) / np.float32(2))
    return image[top : top + crop_h, left : left + crop_w]


def resize_with_pad(image: np.ndarray, image_hw: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize keeping the aspect ratio, then zero-pad to ``image_hw`` (``tf.image.resize_with_pad``).

    Args:
        image: (H, W, C) array; not modified.
        image_hw: output (height, width).
        interpolation: one of ``INTERPOLATIONS``.

    Returns:
        (height, width, C) float32 array (input dtype for ``"nearest"``), image centred, padding 0.
    """
    height, width = image.shape[:2]
    f_h, f_w = np.float32(height), np.float32(width)
    t_h, t_w = np.float32(image_hw[0]), np.float32(image_hw[1])
    ratio = max(f_w / t_w, f_h / t_h)
    new_h_f, new_w_f = f_h / ratio, f_w / ratio
    new_h, new_w = int(np.floor(new_h_f)), int(np.floor(new_w_f))
    pad_top = max(0, int(np.floor((t_h - new_h_f) / np.float32(2))))
    pad_left = max(0, int(np.floor((t_w - new_w_f) / np.float32(2))))
    resized = resize_image(image, (new_h, new_w), interpolation)
    out = np.zeros((int(image_hw[0]), int(image_hw[1]), image.shape[2]), dtype=resized.dtype)
    out[pad_top : pad_top + new_h, pad_left : pad_left + new_w] = resized
    return out
