"""What ``fit`` / ``evaluate`` / ``predict`` iterate: numpy arrays or an odkit folder dataset, as batches."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import torch


def images_to_tensor(images: Any, device: torch.device | None = None) -> torch.Tensor:
    """Channels-last images ``(N, H, W, C)`` or ``(N, H, W)`` (numpy or tensor) -> ``(N, C, H, W)`` float32."""
    t = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if t.ndim == 3:
        t = t.unsqueeze(-1)
    if t.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C); got {tuple(t.shape)}")
    t = t.permute(0, 3, 1, 2).to(torch.float32)
    return t.to(device) if device is not None else t


class Source(Protocol):
    """Batches for one pass: ``iter_epoch(epoch)`` yields ``(images, targets)``."""

    def steps(self) -> int | None: ...

    def iter_epoch(self, epoch: int) -> Iterator[tuple[Any, Any]]: ...

    def peek_images(self) -> Any: ...


class ArraySource:
    """Arrays in batches; with ``shuffle`` a new seeded order each epoch (epoch ``e`` uses ``seed + e``)."""

    def __init__(self, x: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle: bool, seed: int | None) -> None:
        if y is not None and len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        if len(x) == 0:
            raise ValueError("x holds no samples")
        if batch_size is None or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer for arrays; got {batch_size}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, int(batch_size), shuffle
        self.seed = seed if seed is not None else int(torch.randint(0, 2**31 - 1, (1,)).item())

    def steps(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def peek_images(self) -> np.ndarray:
        return self.x[:1]

    def split_last(self, fraction: float) -> tuple[ArraySource, ArraySource]:
        """(train, validation): the last ``fraction`` of the samples held out, as Keras' validation_split."""
        n_val = int(len(self.x) * fraction)
        if n_val == 0 or n_val == len(self.x):
            raise ValueError(f"validation_split={fraction} of {len(self.x)} samples leaves an empty split")
        cut = len(self.x) - n_val
        y = self.y
        return (ArraySource(self.x[:cut], None if y is None else y[:cut], self.batch_size, self.shuffle, self.seed),
                ArraySource(self.x[cut:], None if y is None else y[cut:], self.batch_size, False, None))

    def iter_epoch(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        order = (np.random.default_rng(self.seed + epoch).permutation(len(self.x)) if self.shuffle
                 else np.arange(len(self.x)))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            yield self.x[rows], None if self.y is None else self.y[rows]


class DatasetSource:
    """An ``image_dataset_from_directory`` dataset (batches of images and labels, reshuffled per epoch)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def steps(self) -> int | None:
        try:
            return len(self.dataset)
        except TypeError:
            return None

    def peek_images(self) -> Any:
        first = next(iter(self.dataset.iter_epoch(0)))
        return first[0] if isinstance(first, tuple) else first

    def iter_epoch(self, epoch: int) -> Iterator[tuple[Any, Any]]:
        for item in self.dataset.iter_epoch(epoch):
            yield (item[0], item[1]) if isinstance(item, tuple) else (item, None)


def as_source(x: Any, y: Any, batch_size: int | None, shuffle: bool, seed: int | None) -> Source:
    """Arrays (with ``y``) or an odkit dataset as a :class:`Source`."""
    if hasattr(x, "iter_epoch"):
        if y is not None:
            raise ValueError("y must be None when x is a dataset (it yields its own labels)")
        return DatasetSource(x)
    if isinstance(x, (np.ndarray, torch.Tensor, list)):
        arr = np.asarray(x)
        return ArraySource(arr, None if y is None else np.asarray(y), batch_size or 32, shuffle, seed)
    raise TypeError(f"x must be an array of images (N, H, W[, C]) or an odkit dataset; got {type(x).__name__}")
