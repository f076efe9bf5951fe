"""Checks that a file is a real PNG of a sane size."""

from __future__ import annotations

from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path, min_wh: tuple[int, int] = (300, 200), max_wh: tuple[int, int] = (4000, 4000)) -> None:
    """``path`` is a PNG that Pillow decodes, with min_wh <= (width, height) <= max_wh."""
    from PIL import Image

    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as im:
        im.load()
        w, h = im.size
    assert min_wh[0] <= w <= max_wh[0] and min_wh[1] <= h <= max_wh[1], f"{path}: size {w}x{h}"
