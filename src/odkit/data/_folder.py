"""``ImageFolderDataset``: decoded, resized, batched images from a list of files, decoded in parallel.

Numpy by default; torch tensors on request (torch is imported only then). The dataset is both

* a map-style dataset: ``len(ds)`` batches (or elements when ``batch_size=None``) and ``ds[i]`` in the
  stable ``file_paths`` order, so ``torch.utils.data.DataLoader(ds, batch_size=None)`` (batched dataset) and
  ``DataLoader(ds, batch_size=B)`` (``batch_size=None`` dataset) work, and
* an iterable: ``for images, labels in ds`` runs one epoch, reshuffled per epoch when ``shuffle=True``,
  decoding on a thread pool with at most ``num_workers + prefetch`` batches in memory.

``on_error="skip"`` holds on both paths. Iterating, and map-style access to a batch (``ds[i]`` of a batched
dataset, or a ``DataLoader`` batch of an unbatched one, which torch fetches through ``__getitems__``), leave
unreadable images out: the batch is shorter. A single element cannot be left out, so ``ds[i]`` of an
unbatched dataset returns the next readable element in its place (wrapping around), with a warning naming
both files. Every unreadable file is warned about and listed in ``ds.skipped_files``; the count at the end
of an epoch is warned only when iterating (a ``DataLoader`` has no end-of-epoch hook into the dataset).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from odkit.data._decode import ImageDecodeError, load_image
from odkit.data._parallel import check_loader_args, ordered_map
from odkit.data._resize import (
    _IDENTITY_WHEN_SAME,
    INTERPOLATIONS,
    crop_to_aspect_ratio,
    resize_image,
    resize_with_pad,
)
from odkit.errors import DatasetError

__all__ = ["ImageFolderDataset"]

_UNBATCHED_CHUNK = 32


class ImageFolderDataset:
    """Images and labels from files; built by :func:`image_dataset_from_directory`.

    Attributes:
        file_paths: file per element, in dataset order (the order of ``ds[i]`` and of an unshuffled epoch).
        labels: (N,) int32 label index per file, or None.
        class_names: class name per label index, or None.
        image_hw: output (height, width) in pixels.
        num_channels: 1, 3 or 4.
        batch_size: elements per batch (the last batch may be shorter), or None for single elements.
        skipped_files: files that could not be decoded so far (``on_error="skip"``).
    """

    def __init__(
        self,
        file_paths: Sequence[str],
        labels: np.ndarray | None,
        class_names: Sequence[str] | None,
        *,
        label_mode: str | None = "int",
        num_channels: int = 3,
        image_hw: tuple[int, int] = (256, 256),
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        data_format: str = "channels_last",
        batch_size: int | None = 32,
        shuffle: bool = False,
        seed: int = 0,
        on_error: str = "skip",
        cache: bool = False,
        num_workers: int | None = None,
        prefetch: int = 2,
        output: str = "numpy",
    ) -> None:
        check_loader_args(on_error, output, batch_size)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}; got {interpolation!r}")
        if num_channels not in (1, 3, 4):
            raise ValueError(f"num_channels must be 1, 3 or 4; got {num_channels!r}")
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first'; got {data_format!r}")
        if labels is not None and len(labels) != len(file_paths):
            raise ValueError(f"labels must have one entry per file ({len(file_paths)}); got {len(labels)}")
        self.file_paths: list[str] = list(file_paths)
        self.labels = None if labels is None else np.array(labels, dtype=np.int32)
        self.class_names: list[str] | None = None if class_names is None else list(class_names)
        self.label_mode = label_mode if self.labels is not None else None
        self.num_classes = len(self.class_names) if self.class_names else 0
        self.num_channels = int(num_channels)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.data_format = data_format
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.on_error = on_error
        self.cache = bool(cache)
        self.num_workers = max(1, int(num_workers if num_workers is not None else min(4, os.cpu_count() or 1)))
        self.prefetch = max(0, int(prefetch))
        self.output = output
        self.dtype = np.dtype(np.uint8 if interpolation == "nearest" else np.float32)
        self.skipped_files: list[str] = []
        self._cache: dict[int, np.ndarray] = {}
        self._epoch = 0

    # ---- sizes and single items -------------------------------------------------------------------

    @property
    def element_shape(self) -> tuple[int, int, int]:
        """Shape of one image: (H, W, C), or (C, H, W) with ``data_format="channels_first"``."""
        h, w = self.image_hw
        if self.data_format == "channels_first":
            return (self.num_channels, h, w)
        return (h, w, self.num_channels)

    def __len__(self) -> int:
        n = len(self.file_paths)
        return n if self.batch_size is None else -(-n // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        """Batch ``index`` (or element ``index`` when unbatched) in ``file_paths`` order, never shuffled.

        With ``on_error="skip"`` an unreadable image is left out of a batch (shorter batch) or, for a single
        element, replaced by the next readable one (see the module doc).

        Raises:
            IndexError: if ``index`` is out of range.
            ImageDecodeError: if an image cannot be decoded and ``on_error="raise"``.
            DatasetError: if no image at all can be decoded (unbatched, ``on_error="skip"``).
        """
        index = self._position(index)
        if self.batch_size is None:
            return self._convert(self._element_or_next(index))
        positions = np.arange(index * self.batch_size, min((index + 1) * self.batch_size, len(self.file_paths)))
        images, kept = self._load(positions, skip=self.on_error == "skip")
        return self._convert(self._batch(images, kept))

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """Items ``indices``, for torch's ``DataLoader`` with automatic batching (``batch_size=B``).

        Unbatched dataset: the readable elements among ``indices``, so ``on_error="skip"`` gives a shorter
        batch instead of an exception (if none is readable, the next readable element stands in).
        """
        if self.batch_size is not None:
            return [self[int(i)] for i in indices]
        positions = np.array([self._position(int(i)) for i in indices], dtype=np.int64)
        images, kept = self._load(positions, skip=self.on_error == "skip")
        if len(positions) and not len(kept):
            return [self[int(positions[0])]]
        return [self._convert(self._element(image, int(p))) for image, p in zip(images, kept)]

    def _position(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of length {n}")
        return index % n

    def _element_or_next(self, index: int) -> tuple[Any, ...]:
        """Element ``index``, or with ``on_error="skip"`` the next readable one (wrapping around)."""
        n = len(self.file_paths)
        for k in range(n):
            position = (index + k) % n
            try:
                image = self._image(position)
            except ImageDecodeError as exc:
                if self.on_error == "raise":
                    raise
                self._note_skip(exc)
                continue
            if k:
                warnings.warn(
                    f"ds[{index}] ({self.file_paths[index]}) is unreadable; returning ds[{position}] "
                    f"({self.file_paths[position]}) in its place",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return self._element(image, position)
        raise DatasetError(f"none of the {n} images can be decoded; see ds.skipped_files")

    def _note_skip(self, exc: ImageDecodeError) -> None:
        if exc.path not in self.skipped_files:
            self.skipped_files.append(exc.path)
            warnings.warn(f"skipping {exc}", RuntimeWarning, stacklevel=3)

    def as_keras(self, **pydataset_kwargs: Any) -> Any:
        """This dataset as a ``keras.utils.PyDataset`` for Keras 3's ``model.fit`` (which rejects a plain
        iterable): ``model.fit(train.as_keras(), validation_data=val.as_keras(), epochs=10)``.

        Reshuffled per epoch like iteration, numpy batches, ``on_error`` honoured; keras is imported only
        here. ``pydataset_kwargs`` go to ``PyDataset`` (``workers``, ``use_multiprocessing``, ...).

        Raises:
            ImportError: keras 3 is not installed.
            ValueError: ``batch_size`` is None.
        """
        from odkit.data._keras import as_keras_dataset

        return as_keras_dataset(self, **pydataset_kwargs)

    def load_image(self, index: int) -> np.ndarray:
        """The processed image of ``file_paths[index]``: ``element_shape``, ``dtype``."""
        return self._image(index)

    # ---- iteration --------------------------------------------------------------------------------

    def epoch_order(self, epoch: int) -> np.ndarray:
        """(N,) int64 file positions in the order epoch ``epoch`` yields them (identity unless shuffled)."""
        n = len(self.file_paths)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n).astype(np.int64)

    def __iter__(self) -> Iterator[Any]:
        epoch = self._epoch
        self._epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch: int = 0, *, with_paths: bool = False) -> Iterator[Any]:
        """Yield one epoch: ``(images, labels)`` (or ``images`` alone when there are no labels).

        Args:
            epoch: epoch number; with ``shuffle`` it selects the permutation (``epoch_order(epoch)``).
            with_paths: also yield the list of file paths of each batch (or the path of each element)
                as the last tuple item, so predictions line up with files.

        Yields:
            Batches of ``(B, *element_shape)`` images and labels: int32 (B,) for ``"int"``, float32
            (B, num_classes) one-hot for ``"categorical"``, float32 (B, 1) for ``"binary"``. Unbatched:
            one image and one label. A batch holding an image that cannot be decoded is shorter by one
            (``on_error="skip"``); a warning names the file and a count is warned at the end of the epoch.
        """
        order = self.epoch_order(epoch)
        chunk = self.batch_size or _UNBATCHED_CHUNK
        chunks = [order[i : i + chunk] for i in range(0, len(order), chunk)]
        skipped_before = len(self.skipped_files)
        skip = self.on_error == "skip"
        loaded = ordered_map(lambda p: self._load(p, skip), chunks, self.num_workers, self.num_workers + self.prefetch)
        for images, kept in loaded:
            yield from self._emit(images, kept, with_paths)
        skipped = len(self.skipped_files) - skipped_before
        if skipped:
            warnings.warn(
                f"skipped {skipped} unreadable image(s) of {len(order)} this epoch; see ds.skipped_files",
                RuntimeWarning,
                stacklevel=2,
            )

    def _emit(self, images: np.ndarray, kept: np.ndarray, with_paths: bool) -> Iterator[Any]:
        if self.batch_size is not None:
            if len(kept):
                out = self._convert(self._batch(images, kept))
                yield (*_as_tuple(out), [self.file_paths[i] for i in kept]) if with_paths else out
            return
        for image, position in zip(images, kept):
            out = self._convert(self._element(image, int(position)))
            yield (*_as_tuple(out), self.file_paths[position]) if with_paths else out

    # ---- decoding ---------------------------------------------------------------------------------

    def _image(self, index: int) -> np.ndarray:
        return self._process(index).astype(self.dtype, copy=False)

    def _process(self, index: int) -> np.ndarray:
        """Decoded and resized image; uint8 (not yet cast) when no resampling was needed."""
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        image = load_image(self.file_paths[index], self.num_channels)
        if self.crop_to_aspect_ratio:
            image = resize_image(crop_to_aspect_ratio(image, self.image_hw), self.image_hw, self.interpolation)
        elif self.pad_to_aspect_ratio:
            image = resize_with_pad(image, self.image_hw, self.interpolation)
        elif image.shape[:2] != self.image_hw or self.interpolation not in _IDENTITY_WHEN_SAME:
            image = resize_image(image, self.image_hw, self.interpolation)
        if self.data_format == "channels_first":
            image = image.transpose(2, 0, 1)
        if self.cache:
            image = image.astype(self.dtype)
            image.setflags(write=False)
            self._cache[index] = image
        return image

    def _load(self, positions: np.ndarray, skip: bool) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``positions`` into one (K, *element_shape) array; returns it and the kept positions."""
        images = np.empty((len(positions), *self.element_shape), dtype=self.dtype)
        kept = np.ones(len(positions), dtype=bool)
        for j, position in enumerate(positions):
            try:
                images[j] = self._process(int(position))  # cast to float32 on assignment
            except ImageDecodeError as exc:
                if not skip:
                    raise
                kept[j] = False
                self._note_skip(exc)
        if kept.all():
            return images, positions
        return images[kept], positions[kept]

    # ---- labels and output ------------------------------------------------------------------------

    def encode_labels(self, positions: np.ndarray) -> np.ndarray | None:
        """Labels of ``positions`` in ``label_mode``: int32 (K,), float32 (K, C) one-hot, or float32 (K, 1).

        A label outside [0, num_classes) one-hot encodes to all zeros (as ``tf.one_hot``).
        """
        if self.labels is None or self.label_mode is None:
            return None
        raw = self.labels[positions]
        if self.label_mode == "categorical":
            onehot = np.zeros((len(raw), self.num_classes), dtype=np.float32)
            valid = (raw >= 0) & (raw < self.num_classes)
            onehot[np.flatnonzero(valid), raw[valid]] = 1.0
            return onehot
        if self.label_mode == "binary":
            return raw.astype(np.float32)[:, None]
        return raw.astype(np.int32)

    def _batch(self, images: np.ndarray, positions: np.ndarray) -> tuple[Any, ...]:
        labels = self.encode_labels(np.asarray(positions, dtype=np.int64))
        return (images,) if labels is None else (images, labels)

    def _element(self, image: np.ndarray, position: int) -> tuple[Any, ...]:
        labels = self.encode_labels(np.array([position], dtype=np.int64))
        return (image,) if labels is None else (image, labels[0])

    def _convert(self, parts: tuple[Any, ...]) -> Any:
        if self.output == "torch":
            import torch

            # np.ascontiguousarray would turn a 0-d label into shape (1,): copy only when needed
            parts = tuple(
                torch.from_numpy(p if p.flags.writeable and p.flags.c_contiguous else np.array(p))
                for p in (np.asarray(q) for q in parts)
            )
        return parts[0] if len(parts) == 1 else parts


def _as_tuple(out: Any) -> tuple[Any, ...]:
    return out if isinstance(out, tuple) else (out,)
