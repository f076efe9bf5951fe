"""check / fix regressions: object index stored in findings, zero-size rule per format, --classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from odkit.boxes import GroundTruth
from odkit.cli.main import main
from odkit.io import Category, Dataset, ImageRecord, read_annotations
from odkit.io._check import check_dataset, object_index
from tests.io._helpers import make_image


def _coco_with_names(base: Path, names: list[str]) -> Path:
    for n in names:
        make_image(base / "images" / n, 60, 40)
    images = [{"id": i + 1, "file_name": n, "width": 60, "height": 40} for i, n in enumerate(names)]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 0, 10], "area": 0, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}]
    path = base / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]}))
    return path


def test_fix_with_object_in_the_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _coco_with_names(tmp_path / "src", ["object 1.jpg", "object 7 b.jpg"])
    report = check_dataset(read_annotations(src, strict=False))
    zero = [f for f in report.findings if f.code == "zero_size"]
    assert [(f.where, f.object_index) for f in zero] == [("object 1.jpg object 0", 0)]
    assert zero[0].to_dict()["object_index"] == 0
    assert main(["check", str(src), "--fix", str(tmp_path / "fixed")]) == 1
    assert "object 0 dropped" in capsys.readouterr().out
    fixed = read_annotations(tmp_path / "fixed")
    np.testing.assert_array_equal(fixed.annotations[1].boxes_xyxy, [[10, 10, 30, 30]])
    assert main(["check", str(tmp_path / "fixed")]) == 0


def test_object_index_never_raises() -> None:
    assert object_index("object 1.jpg object 3 (line 4)") == 3
    assert object_index("object 1.jpg") is None and object_index(None) is None and object_index(5) is None


def _one_box(box: list[float], fmt: str) -> Dataset:
    return Dataset(images=(ImageRecord(1, "a.jpg", "a.jpg", 100, 100, "a.txt"),), categories=(Category(0, "x"),),
                   annotations={1: GroundTruth(np.array([box], np.float64), np.array([0], np.int64))},
                   source={"format": fmt})


@pytest.mark.parametrize(("fmt", "box", "code"), [
    ("voc", [10, 10, 11, 30], "zero_size"),     # VOC xmin == xmax
    ("voc", [10, 10, 12, 30], None),
    ("coco", [10, 10, 11, 30], "tiny_box"),     # a 1 px wide box is legal outside VOC
    ("yolo", [10, 10, 10.5, 30], "tiny_box"),
    ("coco", [10, 10, 10, 30], "zero_size"),
    ("yolo", [10, 10, 30, 10.0000004], "zero_size"),  # YOLO rounding slack
    ("csv", [10, 10, 12, 30], None),
])
def test_zero_size_rule_depends_on_the_source_format(fmt: str, box: list[float], code: str | None) -> None:
    report = check_dataset(_one_box(box, fmt), check_images=False)
    assert [f.code for f in report.findings] == ([code] if code else [])


def test_bccd_voc_reports_exactly_its_two_zero_size_boxes(datasets_dir: Path) -> None:
    report = check_dataset(read_annotations(datasets_dir / "bccd" / "BCCD", strict=False), check_images=False)
    zero = sorted((Path(f.file).name, f.object_index) for f in report.findings if f.code == "zero_size")
    assert zero == [("BloodImage_00338.xml", 12), ("BloodImage_00343.xml", 3)]


def _voc(base: Path) -> Path:
    ann = base / "Annotations"
    ann.mkdir(parents=True)
    for stem, label in (("a", "cat"), ("b", "dgo")):
        make_image(base / "JPEGImages" / f"{stem}.jpg", 40, 30)
        (ann / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>40</width><height>30</height></size>"
            f"<object><name>{label}</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax>"
            "</bndbox></object></annotation>")
    return base


def test_check_classes_reports_unknown_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _voc(tmp_path / "voc")
    assert main(["check", str(src)]) == 0
    capsys.readouterr()
    assert main(["check", str(src), "--classes", "cat,dog"]) == 1
    out = capsys.readouterr().out
    assert "[unknown_class] 1 error(s)" in out and "'dgo'" in out
    (tmp_path / "names.txt").write_text("cat\ndog\n")
    assert main(["check", str(src), "--classes", str(tmp_path / "names.txt")]) == 1
    capsys.readouterr()
    assert main(["check", str(src), "--classes", "cat,dgo"]) == 0
    capsys.readouterr()
    assert main(["check", str(src), "--classes", ","]) == 2
    assert capsys.readouterr().err.startswith("error: --classes")
