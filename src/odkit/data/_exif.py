"""EXIF orientation of a JPEG read from its APP1 segment, and applying it to a decoded array.

Lets a fast JPEG decoder (simplejpeg) serve the detection datasets, which must show images upright.
The eight orientations are applied exactly as Pillow's ``ImageOps.exif_transpose``.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["apply_orientation", "jpeg_orientation"]


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1..8) of JPEG ``data``; 1 when absent or unreadable."""
    pos = 2  # after SOI
    n = len(data)
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no EXIF before the pixels
            return 1
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return _tiff_orientation(data[pos + 10 : pos + 2 + length])
        pos += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd + 2 > len(tiff):
        return 1
    count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            return 1
        tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
        if tag == 0x0112 and kind == 3:  # SHORT
            value = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])[0]
            return value if 1 <= value <= 8 else 1
    return 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """(H, W, C) ``image`` shown upright for EXIF ``orientation`` (a contiguous array; input not modified)."""
    ops = {
        2: lambda a: a[:, ::-1],  # mirror left-right
        3: lambda a: a[::-1, ::-1],  # rotate 180
        4: lambda a: a[::-1],  # mirror top-bottom
        5: lambda a: a.transpose(1, 0, 2),  # transpose
        6: lambda a: np.rot90(a, -1),  # rotate 90 clockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # transverse
        8: lambda a: np.rot90(a, 1),  # rotate 90 counter-clockwise
    }
    if orientation not in ops:
        return image
    return np.ascontiguousarray(ops[orientation](image))
