"""Dataset operations that return new datasets: seeded splitting, merging, category remapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from odkit.boxes import GroundTruth
from odkit.errors import DatasetError
from odkit.io._model import Category, Dataset, ImageRecord


def _counts(n: int, fractions: list[float]) -> list[int]:
    """Split n items by fractions with the largest-remainder rule (sums to n exactly)."""
    raw = np.asarray(fractions) * n
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    for k in order[: n - int(base.sum())]:
        base[k] += 1
    return base.tolist()


def split_dataset(
    dataset: Dataset, fractions: Mapping[str, float], seed: int = 0, stratify: bool = False
) -> Dataset:
    """Assign every image to one split, at random but reproducibly.

    Args:
        dataset: the dataset (not modified).
        fractions: split name -> fraction of the images, e.g. ``{"train": 0.8, "val": 0.2}``; each > 0,
            summing to 1.
        seed: seed of the numpy generator; the same seed gives the same split.
        stratify: keep each class's share similar across splits. Each image is put in the stratum of its
            rarest class (images without objects form their own stratum) and every stratum is split by
            the fractions.

    Returns:
        A copy whose ``splits`` are the new splits (existing splits are replaced); ids in image order.

    Raises:
        DatasetError: on fractions that are not positive or do not sum to 1.
    """
    names = list(fractions)
    fr = [float(fractions[k]) for k in names]
    if not names or any(not f > 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise DatasetError(f"fractions must be positive and sum to 1; got {dict(fractions)}")
    rng = np.random.default_rng(seed)
    ids = [im.id for im in dataset.images]
    if stratify:
        images_per_class: dict[int, int] = {}
        for i in ids:
            for c in set(dataset.annotations[i].class_ids.tolist()):
                images_per_class[c] = images_per_class.get(c, 0) + 1
        strata: dict[int, list[int]] = {}
        for i in ids:
            cats = set(dataset.annotations[i].class_ids.tolist())
            key = min(cats, key=lambda c: (images_per_class[c], c)) if cats else -(2**62)
            strata.setdefault(key, []).append(i)
        groups = [strata[k] for k in sorted(strata)]
    else:
        groups = [ids]
    assigned: dict[str, set[int]] = {k: set() for k in names}
    for group in groups:
        perm = rng.permutation(len(group))
        start = 0
        for name, n in zip(names, _counts(len(group), fr)):
            assigned[name].update(group[j] for j in perm[start:start + n])
            start += n
    splits = {k: tuple(i for i in ids if i in assigned[k]) for k in names}
    return replace(dataset, splits=splits)


def merge_datasets(*datasets: Dataset) -> Dataset:
    """One dataset holding the images of all (in order), with categories united by name.

    Image ids are renumbered 1..N and image paths made absolute-or-as-resolved (``root`` is None);
    a category keeps the id it has in the first dataset that names it, or gets the next free id.
    Splits with the same name are concatenated.

    Raises:
        DatasetError: when called with no dataset, or when a box's category id is not in its dataset's
            categories (named with the image).
    """
    if not datasets:
        raise DatasetError("merge_datasets needs at least one dataset")
    by_name: dict[str, Category] = {}
    used_ids: set[int] = set()
    for d in datasets:
        for c in d.categories:
            if c.name in by_name:
                continue
            cid = c.id if c.id not in used_ids else max(used_ids) + 1
            by_name[c.name] = Category(cid, c.name, c.supercategory)
            used_ids.add(cid)
    images, annotations, splits = [], {}, {}
    for k, d in enumerate(datasets):
        id_map = {c.id: by_name[c.name].id for c in d.categories}
        new_ids = {}
        for im in d.images:
            new_id = len(images) + 1
            new_ids[im.id] = new_id
            path = d.image_path(im).as_posix()
            images.append(ImageRecord(new_id, im.file_name, path, im.width, im.height, im.annotation_file))
            ann = d.annotations[im.id]
            stray = sorted(set(ann.class_ids.tolist()) - set(id_map))
            if stray:
                raise DatasetError(f"merge_datasets: image {im.file_name!r} (id {im.id}) of dataset {k} has "
                                   f"boxes with category id(s) {stray} that are not in its categories "
                                   f"{sorted(id_map)}")
            cats = np.array([id_map[c] for c in ann.class_ids.tolist()], np.int64)
            annotations[new_id] = ann.with_(class_ids=cats)
        for name, members in d.splits.items():
            splits.setdefault(name, []).extend(new_ids[i] for i in members)
    return Dataset(tuple(images), tuple(by_name.values()), annotations, root=None, splits=splits,
                   issues=tuple(i for d in datasets for i in d.issues), source={"format": "merged"})


def remap_categories(
    dataset: Dataset, mapping: Mapping[str, str | None], new_ids: Mapping[str, int] | None = None
) -> Dataset:
    """Rename, merge or drop categories.

    Args:
        dataset: the dataset (not modified).
        mapping: old name -> new name (several old names may map to one), or None to drop that class's
            boxes. Names not in ``mapping`` are kept.
        new_ids: new name -> id; by default a new name takes the smallest id among the old categories
            that map to it.

    Returns:
        A copy with the new categories; dropped boxes are removed from their images.

    Raises:
        DatasetError: when ``mapping`` names a category the dataset does not have, ids collide, or a box's
            category id is not in the categories (named with the image).
    """
    known = {c.name for c in dataset.categories}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise DatasetError(f"remap_categories: unknown categories {unknown}; known: {sorted(known)}")
    target: dict[int, str | None] = {c.id: mapping.get(c.name, c.name) for c in dataset.categories}
    ids_for: dict[str, int] = {}
    for c in dataset.categories:
        t = target[c.id]
        if t is not None:
            ids_for[t] = min(ids_for.get(t, c.id), c.id)
    if new_ids is not None:
        ids_for.update({k: int(v) for k, v in new_ids.items() if k in ids_for})
    if len(set(ids_for.values())) != len(ids_for):
        raise DatasetError(f"remap_categories: new category ids collide: {ids_for}")
    old_to_new = {old: (ids_for[t] if t is not None else None) for old, t in target.items()}
    annotations = {}
    for im in dataset.images:
        ann: GroundTruth = dataset.annotations[im.id]
        stray = sorted(set(ann.class_ids.tolist()) - set(old_to_new))
        if stray:
            raise DatasetError(f"remap_categories: image {im.file_name!r} (id {im.id}) has boxes with category "
                               f"id(s) {stray} that are not in the categories {sorted(old_to_new)}")
        keep = np.array([old_to_new[c] is not None for c in ann.class_ids.tolist()], bool)
        ann = ann[keep] if len(ann) else ann
        cats = np.array([old_to_new[c] for c in ann.class_ids.tolist()], np.int64)
        annotations[im.id] = ann.with_(class_ids=cats)
    categories = tuple(Category(i, n) for n, i in ids_for.items())
    return replace(dataset, categories=categories, annotations=annotations)
