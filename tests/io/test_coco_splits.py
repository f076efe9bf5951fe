"""Conversions keep splits: COCO written as one ``annotations/instances_<split>.json`` per split and read
back with them; VOC -> COCO -> YOLO keeps BCCD's train/val/test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from odkit.cli.main import main
from odkit.errors import AnnotationError, DatasetError
from odkit.io import Category, Dataset, GroundTruth, ImageRecord, detect_format, read_annotations, write_annotations
from tests.io._helpers import assert_same_boxes, make_image

BCCD = Path("/work/shared/datasets/bccd/BCCD")
BCCD_SPLITS = {"test": 72, "train": 205, "trainval": 292, "val": 87}


def _counts(ds: Dataset) -> dict[str, int]:
    return {k: len(v) for k, v in ds.splits.items()}


def _assert_identical(a: Dataset, b: Dataset) -> None:
    """Same image ids, file names, splits, and bit-identical boxes and class ids."""
    assert [im.id for im in a.images] == [im.id for im in b.images]
    assert {k: list(v) for k, v in a.splits.items()} == {k: list(v) for k, v in b.splits.items()}
    for im in a.images:
        assert Path(b.image(im.id).path).name == Path(im.path).name
        ga, gb = a.annotations[im.id], b.annotations[im.id]
        np.testing.assert_array_equal(ga.boxes_xyxy, gb.boxes_xyxy)
        np.testing.assert_array_equal(ga.class_ids, gb.class_ids)


def _small(tmp_path: Path, splits: dict[str, tuple[int, ...]]) -> Dataset:
    """Four 40x30 images, one box each (ids 1..4), with ``splits``."""
    images, anns = [], {}
    for i in range(1, 5):
        make_image(tmp_path / "src" / f"im{i}.jpg", 40, 30)
        images.append(ImageRecord(i, f"im{i}.jpg", f"im{i}.jpg", 40, 30))
        anns[i] = GroundTruth(np.array([[i, 2.5, 20, 10 + i]], np.float64), np.array([1 + i % 2], np.int64))
    return Dataset(tuple(images), (Category(1, "a"), Category(2, "b")), anns, root=tmp_path / "src", splits=splits)


@pytest.mark.skipif(not BCCD.is_dir(), reason="shared BCCD dataset not present")
def test_bccd_voc_to_coco_to_yolo_keeps_its_splits(tmp_path: Path) -> None:
    voc = read_annotations(BCCD)
    assert _counts(voc) == BCCD_SPLITS
    report = write_annotations(voc, tmp_path / "coco", "coco", copy_images="symlink")
    assert (report.images, report.boxes) == (364, 4888)
    assert "splits_dropped" not in {i.code for i in report.issues}
    ann = tmp_path / "coco" / "annotations"
    assert sorted(p.name for p in ann.iterdir()) == [f"instances_{s}.json" for s in sorted(BCCD_SPLITS)]
    for split, n in BCCD_SPLITS.items():
        data = json.loads((ann / f"instances_{split}.json").read_text())
        assert len(data["images"]) == n == len(list((tmp_path / "coco" / "images" / split).iterdir()))
    assert detect_format(tmp_path / "coco").value == "coco"
    coco = read_annotations(tmp_path / "coco")
    assert _counts(coco) == BCCD_SPLITS
    _assert_identical(voc, coco)
    assert all(coco.image_path(im).is_file() for im in coco.images)
    write_annotations(coco, tmp_path / "yolo", "yolo", copy_images="symlink")
    yolo = read_annotations(tmp_path / "yolo")
    assert _counts(yolo) == BCCD_SPLITS
    by_name = {Path(im.path).name: im.id for im in voc.images}
    for split in BCCD_SPLITS:
        got = sorted(by_name[Path(yolo.image(i).path).name] for i in yolo.splits[split])
        assert got == sorted(voc.splits[split]), split
    assert_same_boxes(voc, yolo, atol=1e-3)  # YOLO's 6 decimals of normalized coordinates


@pytest.mark.skipif(not BCCD.is_dir(), reason="shared BCCD dataset not present")
def test_bccd_convert_cli_keeps_its_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(BCCD), str(tmp_path / "coco"), "--to", "coco", "--copy-images", "symlink"]) == 0
    out = capsys.readouterr().out
    assert "splits: test 72, train 205, trainval 292, val 87 images" in out
    assert "one file per split: annotations/instances_test.json" in out and "splits_dropped" not in out
    assert main(["convert", str(tmp_path / "coco"), str(tmp_path / "yolo"), "--to", "yolo",
                 "--copy-images", "symlink"]) == 0
    out = capsys.readouterr().out
    assert "read 364 images, 4888 boxes, 3 classes (coco)" in out
    assert "splits: train 205, val 87, test 72, trainval 292 images" in out
    yolo = read_annotations(tmp_path / "yolo")
    assert _counts(yolo) == BCCD_SPLITS and yolo.num_boxes == 4888
    assert_same_boxes(read_annotations(BCCD), yolo, atol=1e-3)
    # one .json file: every image, the splits reported as lost, and how to keep them
    assert main(["convert", str(BCCD), str(tmp_path / "one.json"), "--to", "coco", "--copy-images", "none"]) == 0
    out = capsys.readouterr().out
    assert "splits_dropped: 1" in out and "give a folder as DST" in out
    assert len(json.loads((tmp_path / "one.json").read_text())["images"]) == 364


def test_roundtrip_with_overlap_and_images_in_no_split(tmp_path: Path) -> None:
    ds = _small(tmp_path, {"train": (1, 2), "val": (3,), "trainval": (1, 2, 3)})  # image 4 is in no split
    report = write_annotations(ds, tmp_path / "out", "coco", copy_images="copy")
    ann = tmp_path / "out" / "annotations"
    assert sorted(p.name for p in ann.iterdir()) == ["instances_train.json", "instances_trainval.json",
                                                      "instances_unassigned.json", "instances_val.json"]
    assert (report.images, report.boxes) == (4, 4)  # an image of two splits counted once
    assert [i.code for i in report.issues] == ["unassigned_images"]
    for split, names in {"train": ["im1.jpg", "im2.jpg"], "trainval": ["im1.jpg", "im2.jpg", "im3.jpg"],
                         "unassigned": ["im4.jpg"]}.items():
        assert sorted(p.name for p in (tmp_path / "out" / "images" / split).iterdir()) == names
    # annotation ids are numbered once over the dataset: the same object has the same id in every file
    ids = {s: {a["image_id"]: a["id"] for a in json.loads((ann / f"instances_{s}.json").read_text())["annotations"]}
           for s in ("train", "trainval", "val", "unassigned")}
    assert ids["trainval"] == {**ids["train"], **ids["val"]} and ids["unassigned"] == {4: 4}
    back = read_annotations(tmp_path / "out")
    _assert_identical(ds, back)
    assert all(back.image_path(im).is_file() for im in back.images)
    assert back.source["format"] == "coco" and set(back.source["files"]) == {"train", "val", "trainval",
                                                                           "unassigned"}


def test_no_splits_and_json_path_write_one_file(tmp_path: Path) -> None:
    ds = _small(tmp_path, {})
    write_annotations(ds, tmp_path / "plain", "coco")
    assert [p.name for p in (tmp_path / "plain" / "annotations").iterdir()] == ["instances.json"]
    split = _small(tmp_path, {"train": (1, 2, 3), "val": (4,)})
    report = write_annotations(split, tmp_path / "one.json", "coco")
    assert [i.code for i in report.issues] == ["splits_dropped"]
    back = read_annotations(tmp_path / "one.json")
    assert len(back) == 4 and not back.splits
    # a single instances file read on its own has no splits; its folder has them
    write_annotations(split, tmp_path / "f", "coco")
    assert not read_annotations(tmp_path / "f" / "annotations" / "instances_train.json").splits
    assert _counts(read_annotations(tmp_path / "f")) == {"train": 3, "val": 1}
    assert _counts(read_annotations(tmp_path / "f" / "annotations")) == {"train": 3, "val": 1}


def test_a_split_called_unassigned_beside_images_in_no_split_is_refused(tmp_path: Path) -> None:
    ds = _small(tmp_path, {"unassigned": (1,), "train": (2, 3)})
    with pytest.raises(DatasetError, match="rename the split"):
        write_annotations(ds, tmp_path / "out", "coco")


def _coco_file(path: Path, images: list[tuple[int, str]], categories: list[tuple[int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "images": [{"id": i, "file_name": n, "width": 40, "height": 30} for i, n in images],
        "annotations": [{"id": k, "image_id": i, "category_id": categories[0][0], "bbox": [1, 1, 5, 5]}
                        for k, (i, _) in enumerate(images)],
        "categories": [{"id": i, "name": n} for i, n in categories]}))


def test_split_files_numbering_images_independently_are_renumbered(tmp_path: Path) -> None:
    ann = tmp_path / "annotations"
    _coco_file(ann / "instances_train.json", [(0, "a.jpg"), (1, "b.jpg")], [(1, "k")])
    _coco_file(ann / "instances_val.json", [(0, "c.jpg")], [(1, "k")])
    ds = read_annotations(tmp_path)
    assert [im.file_name for im in ds.images] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [im.id for im in ds.images] == [1, 2, 3]
    assert {k: list(v) for k, v in ds.splits.items()} == {"train": [1, 2], "val": [3]}
    assert [i.code for i in ds.issues] == ["image_ids_renumbered"]


def test_split_files_that_disagree_are_errors_naming_both(tmp_path: Path) -> None:
    ann = tmp_path / "annotations"
    _coco_file(ann / "instances_train.json", [(1, "a.jpg")], [(1, "k")])
    _coco_file(ann / "instances_val.json", [(2, "c.jpg")], [(1, "dog")])
    with pytest.raises(AnnotationError, match=r"category id 1 is 'dog' here but 'k' in .*instances_train.json"):
        read_annotations(tmp_path)
    _coco_file(ann / "instances_val.json", [(1, "a.jpg")], [(1, "k")])
    data = json.loads((ann / "instances_val.json").read_text())
    data["annotations"][0]["bbox"] = [2, 2, 5, 5]
    (ann / "instances_val.json").write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"image 'a.jpg' has other objects than in .*instances_train.json"):
        read_annotations(tmp_path)
