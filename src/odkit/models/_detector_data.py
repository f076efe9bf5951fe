"""What the detector trains and predicts on: detection datasets fed in batches with decoded images kept in
memory, the letterboxing of ``predict``'s images (read by ``odkit.models._sources``), and the default
transforms."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from odkit.data import Compose, DetectionDataset, LetterboxInfo, letterbox
from odkit.data._parallel import ordered_map
from odkit.models._distributed import SINGLE, DistInfo, shard_batches

#: Keep decoded training images in memory up to this many bytes (BCCD's 205 train images: 190 MB).
CACHE_BYTES = 2 * 1024**3


class VerticalFlip:
    """Mirror top-bottom with probability ``p``; a box ``(x1, y1, x2, y2)`` becomes ``(x1, H - y2, x2, H - y1)``.

    For data with no up and down (cells, aerial views); follows ``odkit.data``'s transform protocol.
    """

    needs_others = False

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, image: np.ndarray, boxes_xyxy: np.ndarray, class_ids: np.ndarray,
                 rng: np.random.Generator | None = None, others: Any = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        draw = float(rng.random()) if rng is not None else 0.0
        boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
        if draw >= self.p:
            return image, boxes.copy(), np.asarray(class_ids, np.int64).copy()
        h = image.shape[0]
        flipped = np.stack([boxes[:, 0], h - boxes[:, 3], boxes[:, 2], h - boxes[:, 1]], 1)
        return np.ascontiguousarray(image[::-1]), flipped.astype(np.float32), np.asarray(class_ids, np.int64).copy()


class DetectionFeed:
    """Batches ``(images (B, H, W, 3) uint8, targets)`` from a :class:`DetectionDataset`, decoding each image
    once (kept in memory up to :data:`CACHE_BYTES`) and applying the dataset's transforms per epoch exactly as
    ``ds.sample`` does (same seeds: dataset seed, pipeline seed, epoch, index). Crowd boxes are left out of
    the training targets.

    Args:
        ds: the dataset (its own ``batch_size`` / ``shuffle`` are not used).
        batch_size: images per batch.
        shuffle: a new order each epoch, from ``seed`` and the epoch.
        seed: seed of the order.
        workers: 0: two threads in this process decode and transform (decoded images cached); N > 0: a torch
            ``DataLoader`` with N worker processes (no cache across epochs; images come as a uint8 tensor).
        pin_memory: the ``DataLoader``'s (page-locked batches for a faster copy to a GPU); with workers only.
        dist: this process's rank and world size; several ranks each get their share (see :attr:`shard`).
        shard: how ranks share an epoch: ``"image"``: each global batch of ``batch_size x world_size``
            images is split between the ranks (training: the same global batches as one process with that
            batch); ``"batch"``: whole batches of ``batch_size`` go round robin (evaluation: each batch is
            the one a single process would see).
    """

    def __init__(self, ds: DetectionDataset, batch_size: int, shuffle: bool, seed: int, *, workers: int = 0,
                 pin_memory: bool = False, dist: DistInfo = SINGLE, shard: str = "image") -> None:
        if shard not in ("image", "batch"):
            raise ValueError(f"shard must be 'image' or 'batch'; got {shard!r}")
        if int(workers) < 0:
            raise ValueError(f"workers must be >= 0; got {workers}")
        self.ds = ds
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.workers = int(workers)
        self.pin_memory = bool(pin_memory)
        self.dist = dist
        self.shard = shard
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cached_bytes = 0

    def __len__(self) -> int:
        return len(self._batches(np.arange(len(self.ds.records))))

    def steps(self) -> int:
        return len(self)

    def _batches(self, order: np.ndarray) -> list[list[int]]:
        """This rank's batches of dataset indices for one epoch in ``order``."""
        if not self.dist.active or self.shard == "image":
            return shard_batches([int(i) for i in order], self.batch_size, self.dist)
        every = shard_batches([int(i) for i in order], self.batch_size, SINGLE)
        return every[self.dist.rank::self.dist.world_size]

    def _raw(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        raw = self.ds.raw_sample(index)
        if self._cached_bytes + raw[0].nbytes <= CACHE_BYTES:
            self._cache[index] = raw
            self._cached_bytes += raw[0].nbytes
        return raw

    def sample(self, index: int, epoch: int) -> tuple[np.ndarray, dict[str, Any]]:
        pipeline = self.ds.transforms
        if pipeline is not None and getattr(pipeline, "needs_others", False):
            image, target = self.ds.sample(index, epoch)  # mosaic draws other samples: the dataset's own path
            keep = ~np.asarray(target["iscrowd"], bool)
            return image, {**target, "boxes": target["boxes"][keep], "labels": target["labels"][keep]}
        image, boxes, labels, iscrowd = self._raw(index)
        source_hw = image.shape[:2]
        boxes, labels = boxes[~iscrowd], labels[~iscrowd]
        if pipeline is not None:
            compose = pipeline if isinstance(pipeline, Compose) else Compose([pipeline])
            rng = np.random.default_rng([self.ds.seed, compose.seed, int(epoch), int(index)])
            image, boxes, labels = compose(image, boxes, labels, rng)
        record = self.ds.records[index]
        return image, {"boxes": np.asarray(boxes, np.float32).reshape(-1, 4), "labels": np.asarray(labels, np.int64),
                       "image_id": record.id, "source_hw": (int(source_hw[0]), int(source_hw[1])),
                       "image_hw": (int(image.shape[0]), int(image.shape[1]))}

    def iter_epoch(self, epoch: int) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
        n = len(self.ds.records)
        order = (np.random.default_rng([self.seed, int(epoch)]).permutation(n) if self.shuffle else np.arange(n))
        batches = self._batches(order)
        if self.workers > 0:
            yield from self._loader(batches, epoch)
            return
        sizes = iter([len(b) for b in batches])
        flat = [i for b in batches for i in b]
        batch: list[tuple[np.ndarray, dict[str, Any]]] = []
        size = next(sizes, 0)
        workers = 2 if (os.cpu_count() or 1) > 1 else 1
        for item in ordered_map(lambda i: self.sample(int(i), epoch), flat, workers, 2 * self.batch_size):
            batch.append(item)
            if len(batch) == size:
                yield _stack(batch)
                batch = []
                size = next(sizes, 0)

    def _loader(self, batches: list[list[int]], epoch: int) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
        """The batches through a torch ``DataLoader`` with worker processes."""
        import torch
        from torch.utils.data import DataLoader, Dataset

        feed = self

        class _Epoch(Dataset):  # type: ignore[type-arg]
            def __len__(self) -> int:
                return len(feed.ds.records)

            def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
                return feed.sample(int(index), epoch)

        def collate(items: list[tuple[np.ndarray, dict[str, Any]]]) -> tuple[Any, list[dict[str, Any]]]:
            images, targets = _stack(items)
            return torch.from_numpy(images), targets

        loader = DataLoader(_Epoch(), batch_sampler=batches, num_workers=self.workers, collate_fn=collate,
                            pin_memory=self.pin_memory)
        yield from loader


def _stack(batch: Sequence[tuple[np.ndarray, dict[str, Any]]]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    shapes = {image.shape for image, _ in batch}
    if len(shapes) > 1:
        raise ValueError(f"the transforms give images of different sizes {sorted(shapes)} in one batch; end the "
                         "pipeline with a Letterbox or RandomCrop of one size")
    return np.stack([image for image, _ in batch]), [target for _, target in batch]


def load_letterboxed(image: np.ndarray, image_hw: tuple[int, int]) -> tuple[np.ndarray, LetterboxInfo]:
    """An (H, W, 3) uint8 RGB image letterboxed to ``image_hw`` (a new array), and its letterbox info."""
    out, _, info = letterbox(image, np.zeros((0, 4), np.float32), image_hw)
    return out, info
