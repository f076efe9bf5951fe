"""Writers: zero-size boxes a format cannot hold are reported and skipped (inverted ones cannot enter a dataset:
readers report them); no internal extras in COCO; segmentation notes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from odkit.io import (
    Category,
    Dataset,
    GroundTruth,
    ImageRecord,
    read_voc,
    read_yolo,
    write_annotations,
    write_coco,
    write_csv,
    write_voc,
    write_yolo,
)
from tests.io._helpers import make_image


def _dataset(boxes: list[list[float]], extras: tuple = (), cat_id: int = 1) -> Dataset:
    n = len(boxes)
    return Dataset(images=(ImageRecord(1, "a.jpg", "a.jpg", 100, 80, ""),), categories=(Category(cat_id, "x"),),
                   annotations={1: GroundTruth(np.array(boxes, np.float64), np.full(n, cat_id, np.int64),
                                                    extras=extras or tuple({} for _ in range(n)))})


BOXES = [[10, 10, 10, 30],   # zero width
         [10, 10, 30, 30]]   # fine


def test_inverted_boxes_never_enter_a_dataset(tmp_path: Path) -> None:
    import pytest

    from odkit.errors import AnnotationError, BoxFormatError

    with pytest.raises(BoxFormatError, match=r"boxes_xyxy\[0\] \(xyxy\) has x_max < x_min"):
        _dataset([[29, 29, 20, 40]])
    voc = tmp_path / "voc"
    make_image(voc / "images" / "a.jpg", 50, 50)
    (voc / "annotations").mkdir()
    (voc / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>50</width><height>50</height></size>"
        "<object><name>x</name><bndbox><xmin>30</xmin><ymin>30</ymin><xmax>20</xmax><ymax>40</ymax></bndbox></object>"
        "<object><name>x</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
        "</annotation>")
    with pytest.raises(AnnotationError, match=r"a.xml:object 0: box \[29.0, 29.0, 20.0, 40.0\] \(xyxy\) has x_max"):
        read_voc(voc)
    lenient = read_voc(voc, strict=False)
    assert [(i.code, i.where) for i in lenient.issues] == [("inverted_box", "object 0")]
    ann = next(iter(lenient.annotations.values()))
    assert ann.boxes_xyxy.tolist() == [[4, 4, 9, 9]] and ann.extras[0]["odkit_object"] == 1


def test_yolo_writer_skips_zero_size(tmp_path: Path) -> None:
    report = write_yolo(_dataset(BOXES), tmp_path / "y")
    codes = [(i.code, i.where) for i in report.issues]
    assert ("zero_size", "object 0") in codes
    lines = (tmp_path / "y" / "labels" / "a.txt").read_text().splitlines()
    assert len(lines) == 1 and report.boxes == 1
    assert all(float(v) > 0 for v in lines[0].split()[3:])


def test_yolo_writer_skips_boxes_wholly_outside(tmp_path: Path) -> None:
    report = write_yolo(_dataset([[120, 10, 140, 30]]), tmp_path / "y")
    assert [i.code for i in report.issues] == ["outside_image"] and report.boxes == 0


def test_voc_writer_skips_what_voc_cannot_hold(tmp_path: Path) -> None:
    report = write_voc(_dataset([*BOXES, [10.1, 10, 10.4, 30]]), tmp_path / "v")
    assert [i.code for i in report.issues] == ["zero_size", "zero_size"] and report.boxes == 1
    d = read_voc(tmp_path / "v")
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[10, 10, 30, 30]])


def test_coco_writer_keeps_zero_size(tmp_path: Path) -> None:
    report = write_coco(_dataset(BOXES), tmp_path / "c.json")
    assert [i.code for i in report.issues] == [] and report.boxes == 2
    bboxes = [a["bbox"] for a in json.loads((tmp_path / "c.json").read_text())["annotations"]]
    assert bboxes == [[10, 10, 0, 20], [10, 10, 20, 20]]


def test_yolo_to_coco_writes_no_internal_fields_and_keeps_ids(tmp_path: Path) -> None:
    root = tmp_path / "y"
    make_image(root / "images" / "a.jpg", 100, 50)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [cat]\n")
    report = write_annotations(read_yolo(root), tmp_path / "c.json", "coco")
    data = json.loads((tmp_path / "c.json").read_text())
    assert set(data["annotations"][0]) == {"id", "image_id", "category_id", "bbox", "area", "iscrowd"}
    assert data["annotations"][0]["category_id"] == 0 and data["categories"] == [{"id": 0, "name": "cat"}]
    assert [i.code for i in report.issues] == ["zero_category_id"]


def test_other_readers_extras_are_not_written_to_coco(tmp_path: Path) -> None:
    extras = ({"voc_pose": "Left", "yolo_line": 3, "labelme_points": [[0, 0]], "cvat_occluded": 1, "score": 0.5},)
    write_coco(_dataset([[1, 1, 5, 5]], extras), tmp_path / "c.json")
    ann = json.loads((tmp_path / "c.json").read_text())["annotations"][0]
    assert "score" in ann and not any(k.startswith(("voc_", "yolo_", "labelme_", "cvat_")) for k in ann)


def test_empty_segmentation_is_not_reported_as_dropped(tmp_path: Path) -> None:
    extras = ({"segmentation": []}, {"segmentation": [[1, 1, 5, 1, 5, 5]]})
    report = write_csv(_dataset([[1, 1, 5, 5], [2, 2, 6, 6]], extras), tmp_path / "o.csv")
    assert [(i.code, i.where) for i in report.issues] == [("segmentation_dropped", "object 1")]


def test_labelme_and_cvat_writers_keep_zero_size(tmp_path: Path) -> None:
    from odkit.io import write_cvat, write_labelme

    for write, out in ((write_labelme, tmp_path / "lm"), (write_cvat, tmp_path / "c.xml")):
        report = write(_dataset(BOXES), out)
        assert report.issues == [] and report.boxes == 2
