"""``odkit convert``: nothing read is a failure, usage errors exit 2, DST protection is precise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odkit.cli.main import main
from tests.io._helpers import GOLDEN, make_image


def _coco(base: Path) -> Path:
    make_image(base / "images" / "a.jpg", 40, 30)
    make_image(base / "images" / "b.jpg", 20, 20)
    (base / "ann.json").write_text((GOLDEN / "coco_small.json").read_text())
    return base / "ann.json"


def test_zero_images_read_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "e.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    assert main(["convert", str(tmp_path / "e.json"), str(tmp_path / "o"), "--to", "voc"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: read 0 images from") and "nothing to convert" in err
    assert not (tmp_path / "o").exists()


def test_every_box_lost_to_errors_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [1, 1, 2, 2]}],
            "categories": [{"id": 1, "name": "a"}]}
    (tmp_path / "x.json").write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "x.json"), str(tmp_path / "o"), "--to", "csv"]) == 1
    assert "emptied the dataset" in capsys.readouterr().err


def test_yolo_split_lost_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "y"
    make_image(root / "images" / "a.jpg", 10, 10)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: images\nval: nowhere\nnames: [x]\n")
    assert main(["convert", str(root), str(tmp_path / "o"), "--to", "coco"]) == 1
    assert "a split could not be read" in capsys.readouterr().err


def test_yolo_relative_folder_to_voc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = _coco(tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(src), "rt/yolo", "--to", "yolo"]) == 0
    assert main(["convert", "rt/yolo", "rt/voc", "--to", "voc"]) == 0
    assert "read 2 images, 1 boxes" in capsys.readouterr().out  # the crowd box is not representable in YOLO
    assert len(list((tmp_path / "rt" / "voc" / "Annotations").glob("*.xml"))) == 2


def test_dst_beside_the_annotation_file_is_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _coco(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "ann.json", "o_coco", "--to", "coco"]) == 0
    assert (tmp_path / "o_coco" / "annotations" / "instances.json").is_file()
    assert (tmp_path / "ann.json").read_text() == (GOLDEN / "coco_small.json").read_text()


def test_dst_overlapping_the_source_or_images_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _coco(tmp_path / "s")
    assert main(["convert", str(src), str(tmp_path / "s" / "images"), "--to", "coco", "--force"]) == 1
    assert "source images folder" in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "s"), "--to", "coco", "--force"]) == 1
    assert "overlaps SRC" in capsys.readouterr().err
    assert main(["convert", str(src), str(src), "--to", "coco"]) == 1
    voc = tmp_path / "voc"
    assert main(["convert", str(src), str(voc), "--to", "voc"]) == 0
    assert main(["convert", str(voc), str(voc / "inner"), "--to", "coco"]) == 1
    assert "overlaps SRC" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["convert", "does/not/exist", "o", "--to", "coco"],
    ["convert", "SRC", "o", "--to", "coco", "--split", "train=x"],
    ["convert", "SRC", "o", "--to", "coco", "--images", "no/such/folder"],
    ["check", "does/not/exist"],
])
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    src = _coco(tmp_path / "s")
    args = [str(src) if a == "SRC" else a for a in args]
    args = [str(tmp_path / a) if a in ("o",) else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
