"""COCO with splits: one instances file per split, ``annotations/instances_<split>.json``, as COCO itself
ships (``instances_train2017.json``, ``instances_val2017.json``).

Writing: each split's images and objects go to their own file, through ``write_coco``; image ids and
category ids are the dataset's, and annotation ids are numbered once over the whole dataset when the source
has none, so that the files never disagree about an object. An image in two splits (VOC's ``trainval`` =
``train`` + ``val``) is in both files, as COCO's overlapping ``trainval35k`` / ``minival`` files are. Images in
no split go to ``instances_unassigned.json``, read back as images in no split.

Reading: every ``instances_<split>.json`` of the folder, through ``read_coco``, merged into one dataset whose
splits are named after the files. An image id in two files is one image when both files give it the same
``file_name``; when they do not, the files number their images independently (Roboflow exports) and the
images are renumbered 1..N with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from odkit.errors import AnnotationError, DatasetError
from odkit.io._coco import read_coco, write_coco
from odkit.io._common import WriteReport, natural_key
from odkit.io._model import Category, Dataset, ImageRecord, Issue

UNASSIGNED = "unassigned"  # instances_unassigned.json: the images of no split
_SPLIT_ORDER = ("train", "val", "test")


def _order(names: Iterable[str]) -> list[str]:
    """train, val, test first, then the others in natural order, ``unassigned`` last."""
    return sorted(names, key=lambda s: (s == UNASSIGNED, s not in _SPLIT_ORDER,
                                        _SPLIT_ORDER.index(s) if s in _SPLIT_ORDER else 0, natural_key(s)))


def split_parts(dataset: Dataset) -> dict[str, Dataset]:
    """Split name -> the images of that split as a dataset without splits (``unassigned``: the images of no
    split, when there are any), with annotation ids numbered 1..N over the whole dataset unless the dataset's
    own ids are all set and unique.

    Raises:
        DatasetError: when a split is called ``unassigned`` and some images are in no split (both would be
            written to ``instances_unassigned.json``).
    """
    anns = [dataset.annotations[im.id] for im in dataset.images]
    ids = np.concatenate([a.ann_ids for a in anns]) if anns else np.zeros(0, np.int64)
    if ids.size and not (np.all(ids >= 0) and np.unique(ids).size == ids.size):
        renumbered, start = {}, 1
        for im, a in zip(dataset.images, anns):
            renumbered[im.id] = a.with_(ann_ids=np.arange(start, start + len(a), dtype=np.int64))
            start += len(a)
        dataset = replace(dataset, annotations=renumbered)
    in_splits = {i for members in dataset.splits.values() for i in members}
    rest = [im.id for im in dataset.images if im.id not in in_splits]
    if rest and UNASSIGNED in dataset.splits:
        raise DatasetError(f"a split is called {UNASSIGNED!r} and {len(rest)} images are in no split: both would "
                           f"be written to instances_{UNASSIGNED}.json; rename the split")
    parts = {name: replace(dataset.subset(dataset.splits[name]), splits={}) for name in _order(dataset.splits)}
    if rest:
        parts[UNASSIGNED] = replace(dataset.subset(rest), splits={})
    return parts


def write_coco_splits(parts: Mapping[str, Dataset], folder: str | os.PathLike[str]) -> WriteReport:
    """Write ``folder/annotations/instances_<split>.json`` for each ``split -> dataset`` of ``parts``
    (``split_parts``' output, image paths already where the files should point).

    Returns:
        One report: the images and boxes written (an image in two splits counted once), the issues of every
        file (an object of two splits reported once), and ``unassigned_images`` when images of no split
        were written to ``instances_unassigned.json``.
    """
    out = Path(folder)
    report = WriteReport("coco", str(out / "annotations"))
    seen_issues: set[Issue] = set()
    images: set[int] = set()
    for name, part in parts.items():
        file = out / "annotations" / f"instances_{name}.json"
        sub = write_coco(part, file)
        for issue in sub.issues:
            if issue not in seen_issues:
                seen_issues.add(issue)
                report.issues.append(issue)
        new = [im.id for im in part.images if im.id not in images]
        images.update(new)
        report.images += len(new)
        report.boxes += sum(len(part.annotations[i]) for i in new)
        if name == UNASSIGNED:
            report.skip("unassigned_images", str(file), None, f"{len(part)} images are in no split: written to "
                        f"instances_{UNASSIGNED}.json, read back as images in no split")
    return report


def _merge_roots(parts: list[tuple[str, Dataset]]) -> tuple[Path | None, dict[str, dict[int, str]]]:
    """One root for the merged dataset and, per split, image id -> path relative to it (or absolute)."""
    roots = {d.root for _, d in parts}
    if len(roots) == 1:
        return next(iter(roots)), {s: {im.id: im.path for im in d.images} for s, d in parts}
    real = [Path(os.path.abspath(r)) for r in roots if r is not None]
    root = Path(os.path.commonpath(real)) if len(real) == len(roots) else None
    paths = {}
    for s, d in parts:
        paths[s] = {}
        for im in d.images:
            p = Path(os.path.abspath(d.image_path(im)))
            paths[s][im.id] = os.path.relpath(p, root).replace(os.sep, "/") if root is not None else p.as_posix()
    return root, paths


def read_coco_splits(
    files: Iterable[tuple[str, str | os.PathLike[str]]],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    source: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Read one COCO instances file per split as one dataset with those splits.

    Args:
        files: ``(split, file)`` pairs; the split ``unassigned`` holds images of no split.
        images_dir: the images folder of every file; None: each file's images are found as ``read_coco``
            finds them (``images/<split>/`` or ``../<split>`` beside ``annotations/``...).
        strict: as for ``read_coco``.
        source: the folder, for ``Dataset.source``.

    Returns:
        The merged dataset: image ids as the files give them (renumbered only when two files give one id to
        different file names), images sorted by id, categories united, splits named after the files.

    Raises:
        AnnotationError: a malformed file; the same category id with two names, or the same image with
            different objects, in two files (naming both).
    """
    given = {s: Path(f) for s, f in files}
    pairs = [(s, given[s]) for s in _order(given)]
    parts = [(s, read_coco(f, images_dir, strict=strict)) for s, f in pairs]
    file_of = {s: f for s, f in pairs}
    categories: dict[int, tuple[Category, str]] = {}
    for s, d in parts:
        for c in d.categories:
            known = categories.setdefault(c.id, (c, s))
            if known[0].name != c.name:
                raise AnnotationError(file_of[s], "categories", f"category id {c.id} is {c.name!r} here but "
                                      f"{known[0].name!r} in {file_of[known[1]]}")
    names: dict[int, tuple[str, str]] = {}
    independent = False
    for s, d in parts:
        for im in d.images:
            first = names.setdefault(im.id, (im.file_name, s))
            if first[1] != s and first[0] != im.file_name:
                independent = True
    root, paths = _merge_roots(parts)
    issues = [i for _, d in parts for i in d.issues]
    images: dict[int, ImageRecord] = {}
    annotations = {}
    splits: dict[str, list[int]] = {}
    for s, d in parts:
        members = []
        for im in d.images:
            new_id = len(images) + 1 if independent else im.id
            rec = replace(im, id=new_id, path=paths[s][im.id])
            ann = d.annotations[im.id]
            if new_id in images:
                prev = annotations[new_id]
                if not (np.array_equal(prev.boxes_xyxy, ann.boxes_xyxy)
                        and np.array_equal(prev.class_ids, ann.class_ids)):
                    raise AnnotationError(file_of[s], f"images[id={im.id}]", f"image {im.file_name!r} has other "
                                          f"objects than in {images[new_id].annotation_file}")
            else:
                images[new_id], annotations[new_id] = rec, ann
            members.append(new_id)
        if s != UNASSIGNED:
            splits[s] = members
    if independent:
        issues.append(Issue("image_ids_renumbered", "warning", str(source or pairs[0][1].parent), None,
                            "the split files give one image id to different file names: images renumbered "
                            f"1..{len(images)} in file order ({', '.join(f.name for _, f in pairs)})"))
    ordered = tuple(images.values()) if independent else tuple(images[i] for i in sorted(images))
    return Dataset(
        images=ordered, categories=tuple(c for c, _ in categories.values()), annotations=annotations, root=root,
        splits=splits, issues=tuple(issues),
        source={"format": "coco", "path": str(source or pairs[0][1].parent),
                "files": {s: str(f) for s, f in pairs}},
    )
