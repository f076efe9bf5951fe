"""LabelMe JSON and CVAT for images 1.1 XML."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError
from odkit.io import detect_format, read_annotations, read_cvat, read_labelme, write_cvat, write_labelme
from tests.io._helpers import GOLDEN, make_image


def test_labelme_rectangles_polygons_and_unsupported_shapes(tmp_path: Path) -> None:
    folder = tmp_path / "ann"
    folder.mkdir()
    shutil.copy(GOLDEN / "labelme" / "a.json", folder / "a.json")
    make_image(tmp_path / "img" / "a.png", 40, 30)
    assert detect_format(folder).value == "labelme" and detect_format(folder / "a.json").value == "labelme"
    d = read_labelme(folder)
    ann = d.annotations[1]
    np.testing.assert_array_equal(ann.boxes_xyxy, [[10, 5.25, 30.5, 20], [1, 1, 9, 8]])
    assert [d.category_names[c] for c in ann.class_ids.tolist()] == ["cat", "dog"]
    assert ann.extras[1]["labelme_points"] == [[1, 1], [9, 2], [5, 8]] and ann.extras[1]["labelme_group_id"] == 3
    assert [(i.code, i.where) for i in d.issues] == [("unsupported_shape", "shapes[2]")]
    assert d.image_path(d.images[0]).resolve() == (tmp_path / "img" / "a.png").resolve()
    assert d.images[0].image_hw == (30, 40)


def test_labelme_write_read_keeps_polygons(tmp_path: Path) -> None:
    src = tmp_path / "ann"
    src.mkdir()
    shutil.copy(GOLDEN / "labelme" / "a.json", src / "a.json")
    make_image(tmp_path / "img" / "a.png", 40, 30)
    d = read_labelme(src)
    report = write_labelme(d, tmp_path / "out")
    assert report.boxes == 2 and not report.issues
    again = read_labelme(tmp_path / "out")
    np.testing.assert_array_equal(again.annotations[1].boxes_xyxy, d.annotations[1].boxes_xyxy)
    assert again.annotations[1].extras[1]["labelme_points"] == [[1, 1], [9, 2], [5, 8]]
    assert again.image_path(again.images[0]).resolve() == (tmp_path / "img" / "a.png").resolve()


def test_labelme_bad_rectangle_names_the_shape() -> None:
    with pytest.raises(AnnotationError, match=r"b.json:shapes\[0\]: bad 'points' for a rectangle"):
        read_labelme(GOLDEN / "labelme" / "b.json")


def test_cvat_boxes_labels_flags_and_skipped_polygon() -> None:
    assert detect_format(GOLDEN / "cvat_task.xml").value == "cvat"
    d = read_cvat(GOLDEN / "cvat_task.xml")
    assert [(c.id, c.name) for c in d.categories] == [(1, "car"), (2, "person")]
    assert [im.id for im in d.images] == [0, 5] and d.images[0].image_hw == (30, 40)
    ann = d.annotations[0]
    np.testing.assert_array_equal(ann.boxes_xyxy, [[1.5, 2, 10.25, 20], [0, 0, 40, 30]])
    assert ann.class_ids.tolist() == [2, 1] and ann.difficult.tolist() == [True, False]
    assert ann.extras[0]["cvat_occluded"] == "1"
    assert [i.code for i in d.issues] == ["unsupported_shape"]
    assert len(d.annotations[5]) == 0


def test_cvat_write_read_identity(tmp_path: Path) -> None:
    d = read_cvat(GOLDEN / "cvat_task.xml")
    write_cvat(d, tmp_path / "t.xml")
    again = read_cvat(tmp_path / "t.xml")
    np.testing.assert_array_equal(again.annotations[0].boxes_xyxy, d.annotations[0].boxes_xyxy)
    assert again.annotations[0].difficult.tolist() == [True, False]
    assert again.annotations[0].extras[0]["cvat_occluded"] == "1"
    assert [c.name for c in again.categories] == ["car", "person"]


def test_cvat_undeclared_label_and_bad_number() -> None:
    with pytest.raises(AnnotationError, match=r"xbr=.*oops|numeric xtl/ytl/xbr/ybr"):
        read_cvat(GOLDEN / "cvat_undeclared.xml")
    d = read_cvat(GOLDEN / "cvat_undeclared.xml", strict=False)
    codes = sorted(i.code for i in d.issues)
    assert codes == ["bad_box", "unknown_class"]
    assert "'truck' is used but not declared" in str([i.message for i in d.issues])


def test_voc_and_cvat_xml_are_told_apart(tmp_path: Path) -> None:
    assert detect_format(GOLDEN / "voc_two_objects.xml").value == "voc"
    (tmp_path / "annotations.xml").write_text((GOLDEN / "cvat_task.xml").read_text())
    assert detect_format(tmp_path).value == "cvat"
    assert read_annotations(tmp_path).source["format"] == "cvat"
