"""CSV with a header: default columns, other orders and names, images without objects, bad rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError
from odkit.io import read_csv, read_voc, write_csv
from tests.io._helpers import GOLDEN


def test_default_header_and_image_without_objects() -> None:
    d = read_csv(GOLDEN / "csv_default.csv")
    assert [im.file_name for im in d.images] == ["a.jpg", "b.jpg"] and d.images[0].image_hw == (30, 40)
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[1, 1, 40, 30], [11, 6, 20, 15]])
    assert len(d.annotations[2]) == 0
    one = read_csv(GOLDEN / "csv_default.csv", one_based=True)
    np.testing.assert_array_equal(one.annotations[1].boxes_xyxy, [[0, 0, 40, 30], [10, 5, 20, 15]])


def test_same_boxes_as_the_voc_file() -> None:
    voc = read_voc(GOLDEN / "voc_two_objects.xml")
    csv_ = read_csv(GOLDEN / "csv_default.csv", one_based=True)
    np.testing.assert_array_equal(voc.annotations[1].boxes_xyxy, csv_.annotations[1].boxes_xyxy)


def test_bccd_column_order_is_read_by_name() -> None:
    d = read_csv(GOLDEN / "csv_bccd_order.csv")
    # filename,cell_type,xmin,xmax,ymin,ymax -> xmin=10, xmax=20, ymin=30, ymax=40
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[10, 30, 20, 40]])
    assert d.categories[0].name == "RBC" and d.images[0].width == 0


def test_column_mapping_for_other_headers() -> None:
    d = read_csv(GOLDEN / "csv_custom_header.csv", columns={"class": "kind"})
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[1.5, 2, 10, 12.25]])
    with pytest.raises(AnnotationError, match=r"csv_custom_header.csv:1: header .* lacks column\(s\) for \['class'\]"):
        read_csv(GOLDEN / "csv_custom_header.csv")
    with pytest.raises(AnnotationError, match="column 'nope'"):
        read_csv(GOLDEN / "csv_custom_header.csv", columns={"class": "nope"})


def test_bad_row_names_the_line() -> None:
    with pytest.raises(AnnotationError, match=r"csv_bad_row.csv:3: coordinates must be numbers"):
        read_csv(GOLDEN / "csv_bad_row.csv")
    d = read_csv(GOLDEN / "csv_bad_row.csv", strict=False)
    assert d.num_boxes == 1 and d.issues[0].where == 3


def test_wrong_field_count_and_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("filename,class,xmin,ymin,xmax,ymax\na.jpg,cat,1,2,3\n")
    with pytest.raises(AnnotationError, match=r"x.csv:2: expected 6 fields as in the header, got 5"):
        read_csv(p)
    p.write_text("")
    with pytest.raises(AnnotationError, match="empty file"):
        read_csv(p)


def test_write_read_identity_with_fractional_boxes(tmp_path: Path) -> None:
    d = read_csv(GOLDEN / "csv_default.csv")
    report = write_csv(d, tmp_path / "o.csv")
    assert (report.images, report.boxes) == (2, 2)
    assert (tmp_path / "o.csv").read_text() == (GOLDEN / "csv_default.csv").read_text()
    frac = read_csv(GOLDEN / "csv_custom_header.csv", columns={"class": "kind"})
    write_csv(frac, tmp_path / "f.csv")
    np.testing.assert_array_equal(read_csv(tmp_path / "f.csv").annotations[1].boxes_xyxy, [[1.5, 2, 10, 12.25]])


def test_raccoon_csv_matches_its_xml(datasets_dir: Path) -> None:
    xml = read_voc(datasets_dir / "raccoon")
    csv_ = read_csv(datasets_dir / "raccoon" / "data" / "raccoon_labels.csv", one_based=True)
    assert csv_.root == datasets_dir / "raccoon" / "images"
    by_name = {im.file_name: csv_.annotations[im.id] for im in csv_.images}
    for im, ann in xml:
        other = by_name[im.file_name]
        np.testing.assert_array_equal(np.sort(ann.boxes_xyxy, axis=0), np.sort(other.boxes_xyxy, axis=0))
    assert {im.file_name: im.image_hw for im in xml.images} == {im.file_name: im.image_hw for im in csv_.images}


def test_bccd_test_csv_matches_the_xml(datasets_dir: Path) -> None:
    xml = read_voc(datasets_dir / "bccd" / "BCCD")
    csv_ = read_csv(datasets_dir / "bccd" / "test.csv", one_based=True)
    assert csv_.root == datasets_dir / "bccd" / "BCCD" / "JPEGImages"
    assert [im.file_name for im in xml.images] == [im.file_name for im in csv_.images]
    for (_, a), (_, b) in zip(xml, csv_):
        np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
        np.testing.assert_array_equal(a.category_ids, b.category_ids)
