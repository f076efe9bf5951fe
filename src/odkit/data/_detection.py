"""Detection datasets over anything ``odkit.io`` reads: (image, target) samples, augmented, in parallel.

What a sample is, and how annotations are validated when the dataset is built, is in
``odkit.data._detection_samples`` (:class:`DetectionSamples`, the base class); this module serves the
samples: indexing, batches, epochs (shuffled, seeded), decoding threads, numpy or torch output.

An unusable sample (an undecodable image, or a box that turns out to have no area inside the decoded image
when ``drop_degenerate`` is off) is handled by ``on_error``: ``"skip"`` skips it with a warning naming the
file (and a count at the end of the epoch), ``"raise"`` raises.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from odkit.boxes import BoxFormat
from odkit.data._decode import ImageDecodeError
from odkit.data._detection_samples import DetectionSamples
from odkit.data._parallel import check_loader_args, ordered_map
from odkit.errors import AnnotationError, DatasetError
from odkit.io import Dataset, read_annotations

__all__ = ["DetectionDataset", "detection_collate", "detection_dataset"]


class DetectionDataset(DetectionSamples):
    """Images and box targets from an ``odkit.io.Dataset``; see :func:`detection_dataset`.

    The samples (``sample``, ``raw_sample``) and their attributes come from :class:`DetectionSamples`.

    Attributes:
        dataset: the annotations.
        records: the images of the selected split, in dataset order.
        class_names: label index -> category name (categories in id order).
        category_ids: label index -> category id of the source dataset.
        box_format: format of ``target["boxes"]``.
        skipped_files: images that could not be used so far (undecodable, or a box outside the decoded image).
        dropped_boxes: ``(annotation file, box index)`` of the boxes dropped at construction
            (``drop_degenerate=True``).
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        split: str | None = None,
        transforms: Any = None,
        box_format: BoxFormat | str = BoxFormat.XYXY,
        color_mode: str = "rgb",
        batch_size: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        drop_degenerate: bool = False,
        on_error: str = "skip",
        num_workers: int | None = None,
        prefetch: int = 2,
        output: str = "numpy",
    ) -> None:
        check_loader_args(on_error, output, batch_size)
        super().__init__(
            dataset,
            split=split,
            transforms=transforms,
            box_format=box_format,
            color_mode=color_mode,
            seed=seed,
            drop_degenerate=drop_degenerate,
            on_error=on_error,
        )
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.num_workers = max(1, int(num_workers if num_workers is not None else min(4, os.cpu_count() or 1)))
        self.prefetch = max(0, int(prefetch))
        self.output = output
        self.skipped_files: list[str] = []
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.records)
        return n if self.batch_size is None else -(-n // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        """Sample ``index`` (batch ``index`` when ``batch_size`` is set, as ``len``) with the augmentation of
        epoch ``self.epoch``, in dataset order.

        For a torch ``DataLoader`` over this dataset, call :meth:`set_epoch` each epoch so that the
        augmentation changes. With ``on_error="skip"`` an unusable sample is left out of a batch (shorter
        batch; a ``DataLoader`` batch of an unbatched dataset comes through ``__getitems__``) or, for a
        single sample, replaced by the next usable one (wrapping around), with a warning naming both.

        Raises:
            IndexError: if ``index`` is out of range.
            ImageDecodeError, AnnotationError: an unusable sample with ``on_error="raise"``.
            DatasetError: no sample at all is usable (unbatched, ``on_error="skip"``).
        """
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of length {n}")
        index %= n
        if self.batch_size is None:
            return self._convert(self._sample_or_next(index))
        stop = min((index + 1) * self.batch_size, len(self.records))
        return self._collate(self._usable(range(index * self.batch_size, stop)))

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """Items ``indices``, for torch's ``DataLoader`` with automatic batching: the usable samples among
        them (``on_error="skip"``), so a batch is shorter instead of raising."""
        if self.batch_size is not None:
            return [self[int(i)] for i in indices]
        n = len(self.records)
        for i in indices:
            if not -n <= int(i) < n:
                raise IndexError(f"index {i} out of range for a dataset of length {n}")
        items = self._usable([int(i) % n for i in indices])
        if indices and not items:
            return [self[int(indices[0])]]
        return [self._convert(item) for item in items]

    def _usable(self, positions: Sequence[int]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        items = []
        for position in positions:
            try:
                items.append(self.sample(int(position), epoch=self.epoch))
            except (ImageDecodeError, AnnotationError) as exc:
                if self.on_error == "raise":
                    raise
                self._note_skip(exc)
        return items

    def _sample_or_next(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        n = len(self.records)
        for k in range(n):
            position = (index + k) % n
            try:
                item = self.sample(position, epoch=self.epoch)
            except (ImageDecodeError, AnnotationError) as exc:
                if self.on_error == "raise":
                    raise
                self._note_skip(exc)
                continue
            if k:
                paths = [str(self.dataset.image_path(self.records[i])) for i in (index, position)]
                warnings.warn(
                    f"ds[{index}] ({paths[0]}) is unusable; returning ds[{position}] ({paths[1]}) in its place",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return item
        raise DatasetError(f"none of the {n} samples can be used; see ds.skipped_files")

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation (and shuffle) of ``epoch`` for ``ds[i]`` and the next ``iter(ds)``."""
        self.epoch = int(epoch)

    # ---- iteration --------------------------------------------------------------------------------

    def epoch_order(self, epoch: int) -> np.ndarray:
        """(N,) int64 sample positions in the order epoch ``epoch`` yields them."""
        n = len(self.records)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        return np.random.default_rng([self.seed, int(epoch), 2**31]).permutation(n).astype(np.int64)

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch: int = 0) -> Iterator[Any]:
        """Yield samples, or ``(images, targets)`` batches: images (B, H, W, C) uint8, targets a list.

        Raises:
            DatasetError: if images in one batch differ in size (add a ``Letterbox`` or ``Resize``).
        """
        order = self.epoch_order(epoch)
        skipped = 0

        def load(position: int) -> tuple[np.ndarray, dict[str, Any]] | None:
            try:
                return self.sample(int(position), epoch)
            except (ImageDecodeError, AnnotationError) as exc:
                if self.on_error == "raise":
                    raise
                self._note_skip(exc)
                return None

        in_flight = 2 * self.num_workers + self.prefetch * (self.batch_size or 1)
        samples = ordered_map(load, order, self.num_workers, in_flight)
        batch: list[tuple[np.ndarray, dict[str, Any]]] = []
        for item in samples:
            if item is None:
                skipped += 1
                continue
            if self.batch_size is None:
                yield self._convert(item)
                continue
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self._collate(batch)
                batch = []
        if batch:
            yield self._collate(batch)
        if skipped:
            warnings.warn(
                f"skipped {skipped} unreadable image(s) of {len(order)} this epoch; see ds.skipped_files",
                RuntimeWarning,
                stacklevel=2,
            )

    def _note_skip(self, exc: ImageDecodeError | AnnotationError) -> None:
        if exc.path not in self.skipped_files:
            self.skipped_files.append(exc.path)
        warnings.warn(f"skipping {exc}", RuntimeWarning, stacklevel=3)

    def _collate(self, batch: Sequence[tuple[np.ndarray, dict[str, Any]]]) -> Any:
        if not batch:  # every sample of a map-style batch unusable: an empty batch
            if self.output == "torch":
                import torch

                return torch.zeros((0, self.num_channels, 0, 0)), []
            return np.zeros((0, 0, 0, self.num_channels), np.uint8), []
        shapes = {image.shape for image, _ in batch}
        if len(shapes) > 1:
            raise DatasetError(
                f"images in one batch have different sizes {sorted(shapes)}; add a Letterbox or Resize transform "
                "or use batch_size=None"
            )
        return detection_collate([self._convert(item) for item in batch])

    def _convert(self, item: tuple[np.ndarray, dict[str, Any]]) -> Any:
        if self.output != "torch":
            return item
        import torch

        image, target = item
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
        converted = dict(target)
        for key in ("boxes", "labels", "iscrowd"):
            converted[key] = torch.from_numpy(np.ascontiguousarray(target[key]))
        return tensor, converted


def detection_collate(batch: Sequence[tuple[Any, dict[str, Any]]]) -> tuple[Any, list[dict[str, Any]]]:
    """Stack same-size images and keep targets as a list (a ``collate_fn`` for torch's ``DataLoader``).

    Returns:
        (B, ...) images (numpy or torch, like the inputs) and the B targets.
    """
    images = [image for image, _ in batch]
    targets = [target for _, target in batch]
    if images and not isinstance(images[0], np.ndarray):
        import torch

        return torch.stack(images), targets
    return np.stack(images), targets


def detection_dataset(
    path_or_dataset: str | os.PathLike[str] | Dataset,
    *,
    fmt: str | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    split: str | None = None,
    transforms: Any = None,
    box_format: BoxFormat | str = BoxFormat.XYXY,
    color_mode: str = "rgb",
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    drop_degenerate: bool = False,
    on_error: str = "skip",
    num_workers: int | None = None,
    output: str = "numpy",
) -> DetectionDataset:
    """A detection dataset from an annotation file or folder (COCO, VOC, YOLO, CSV) or a ``Dataset``.

    Args:
        path_or_dataset: what ``odkit.io.read_annotations`` reads, or an ``odkit.io.Dataset``.
        fmt: annotation format when it cannot be detected.
        images_dir: where the images are, when the usual layouts do not find them.
        split: a split of the dataset (``Dataset.splits``), or None for every image.
        transforms: a transform or :class:`Compose` (see ``odkit.data`` augmentation); None keeps images as decoded.
        box_format: format of the target boxes (e.g. ``"xyxy"``, ``"cxcywh_norm"``).
        color_mode: ``"rgb"``, ``"grayscale"`` or ``"rgba"``.
        batch_size: None yields single samples; an int yields ``(images, targets)`` batches.
        shuffle: reshuffle each epoch (seeded by ``seed`` and the epoch).
        seed: seed of the shuffle and of the augmentation (per sample: seed, epoch, index).
        drop_degenerate: drop boxes with no area inside the image instead of raising.
        on_error: ``"skip"`` unreadable images with a warning, or ``"raise"``.
        num_workers: decoding threads (default min(4, CPUs)).
        output: ``"numpy"`` or ``"torch"``.

    Returns:
        The dataset.
    """
    dataset = path_or_dataset if isinstance(path_or_dataset, Dataset) else read_annotations(
        path_or_dataset, fmt, images_dir
    )
    return DetectionDataset(
        dataset,
        split=split,
        transforms=transforms,
        box_format=box_format,
        color_mode=color_mode,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_degenerate=drop_degenerate,
        on_error=on_error,
        num_workers=num_workers,
        output=output,
    )
