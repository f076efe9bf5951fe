"""Pascal VOC XML: the 1-based convention, layouts, malformed files, the shared datasets' quirks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from odkit.boxes import GroundTruth
from odkit.errors import AnnotationError
from odkit.io import Category, Dataset, ImageRecord, read_voc, write_voc
from tests.io._helpers import GOLDEN


def test_one_based_pixels_become_continuous_coordinates() -> None:
    d = read_voc(GOLDEN / "voc_two_objects.xml")
    ann = d.annotations[1]
    # xmin=1..xmax=40 covers the whole 40 px row: [0, 40) in continuous coordinates.
    np.testing.assert_array_equal(ann.boxes_xyxy, [[0, 0, 40, 30], [10, 5, 20, 15]])
    assert [c.name for c in d.categories] == ["cat", "dog"] and ann.class_ids.tolist() == [1, 2]
    assert ann.truncated.tolist() == [True, False] and ann.difficult.tolist() == [False, True]
    assert ann.extras[0]["voc_pose"] == "Left"
    assert d.images[0].image_hw == (30, 40) and d.images[0].file_name == "cat.jpg"


def test_write_rounds_back_and_read_is_identity(tmp_path: Path) -> None:
    d = read_voc(GOLDEN / "voc_two_objects.xml")
    write_voc(d, tmp_path)
    text = (tmp_path / "Annotations" / "cat.xml").read_text()
    assert "<xmin>1</xmin>" in text and "<xmax>40</xmax>" in text and "<pose>Left</pose>" in text
    again = read_voc(tmp_path)
    a, b = d.annotations[1], again.annotations[1]
    np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
    assert a.difficult.tolist() == b.difficult.tolist() and a.truncated.tolist() == b.truncated.tolist()
    assert b.extras[0]["voc_pose"] == "Left"


def test_writer_reports_crowd_boxes_and_rounding(tmp_path: Path) -> None:
    ann = GroundTruth([[0.4, 0, 10, 10], [0, 0, 5, 5]], [1, 1], iscrowd=[False, True])
    d = Dataset((ImageRecord(1, "a.jpg", "a.jpg", 20, 20),), (Category(1, "x"),), {1: ann})
    report = write_voc(d, tmp_path)
    assert report.boxes == 1 and sorted(i.code for i in report.issues) == ["crowd_not_representable", "rounded"]
    assert report.issues[0].file == "a.jpg" and report.issues[0].where == "object 0"


def test_bad_xml_names_the_line() -> None:
    with pytest.raises(AnnotationError, match=r"voc_bad_xml.xml:6: invalid XML"):
        read_voc(GOLDEN / "voc_bad_xml.xml")


def test_missing_bndbox_and_bad_number_name_the_object() -> None:
    with pytest.raises(AnnotationError, match=r"voc_no_bndbox.xml:object 1: object 'cat' has no <bndbox>"):
        read_voc(GOLDEN / "voc_no_bndbox.xml")
    d = read_voc(GOLDEN / "voc_no_bndbox.xml", strict=False)
    assert len(d.annotations[1]) == 1 and d.issues[0].code == "bad_object"
    with pytest.raises(AnnotationError, match=r"voc_bad_number.xml:object 0: <bndbox> values must be numbers"):
        read_voc(GOLDEN / "voc_bad_number.xml")


def test_unknown_class_against_a_given_class_list() -> None:
    with pytest.raises(AnnotationError, match=r"object 1: class 'dog' is not one of \['cat'\]"):
        read_voc(GOLDEN / "voc_two_objects.xml", class_names=["cat"])


def test_lenient_read_of_a_folder_skips_bad_files(tmp_path: Path) -> None:
    for name in ("voc_two_objects.xml", "voc_bad_xml.xml"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    d = read_voc(tmp_path, strict=False)
    assert len(d) == 1 and d.issues[0].code == "bad_xml" and d.issues[0].where == 6
    with pytest.raises(AnnotationError, match="no such file or folder"):
        read_voc(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnnotationError, match=r"no \.xml annotation files"):
        read_voc(tmp_path / "empty")


def test_bccd_voc_root_with_splits(datasets_dir: Path) -> None:
    d = read_voc(datasets_dir / "bccd" / "BCCD")
    assert (len(d), d.num_boxes) == (364, 4888)
    assert {k: len(v) for k, v in d.splits.items()} == {"train": 205, "val": 87, "trainval": 292, "test": 72}
    counts = {c.name: sum(int(np.sum(a.class_ids == c.id)) for a in d.annotations.values())
              for c in d.categories}
    assert counts == {"RBC": 4155, "WBC": 372, "Platelets": 361}
    assert sum(int(a.truncated.sum()) for a in d.annotations.values()) == 1131
    assert d.root == datasets_dir / "bccd" / "BCCD" / "JPEGImages" and not d.issues


def test_filenames_without_extension_and_png_for_jpg_are_resolved(datasets_dir: Path) -> None:
    bccd_old = read_voc(datasets_dir / "bccd" / "annotations_before_db4cdee",
                        images_dir=datasets_dir / "bccd" / "BCCD" / "JPEGImages")
    assert [im.file_name for im in bccd_old.images] == ["BloodImage_00171", "BloodImage_00178", "BloodImage_00228"]
    assert [im.path for im in bccd_old.images] == [f"{im.file_name}.jpg" for im in bccd_old.images]
    assert {i.code for i in bccd_old.issues} == {"file_name_mismatch"}
    raccoon_old = read_voc(datasets_dir / "raccoon" / "annotations_at_f4d1464")
    assert raccoon_old.root == datasets_dir / "raccoon" / "images"
    assert all(im.file_name.endswith(".png") and im.path.endswith(".jpg") for im in raccoon_old.images)
    assert len(raccoon_old.issues) == 200
