"""``image_dataset_from_directory`` with the signature and semantics of Keras 3.15, minus its faults.

Same as Keras (checked against tensorflow-cpu 2.21 + keras 3.15.1): argument errors (same messages),
allowed extensions, ``class_names``, file order, ``RandomState(seed)`` shuffle, training/validation
membership for a seed, labels, dtypes, shapes, printed lines, resize arithmetic.

odkit differences, all deliberate:

* A split that rounds to zero validation files: Keras <= 3.15.1 returns *all* files as "validation" and
  fails on "training"; odkit returns every file for training and raises ``DatasetError`` for the empty
  validation subset, naming the arithmetic.
* Unreadable images never kill an epoch: ``on_error="skip"`` (default) warns with the file name and
  counts them; ``on_error="raise"`` raises ``ImageDecodeError`` naming the file.
* ``stratify=True``: per-class split (opt-in; off by default to keep Keras membership).
* ``cache=True``: processed images are kept in memory after the first read.
* GIF/BMP as grayscale and GIF/JPEG as RGBA are converted (TensorFlow fails on them mid-epoch), and
  ``crop_to_aspect_ratio`` works with every interpolation (Keras's TF backend rejects gaussian and
  mitchellcubic there).
* A validation subset is never reshuffled between epochs; ``ds.iter_epoch(with_paths=True)`` yields the
  files with each batch, so predictions line up with paths even when shuffled.
* The caller's ``labels`` list is not shuffled in place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from odkit.data._folder import ImageFolderDataset
from odkit.data._index import ALLOWLIST_FORMATS, check_split_args, index_directory, split_indices
from odkit.data._resize import INTERPOLATIONS
from odkit.errors import DatasetError

__all__ = ["image_dataset_from_directory"]

_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def image_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: int | tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    verbose: bool = True,
    *,
    on_error: str = "skip",
    stratify: bool = False,
    cache: bool = False,
    num_workers: int | None = None,
    output: str = "numpy",
) -> Any:
    """A dataset of images (and labels) from a folder tree, as ``keras.utils.image_dataset_from_directory``.

    Args:
        directory: root folder; with ``labels="inferred"`` each non-hidden sub-folder is a class.
        labels: ``"inferred"``, None, or one int per file in sorted walk order.
        label_mode: ``"int"`` (int32 (B,)), ``"categorical"`` (float32 (B, C)), ``"binary"`` (float32 (B, 1))
            or None (images only).
        class_names: with ``"inferred"``: a subset of the sub-folder names, in label order.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels).
        batch_size: batch size, or None for single elements.
        image_size: output (height, width) in pixels, or one int for a square.
        shuffle: shuffle the file list with ``RandomState(seed)`` and each training epoch.
        seed: shuffle seed; required with ``validation_split`` when shuffling; None draws one.
        validation_split: fraction in (0, 1) kept for validation (the last ``int(split * N)`` files).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns ``[train, val]``).
        interpolation: one of bilinear, nearest, bicubic, area, lanczos3, lanczos5, gaussian, mitchellcubic;
            ``"nearest"`` yields uint8 images, the others float32 in [0, 255] (not rescaled).
        follow_links: walk into symlinked sub-folders.
        crop_to_aspect_ratio: centre-crop to the target aspect ratio before resizing.
        pad_to_aspect_ratio: resize keeping the aspect ratio and zero-pad.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        verbose: print ``Found N files belonging to C classes.``.
        on_error: ``"skip"`` unreadable images with a warning, or ``"raise"`` ``ImageDecodeError``.
        stratify: split each class separately (odkit only).
        cache: keep processed images in memory after the first epoch.
        num_workers: decoding threads (default min(4, CPUs)).
        output: ``"numpy"`` or ``"torch"`` tensors.

    Returns:
        An :class:`ImageFolderDataset` with ``.class_names`` and ``.file_paths``; a list
        ``[training, validation]`` for ``subset="both"``.

    Raises:
        ValueError: Keras's argument errors, with Keras's messages.
        DatasetError: no images, or a split that leaves a subset empty.
    """
    directory = os.fspath(directory)
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size as the number of "
                "image files in the target directory. If you wish to infer the labels from the subdirectory "
                'names in the target directory, pass `labels="inferred"`. If you wish to get a dataset that '
                f"only contains images (no labels), pass `labels=None`. Received: labels={labels}"
            )
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. '
                f"Received: labels={labels}, and class_names={class_names}"
            )
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", '
            f"or None. Received: label_mode={label_mode}"
        )
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError(
            f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: color_mode={color_mode}'
        )
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(
            f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: image_size={image_size}"
        )
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"Argument `interpolation` should be one of {INTERPOLATIONS}. Received: interpolation={interpolation}"
        )
    check_split_args(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1e6))
    index = index_directory(
        directory,
        labels,
        class_names=class_names,
        shuffle=shuffle,
        seed=seed,
        follow_links=follow_links,
        verbose=verbose,
    )
    if label_mode == "binary" and len(index.class_names or ()) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 '
            f"class_names. Received: class_names={list(index.class_names or ())}"
        )
    data_format = "channels_last" if data_format is None else str(data_format).lower()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}"
        )
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")

    def build(subset_name: str | None, positions: np.ndarray, shuffle_epochs: bool) -> ImageFolderDataset:
        return ImageFolderDataset(
            [index.file_paths[i] for i in positions],
            None if index.labels is None else index.labels[positions],
            index.class_names,
            label_mode=label_mode,
            num_channels=_CHANNELS[color_mode],
            image_hw=(int(image_size[0]), int(image_size[1])),
            interpolation=interpolation,
            crop_to_aspect_ratio=crop_to_aspect_ratio,
            pad_to_aspect_ratio=pad_to_aspect_ratio,
            data_format=data_format,
            batch_size=batch_size,
            shuffle=shuffle_epochs,
            seed=seed,
            on_error=on_error,
            cache=cache,
            num_workers=num_workers,
            output=output,
        )

    n = len(index.file_paths)
    subsets = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for name in subsets:
        if name is None:
            positions = np.arange(n, dtype=np.int64)
        else:
            positions = split_indices(n, validation_split, name, labels=index.labels, stratify=stratify)
        if len(positions) == 0:
            raise _empty_error(directory, name if subset == "both" else None, n, validation_split, stratify)
        datasets.append(build(name, positions, shuffle and name != "validation"))
    return datasets if subset == "both" else datasets[0]


def _empty_error(
    directory: str, subset: str | None, n: int, validation_split: float | None, stratify: bool
) -> DatasetError:
    if n == 0:
        which = f"No {subset} images" if subset else "No images"
        return DatasetError(f"{which} found in directory {directory}. Allowed formats: {ALLOWLIST_FORMATS}")
    how = "per class " if stratify else ""
    return DatasetError(
        f"validation_split={validation_split} of {n} files in {directory} leaves no validation files "
        f"{how}(int({validation_split} * {n}) rounds to 0 in Keras's rule); use a larger validation_split "
        "or more files"
    )
