"""The in-memory dataset model: validation, immutability, lookups, GroundTruth hand-off."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from odkit.boxes import GroundTruth
from odkit.errors import BoxFormatError, DatasetError
from odkit.io import Category, Dataset, ImageRecord
from tests.conftest import assert_unchanged


def _dataset() -> Dataset:
    ann = GroundTruth(
        np.array([[0, 0, 10, 10], [5, 5, 5, 9], [2, 2, 8, 4]], np.int64), [1, 90, 1],
        difficult=[False, False, True], extras=[{"voc_pose": "Left"}, {}, {}],
    )
    return Dataset(
        images=(ImageRecord(3, "a.jpg", "a.jpg", 20, 10), ImageRecord(8, "b.jpg", "/abs/b.jpg", 5, 5)),
        categories=(Category(90, "brush"), Category(1, "car")),
        annotations={3: ann}, root=Path("/data/images"), splits={"train": [8, 3]},
    )


def test_every_image_has_annotations_and_categories_are_sorted() -> None:
    d = _dataset()
    assert len(d) == 2 and d.num_boxes == 3
    assert len(d.annotations[8]) == 0 and d.annotations[8].boxes_xyxy.shape == (0, 4)
    assert [c.id for c in d.categories] == [1, 90]
    assert d.category_names == {1: "car", 90: "brush"} and d.category_id("brush") == 90
    assert d.category_index == {1: 0, 90: 1}
    assert d.splits["train"] == (8, 3)
    assert d.image_path(3) == Path("/data/images/a.jpg") and d.image_path(d.images[1]) == Path("/abs/b.jpg")
    assert [im.id for im, _ in d] == [3, 8]
    assert repr(d) == ("Dataset(images=2, boxes=3, categories=['car', 'brush'], splits={'train': 2}, "
                       "root='/data/images', issues=0, source=None)")


def test_columns_are_frozen_float64_and_indexing_returns_new_objects() -> None:
    ann = _dataset().annotations[3]
    assert ann.boxes_xyxy.dtype == np.float64 and ann.class_ids.dtype == np.int64
    with pytest.raises(ValueError):
        ann.boxes_xyxy[0, 0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        ann.boxes_xyxy = np.zeros((0, 4))  # type: ignore[misc]
    sub = ann[np.array([True, False, True])]
    assert len(sub) == 2 and sub.extras[0]["voc_pose"] == "Left" and sub.difficult.tolist() == [False, True]
    assert len(ann[1]) == 1 and ann[1].class_ids.tolist() == [90]
    np.testing.assert_array_equal(ann.area, [100, 0, 12])
    both = GroundTruth.concat([ann, sub])
    assert len(both) == 5 and both.extras[3]["voc_pose"] == "Left"


def test_inputs_are_not_mutated() -> None:
    boxes = np.array([[1.0, 2, 3, 4]])
    ids = np.array([1])
    assert_unchanged(GroundTruth, boxes, ids)


def test_bad_shapes_and_ids_are_typed_errors() -> None:
    with pytest.raises(BoxFormatError, match=r"shape \(N, 4\)"):
        GroundTruth(np.zeros((2, 3)), [1, 1])
    with pytest.raises(BoxFormatError, match="class_ids"):
        GroundTruth(np.zeros((2, 4)), [1])
    im = ImageRecord(1, "a", "a")
    with pytest.raises(DatasetError, match="image id 1 appears more than once"):
        Dataset((im, im), (), {})
    with pytest.raises(DatasetError, match="category name 'x'"):
        Dataset((), (Category(1, "x"), Category(2, "x")), {})
    with pytest.raises(DatasetError, match="not in images"):
        Dataset((im,), (), {5: GroundTruth.empty()})
    with pytest.raises(DatasetError, match="split 'val'"):
        Dataset((im,), (), {}, splits={"val": [2]})
    with pytest.raises(DatasetError, match="unknown category 'zebra'"):
        _dataset().category_id("zebra")


def test_ground_truth_is_the_stored_float64_container_and_drops_degenerate_boxes() -> None:
    d = _dataset()
    with pytest.raises(DatasetError, match=r"a.jpg: object 1 has a zero-size"):
        d.ground_truth(3)
    gt = d.ground_truth(3, drop_degenerate=True)
    assert gt.boxes_xyxy.dtype == np.float64 and len(gt) == 2
    assert gt.class_ids.tolist() == [1, 1] and gt.difficult.tolist() == [False, True]
    assert len(d.ground_truth(8)) == 0
    with pytest.raises(DatasetError, match="no image with id 99"):
        d.ground_truth(99)


def test_subset_and_split_keep_order_and_restrict_splits() -> None:
    d = _dataset()
    s = d.split("train")
    assert [im.id for im in s.images] == [8, 3]
    only = d.subset([3])
    assert [im.id for im in only.images] == [3] and only.splits["train"] == (3,)
    with pytest.raises(DatasetError, match="no split 'val'"):
        d.split("val")
    with pytest.raises(DatasetError, match="not in the dataset"):
        d.subset([4])


def test_category_ids_are_never_truncated() -> None:
    with pytest.raises(BoxFormatError, match=r"class_ids\[0\] must be an integer; got"):
        GroundTruth(np.array([[0.0, 0, 1, 1]]), class_ids=[1.7])
    assert GroundTruth(np.array([[0.0, 0, 1, 1]]), class_ids=[2.0]).class_ids.tolist() == [2]


def test_csv_writer_skips_what_it_cannot_hold(tmp_path: Path) -> None:
    from odkit.io import read_csv, write_csv

    boxes = np.array([[10.0, 10, 50, 50], [5, 5, 5, 20]])
    ds = Dataset(
        images=(ImageRecord(1, "a.jpg", "a.jpg", 100, 100),),
        categories=(Category(1, "cat"),),
        annotations={1: GroundTruth(boxes, [1, 1])},
    )
    report = write_csv(ds, tmp_path / "a.csv")
    codes = sorted(f.code for f in report.issues)
    assert codes == ["zero_size"], codes
    back = read_csv(tmp_path / "a.csv", images_dir=tmp_path)
    np.testing.assert_allclose(back.annotations[back.images[0].id].boxes_xyxy, boxes[:1])
