"""YOLO path resolution: relative paths, Roboflow ``../`` split entries, relative ``path:``, unsplit output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError
from odkit.io import label_path, read_annotations, read_yolo, write_annotations
from tests.io._helpers import make_image


def _tree(root: Path, yaml_text: str = "train: images/train\nval: images/val\nnames: [cat, dog]\n") -> Path:
    make_image(root / "images" / "train" / "a.jpg", 100, 50)
    make_image(root / "images" / "val" / "c.jpg", 64, 64)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    (root / "labels" / "val" / "c.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text(yaml_text)
    return root


def test_label_path_on_relative_paths() -> None:
    assert label_path(Path("images/train/a.jpg")) == Path("labels/train/a.txt")
    assert label_path("../d/images/a.jpg") == Path("../d/labels/a.txt")
    assert label_path("rt/yolo/images/images/x.png") == Path("rt/yolo/images/labels/x.txt")
    assert label_path("a.jpg") == Path("a.txt")
    assert label_path("images.jpg") == Path("images.txt")  # the file name is never replaced


@pytest.mark.parametrize("arg", ["rt/yolo", "rt/yolo/data.yaml"])
def test_relative_dataset_path_reads_every_image_and_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          arg: str) -> None:
    _tree(tmp_path / "rt" / "yolo")
    monkeypatch.chdir(tmp_path)
    d = read_yolo(arg)
    assert (len(d), d.num_boxes) == (2, 2) and not [i for i in d.issues if i.severity == "error"]
    np.testing.assert_allclose(d.annotations[1].boxes_xyxy, [[40, 15, 60, 35]])


def test_relative_yaml_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path / "ds")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    d = read_annotations("../ds/data.yaml")
    assert (len(d), d.num_boxes) == (2, 2)


def test_write_then_read_back_relative_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    d = read_yolo("src")
    write_annotations(d, "o/yolo", "yolo", copy_images="copy")
    back = read_yolo("o/yolo")
    assert (len(back), back.num_boxes) == (2, 2)


def test_roboflow_layout_with_dotdot_split_entries(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    make_image(root / "train" / "images" / "a.jpg", 100, 50)
    make_image(root / "valid" / "images" / "c.jpg", 64, 64)
    (root / "train" / "labels").mkdir(parents=True)
    (root / "train" / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    (root / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\nnc: 1\nnames: [x]\n")
    d = read_yolo(root / "data.yaml", strict=False)
    assert (len(d), d.num_boxes) == (2, 1)
    assert sorted(d.splits) == ["train", "val"]
    assert {i.code for i in d.issues} == {"split_path_fallback"}


def test_relative_path_key_resolves_against_the_yaml_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path / "cfg" / "data", "path: data\ntrain: images/train\nval: images/val\nnames: [cat, dog]\n")
    (tmp_path / "cfg" / "data" / "data.yaml").rename(tmp_path / "cfg" / "d.yaml")
    monkeypatch.chdir(tmp_path)  # "data" does not exist here: the YAML's folder is used
    d = read_yolo(tmp_path / "cfg" / "d.yaml")
    assert (len(d), d.num_boxes) == (2, 2)
    monkeypatch.chdir(tmp_path / "cfg")  # exists relative to the current folder too
    assert read_yolo("d.yaml").num_boxes == 2


def test_missing_split_is_reported_never_silently_empty(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ds", "train: images/train\nval: nowhere/images\nnames: [cat, dog]\n")
    with pytest.raises(AnnotationError, match=r"data.yaml:val: val: 'nowhere/images' is neither"):
        read_yolo(root)
    d = read_yolo(root, strict=False)
    assert [i.code for i in d.issues] == ["missing_split"]


def test_unsplit_output_reads_back_as_one_set(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ds", "train: images\nval: images\nnames: [cat, dog]\n")
    d = read_yolo(root)
    assert d.splits == {} and len(d) == 2
    assert [i.code for i in d.issues] == ["splits_identical"]
    report = write_annotations(d, tmp_path / "voc", "voc")
    assert report.images == 2
    main = tmp_path / "voc" / "ImageSets" / "Main"
    assert not (main / "train.txt").exists() and not (main / "val.txt").exists()


def test_trainval_key_is_read(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ds", "train: images/train\nval: images/val\ntrainval: images\nnames: [cat, dog]\n")
    d = read_yolo(root)
    assert sorted(d.splits) == ["train", "trainval", "val"] and len(d.splits["trainval"]) == 2
