"""What a run trains and validates on: a detection dataset's train / val splits, or a class-folder tree.

The rule, stated once for ``odkit train`` and ``odkit val``:

* **Detection data** (anything ``odkit.io.read_annotations`` reads): the dataset's own ``train`` split and its
  ``val`` split (also named ``valid`` / ``validation``). A dataset without a validation split is split
  80/20 at random, stratified by class, with a fixed seed (:data:`SPLIT_SEED`, independent of the training
  seed): the same data always gives the same split, so ``odkit val MODEL DATA`` scores the images that
  ``odkit train DATA`` held out. Without a ``train`` split the whole dataset (less ``test``) is split.
* **A class-folder tree** (``DATA/<class>/*.jpg``, or ``DATA/train/<class>`` + ``DATA/val/<class>``): a
  classifier is trained on it; without train/val folders Keras' ``validation_split=0.2, subset="both"``
  with the same fixed seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odkit.errors import DatasetError

#: Seed of the split made when a dataset has no validation split (fixed: ``odkit val`` finds the same one).
SPLIT_SEED = 0
#: Share of the images held out for validation when the dataset has no validation split.
VAL_FRACTION = 0.2
VAL_NAMES = ("val", "valid", "validation")


@dataclass(frozen=True)
class DetectionSplits:
    """A detection dataset with its train and validation splits resolved.

    Attributes:
        dataset: the ``odkit.io.Dataset`` holding ``train_split`` and ``val_split`` (and any others).
        train_split, val_split: the split names used.
        note: how the splits were chosen, for the user (empty when the dataset's own were used).
    """

    dataset: Any
    train_split: str
    val_split: str
    note: str = ""

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.dataset.categories]


def is_class_folder_tree(path: str | os.PathLike[str]) -> bool:
    """True for a folder whose sub-folders hold images directly (``DATA/<class>/*.jpg``), or whose ``train``
    sub-folder is such a tree, and that no annotation format claims."""
    from odkit.io import detect_format
    from odkit.io._common import is_image_file

    root = Path(path)
    if not root.is_dir():
        return False
    try:
        detect_format(root)
        return False
    except (DatasetError, ValueError):
        pass
    base = root / "train" if (root / "train").is_dir() else root
    subdirs = [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]
    return bool(subdirs) and any(any(is_image_file(f) for f in d.iterdir()) for d in subdirs)


def detection_splits(data: Any, split: str | None = None) -> DetectionSplits:
    """Read ``data`` (a path ``odkit.io`` reads, or an ``odkit.io.Dataset``) and resolve its splits (module
    docstring). ``split`` names the split wanted for validation (``odkit val --split``); None: the val split."""
    from odkit.io import Dataset, read_annotations, split_dataset

    dataset = data if isinstance(data, Dataset) else read_annotations(data)
    if len(dataset) == 0:
        raise DatasetError(f"{data}: the dataset has no images")
    splits = dict(dataset.splits)
    val_name = next((n for n in VAL_NAMES if splits.get(n)), None)
    if split is not None and split not in (*VAL_NAMES, "train") and split not in splits:
        raise DatasetError(f"{data}: no split named {split!r}; the dataset has "
                           f"{sorted(splits) or 'no splits'} (and a held-out 'val' split is made when it has none)")
    if split is not None and split in splits and split not in VAL_NAMES:
        return DetectionSplits(dataset, "train" if "train" in splits else split, split)
    if val_name is not None:
        train_name = "train" if splits.get("train") else None
        if train_name is None:
            raise DatasetError(f"{data}: a {val_name!r} split but no 'train' split; splits: {sorted(splits)}")
        return DetectionSplits(dataset, train_name, val_name)
    # no validation split: hold out VAL_FRACTION of the training images (or of all but 'test')
    if splits.get("train"):
        pool = dataset.subset(list(splits["train"]))
        where = f"its {len(pool)} 'train' images"
    else:
        test = set(splits.get("test", ()))
        pool = dataset.subset([r.id for r in dataset.images if r.id not in test]) if test else dataset
        where = f"its {len(pool)} images" + (" (not 'test')" if test else "")
    if len(pool) < 2:
        raise DatasetError(f"{data}: {len(pool)} image(s) to train on; need at least 2 to hold one out for "
                           "validation")
    held = split_dataset(pool.subset([r.id for r in pool.images]), {"train": 1 - VAL_FRACTION, "val": VAL_FRACTION},
                         seed=SPLIT_SEED, stratify=True)
    merged = dict(splits)
    merged.update({"train": held.splits["train"], "val": held.splits["val"]})
    import dataclasses

    resolved = dataclasses.replace(dataset, splits=merged)
    note = (f"{data}: no validation split; held out {len(held.splits['val'])} of {where} at random "
            f"(stratified, seed {SPLIT_SEED}) as 'val'")
    return DetectionSplits(resolved, "train", "val", note)
