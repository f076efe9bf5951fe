"""CSV with a header: default columns, other orders and names, images without objects, bad rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError
from odkit.io import read_csv, read_voc, write_csv
from tests.io._helpers import GOLDEN


def test_default_header_and_image_without_objects() -> None:
    d = read_csv(GOLDEN / "csv_default.csv", one_based=False)
    assert [im.file_name for im in d.images] == ["a.jpg", "b.jpg"] and d.images[0].image_hw == (30, 40)
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[1, 1, 40, 30], [11, 6, 20, 15]])
    assert len(d.annotations[2]) == 0
    one = read_csv(GOLDEN / "csv_default.csv")  # default: VOC-style 1-based pixels
    np.testing.assert_array_equal(one.annotations[1].boxes_xyxy, [[0, 0, 40, 30], [10, 5, 20, 15]])


def test_same_boxes_as_the_voc_file() -> None:
    voc = read_voc(GOLDEN / "voc_two_objects.xml")
    csv_ = read_csv(GOLDEN / "csv_default.csv", one_based=True)
    np.testing.assert_array_equal(voc.annotations[1].boxes_xyxy, csv_.annotations[1].boxes_xyxy)


def test_bccd_column_order_is_read_by_name() -> None:
    d = read_csv(GOLDEN / "csv_bccd_order.csv", one_based=False)
    # filename,cell_type,xmin,xmax,ymin,ymax -> xmin=10, xmax=20, ymin=30, ymax=40
    np.testing.assert_array_equal(d.annotations[1].boxes_xyxy, [[10, 30, 20, 40]])
    assert d.categories[0].name == "RBC" and d.images[0].width == 0


def test_column_mapping_for_other_headers() -> None:
    d = read_csv(GOLDEN / "csv_custom_header.csv", columns={"class": "kind"}, one_based=False)
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
    frac = read_csv(GOLDEN / "csv_custom_header.csv", columns={"class": "kind"}, one_based=False)
    write_csv(frac, tmp_path / "f.csv")  # default 1-based on both sides: symmetric
    np.testing.assert_array_equal(read_csv(tmp_path / "f.csv").annotations[1].boxes_xyxy, [[1.5, 2, 10, 12.25]])
    write_csv(frac, tmp_path / "z.csv", one_based=False)
    assert (tmp_path / "z.csv").read_text().splitlines()[1].endswith(",1.5,2,10,12.25")
    np.testing.assert_array_equal(read_csv(tmp_path / "z.csv", one_based=False).annotations[1].boxes_xyxy,
                                  [[1.5, 2, 10, 12.25]])


def test_raccoon_csv_matches_its_xml(datasets_dir: Path) -> None:
    xml = read_voc(datasets_dir / "raccoon")
    csv_ = read_csv(datasets_dir / "raccoon" / "data" / "raccoon_labels.csv")
    assert csv_.root == datasets_dir / "raccoon" / "images"
    by_name = {im.file_name: csv_.annotations[im.id] for im in csv_.images}
    for im, ann in xml:
        other = by_name[im.file_name]
        np.testing.assert_array_equal(np.sort(ann.boxes_xyxy, axis=0), np.sort(other.boxes_xyxy, axis=0))
    assert {im.file_name: im.image_hw for im in xml.images} == {im.file_name: im.image_hw for im in csv_.images}


def test_bccd_test_csv_matches_the_xml(datasets_dir: Path) -> None:
    xml = read_voc(datasets_dir / "bccd" / "BCCD")
    csv_ = read_csv(datasets_dir / "bccd" / "test.csv")
    assert csv_.root == datasets_dir / "bccd" / "BCCD" / "JPEGImages"
    assert [im.file_name for im in xml.images] == [im.file_name for im in csv_.images]
    for (_, a), (_, b) in zip(xml, csv_):
        np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
        np.testing.assert_array_equal(a.class_ids, b.class_ids)


def _bndboxes(folder: Path) -> dict[str, list[list[str]]]:
    import xml.etree.ElementTree as ET

    out = {}
    for f in sorted(folder.glob("*.xml")):
        root = ET.parse(f).getroot()
        out[root.findtext("filename")] = [[o.findtext(f"bndbox/{k}").strip() for k in ("xmin", "ymin", "xmax", "ymax")]
                                          for o in root.iter("object")]
    return out


def _as_ints(rows: list[list[str]]) -> list[list[int]]:
    return sorted([int(float(v)) for v in r] for r in rows)


def test_raccoon_csv_to_voc_reproduces_the_xml_numbers_by_default(datasets_dir: Path, tmp_path: Path) -> None:
    from odkit.cli.main import main

    src = datasets_dir / "raccoon"
    assert main(["convert", str(src / "data" / "raccoon_labels.csv"), str(tmp_path / "voc"), "--to", "voc",
                 "--copy-images", "none"]) == 0
    ours = _bndboxes(tmp_path / "voc" / "Annotations")
    theirs = _bndboxes(src / "annotations")
    assert len(ours) == 200
    for name, rows in ours.items():
        assert _as_ints(rows) == _as_ints(theirs[name]), name


def test_bccd_csv_to_voc_reproduces_the_xml_numbers(datasets_dir: Path, tmp_path: Path) -> None:
    from odkit.io import write_voc

    d = read_csv(datasets_dir / "bccd" / "test.csv")
    write_voc(d, tmp_path / "voc")
    ours = _bndboxes(tmp_path / "voc" / "Annotations")
    theirs = _bndboxes(datasets_dir / "bccd" / "BCCD" / "Annotations")
    assert ours and all(_as_ints(rows) == _as_ints(theirs[name]) for name, rows in ours.items())


def test_csv_zero_based_flag(tmp_path: Path) -> None:
    from odkit.cli.main import main

    src = tmp_path / "s.csv"
    src.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\na.jpg,40,30,cat,1,1,40,30\n")
    assert main(["convert", str(src), str(tmp_path / "c.json"), "--to", "coco", "--copy-images", "none"]) == 0
    import json

    assert json.loads((tmp_path / "c.json").read_text())["annotations"][0]["bbox"] == [0, 0, 40, 30]
    assert main(["convert", str(src), str(tmp_path / "z.json"), "--to", "coco", "--copy-images", "none",
                 "--csv-zero-based"]) == 0
    assert json.loads((tmp_path / "z.json").read_text())["annotations"][0]["bbox"] == [1, 1, 39, 29]
