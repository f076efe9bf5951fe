"""The samples of a detection dataset: its annotations validated once, each sample decoded, clipped and augmented.

A sample is ``(image, target)``:

* image: (H, W, C) uint8, EXIF orientation applied, grayscale / RGBA / palette sources converted to
  ``color_mode`` (:class:`~odkit.data.DetectionDataset` with ``output="torch"`` serves it as a float32
  (C, H, W) tensor in [0, 1]);
* target: ``{"boxes": (N, 4) float32 in ``box_format``, "labels": (N,) int64 index into ``class_names``,
  "iscrowd": (N,) bool, "image_id": int, "path": str, "source_hw": (h, w), "image_hw": (h, w)}``, plus
  ``"letterbox"`` (:class:`LetterboxInfo`) when the transform is a plain :class:`Letterbox`, so
  predictions map back with :func:`unletterbox_boxes`.

Annotations are validated **when the dataset is built**, never mid-epoch. An unknown category id raises
``AnnotationError`` naming the file and box index. A degenerate box (non-finite, inverted, zero width or
height, or with no area inside the image: its annotated size, else the size read from its header) raises
``AnnotationError`` naming the file and box index or, with ``drop_degenerate=True``, is dropped with one
warning that counts them (the list is in ``dropped_boxes``). When a sample is loaded its boxes are clipped
to the decoded image; a box that only then turns out to have no area inside it (the annotated size was
wrong) is dropped with a warning under ``drop_degenerate=True``, and otherwise raises ``AnnotationError``
(the dataset's ``on_error`` then decides, as for a corrupt image).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from odkit.boxes import BoxFormat, box_convert
from odkit.data._augment import Compose, Letterbox
from odkit.data._decode import ImageDecodeError, load_image
from odkit.data._letterbox import letterbox_info
from odkit.errors import AnnotationError, DatasetError
from odkit.io import Dataset, ImageRecord, inspect_image

_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


class DetectionSamples:
    """The samples of an ``odkit.io.Dataset`` (the base of :class:`~odkit.data.DetectionDataset`, which
    serves them: indexing, batches, epochs, threads).

    Attributes:
        dataset: the annotations.
        records: the images of the selected split, in dataset order.
        class_names: label index -> category name (categories in id order).
        category_ids: label index -> category id of the source dataset.
        transforms: a transform or ``Compose``, or None.
        box_format: format of ``target["boxes"]``.
        num_channels: channels of the decoded image (``color_mode``).
        seed: seed of the augmentation (per sample: seed, epoch, index).
        drop_degenerate: drop boxes with no area inside the image instead of raising.
        on_error: ``"skip"`` or ``"raise"`` an unusable sample; here: an unreadable mosaic partner.
        dropped_boxes: ``(annotation file, box index)`` of the boxes dropped at construction
            (``drop_degenerate=True``).
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        split: str | None,
        transforms: Any,
        box_format: BoxFormat | str,
        color_mode: str,
        seed: int,
        drop_degenerate: bool,
        on_error: str,
    ) -> None:
        """Select the split and validate its annotations (see the module doc).

        Raises:
            ValueError: an unknown ``color_mode`` or ``box_format``.
            DatasetError: ``split`` is not a split of the dataset.
            AnnotationError: an unknown category id, or a degenerate box (unless ``drop_degenerate``).
        """
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
        self.seed = int(seed)
        self.drop_degenerate = bool(drop_degenerate)
        self.on_error = on_error
        self.dropped_boxes: list[tuple[str, int]] = []
        self._targets = [self._validate(record) for record in self.records]
        if self.dropped_boxes:
            first = self.dropped_boxes[0]
            warnings.warn(
                f"dropped {len(self.dropped_boxes)} degenerate box(es) in "
                f"{len({f for f, _ in self.dropped_boxes})} image(s) (first: {first[0]}:box {first[1]}); "
                "see ds.dropped_boxes",
                RuntimeWarning,
                stacklevel=3,  # the caller of DetectionDataset(...), whose __init__ calls this one
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
