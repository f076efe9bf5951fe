"""Image file inspection for the YOLO reader and ``odkit check`` (Pillow, imported lazily)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# EXIF orientations 5..8 rotate by 90 degrees: the displayed image is the stored one transposed.
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)
_EXT_FOR_FORMAT = {"JPEG": ("jpg", "jpeg", "jpe", "jfif"), "PNG": ("png",), "BMP": ("bmp",), "GIF": ("gif",),
                   "TIFF": ("tif", "tiff"), "WEBP": ("webp",), "MPO": ("jpg", "jpeg", "mpo"),
                   "JPEG2000": ("jp2", "j2k")}


@dataclass(frozen=True)
class ImageInfo:
    """What the file really is.

    Attributes:
        path: the file.
        format: Pillow's format name (``"JPEG"``, ``"PNG"``...), "" when unreadable.
        stored_hw: (height, width) of the pixels as stored, (0, 0) when unreadable.
        orientation: EXIF orientation tag (1..8 valid), None when absent.
        error: why the file could not be opened or decoded, "" when fine.
        truncated: True when the data ends early (the header was readable).
    """

    path: str
    format: str = ""
    stored_hw: tuple[int, int] = (0, 0)
    orientation: int | None = None
    error: str = ""
    truncated: bool = False

    @property
    def image_hw(self) -> tuple[int, int]:
        """(height, width) as displayed: stored size, transposed for EXIF orientations 5-8."""
        h, w = self.stored_hw
        return (w, h) if self.orientation in _TRANSPOSING_ORIENTATIONS else (h, w)

    @property
    def extension_matches(self) -> bool:
        """Whether the file extension is one of the extensions of its real format (True if unknown)."""
        if not self.format or self.format not in _EXT_FOR_FORMAT:
            return True
        return Path(self.path).suffix.lower().lstrip(".") in _EXT_FOR_FORMAT[self.format]


def inspect_image(path: str | os.PathLike[str], decode: bool = True) -> ImageInfo:
    """Open an image and report its real format, size and EXIF orientation.

    Args:
        path: the image file.
        decode: also decode the pixels, which finds truncated or corrupt data (slower); False reads the
            header only.

    Returns:
        An ``ImageInfo``; problems are in ``error`` / ``truncated``, never raised.
    """
    from PIL import Image, UnidentifiedImageError  # lazy: only check and the YOLO reader need it

    p = os.fspath(path)
    try:
        with Image.open(p) as im:
            fmt = im.format or ""
            hw = (int(im.height), int(im.width))
            orientation = None
            try:
                value = im.getexif().get(0x0112)
                orientation = int(value) if value is not None else None
            except Exception:  # a broken EXIF block is itself a finding, not a crash
                orientation = -1
            if decode:
                try:
                    im.load()
                except OSError as exc:
                    msg = str(exc)
                    return ImageInfo(p, fmt, hw, orientation, f"cannot decode: {msg}", "truncat" in msg.lower())
            return ImageInfo(p, fmt, hw, orientation)
    except FileNotFoundError:
        return ImageInfo(p, error="file not found")
    except UnidentifiedImageError:
        return ImageInfo(p, error="not a recognised image file")
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, DecompressionBombError)
        return ImageInfo(p, error=f"cannot open: {exc}", truncated="truncat" in str(exc).lower())
