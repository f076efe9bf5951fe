"""Splitting (seeded, stratified), merging and category remapping."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.boxes import GroundTruth
from odkit.errors import DatasetError
from odkit.io import Category, Dataset, ImageRecord, merge_datasets, remap_categories, split_dataset


def _dataset(n: int = 100, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    images, anns = [], {}
    for i in range(1, n + 1):
        images.append(ImageRecord(i, f"im{i}.jpg", f"im{i}.jpg", 100, 100))
        k = int(rng.integers(0, 4))
        # class 3 is rare: only in every 10th image
        cats = rng.integers(1, 3, size=k).tolist() + ([3] if i % 10 == 0 else [])
        boxes = np.tile([10.0, 10, 50, 50], (len(cats), 1))
        anns[i] = GroundTruth(boxes, cats)
    cats = (Category(1, "a"), Category(2, "b"), Category(3, "rare"))
    return Dataset(tuple(images), cats, anns, root="/r")


def test_split_is_seeded_disjoint_and_complete() -> None:
    d = _dataset()
    s1 = split_dataset(d, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)
    s2 = split_dataset(d, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)
    s3 = split_dataset(d, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=4)
    assert dict(s1.splits) == dict(s2.splits) and dict(s1.splits) != dict(s3.splits)
    sizes = {k: len(v) for k, v in s1.splits.items()}
    assert sizes == {"train": 70, "val": 20, "test": 10}
    allids = [i for v in s1.splits.values() for i in v]
    assert sorted(allids) == list(range(1, 101))
    assert len(d.splits) == 0  # the input is not changed


def test_stratified_split_spreads_the_rare_class() -> None:
    d = _dataset()
    s = split_dataset(d, {"train": 0.5, "val": 0.5}, seed=0, stratify=True)
    rare = {k: sum(3 in d.annotations[i].class_ids for i in v) for k, v in s.splits.items()}
    assert rare == {"train": 5, "val": 5}
    assert sum(len(v) for v in s.splits.values()) == 100


@pytest.mark.parametrize("fractions", [{"a": 0.5, "b": 0.4}, {"a": 1.2, "b": -0.2}, {}])
def test_bad_fractions(fractions: dict[str, float]) -> None:
    with pytest.raises(DatasetError, match="fractions"):
        split_dataset(_dataset(10), fractions)


def test_merge_unites_categories_by_name_and_renumbers_images() -> None:
    a = _dataset(3)
    b = Dataset((ImageRecord(1, "x.jpg", "x.jpg", 10, 10),), (Category(1, "b"), Category(7, "new")),
                {1: GroundTruth([[0, 0, 5, 5], [1, 1, 2, 2]], [1, 7])}, root="/other", splits={"val": [1]})
    m = merge_datasets(a, b)
    assert [im.id for im in m.images] == [1, 2, 3, 4]
    assert m.images[3].path == "/other/x.jpg" and m.images[0].path == "/r/im1.jpg"
    assert {c.name: c.id for c in m.categories} == {"a": 1, "b": 2, "rare": 3, "new": 7}
    assert m.annotations[4].class_ids.tolist() == [2, 7]
    assert m.splits["val"] == (4,)
    with pytest.raises(DatasetError):
        merge_datasets()


def test_remap_merges_renames_and_drops() -> None:
    d = _dataset(20)
    r = remap_categories(d, {"a": "ab", "b": "ab", "rare": None})
    assert [(c.id, c.name) for c in r.categories] == [(1, "ab")]
    for i in range(1, 21):
        before = d.annotations[i].class_ids
        after = r.annotations[i].class_ids
        assert len(after) == int(np.sum(before != 3)) and set(after.tolist()) <= {1}
    r2 = remap_categories(d, {"rare": "zebra"}, new_ids={"zebra": 10})
    assert {c.name: c.id for c in r2.categories} == {"a": 1, "b": 2, "zebra": 10}
    with pytest.raises(DatasetError, match="unknown categories"):
        remap_categories(d, {"nope": "x"})
