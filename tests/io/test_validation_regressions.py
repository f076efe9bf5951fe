"""Reader validation: COCO number types and integral float sizes, VOC sizes; merge/remap unknown ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError, DatasetError
from odkit.io import (
    Category,
    Dataset,
    GroundTruth,
    ImageRecord,
    merge_datasets,
    read_coco,
    read_voc,
    remap_categories,
)


def _coco(tmp_path: Path, ann: dict, image: dict | None = None) -> Path:
    im = {"id": 1, "file_name": "a.jpg", "width": 10, "height": 10, **(image or {})}
    a = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0, **ann}
    (tmp_path / "d").mkdir(exist_ok=True)
    p = tmp_path / "d" / "c.json"  # nothing around it: no image folder guessed from sibling tests
    p.write_text(json.dumps({"images": [im], "annotations": [a], "categories": [{"id": 1, "name": "a"}]}))
    return p


def test_coco_integral_float_sizes_are_accepted(tmp_path: Path) -> None:
    d = read_coco(_coco(tmp_path, {}, {"width": 640.0, "height": 480.0}))
    assert d.images[0].image_hw == (480, 640) and isinstance(d.images[0].width, int)
    with pytest.raises(AnnotationError, match=r"images\[0\]: width/height must be non-negative whole numbers"):
        read_coco(_coco(tmp_path, {}, {"width": 640.5}))


@pytest.mark.parametrize(("ann", "where"), [
    ({"bbox": ["1", "2", "3", "4"]}, r"annotations\[0\]\.bbox"),
    ({"iscrowd": "1"}, r"annotations\[0\]\.iscrowd"),
    ({"iscrowd": 2}, r"annotations\[0\]\.iscrowd"),
    ({"area": "big"}, r"annotations\[0\]\.area"),
])
def test_coco_rejects_non_numbers_with_the_entry(tmp_path: Path, ann: dict, where: str) -> None:
    p = _coco(tmp_path, ann)
    with pytest.raises(AnnotationError, match=rf"c\.json:{where}"):
        read_coco(p)
    d = read_coco(p, strict=False)
    errors = [i.where for i in d.issues if i.severity == "error"]
    assert d.num_boxes == 0 and errors == [where.replace("\\", "")]


def test_coco_missing_area_is_the_box_area(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
                             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 3]}],
                             "categories": [{"id": 1, "name": "a"}]}))
    assert read_coco(p).annotations[1].area.tolist() == [6.0]


def test_voc_negative_size_is_rejected_with_file_and_field(tmp_path: Path) -> None:
    # in a folder of its own: read_voc looks for images beside the XML folder, where other tests' files lie
    (tmp_path / "ds" / "xml").mkdir(parents=True)
    p = tmp_path / "ds" / "xml" / "a.xml"
    p.write_text("<annotation><filename>a.jpg</filename><size><width>-5</width><height>10</height></size>"
                 "<object><name>x</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>"
                 "</object></annotation>")
    with pytest.raises(AnnotationError, match=r"a\.xml:size/width: <width> must be positive"):
        read_voc(p)
    d = read_voc(p, strict=False)
    assert [i.code for i in d.issues] == ["bad_size"] and d.images[0].image_hw == (0, 0)


def _stray() -> Dataset:
    return Dataset(images=(ImageRecord(1, "a.jpg", "a.jpg", 10, 10, ""),), categories=(Category(1, "a"),),
                   annotations={1: GroundTruth(np.array([[1, 1, 3, 3]], np.float64), np.array([7], np.int64))})


def test_merge_and_remap_name_the_unknown_category_id() -> None:
    with pytest.raises(DatasetError, match=r"category id\(s\) \[7\]"):
        merge_datasets(_stray())
    with pytest.raises(DatasetError, match=r"'a\.jpg'.*category id\(s\) \[7\]"):
        remap_categories(_stray(), {"a": "b"})
