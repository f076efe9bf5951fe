"""Decode image files with Pillow into (H, W, C) uint8 arrays, matching TensorFlow's ``decode_image``.

Channel rules (``num_channels`` 1, 3 or 4) follow ``tf.image.decode_image(channels=n)``: alpha is dropped
without compositing, grey is replicated to RGB, a missing alpha is 255, a GIF gives its first frame, and
colour to grey is libpng's fixed-point ITU-R 601 luma as TF configures it,
``(9797 R + 19234 G + 3737 B) >> 15`` (truncated; equal channels stay as they are), which matches TF
exactly; a YCbCr JPEG decoded to one channel takes libjpeg's luma plane directly.

JPEG: TF decodes with libjpeg-turbo's fast integer IDCT (``JDCT_IFAST``); with ``simplejpeg`` installed
(the ``data`` extra) odkit does the same and is bit-exact; otherwise OpenCV / Pillow use the accurate IDCT
and differ from TF by about 1 level on average (at most ~5 of 255 on a few pixels).

odkit does better than TF where TF refuses: a GIF or BMP as grayscale, and a GIF or JPEG as RGBA, raise
``Invalid argument: channels`` in TensorFlow mid-epoch; here they are converted.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from odkit.data._exif import apply_orientation, jpeg_orientation
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


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read_bytes(path: str) -> bytes:
    """The whole file, with plain ``os`` calls (less per-file overhead than ``open()``)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size) if size else b""
        if len(data) == size and size:
            return data  # the common case: one read
        chunks = [data]
        while chunks[-1] or len(chunks) == 1:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


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
    try:
        data = _read_bytes(path)
    except OSError as exc:
        raise ImageDecodeError(path, f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    arr = None
    is_jpeg = data[:3] == b"\xff\xd8\xff"
    if is_jpeg:
        arr = _decode_simplejpeg(data, num_channels)
        if arr is not None and exif_transpose:
            arr = apply_orientation(arr if arr.ndim == 3 else arr[:, :, None], jpeg_orientation(data))
    cv2_format = data[:8] in _CV2_MAGIC or is_jpeg or data[:2] in _CV2_MAGIC
    if arr is None and cv2_format and (not exif_transpose or is_jpeg):
        arr = _decode_cv2(data, num_channels, exif_transpose)
    if arr is None:
        arr = _decode_pil(path, data, num_channels, exif_transpose)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr


# PNG, JPEG and BMP signatures: decoded by OpenCV when it is installed (same libpng / libjpeg-turbo
# results as Pillow, several times less overhead per file); everything else by Pillow.
_CV2_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM")
_cv2: Any = None


def _load_cv2() -> Any:
    global _cv2
    if _cv2 is None:
        try:
            import cv2
        except ImportError:
            _cv2 = False
        else:
            _cv2 = cv2
    return _cv2


_simplejpeg: Any = None


def _decode_simplejpeg(data: bytes, num_channels: int) -> np.ndarray | None:
    """JPEG with libjpeg-turbo's fast integer IDCT and smooth upsampling: bit-exact with TF's decode_jpeg.

    None when simplejpeg is not installed or cannot decode (then OpenCV / Pillow decode or report).
    """
    global _simplejpeg
    if _simplejpeg is None:
        try:
            import simplejpeg
        except ImportError:
            _simplejpeg = False
        else:
            _simplejpeg = simplejpeg
    if not _simplejpeg:
        return None
    try:
        arr = _simplejpeg.decode_jpeg(data, "GRAY" if num_channels == 1 else "RGB", fastdct=True, fastupsample=False)
    except ValueError:
        return None
    if num_channels == 4:
        return np.concatenate([arr, np.full_like(arr[:, :, :1], 255)], axis=2)
    return arr


def _decode_cv2(data: bytes, num_channels: int, exif_transpose: bool = False) -> np.ndarray | None:
    """Decode with OpenCV; None when OpenCV is absent or cannot decode.

    EXIF orientation is ignored unless ``exif_transpose`` (then only JPEG comes here: OpenCV applies the
    orientation for ``IMREAD_COLOR`` / ``IMREAD_GRAYSCALE`` only).
    """
    cv2 = _load_cv2()
    if not cv2:
        return None
    is_jpeg = data[:3] == b"\xff\xd8\xff"
    if exif_transpose:
        flags = cv2.IMREAD_GRAYSCALE if num_channels == 1 else cv2.IMREAD_COLOR
    elif num_channels == 1 and is_jpeg:
        flags = cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_GRAYSCALE  # libjpeg's luma plane, as TF
    else:
        flags = cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_UNCHANGED
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if arr is None or arr.dtype != np.uint8:
        return None  # let Pillow decode it or report the error (16-bit PNG, corrupt data)
    if arr.ndim == 2:
        if num_channels == 1:
            return arr
        gray = np.repeat(arr[:, :, None], 3, axis=2)
        return gray if num_channels == 3 else np.concatenate([gray, np.full_like(arr[:, :, None], 255)], 2)
    if num_channels == 1:
        return _libpng_gray(arr[:, :, 2::-1])
    if num_channels == 3:
        code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGB
        return cv2.cvtColor(arr, code)
    code = cv2.COLOR_BGR2RGBA if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
    return cv2.cvtColor(arr, code)


def _decode_pil(path: str, data: bytes, num_channels: int, exif_transpose: bool) -> np.ndarray:
    mode = _MODES[num_channels]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if mode == "L" and im.format == "JPEG" and im.mode == "RGB":
                    im.draft("L", im.size)  # libjpeg's own luma plane, as TF's channels=1
                im.load()
                if exif_transpose:
                    im = ImageOps.exif_transpose(im)
                if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                    # 16-bit / 32-bit grey: scale to 8 bit (TF would yield uint16 and unscaled floats).
                    wide = np.asarray(im, dtype=np.float64)
                    peak = 65535.0 if im.mode.startswith("I;16") else max(float(wide.max()), 1.0)
                    im = Image.fromarray(np.clip(np.rint(wide * (255.0 / peak)), 0, 255).astype(np.uint8), "L")
                if mode == "L" and im.mode not in ("L", "LA", "1"):
                    return _libpng_gray(np.asarray(im.convert("RGB"), dtype=np.uint8))
                return np.array(im if im.mode == mode else im.convert(mode), dtype=np.uint8)
    except DECODE_ERRORS as exc:
        raise ImageDecodeError(path, f"{type(exc).__name__}: {exc}") from exc
