"""The generated folder tree of issue 5 (deterministic; Pillow + numpy only).

Used by the tests and by ``bench/keras_golden_folder.py``, which records what Keras 3.15.1 does on it.

    outside/linked_img.png                 target of dogs/symlinked_dir (outside the root)
    root/root_level.png, notes.txt         files at the root (ignored by labels="inferred")
    root/.ipynb_checkpoints/ckpt.png       hidden top-level folder (not a class)
    root/Zebra/                            upper-case class name: sorts first (ASCII)
    root/birds/  ZZ_UPPER.PNG zz_bmp.bmp zz_gif.gif (2 frames) zz_jpeg.jpeg Upper.JPG .hidden_bird.png
                 .DS_Store notes.txt skip.webp skip.tiff nested/ nested-b/ nested/.hidden_dir/
    root/cats/   grayscale (L), RGBA, LA and palette PNGs, .ipynb_checkpoints/cat-checkpoint.png
    root/dogs/   symlinked_dir -> ../../outside, dog_link.png -> ../birds/birds_000.png (file link)
    root/empty_class/                      a class with no files
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def _smooth(rng: np.random.RandomState, hw: tuple[int, int], channels: int) -> np.ndarray:
    """A smooth random image (gradients plus mild noise): JPEG-friendly, resize-sensitive."""
    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, channels))
    for c in range(channels):
        a, b, p = rng.uniform(-1, 1, 3)
        out[:, :, c] = 128 + 90 * np.sin(a * xx / 3 + b * yy / 4 + 6 * p) + rng.normal(0, 8, (h, w))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _save(path: Path, array: np.ndarray, mode: str | None = None, **kwargs: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array
    Image.fromarray(arr, mode).save(path, **kwargs) if mode else Image.fromarray(arr).save(path, **kwargs)


def make_tree(base: Path) -> Path:
    """Write the tree under ``base`` and return ``base / "root"``."""
    rng = np.random.RandomState(2026)
    root = base / "root"

    def size() -> tuple[int, int]:
        return int(rng.randint(9, 40)), int(rng.randint(9, 40))

    def rgb(path: Path, **kwargs: object) -> None:
        _save(path, _smooth(rng, size(), 3), **kwargs)

    rgb(base / "outside" / "linked_img.png")
    rgb(root / "root_level.png")
    (root / "notes.txt").write_text("not an image\n")
    rgb(root / ".ipynb_checkpoints" / "ckpt.png")
    for i in range(4):
        rgb(root / "Zebra" / f"z_{i}.png")

    birds = root / "birds"
    for i in range(12):
        rgb(birds / f"birds_{i:03d}.png")
    rgb(birds / "ZZ_UPPER.PNG")
    rgb(birds / "zz_bmp.bmp")
    frames = [Image.fromarray(_smooth(rng, (20, 24), 3)).convert("P", palette=Image.Palette.ADAPTIVE) for _ in "ab"]
    frames[0].save(birds / "zz_gif.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb(birds / "zz_jpeg.jpeg", quality=92)
    rgb(birds / "Upper.JPG", quality=92)
    rgb(birds / ".hidden_bird.png")
    (birds / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (birds / "notes.txt").write_text("not an image\n")
    Image.fromarray(_smooth(rng, (10, 10), 3)).save(birds / "skip.webp")
    Image.fromarray(_smooth(rng, (10, 10), 3)).save(birds / "skip.tiff")
    rgb(birds / "nested" / "birds_nested_0.png")
    rgb(birds / "nested" / "birds_nested_1.jpg", quality=92)
    rgb(birds / "nested" / ".hidden_dir" / "deep.png")
    rgb(birds / "nested-b" / "x.png")

    cats = root / "cats"
    for i in range(6):
        rgb(cats / f"cat_{i:02d}.png")
    _save(cats / "cat_gray.png", _smooth(rng, size(), 1))
    _save(cats / "cat_rgba.png", _smooth(rng, size(), 4))
    _save(cats / "cat_la.png", _smooth(rng, size(), 2), "LA")
    Image.fromarray(_smooth(rng, size(), 3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=32).save(
        cats / "cat_palette.png"
    )
    _save(cats / "cat_gray.jpg", _smooth(rng, size(), 1), quality=92)
    rgb(cats / ".ipynb_checkpoints" / "cat-checkpoint.png")

    dogs = root / "dogs"
    for i in range(8):
        rgb(dogs / f"dog_{i:02d}.png")
    os.symlink(os.path.join("..", "..", "outside"), dogs / "symlinked_dir")
    os.symlink(os.path.join("..", "birds", "birds_000.png"), dogs / "dog_link.png")
    (root / "empty_class").mkdir()
    return root


def make_small_tree(base: Path, n_files: int = 4) -> Path:
    """Two classes with ``n_files`` images in all (for the split-rounds-to-zero case)."""
    rng = np.random.RandomState(5)
    root = base / "small"
    for i in range(n_files):
        _save(root / ("a" if i % 2 == 0 else "b") / f"img_{i}.png", _smooth(rng, (12, 12), 3))
    return root
