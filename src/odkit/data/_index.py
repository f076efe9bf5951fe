"""Folder indexing and the training/validation split, with Keras 3 semantics (numpy only).

Reproduces ``keras/src/utils/dataset_utils.py`` (``index_directory``, ``get_training_or_validation_split``,
``check_validation_split_arg``) as of keras 3.15.1, so that the same directory and seed give the same
``class_names``, file order, labels and split membership. Deliberate differences are marked "odkit:".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from odkit.errors import DatasetError

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

__all__ = ["ALLOWLIST_FORMATS", "FolderIndex", "check_split_args", "index_directory", "split_indices"]


@dataclass(frozen=True)
class FolderIndex:
    """The files of a folder dataset, in Keras order.

    Attributes:
        file_paths: paths as ``os.path.join(directory, relative_path)``, in dataset order.
        labels: (N,) int32 label per file, or None when ``labels=None``.
        class_names: class name per label index, or None when ``labels=None``.
    """

    file_paths: tuple[str, ...]
    labels: np.ndarray | None
    class_names: tuple[str, ...] | None


def check_split_args(validation_split: float | None, subset: str | None, shuffle: bool, seed: int | None) -> None:
    """Raise Keras's ``ValueError`` messages for an invalid split configuration."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` argument, to make "
            "sure that there is no overlap between the training and validation subset."
        )


def _walk_files(directory: str, follow_links: bool, formats: tuple[str, ...]) -> list[str]:
    """Relative paths of allowed files under ``directory``: roots sorted as strings, then names sorted.

    Like Keras, hidden sub-directories and hidden files are walked (only the top-level class folders
    are filtered), and symlinked directories are entered only with ``follow_links``.
    """
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                found.append(os.path.relpath(os.path.join(root, fname), directory))
    return found


def index_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None,
    *,
    class_names: Sequence[str] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    follow_links: bool = False,
    formats: tuple[str, ...] = ALLOWLIST_FORMATS,
    verbose: bool = True,
) -> FolderIndex:
    """List the image files of ``directory`` with their labels, in Keras's order.

    Args:
        directory: root folder.
        labels: ``"inferred"`` (one class per non-hidden immediate sub-folder), None (no labels; every
            allowed file under the root, hidden folders included), or one int label per file in sorted
            walk order.
        class_names: with ``"inferred"``, a subset of the sub-folder names; its order defines the labels.
        shuffle: shuffle the sorted list with ``np.random.RandomState(seed)`` (paths and labels alike).
        seed: shuffle seed; None draws one with ``np.random.randint(1e6)`` (as Keras does).
        follow_links: walk into symlinked sub-directories.
        formats: allowed lower-case extensions.
        verbose: print ``Found N files belonging to C classes.`` (or ``Found N files.``).

    Returns:
        The index; ``labels`` is an int32 array (N,).

    Raises:
        ValueError: on Keras's argument errors (exact Keras messages).
        DatasetError: if ``directory`` is not a folder.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise DatasetError(f"{directory}: expected a directory of images; it does not exist or is not a folder")
    if labels == "inferred":
        subdirs = [
            name
            for name in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories of the target "
                    f"directory. Expected: {subdirs} (or a subset of it), but received: "
                    f"class_names={list(class_names)}"
                )
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            if labels is None:
                raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise ValueError(
                "When argument `labels` is specified, argument `class_names` cannot be specified (the "
                "`class_names` will be the sorted list of labels)."
            )

    relative_paths: list[str] = []
    label_list: list[int] = []
    for class_index, subdir in enumerate(subdirs):
        files = _walk_files(os.path.join(directory, subdir), follow_links, formats)
        relative_paths += [os.path.join(subdir, f) for f in files]
        label_list += [class_index] * len(files)

    names: tuple[str, ...] | None
    if labels == "inferred":
        label_array: np.ndarray | None = np.asarray(label_list, dtype=np.int32)
        names = tuple(subdirs)
    elif labels is None:
        label_array, names = None, None
    else:
        if len(labels) != len(relative_paths):  # type: ignore[arg-type]
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target directory. "
                f"len(labels) is {len(labels)} while we found {len(relative_paths)} files in directory "  # type: ignore[arg-type]
                f"{directory}."
            )
        # odkit: the caller's list is copied, never shuffled in place (Keras shuffles it in place).
        label_array = np.array(list(labels), dtype=np.int32)  # type: ignore[arg-type]
        names = tuple(str(label) for label in sorted(set(label_array.tolist())))
    if verbose:
        if label_array is None:
            print(f"Found {len(relative_paths)} files.")
        else:
            print(f"Found {len(relative_paths)} files belonging to {len(names or ())} classes.")

    file_paths = [os.path.join(directory, rel) for rel in relative_paths]
    if shuffle:
        if seed is None:
            seed = int(np.random.randint(1e6))
        np.random.RandomState(seed).shuffle(file_paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return FolderIndex(tuple(file_paths), label_array, names)


def split_indices(
    n: int,
    validation_split: float | None,
    subset: str,
    *,
    labels: np.ndarray | None = None,
    stratify: bool = False,
) -> np.ndarray:
    """Positions (into the already shuffled index) that belong to ``subset``; prints Keras's line.

    Keras takes the last ``int(validation_split * n)`` files as validation. odkit: a split that rounds to
    zero gives an empty validation set and the full training set (Keras <= 3.15.1 swaps them, because
    ``paths[:-0]`` is empty); the caller reports an empty subset with a clear error.

    With ``stratify=True`` (odkit only) each class contributes its own last ``int(validation_split * n_c)``
    files, in shuffled order, so class proportions are kept; positions stay in shuffled order.

    Args:
        n: number of files.
        validation_split: fraction in (0, 1), or None/0 for no split.
        subset: ``"training"`` or ``"validation"``.
        labels: (n,) labels in shuffled order; required with ``stratify``.
        stratify: split each class separately.

    Returns:
        (K,) int64 positions in increasing order.
    """
    if not validation_split:
        return np.arange(n, dtype=np.int64)
    if subset not in ("training", "validation"):
        raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')
    is_val = np.zeros(n, dtype=bool)
    if stratify:
        if labels is None:
            raise DatasetError("stratify=True needs labels; it cannot be used with labels=None")
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            n_val_c = int(validation_split * len(members))
            if n_val_c:
                is_val[members[len(members) - n_val_c :]] = True
    else:
        n_val = int(validation_split * n)
        is_val[n - n_val :] = True
    n_val = int(is_val.sum())
    if subset == "training":
        print(f"Using {n - n_val} files for training.")
        return np.flatnonzero(~is_val).astype(np.int64)
    print(f"Using {n_val} files for validation.")
    return np.flatnonzero(is_val).astype(np.int64)
