"""``check_dataset`` / ``fix_dataset`` on hand-made defects and on the shared datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odkit.io import read_annotations
from odkit.io._check import check_dataset, fix_dataset
from tests.io._helpers import make_image


def _defect_set(base: Path) -> Path:
    """A COCO dataset with one of each defect; returns the JSON path."""
    img = base / "images"
    make_image(img / "ok.jpg", 60, 40)
    make_image(img / "trunc.jpg", 60, 40, noise=True)
    data = (img / "trunc.jpg").read_bytes()
    (img / "trunc.jpg").write_bytes(data[: len(data) // 2])
    (img / "garbage.jpg").write_bytes(b"this is not an image at all")
    make_image(img / "png_named.jpg", 60, 40, fmt="PNG")
    make_image(img / "nosize.jpg", 60, 40)
    make_image(img / "bad_exif.jpg", 60, 40, orientation=9)
    make_image(img / "rotated_stored_size.jpg", 60, 40, orientation=6)  # displayed 40 wide, 60 high
    make_image(img / "rotated_ok.jpg", 60, 40, orientation=6)
    make_image(img / "wrong_size.jpg", 60, 40)
    make_image(img / "empty.jpg", 60, 40)
    make_image(img / "stray.jpg", 60, 40)  # in the folder, in no annotation
    names = ["ok", "trunc", "garbage", "png_named", "nosize", "bad_exif", "rotated_stored_size", "rotated_ok",
             "wrong_size", "empty", "missing"]
    sizes = {"nosize": (0, 0), "rotated_stored_size": (60, 40), "rotated_ok": (40, 60), "wrong_size": (100, 100)}
    images = [{"id": i + 1, "file_name": f"{n}.jpg", "width": sizes.get(n, (60, 40))[0],
               "height": sizes.get(n, (60, 40))[1]} for i, n in enumerate(names)]
    boxes = [  # (image id, category id, [x, y, w, h])
        (1, 1, [10, 10, 20, 20]),   # ok
        (1, 1, [50, 30, 20, 20]),   # out_of_bounds
        (1, 1, [5, 5, 0, 10]),      # zero_size
        (1, 1, [30, 5, -5, 10]),    # inverted_box
        (1, 2, [0, 0, 8, 8]),       # kept: another class
        (1, 2, [0, 0, 8, 8]),       # duplicate of the previous
        (1, 1, [11, 10, 20, 20]),   # near_duplicate of the first (IoU 0.905)
        (1, 7, [1, 1, 5, 5]),       # unknown_class (read leniently: an issue, the box is skipped)
        (11, 1, [1, 1, 5, 5]),      # on the missing image
        (2, 1, [1, 1, 5, 5]),
        (4, 1, [1, 1, 5, 5]),
    ]
    anns = [{"id": k + 1, "image_id": i, "category_id": c, "bbox": b, "area": abs(b[2] * b[3]), "iscrowd": 0}
            for k, (i, c, b) in enumerate(boxes)]
    path = base / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}))
    return path


def _codes(report, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings if name in f.file or name in str(f.where) or name in f.message}


def test_every_defect_is_found_with_file_and_location(tmp_path: Path) -> None:
    ds = read_annotations(_defect_set(tmp_path), strict=False)
    report = check_dataset(ds)
    counts = report.counts()
    assert counts == {
        "duplicate": 1, "extension_mismatch": 1, "inverted_box": 1, "invalid_exif_orientation": 1,
        "missing_image": 1, "missing_size": 1, "near_duplicate": 1, "no_annotations": 7, "out_of_bounds": 1,
        "size_mismatch": 2, "truncated_image": 1, "unannotated_file": 1, "unknown_class": 1,
        "unreadable_image": 1, "zero_size": 1,
    }
    by_code = {f.code: f for f in report.findings}
    assert by_code["out_of_bounds"].where == "ok.jpg object 1"  # shared annotation file: image named
    assert by_code["zero_size"].where == "ok.jpg object 2"
    assert by_code["inverted_box"].where == "annotations[3].bbox"  # COCO: named by its entry
    assert by_code["duplicate"].where == "ok.jpg object 5" and "object 4" in by_code["duplicate"].message
    assert "IoU 0.905" in by_code["near_duplicate"].message
    assert by_code["unknown_class"].where == "annotations[7].category_id"
    assert by_code["truncated_image"].file.endswith("trunc.jpg") and "truncated" in by_code["truncated_image"].message
    assert by_code["unreadable_image"].file.endswith("garbage.jpg")
    assert "PNG" in by_code["extension_mismatch"].message
    assert by_code["invalid_exif_orientation"].file.endswith("bad_exif.jpg")
    assert by_code["unannotated_file"].file.endswith("stray.jpg")
    assert "missing.jpg" in by_code["missing_image"].message
    mismatches = [f.message for f in report.findings if f.code == "size_mismatch"]
    assert any("EXIF orientation 6" in m and "60x40" in m for m in mismatches)  # rotated_stored_size
    assert any("100x100" in m for m in mismatches)  # wrong_size; rotated_ok has no finding
    assert not report.ok and len(report.errors) == 10
    assert report.stats["images"] == 11 and report.stats["boxes"] == 9  # the inverted box was not read


def test_fix_writes_a_clean_copy(tmp_path: Path) -> None:
    src = _defect_set(tmp_path / "src")
    before = src.read_bytes()
    ds = read_annotations(src, strict=False)
    report = check_dataset(ds)
    fixed, changes = fix_dataset(ds, report)
    assert src.read_bytes() == before
    text = "\n".join(changes)
    for expected in ("trunc.jpg: image dropped", "garbage.jpg: image dropped", "missing.jpg: image dropped",
                     "nosize.jpg: size 0x0 -> 60x40", "rotated_stored_size.jpg: size 60x40 -> 40x60",
                     "object 2 dropped", "object 5 dropped", "clipped to [50.0, 30.0, 60.0, 40.0]"):
        assert expected in text, expected
    # the inverted box (object 3) never entered the dataset: the lenient read skipped it, and check said so
    assert [f.where for f in report.findings if f.code == "inverted_box"] == ["annotations[3].bbox"]
    assert len(fixed) == 8 and len(fixed.annotations[1]) == 4
    again = check_dataset(fixed)
    assert again.ok, [str(f) for f in again.errors]


def test_zero_size_voc_box_and_yolo_bad_lines_are_findings(tmp_path: Path) -> None:
    voc = tmp_path / "voc"
    make_image(voc / "images" / "a.jpg", 20, 20)
    (voc / "annotations").mkdir()
    (voc / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>20</width><height>20</height></size>"
        "<object><name>x</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>5</xmax><ymax>9</ymax></bndbox></object>"
        "<object><name>x</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
        "<object><name>x</name><bndbox><xmin>9</xmin><ymin>5</ymin><xmax>5</xmax><ymax>9</ymax></bndbox></object>"
        "</annotation>")
    report = check_dataset(read_annotations(voc, strict=False))
    assert sorted((f.where, f.code) for f in report.errors) == [("object 0", "zero_size"), ("object 2", "inverted_box")]
    assert report.errors[0].file.endswith("a.xml")

    yolo = tmp_path / "yolo"
    make_image(yolo / "images" / "a.jpg", 20, 20)
    (yolo / "labels").mkdir()
    (yolo / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n3 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n")
    (yolo / "data.yaml").write_text("train: images\nval: images\nnames: [x]\n")
    report = check_dataset(read_annotations(yolo, strict=False))
    got = sorted((f.code, str(f.where)) for f in report.errors)
    assert got == [("bad_line", "2"), ("duplicate", "object 1 (line 4)"), ("unknown_class", "3")]


def test_bccd_has_exactly_two_zero_size_boxes_and_eight_near_duplicate_pairs(datasets_dir: Path) -> None:
    report = check_dataset(read_annotations(datasets_dir / "bccd" / "BCCD", strict=False))
    assert report.counts() == {"near_duplicate": 8, "zero_size": 2}
    zero = sorted((Path(f.file).name, f.where) for f in report.findings if f.code == "zero_size")
    assert zero == [("BloodImage_00338.xml", "object 12"), ("BloodImage_00343.xml", "object 3")]
    near = sorted(Path(f.file).stem[-5:] for f in report.findings if f.code == "near_duplicate")
    assert near == ["00013", "00020", "00100", "00104", "00251", "00284", "00331", "00403"]
    assert report.stats["boxes_per_class"] == {"Platelets": 361, "RBC": 4155, "WBC": 372}
    # SOURCES.md counts small 41 / medium 1524 / large 3323 on raw VOC (xmax - xmin) * (ymax - ymin); in
    # continuous coordinates a VOC box is one pixel wider and taller, which moves boxes up a bucket.
    assert report.stats["size_buckets"]["all"] == {"small": 34, "medium": 1386, "large": 3468}


def test_raccoon_is_clean_and_its_first_release_is_flagged(datasets_dir: Path) -> None:
    clean = check_dataset(read_annotations(datasets_dir / "raccoon", strict=False))
    assert clean.findings == [] and clean.ok
    sizes = clean.stats["size_buckets"]["all"]
    assert sizes == {"small": 0, "medium": 15, "large": 202}  # as SOURCES.md counts them
    old = check_dataset(read_annotations(datasets_dir / "raccoon" / "annotations_at_f4d1464", strict=False),
                        decode=False)
    assert old.counts() == {"file_name_mismatch": 200} and old.ok


@pytest.mark.parametrize("decode", [True, False])
def test_no_images_and_fast_modes(tmp_path: Path, decode: bool) -> None:
    ds = read_annotations(_defect_set(tmp_path), strict=False)
    report = check_dataset(ds, decode=decode)
    assert ("truncated_image" in report.counts()) is decode
    report = check_dataset(ds, check_images=False)
    assert not {"missing_image", "size_mismatch", "unannotated_file"} & set(report.counts())
