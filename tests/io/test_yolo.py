"""YOLO txt + data.yaml, as Ultralytics lays them out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from odkit.boxes import GroundTruth
from odkit.errors import AnnotationError
from odkit.io import Category, Dataset, ImageRecord, label_path, read_yolo, write_yolo
from tests.io._helpers import GOLDEN, make_image


def test_label_path_replaces_the_last_images_component() -> None:
    sep = os.sep
    assert label_path(f"{sep}d{sep}images{sep}train{sep}a.jpg") == Path(f"{sep}d{sep}labels{sep}train{sep}a.txt")
    nested = f"{sep}images{sep}proj{sep}images{sep}val{sep}b.png"
    assert label_path(nested) == Path(f"{sep}images{sep}proj{sep}labels{sep}val{sep}b.txt")
    assert label_path(f"{sep}x{sep}my_images{sep}c.jpeg") == Path(f"{sep}x{sep}my_images{sep}c.txt")


def _yolo_tree(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    make_image(root / "images" / "train" / "a.jpg", 100, 50)
    make_image(root / "images" / "train" / "b.png", 20, 40)
    make_image(root / "images" / "val" / "c.jpg", 64, 64)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.2\n")
    (root / "labels" / "train" / "b.txt").write_text("")  # empty: no objects
    # c.jpg has no label file at all: a background image
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n")
    return root


def test_read_denormalizes_with_the_real_image_size(tmp_path: Path) -> None:
    d = read_yolo(_yolo_tree(tmp_path))
    assert [c.name for c in d.categories] == ["cat", "dog"] and [c.id for c in d.categories] == [0, 1]
    assert [im.file_name for im in d.images] == ["images/train/a.jpg", "images/train/b.png", "images/val/c.jpg"]
    assert d.images[0].image_hw == (50, 100)
    np.testing.assert_allclose(d.annotations[1].boxes_xyxy, [[40, 15, 60, 35], [0, 0, 20, 10]])
    assert d.annotations[1].class_ids.tolist() == [1, 0]
    assert len(d.annotations[2]) == 0 and len(d.annotations[3]) == 0
    assert d.splits == {"train": (1, 2), "val": (3,)}
    assert d.images[2].annotation_file == ""


def test_write_read_round_trip_and_yaml_layout(tmp_path: Path) -> None:
    d = read_yolo(_yolo_tree(tmp_path))
    out = tmp_path / "out"
    # put images where the writer's layout expects them, then write the labels
    for im in d.images:
        make_image(out / im.path, im.width, im.height)
    report = write_yolo(d, out)
    assert (report.images, report.boxes) == (3, 2) and not report.issues
    text = (out / "data.yaml").read_text()
    assert "train: images/train" in text and "val: images/val" in text and "- cat" in text
    assert (out / "labels" / "train" / "a.txt").read_text().splitlines()[0] == "1 0.500000 0.500000 0.200000 0.400000"
    again = read_yolo(out / "data.yaml")
    np.testing.assert_allclose(again.annotations[1].boxes_xyxy, d.annotations[1].boxes_xyxy, atol=1e-4)
    assert again.splits == d.splits


def test_writer_reports_crowd_difficult_and_clipping(tmp_path: Path) -> None:
    ann = GroundTruth([[-2, 0, 10, 10], [0, 0, 5, 5], [1, 1, 4, 4]], [5, 5, 5],
                           iscrowd=[False, True, False], difficult=[False, False, True])
    d = Dataset((ImageRecord(1, "a.jpg", "a.jpg", 20, 20),), (Category(5, "x"),), {1: ann})
    report = write_yolo(d, tmp_path)
    assert sorted(i.code for i in report.issues) == ["clipped", "crowd_not_representable", "difficult_dropped"]
    lines = (tmp_path / "labels" / "a.txt").read_text().splitlines()
    assert lines == ["0 0.250000 0.250000 0.500000 0.500000", "0 0.125000 0.125000 0.150000 0.150000"]


def _bad_tree(tmp_path: Path) -> Path:
    root = tmp_path / "bad"
    shutil.copytree(GOLDEN / "yolo_bad", root)
    for stem in ("four_fields", "class_beyond"):
        make_image(root / "images" / "train" / f"{stem}.png", 10, 10)
    return root


def test_four_fields_and_class_beyond_names_are_errors_with_line(tmp_path: Path) -> None:
    root = _bad_tree(tmp_path)
    with pytest.raises(AnnotationError, match=r"class_beyond.txt:2: class 2 is beyond the names list \(0..1\)"):
        read_yolo(root)
    d = read_yolo(root, strict=False)
    got = sorted((Path(i.file).name, i.where, i.code) for i in d.issues if i.severity == "error")
    assert got == [("class_beyond.txt", 2, "unknown_class"), ("four_fields.txt", 2, "bad_line")]
    assert "expected 5 fields 'class cx cy w h', got 4" in str([i.message for i in d.issues])
    assert d.num_boxes == 2


@pytest.mark.parametrize(
    "line, match",
    [
        ("0 0.5 0.5 0.2 0.2 0.9", "expected 5 fields"),
        ("a 0.5 0.5 0.2 0.2", "expected numbers"),
        ("0.5 0.5 0.5 0.2 0.2", "class must be an integer"),
        ("0 1.5 0.5 0.2 0.2", "normalized"),
        ("0 0.5 0.5 -0.2 0.2", "normalized"),
        ("-1 0.5 0.5 0.2 0.2", "beyond the names list"),
    ],
)
def test_bad_label_lines(tmp_path: Path, line: str, match: str) -> None:
    root = _yolo_tree(tmp_path)
    (root / "labels" / "train" / "b.txt").write_text(f"0 0.5 0.5 0.1 0.1\n{line}\n")
    with pytest.raises(AnnotationError, match=rf"b.txt:2: .*{match}"):
        read_yolo(root)


@pytest.mark.parametrize(
    "yaml_text, match",
    [
        ("train: images/train\nval: images/val\n", "either 'names' or 'nc'"),
        ("train: images/train\nval: images/val\nnc: 3\nnames: [a, b]\n", "nc=3 but names has 2"),
        ("names: [a]\n", "no 'train', 'val' or 'test'"),
        ("train: [images/train\n", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("train: nowhere\nval: images/val\nnames: [a, b]\n", "neither a folder nor a .txt"),
    ],
)
def test_bad_data_yaml(tmp_path: Path, yaml_text: str, match: str) -> None:
    root = _yolo_tree(tmp_path)
    (root / "data.yaml").write_text(yaml_text)
    with pytest.raises(AnnotationError, match=match):
        read_yolo(root)


def test_txt_split_lists_path_key_and_names_list(tmp_path: Path) -> None:
    root = _yolo_tree(tmp_path)
    (root / "train.txt").write_text("./images/train/a.jpg\n./images/val/c.jpg\n")
    (root / "cfg").mkdir()
    (root / "cfg" / "d.yaml").write_text(f"path: {root}\ntrain: train.txt\nvalidation: images/val\nnames: [cat, dog]\n")
    d = read_yolo(root / "cfg" / "d.yaml")
    assert [im.file_name for im in d.images] == ["images/train/a.jpg", "images/val/c.jpg"]
    assert d.splits == {"train": (1, 2), "val": (2,)}


def test_exif_rotated_image_uses_the_displayed_size(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_image(root / "images" / "a.jpg", 100, 50, orientation=6)  # stored 100x50, displayed 50x100
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 1 1\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [x]\n")
    d = read_yolo(root)
    assert d.images[0].image_hw == (100, 50)
    np.testing.assert_allclose(d.annotations[1].boxes_xyxy, [[0, 0, 50, 100]])


def test_folder_without_yaml_needs_names(tmp_path: Path) -> None:
    root = _yolo_tree(tmp_path)
    (root / "data.yaml").unlink()
    with pytest.raises(AnnotationError, match="pass class_names"):
        read_yolo(root)
    d = read_yolo(root, class_names=["cat", "dog"])
    assert len(d) == 3 and d.num_boxes == 2 and not d.splits


def test_unreadable_image_with_labels(tmp_path: Path) -> None:
    root = _yolo_tree(tmp_path)
    (root / "images" / "train" / "a.jpg").write_bytes(b"not an image")
    with pytest.raises(AnnotationError, match=r"a\.jpg: image needed to denormalize"):
        read_yolo(root)
    d = read_yolo(root, strict=False)
    assert d.issues[0].code == "unreadable_image" and len(d.annotations[1]) == 0


def test_label_file_without_image_is_reported(tmp_path: Path) -> None:
    root = _yolo_tree(tmp_path)
    (root / "labels" / "train" / "gone.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    d = read_yolo(root)  # strict: recorded, not raised (Ultralytics ignores such files)
    assert [(i.code, i.severity, Path(i.file).name) for i in d.issues] == [("missing_image", "error", "gone.txt")]


@pytest.mark.parametrize("names", ["{00.5, 1: dog}", "{0: cat, '0': dog}", "{true: cat}", "{0: cat, 2: dog}"])
def test_names_dict_keys_must_be_class_indices(tmp_path: Path, names: str) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "data.yaml").write_text(f"train: images\nval: images\nnames: {names}\n")
    with pytest.raises(AnnotationError, match=r"data\.yaml:names: .*class indices"):
        read_yolo(tmp_path / "data.yaml")
