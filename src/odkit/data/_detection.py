"""Detection datasets over anything ``odkit.io`` reads: (image, target) samples, augmented, in parallel.

A sample is ``(image, target)``:

* image: (H, W, C) uint8 (``output="torch"``: float32 (C, H, W) tensor in [0, 1]), EXIF orientation applied,
  grayscale / RGBA / palette sources converted to ``color_mode``;
* target: ``{"boxes": (N, 4) float32 in ``box_format``, "labels": (N,) int64 index into ``class_names``,
  "iscrowd": (N,) bool, "image_id": int, "path": str, "source_hw": (h, w), "image_hw": (h, w)}``, plus
  ``"letterbox"`` (:class:`LetterboxInfo`) when the transform is a plain :class:`Letterbox`, so
  predictions map back with :func:`unletterbox_boxes`.

Annotations are validated **when the dataset is built**, never mid-epoch. An unknown category id raises
``AnnotationError`` naming the file and box index. A degenerate box (non-finite, inverted, zero width or
height, or with no area inside the image: its annotated size, else the size read from its header) raises
``AnnotationError`` naming the file and box index or, with ``drop_degenerate=True``, is dropped with one
warning that counts them (the list is in ``ds.dropped_boxes``). When a sample is loaded its boxes are
clipped to the decoded image; a box that only then turns out to have no area inside it (the annotated size
was wrong) is dropped with a warning under ``drop_degenerate=True``, and otherwise makes that sample
unusable like a corrupt image: ``on_error="skip"`` skips it with a warning naming the file (and a count at
the end of the epoch), ``on_error="raise"`` raises.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from odkit.boxes import BoxFormat, box_convert
from odkit.data._augment import Compose, Letterbox
from odkit.data._decode import ImageDecodeError, load_image
from odkit.data._letterbox import letterbox_info
from odkit.data._parallel import check_loader_args, ordered_map
from odkit.errors import AnnotationError, DatasetError
from odkit.io import Dataset, ImageRecord, inspect_image, read_annotations

__all__ = ["DetectionDataset", "detection_collate", "detection_dataset"]

_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


class DetectionDataset:
    """Images and box targets from an ``odkit.io.Dataset``; see :func:`detection_dataset`.

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
        if color_mode not in _CHANNELS:
            raise ValueError(f"color_mode must be one of {sorted(_CHANNELS)}; got {color_mode!r}")
        self.dataset = dataset
        if split is None:
            self.records = list(dataset.images)
        else:
            if split not in dataset.splits:
                raise DatasetError(f"no split {split!r} in the dataset; it has {sorted(dataset.splits)}")
            members = set(dataset.splits[split])
            self.records = [im for im in dataset.images if im.id in members]
        self.class_names = [c.name for c in dataset.categories]
        self.category_ids = [c.id for c in dataset.categories]
        self._label_of = {cid: i for i, cid in enumerate(self.category_ids)}
        self.transforms = transforms
        self.box_format = BoxFormat.from_value(box_format)
        self.num_channels = _CHANNELS[color_mode]
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_degenerate = bool(drop_degenerate)
        self.on_error = on_error
        self.num_workers = max(1, int(num_workers if num_workers is not None else min(4, os.cpu_count() or 1)))
        self.prefetch = max(0, int(prefetch))
        self.output = output
        self.skipped_files: list[str] = []
        self.dropped_boxes: list[tuple[str, int]] = []
        self.epoch = 0
        self._targets = [self._validate(record) for record in self.records]
        if self.dropped_boxes:
            first = self.dropped_boxes[0]
            warnings.warn(
                f"dropped {len(self.dropped_boxes)} degenerate box(es) in "
                f"{len({f for f, _ in self.dropped_boxes})} image(s) (first: {first[0]}:box {first[1]}); "
                "see ds.dropped_boxes",
                RuntimeWarning,
                stacklevel=2,
            )

    def _validate(self, record: ImageRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (K, 4) float64 xyxy, labels (K,) int64 and iscrowd (K,) bool of ``record``, validated.

        Raises:
            AnnotationError: an unknown category id, or a degenerate box (unless ``drop_degenerate``).
        """
        ann = self.dataset.annotations[record.id]
        source = record.annotation_file or str(self.dataset.image_path(record))
        boxes = np.asarray(ann.boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        labels = np.empty(len(boxes), dtype=np.int64)
        for i, cid in enumerate(np.asarray(ann.class_ids).tolist()):
            if cid not in self._label_of:
                raise AnnotationError(
                    source, f"box {i}", f"category id {cid} is not in the dataset's categories {self.category_ids}"
                )
            labels[i] = self._label_of[cid]
        finite = np.isfinite(boxes).all(1)
        bad = ~finite | (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        h, w = record.height, record.width
        if h <= 0 or w <= 0:
            h, w = inspect_image(self.dataset.image_path(record), decode=False).image_hw  # (0, 0) if unreadable
        if h > 0 and w > 0:
            clipped = np.clip(np.where(finite[:, None], boxes, 0.0), 0, [w, h, w, h])
            bad |= (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1])
        if bad.any():
            if not self.drop_degenerate:
                i = int(np.flatnonzero(bad)[0])
                where = f"the {w}x{h} image" if h > 0 and w > 0 else "the image"
                raise AnnotationError(
                    source,
                    f"box {i}",
                    f"box {boxes[i].tolist()} has no area inside {where} "
                    f"({int(bad.sum())} such box(es) here; pass drop_degenerate=True to drop them)",
                )
            self.dropped_boxes.extend((source, int(i)) for i in np.flatnonzero(bad))
        keep = ~bad
        iscrowd = np.asarray(ann.iscrowd, dtype=bool).reshape(-1)[keep]
        return boxes[keep], labels[keep], iscrowd

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

    # ---- one sample -------------------------------------------------------------------------------

    def raw_sample(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Decoded image and its clipped boxes before augmentation.

        Returns:
            image (H, W, C) uint8, boxes (N, 4) float32 absolute xyxy, labels (N,) int64, iscrowd (N,) bool.

        Raises:
            ImageDecodeError: unreadable image.
            AnnotationError: a box with no area inside the decoded image (unless ``drop_degenerate``);
                only possible when the annotated image size is unknown or wrong, as construction checks it.
        """
        record = self.records[index]
        path = str(self.dataset.image_path(record))
        image = load_image(path, self.num_channels, exif_transpose=True)
        h, w = image.shape[:2]
        boxes, labels, iscrowd = self._targets[index]
        clipped = np.clip(boxes, 0, [w, h, w, h])
        bad = (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1])
        if bad.any():  # only when the decoded size differs from the annotated one (or none was annotated)
            source = record.annotation_file or path
            i = int(np.flatnonzero(bad)[0])
            message = f"box {boxes[i].tolist()} has no area inside the decoded {w}x{h} image"
            if not self.drop_degenerate:
                raise AnnotationError(source, f"box {i}", message + " (pass drop_degenerate=True to drop)")
            warnings.warn(f"{source}:box {i}: {message}; dropped", RuntimeWarning, stacklevel=2)
            keep = ~bad
            clipped, labels, iscrowd = clipped[keep], labels[keep], iscrowd[keep]
        return image, clipped.astype(np.float32), labels.copy(), iscrowd.copy()

    def sample(self, index: int, epoch: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
        """Sample ``index`` with the augmentation of ``epoch`` (numpy; see the module doc for the target)."""
        image, boxes, labels, iscrowd = self.raw_sample(index)
        source_hw = image.shape[:2]
        if self.transforms is not None:
            pipeline = self.transforms if isinstance(self.transforms, Compose) else Compose([self.transforms])
            # both seeds count: the dataset's (also its shuffle) and the Compose's own
            rng = np.random.default_rng([self.seed, pipeline.seed, int(epoch), int(index)])
            others = self._others(index, rng) if pipeline.needs_others else None
            # iscrowd travels with the boxes through the transforms as a second label: id * 2 + crowd
            coded = labels * 2 + iscrowd.astype(np.int64)
            image, boxes, coded = pipeline(image, boxes, coded, rng, others)
            labels, iscrowd = coded // 2, (coded % 2).astype(bool)
        record = self.records[index]
        image_hw = (int(image.shape[0]), int(image.shape[1]))
        target: dict[str, Any] = {
            "boxes": box_convert(boxes, BoxFormat.XYXY, self.box_format, image_hw).astype(np.float32),
            "labels": labels.astype(np.int64),
            "iscrowd": iscrowd,
            "image_id": int(record.id),
            "path": str(self.dataset.image_path(record)),
            "source_hw": (int(source_hw[0]), int(source_hw[1])),
            "image_hw": image_hw,
        }
        if isinstance(self.transforms, Letterbox):
            target["letterbox"] = letterbox_info(source_hw, self.transforms.image_hw, self.transforms.allow_upscale)
        return image, target

    def _others(self, index: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Three other raw samples for mosaic, never the sample itself unless it is alone.

        Unreadable ones are left out with a warning (``on_error="skip"``) or raise (``on_error="raise"``).
        """
        n = len(self.records)
        if n > 1:  # three other samples, uniformly, without building an O(N) list per sample
            picks = rng.choice(n - 1, size=3, replace=n - 1 < 3)
            picks = picks + (picks >= index)
        else:
            picks = np.full(3, index)
        others = []
        for j in picks:
            try:
                image, boxes, labels, crowd = self.raw_sample(int(j))
            except (ImageDecodeError, AnnotationError) as exc:
                if self.on_error == "raise":
                    raise
                warnings.warn(f"mosaic: leaving out {exc}", RuntimeWarning, stacklevel=2)
                continue
            others.append((image, boxes, labels * 2 + crowd.astype(np.int64)))
        return others

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
