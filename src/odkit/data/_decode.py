"""Decode image files with Pillow into (H, W, C) uint8 arrays, matching TensorFlow's ``decode_image``.

Channel rules (``num_channels`` 1, 3 or 4) follow ``tf.image.decode_image(channels=n)``: alpha is dropped
without compositing, grey is replicated to RGB, a missing alpha is 255, a GIF gives its first frame, and
colour to grey is libpng's fixed-point ITU-R 601 luma as TF configures it,
``(9797 R + 19234 G + 3737 B) >> 15`` (truncated; equal channels stay as they are), which matches TF
exactly; a YCbCr JPEG decoded to one channel takes libjpeg's luma plane directly (Pillow's draft mode).

odkit does better than TF where TF refuses: a GIF or BMP as grayscale, and a GIF or JPEG as RGBA, raise
``Invalid argument: channels`` in TensorFlow mid-epoch; here they are converted.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from odkit.errors import DatasetError

__all__ = ["ImageDecodeError", "load_image"]

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
# Pillow raises these for unreadable, truncated or hostile files.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    Image.DecompressionBombError,
)


class ImageDecodeError(DatasetError):
    """An image file that cannot be read or decoded; ``path`` names it."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot decode image ({reason})")


def _libpng_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 grey from (H, W, 3) uint8 RGB, bit-exact with libpng's ``png_set_rgb_to_gray``."""
    r, g, b = (rgb[:, :, i].astype(np.uint32) for i in range(3))
    gray = ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)
    same = (r == g) & (g == b)
    return np.where(same, rgb[:, :, 0], gray)


def load_image(path: str | os.PathLike[str], num_channels: int = 3, *, exif_transpose: bool = False) -> np.ndarray:
    """Read one image file.

    Args:
        path: image file (PNG, JPEG, GIF, BMP, or anything Pillow opens).
        num_channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        exif_transpose: apply the EXIF orientation tag (TF and Keras do not; detection datasets do).

    Returns:
        (H, W, num_channels) uint8 array, a new array.

    Raises:
        ImageDecodeError: if the file is missing, truncated, corrupt or not an image.
        ValueError: if ``num_channels`` is not 1, 3 or 4.
    """
    if num_channels not in _MODES:
        raise ValueError(f"num_channels must be 1, 3 or 4; got {num_channels}")
    path = os.fspath(path)
    mode = _MODES[num_channels]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if mode == "L" and im.format == "JPEG" and im.mode == "RGB":
                    im.draft("L", im.size)  # libjpeg's own luma plane, as TF's channels=1
                im.load()
                if exif_transpose:
                    im = ImageOps.exif_transpose(im)
                if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                    # 16-bit / 32-bit grey: scale to 8 bit (TF would yield uint16 and unscaled floats).
                    arr = np.asarray(im, dtype=np.float64)
                    peak = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 1.0)
                    im = Image.fromarray(np.clip(np.rint(arr * (255.0 / peak)), 0, 255).astype(np.uint8), "L")
                if mode == "L" and im.mode not in ("L", "LA", "1"):
                    arr = _libpng_gray(np.asarray(im.convert("RGB"), dtype=np.uint8))
                else:
                    arr = np.array(im if im.mode == mode else im.convert(mode), dtype=np.uint8)
    except FileNotFoundError as exc:
        raise ImageDecodeError(path, "file not found") from exc
    except DECODE_ERRORS as exc:
        raise ImageDecodeError(path, f"{type(exc).__name__}: {exc}") from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr
