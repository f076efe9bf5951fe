"""Keras' ``load_img`` / ``img_to_array``: one image file as a PIL image, then as a float32 array.

Same arguments and results as ``keras.utils.load_img`` / ``img_to_array`` (Keras 3): ``target_size`` is
``(height, width)``, resizing uses Pillow with ``interpolation`` (default ``"nearest"``, as Keras),
``keep_aspect_ratio`` crops the centre to the target's aspect ratio first, and arrays are channels last.
Unlike Keras, a missing or unreadable file is an error naming the file.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from odkit.errors import DatasetError

_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_FILTERS = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "hamming": Image.Resampling.HAMMING,
            "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}


def load_img(path: str | os.PathLike[str], color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Image.Image:
    """Load an image file as a PIL image, as ``keras.utils.load_img``.

    Args:
        path: the image file.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: ``(height, width)`` to resize to, or None.
        interpolation: Pillow filter name: nearest, bilinear, bicubic, hamming, box, lanczos.
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.

    Raises:
        ValueError: an unknown color_mode or interpolation (listing the valid ones).
        DatasetError: the file is missing or not an image (naming it).
    """
    if color_mode not in _MODES:
        raise ValueError(f"color_mode must be one of {sorted(_MODES)}; received: color_mode={color_mode!r}")
    if interpolation not in _FILTERS:
        raise ValueError(f"invalid interpolation {interpolation!r}; expected one of {sorted(_FILTERS)}")
    try:
        with Image.open(os.fspath(path)) as src:
            img = src.convert(_MODES[color_mode]) if src.mode != _MODES[color_mode] else src.copy()
    except FileNotFoundError:
        raise DatasetError(f"{os.fspath(path)}: no such image file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{os.fspath(path)}: cannot read the image ({exc})") from None
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if keep_aspect_ratio:
            w, h = img.size
            crop_w = min(w, round(h * width / height))
            crop_h = min(h, round(w * height / width))
            left, top = (w - crop_w) // 2, (h - crop_h) // 2
            img = img.crop((left, top, left + crop_w, top + crop_h))
        if img.size != (width, height):
            img = img.resize((width, height), _FILTERS[interpolation])
    return img


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = "float32") -> np.ndarray:
    """A PIL image as an array: ``(H, W, C)`` (``(C, H, W)`` with ``data_format="channels_first"``)."""
    arr = np.asarray(img, dtype=dtype)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"expected an image of 2 or 3 dimensions; got shape {arr.shape}")
    if data_format == "channels_first":
        return np.ascontiguousarray(arr.transpose(2, 0, 1))
    if data_format not in (None, "channels_last"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first'; got {data_format!r}")
    return arr
