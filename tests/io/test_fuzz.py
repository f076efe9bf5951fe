"""No reader lets a bare Python exception out: damaged files give an odkit error (or read fine)."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odkit.errors import OdkitError
from odkit.io import read_annotations, write_annotations
from tests.io._helpers import GOLDEN, make_image

SOURCES = {
    "coco": GOLDEN / "coco_small.json",
    "voc": GOLDEN / "voc_two_objects.xml",
    "csv": GOLDEN / "csv_default.csv",
}
YOLO_YAML = "train: images\nval: images\nnc: 2\nnames: {0: cat, 1: dog}\npath: .\n"
YOLO_LABEL = "0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.2 0.2\n"


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """``text`` cut, with characters replaced, or with a fragment inserted."""
    kind = draw(st.sampled_from(["cut", "replace", "insert"]))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    pos = draw(st.integers(0, len(text) - 1))
    frag = draw(st.sampled_from(['"', "{", "}", "[", "]", ",", "<", ">", "/", "-1", "1e999", "99999999999999999999999",
                                 "null", "true", "nan", "\x00", "é", " ", "\n", ":", "0.5", "-", "'", "x"]))
    if kind == "replace":
        end = pos + draw(st.integers(1, 5))
        return text[:pos] + frag + text[end:]
    return text[:pos] + frag + text[pos:]


def _read(path: Path, fmt: str) -> None:
    """Both read modes; an odkit error is a fine outcome, any other exception fails the test."""
    with contextlib.suppress(OdkitError):
        read_annotations(path, fmt)
    with contextlib.suppress(OdkitError):
        read_annotations(path, fmt, strict=False)


@pytest.mark.parametrize("fmt", sorted(SOURCES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_annotation_files(fmt: str, data: st.DataObject) -> None:
    source = SOURCES[fmt]
    text = data.draw(damaged(source.read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.name
        path.write_text(text, encoding="utf-8")
        _read(path, fmt)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_yolo_yaml_and_labels(data: st.DataObject) -> None:
    yaml_text = data.draw(st.one_of(damaged(YOLO_YAML), st.just(YOLO_YAML)))
    label_text = data.draw(st.one_of(damaged(YOLO_LABEL), st.just(YOLO_LABEL)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_image(root / "images" / "a.png", 8, 8)
        (root / "labels").mkdir()
        (root / "labels" / "a.txt").write_text(label_text, encoding="utf-8")
        (root / "data.yaml").write_text(yaml_text, encoding="utf-8")
        _read(root, "yolo")


def test_binary_and_empty_files(tmp_path: Path) -> None:
    for fmt, source in SOURCES.items():
        for content in (b"", b"\xff\xfe\x00garbage\x80", b"\x00" * 10):
            p = tmp_path / source.name
            p.write_bytes(content)
            with pytest.raises(OdkitError):
                read_annotations(p, fmt)
    shutil.rmtree(tmp_path)


_IMG = {"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}
_CAT = {"id": 1, "name": "a"}


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"images": [{**_IMG, "id": 2**70}], "categories": [_CAT]}, r"images\[0\]"),
        ({"images": [_IMG], "categories": [_CAT], "annotations": [
            {"id": 2**70, "image_id": 1, "category_id": 1, "bbox": [10**400, 1, 1, 1]}]}, r"annotations\[0\]\.bbox"),
        ({"images": [_IMG], "categories": [_CAT], "annotations": [
            {"id": 1, "image_id": [1], "category_id": 1, "bbox": [1, 1, 1, 1]}]}, r"annotations\[0\]\.image_id"),
        ({"images": [], "categories": [_CAT, {"id": 2, "name": "a"}]}, r"categories\[1\]: category name 'a'"),
        ({"images": [_IMG, _IMG], "categories": []}, r"images\[1\]: id 1 appears twice"),
    ],
)
def test_coco_edge_values_are_annotation_errors(tmp_path: Path, payload: dict, match: str) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(OdkitError, match=match):
        read_annotations(p, "coco")


@pytest.mark.parametrize(
    "yaml_text, match",
    [
        ("train: images\nval: images\nnc: abc\n", "nc must be a non-negative integer"),
        ("train: images\nval: images\nnames: [a]\npath: [1]\n", "path: expected a folder path"),
        ("train: images\nval: images\nnames: 5\n", "names: expected a list or a dict"),
        ("train: images\nval: images\nnames: [a, a]\n", "class names must be unique"),
    ],
)
def test_yolo_yaml_edge_values(tmp_path: Path, yaml_text: str, match: str) -> None:
    make_image(tmp_path / "images" / "a.png", 8, 8)
    (tmp_path / "data.yaml").write_text(yaml_text)
    with pytest.raises(OdkitError, match=match):
        read_annotations(tmp_path, "yolo")


def test_unknown_reader_and_writer_options(tmp_path: Path) -> None:
    with pytest.raises(OdkitError, match=r"the coco reader takes no option\(s\) \['one_based'\]"):
        read_annotations(SOURCES["coco"], one_based=True)
    d = read_annotations(SOURCES["csv"])
    with pytest.raises(OdkitError, match="the voc writer takes no option"):
        write_annotations(d, tmp_path / "o", "voc", one_based=True)
