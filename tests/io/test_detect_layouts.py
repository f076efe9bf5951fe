"""Format detection of datasets whose folders have other names, or lie one folder down, and the error
that lists two formats found in one folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odkit.cli.main import main
from odkit.errors import DatasetError
from odkit.io import detect_format, read_annotations, read_voc, write_annotations
from tests.io._helpers import make_image

DATASETS = Path("/work/shared/datasets")


def _voc_xml(file_name: str, path: str, box: tuple[int, int, int, int] = (5, 6, 30, 25)) -> str:
    x0, y0, x1, y1 = box
    return (f"<annotation><folder>images</folder><filename>{file_name}</filename><path>{path}</path>"
            "<size><width>40</width><height>30</height><depth>3</depth></size>"
            f"<object><name>kangaroo</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox></object></annotation>")


def _voc_folder(root: Path, xml_dir: str, image_dir: str | None, n: int = 3, truncate: int | None = None) -> Path:
    """``n`` XML files in ``root/xml_dir`` (labelImg-style, ``<path>`` on the labeller's Windows machine) and
    their JPEGs in ``root/image_dir`` (beside the XML files when None); image ``truncate`` cut in half."""
    images = root / (image_dir or xml_dir)
    for i in range(n):
        name = f"{i:05d}.jpg"
        make_image(images / name, 40, 30, noise=True)
        xml = root / xml_dir / f"{i:05d}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(_voc_xml(name, f"C:\\Users\\someone\\Desktop\\kangaroo\\images\\{name}"))
    if truncate is not None:
        jpg = images / f"{truncate:05d}.jpg"
        data = jpg.read_bytes()
        jpg.write_bytes(data[: len(data) // 2])
    return root


def _yolo(root: Path) -> Path:
    make_image(root / "images" / "a.jpg", 40, 30)
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.25 0.5\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [kangaroo]\n")
    return root


def test_check_finds_the_truncated_jpeg_of_annots_and_images_without_any_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _voc_folder(tmp_path / "kangaroo", "annots", "images", n=4, truncate=2)
    assert detect_format(root).value == "voc"
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert "voc dataset found in" in out and "(annots/, images in images/)" in out
    assert "[truncated_image] 1 error(s)" in out and "00002.jpg" in out
    assert "[missing_image]" not in out  # <path> C:\Users\... is ignored: the images are found by <filename>
    assert "images: 4  boxes: 4" in out


@pytest.mark.parametrize(("xml_dir", "image_dir"), [
    ("annots", "images"),
    ("xml", "images"),
    ("labels_xml", "imgs"),            # neither name is a convention: images found by <filename>
    ("xml", "data/images"),            # in a sibling's images/
    ("labelled", None),                # images beside the XML files
    ("BCCD/Annotations", "BCCD/JPEGImages"),  # a VOC root one folder down
])
def test_voc_folders_of_other_names_are_found(tmp_path: Path, xml_dir: str, image_dir: str | None) -> None:
    root = _voc_folder(tmp_path / "root", xml_dir, image_dir)
    assert detect_format(root).value == "voc"
    ds = read_annotations(root)
    assert len(ds) == 3 and ds.num_boxes == 3
    assert all(ds.image_path(im).is_file() for im in ds.images), ds.root
    assert not [i for i in ds.issues if i.code == "file_name_mismatch"]
    assert read_voc(root / xml_dir.split("/")[0]).root == ds.root  # read_voc finds them the same way


def test_an_existing_path_tag_finds_images_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "root"
    elsewhere = tmp_path / "photos"
    make_image(elsewhere / "a.jpg", 40, 30)
    (root / "xml").mkdir(parents=True)
    (root / "xml" / "a.xml").write_text(_voc_xml("a.jpg", str(elsewhere / "a.jpg")))
    ds = read_annotations(root)
    assert ds.root == elsewhere and ds.image_path(ds.images[0]).is_file()


def test_voc_root_one_folder_down_keeps_its_splits(tmp_path: Path) -> None:
    root = _voc_folder(tmp_path / "root", "BCCD/Annotations", "BCCD/JPEGImages", n=3)
    main_dir = root / "BCCD" / "ImageSets" / "Main"
    main_dir.mkdir(parents=True)
    (main_dir / "train.txt").write_text("00000\n00001\n")
    (main_dir / "val.txt").write_text("00002\n")
    ds = read_annotations(root)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 2, "val": 1}


def test_yolo_and_coco_one_folder_down(tmp_path: Path) -> None:
    _yolo(tmp_path / "y" / "export")
    assert detect_format(tmp_path / "y").value == "yolo"
    assert read_annotations(tmp_path / "y").num_boxes == 1
    ds = read_annotations(tmp_path / "y" / "export")
    write_annotations(ds, tmp_path / "c" / "coco_export", "coco", copy_images="copy")
    assert detect_format(tmp_path / "c").value == "coco"
    assert read_annotations(tmp_path / "c").num_boxes == 1
    # a single COCO file of any name in a sub-folder (Roboflow's _annotations.coco.json)
    make_image(tmp_path / "r" / "train" / "a.jpg", 40, 30)
    data = {"images": [{"id": 0, "file_name": "a.jpg", "width": 40, "height": 30}],
            "annotations": [{"id": 0, "image_id": 0, "category_id": 1, "bbox": [1, 2, 10, 5]}],
            "categories": [{"id": 1, "name": "k"}]}
    (tmp_path / "r" / "train" / "_annotations.coco.json").write_text(json.dumps(data))
    assert detect_format(tmp_path / "r").value == "coco"
    ds = read_annotations(tmp_path / "r")
    assert ds.image_path(ds.images[0]).is_file()


def test_two_formats_are_an_error_that_lists_them_and_says_how_to_choose(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _yolo(tmp_path / "root")
    (root / "xml").mkdir()
    (root / "xml" / "a.xml").write_text(_voc_xml("a.jpg", "a.jpg"))
    with pytest.raises(DatasetError) as exc:
        detect_format(root)
    msg = str(exc.value)
    assert "found more than one annotation format" in msg
    assert "yolo in data.yaml" in msg and "voc in xml/ (1 .xml), images in images/" in msg
    assert "--from FMT" in msg and "fmt=FMT" in msg
    with pytest.raises(DatasetError, match="more than one annotation format"):
        read_annotations(root)
    assert read_annotations(root, "voc").source["format"] == "voc"
    assert read_annotations(root, "yolo").source["format"] == "yolo"
    assert main(["check", str(root), "--no-images"]) == 1
    assert "error: " in capsys.readouterr().err
    assert main(["check", str(root), "--from", "voc", "--no-images"]) == 0


def test_one_format_in_two_places_asks_for_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _voc_folder(root, "xml_a", "images")
    _voc_folder(root, "xml_b", "images")
    with pytest.raises(DatasetError, match=r"found voc annotations in 2 places: .*xml_a/.*xml_b/.*pass the folder"):
        detect_format(root)
    assert len(read_annotations(root / "xml_b")) == 3


def test_xml_folder_without_its_images_yields_to_one_with_them(tmp_path: Path) -> None:
    root = _voc_folder(tmp_path / "root", "annots", "images")
    (root / "old").mkdir()
    (root / "old" / "x.xml").write_text(_voc_xml("gone.jpg", "gone.jpg"))
    assert read_annotations(root).num_boxes == 3


def test_nothing_found_says_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match=r"cannot tell the annotation format.*one folder down"):
        detect_format(tmp_path)


@pytest.mark.skipif(not DATASETS.is_dir(), reason="shared datasets not present")
def test_shared_datasets() -> None:
    raccoon = DATASETS / "raccoon"  # annotations/ wins over annotations_at_f4d1464/ (same format, one level down)
    assert detect_format(raccoon).value == "voc" and len(read_annotations(raccoon)) == 200
    bccd = DATASETS / "bccd"  # test.csv beside BCCD/Annotations: two formats
    with pytest.raises(DatasetError, match=r"csv in test.csv; voc in BCCD/Annotations/ \(364 .xml\)"):
        detect_format(bccd)
    ds = read_annotations(bccd, "voc")
    assert {k: len(v) for k, v in ds.splits.items()} == {"test": 72, "train": 205, "trainval": 292, "val": 87}


def test_coco_file_per_split_folder_is_one_dataset_with_splits(tmp_path: Path) -> None:
    """Roboflow's COCO export: train/, valid/, test/, each with its images and an _annotations.coco.json
    numbering its images from 0."""
    root = tmp_path / "export"
    for split, names in {"train": ["a.jpg", "b.jpg"], "valid": ["c.jpg"], "test": ["d.jpg"]}.items():
        for name in names:
            make_image(root / split / name, 40, 30)
        data = {"images": [{"id": i, "file_name": n, "width": 40, "height": 30} for i, n in enumerate(names)],
                "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 2, 10, 5]}
                                for i in range(len(names))],
                "categories": [{"id": 0, "name": "cells"}, {"id": 1, "name": "k"}]}
        (root / split / "_annotations.coco.json").write_text(json.dumps(data))
    (root / "README.roboflow.txt").write_text("exported")
    assert detect_format(root).value == "coco"
    ds = read_annotations(root)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 2, "val": 1, "test": 1}
    assert len(ds) == 4 and ds.num_boxes == 4 and all(ds.image_path(im).is_file() for im in ds.images)
    assert [i.code for i in ds.issues] == ["image_ids_renumbered"]


def test_voc_folder_per_split_is_one_dataset_with_splits(tmp_path: Path) -> None:
    """Roboflow's VOC export: train/, valid/, test/, each holding its images and their XML files."""
    root = tmp_path / "export"
    _voc_folder(root, "train", None, n=3)
    _voc_folder(root, "valid", None, n=2)
    _voc_folder(root, "test", None, n=1)
    assert detect_format(root).value == "voc"
    ds = read_annotations(root)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 3, "val": 2, "test": 1}
    assert len(ds) == 6 and ds.num_boxes == 6 and [c.name for c in ds.categories] == ["kangaroo"]
    assert all(ds.image_path(im).is_file() for im in ds.images)
    assert ds.source["format"] == "voc" and set(ds.source["folders"]) == {"train", "val", "test"}
