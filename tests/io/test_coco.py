"""COCO instances JSON: reading, writing, malformed files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from odkit.errors import AnnotationError
from odkit.io import coco_dict, read_annotations, read_coco, write_annotations, write_coco
from tests.io._helpers import GOLDEN


def test_read_golden_keeps_sparse_ids_crowd_area_and_segmentation() -> None:
    d = read_coco(GOLDEN / "coco_small.json")
    assert [c.id for c in d.categories] == [3, 90] and d.categories[0].supercategory == "vehicle"
    assert [im.id for im in d.images] == [7, 9] and d.images[0].image_hw == (30, 40)
    ann = d.annotations[7]
    np.testing.assert_array_equal(ann.boxes_xyxy, [[1.5, 2.25, 11.5, 7.25], [0, 0, 40, 30]])
    assert ann.iscrowd.tolist() == [False, True] and ann.area.tolist() == [42.0, 900.0]
    assert ann.ann_ids.tolist() == [100, 101] and ann.extras[1]["segmentation"]["size"] == [30, 40]
    assert len(d.annotations[9]) == 0
    assert d.images[0].annotation_file.endswith("coco_small.json")


def test_write_then_read_is_identity(tmp_path: Path) -> None:
    d = read_coco(GOLDEN / "coco_small.json")
    report = write_coco(d, tmp_path / "out.json")
    assert (report.images, report.boxes) == (2, 2) and not report.issues
    again = json.loads((tmp_path / "out.json").read_text())
    original = json.loads((GOLDEN / "coco_small.json").read_text())
    assert again == original
    assert coco_dict(d) == original


def test_bad_json_names_file_and_line() -> None:
    with pytest.raises(AnnotationError, match=r"coco_bad_json.json:4: invalid JSON") as info:
        read_coco(GOLDEN / "coco_bad_json.json")
    assert info.value.where == 4


def test_missing_top_level_key() -> None:
    with pytest.raises(AnnotationError, match="missing top-level key 'images'"):
        read_coco(GOLDEN / "coco_missing_images.json")


def test_bad_annotations_strict_and_lenient() -> None:
    with pytest.raises(AnnotationError, match=r"annotations\[1\]: missing key 'bbox'"):
        read_coco(GOLDEN / "coco_bad_annotation.json")
    d = read_coco(GOLDEN / "coco_bad_annotation.json", strict=False)
    assert len(d.annotations[1]) == 1
    got = [(i.code, i.where) for i in d.issues]
    assert got == [
        ("bad_annotation", "annotations[1]"),
        ("bad_box", "annotations[2].bbox"),
        ("missing_image_record", "annotations[3].image_id"),
        ("unknown_class", "annotations[4].category_id"),
    ]


@pytest.mark.parametrize(
    "payload, match",
    [
        ([1, 2], "expected a COCO instances object"),
        ({"images": {}, "categories": []}, r"images: expected a list"),
        ({"images": [{"id": 1.5, "file_name": "a"}], "categories": []}, r"images\[0\]: id must be an integer or a"),
        ({"images": [], "categories": [{"id": 1}]}, r"categories\[0\]"),
        ({"images": [{"id": 1, "file_name": "a", "width": -3, "height": 2}], "categories": []}, "width/height"),
        ({"images": [], "categories": [], "annotations": 5}, "annotations: expected a list"),
    ],
)
def test_malformed_structures_are_annotation_errors(tmp_path: Path, payload: object, match: str) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(AnnotationError, match=match):
        read_coco(p)


def test_images_folder_is_found_in_the_coco_layout(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    (tmp_path / "val2017" / "a.jpg").write_bytes(b"x")
    shutil.copy(GOLDEN / "coco_small.json", tmp_path / "annotations" / "instances_val2017.json")
    d = read_annotations(tmp_path / "annotations" / "instances_val2017.json")
    assert d.root == tmp_path / "val2017"
    d2 = read_annotations(tmp_path)  # folder: the single json under annotations/
    assert d2.source["format"] == "coco"


def test_one_id_rule_with_eval_string_and_integral_float_ids(tmp_path: Path) -> None:
    """The rule of odkit._coco_json, the same for io and eval: string ids stay strings ("3" is not 3), an
    integral float is the int, a fractional one is an error naming the entry; negative sizes are errors."""
    from odkit.eval import evaluate_coco

    gt = {"images": [{"id": "a1", "file_name": "a.jpg", "width": 10, "height": 10},
                     {"id": 2.0, "file_name": "b.jpg", "width": 10, "height": 10},
                     {"id": "2", "file_name": "c.jpg", "width": 10, "height": 10}],
          "categories": [{"id": 1, "name": "x"}],
          "annotations": [{"id": 1, "image_id": "a1", "category_id": 1, "bbox": [1, 1, 3, 3]},
                          {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2]},
                          {"id": 3, "image_id": "2", "category_id": 1, "bbox": [5, 5, 2, 2]}]}
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(gt))
    d = read_coco(p)
    assert [im.id for im in d.images] == ["a1", 2, "2"]
    assert d.annotations[2].boxes_xyxy.tolist() == [[1, 1, 3, 3]] and d.annotations["2"].boxes_xyxy.tolist() == [
        [5, 5, 7, 7]]
    write_annotations(d, tmp_path / "out.json", "coco")
    back = read_coco(tmp_path / "out.json")
    assert [im.id for im in back.images] == ["a1", 2, "2"]
    results = [{"image_id": i, "category_id": 1, "bbox": b, "score": 0.9}
               for i, b in (("a1", [1, 1, 3, 3]), (2, [1, 1, 2, 2]), ("2", [5, 5, 2, 2]))]
    assert evaluate_coco(p, results).map == 1.0
    for bad, match in ((1.5, r"images\[1\]: id must be an integer or a string; got 1.5"),
                       (True, r"images\[1\]: id must be an integer or a string; got True")):
        p.write_text(json.dumps({**gt, "images": [gt["images"][0], {**gt["images"][1], "id": bad}]}))
        with pytest.raises(AnnotationError, match=match):
            read_coco(p)
        with pytest.raises(AnnotationError, match=match):
            evaluate_coco(p, [])
    p.write_text(json.dumps({**gt, "annotations": [{**gt["annotations"][0], "bbox": [1, 1, -3, 3]}]}))
    for load in (read_coco, lambda path: evaluate_coco(path, [])):
        with pytest.raises(AnnotationError, match=r"annotations\[0\]\.bbox: bbox has a negative width or height"):
            load(p)
