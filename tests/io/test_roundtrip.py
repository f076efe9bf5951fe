"""Round trips: every format pair on generated data (hypothesis), and the shared datasets through the chain
VOC -> COCO -> YOLO -> VOC. Boxes must survive to within each format's precision."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odkit.io import (
    Category,
    Dataset,
    GroundTruth,
    ImageRecord,
    read_annotations,
    write_annotations,
)
from tests.io._helpers import assert_same_boxes, make_image

FORMATS = ("coco", "voc", "yolo", "csv", "labelme", "cvat")
NAMES = ("cat", "dog", "person")


@st.composite
def datasets(draw: st.DrawFn, integer: bool = True) -> tuple[Dataset, list[tuple[int, int]]]:
    """A dataset of 1-4 images (8-48 px a side), 0-4 boxes each (whole pixels when ``integer``)."""
    n = draw(st.integers(1, 4))
    images, anns = [], {}
    used = sorted(draw(st.sets(st.sampled_from(NAMES), min_size=1)))
    cats = tuple(Category(i + 1, name) for i, name in enumerate(used))
    for i in range(1, n + 1):
        w, h = draw(st.integers(8, 48)), draw(st.integers(8, 48))
        images.append(ImageRecord(i, f"img{i}.png", f"img{i}.png", w, h))
        rows = []
        for _ in range(draw(st.integers(0, 4))):
            if integer:
                x0, y0 = draw(st.integers(0, w - 2)), draw(st.integers(0, h - 2))
                x1, y1 = draw(st.integers(x0 + 1, w)), draw(st.integers(y0 + 1, h))
            else:
                x0 = draw(st.floats(0, w - 1, allow_nan=False))
                y0 = draw(st.floats(0, h - 1, allow_nan=False))
                x1 = draw(st.floats(x0 + 0.5, w, allow_nan=False))
                y1 = draw(st.floats(y0 + 0.5, h, allow_nan=False))
            rows.append(((x0, y0, x1, y1), draw(st.sampled_from(cats)).id))
        if rows:
            anns[i] = GroundTruth(np.array([r[0] for r in rows], np.float64), [r[1] for r in rows])
    return Dataset(tuple(images), cats, anns), [(im.width, im.height) for im in images]


def _with_images(dataset: Dataset, folder: Path) -> Dataset:
    for im in dataset.images:
        make_image(folder / im.path, im.width, im.height)
    return dataset.with_images_root(folder)


def _precision(fmt: str, dataset: Dataset) -> float:
    """Largest coordinate error a format may add, in pixels: YOLO keeps 6 decimals of the image size."""
    if fmt != "yolo":
        return 1e-9
    return max(max(im.width, im.height) for im in dataset.images) * 1e-6


@pytest.mark.parametrize("src_fmt, dst_fmt", list(itertools.product(FORMATS, FORMATS)))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets())
def test_every_format_pair_keeps_whole_pixel_boxes(src_fmt: str, dst_fmt: str,
                                                  data: tuple[Dataset, list]) -> None:
    dataset, _ = data
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        dataset = _with_images(dataset, base / "src_images")
        write_annotations(dataset, base / "a", src_fmt, copy_images="copy")
        first = read_annotations(base / "a", src_fmt)
        write_annotations(first, base / "b", dst_fmt, copy_images="copy")
        second = read_annotations(base / "b", dst_fmt)
        # VOC rounds to whole pixels, which absorbs YOLO's 6-decimal error; others keep it.
        atol = max(_precision(src_fmt, dataset), _precision(dst_fmt, dataset)) if "voc" not in (src_fmt, dst_fmt) \
            else (0.0 if dst_fmt == "voc" else _precision(dst_fmt, dataset))
        assert_same_boxes(dataset, second, atol=atol + 1e-9)
        assert [(im.width, im.height) for im in second.images] == [(im.width, im.height) for im in dataset.images]


@pytest.mark.parametrize("fmt", ["coco", "csv", "yolo", "labelme", "cvat"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(integer=False))
def test_fractional_boxes_survive_their_own_format(fmt: str, data: tuple[Dataset, list]) -> None:
    dataset, _ = data
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        dataset = _with_images(dataset, base / "src_images")
        report = write_annotations(dataset, base / "a", fmt, copy_images="copy")
        assert not report.issues
        again = read_annotations(base / "a", fmt)
        assert_same_boxes(dataset, again, atol=_precision(fmt, dataset) + 1e-9)


def test_format_specific_flags_survive_their_format(tmp_path: Path) -> None:
    ann = GroundTruth([[0, 0, 10, 10], [2, 2, 6, 6]], [1, 1], iscrowd=[False, True], difficult=[True, False],
                           truncated=[False, True], area=[50.0, 7.5])
    d = Dataset((ImageRecord(1, "a.png", "a.png", 20, 20),), (Category(1, "x"),), {1: ann})
    d = _with_images(d, tmp_path / "i")
    write_annotations(d, tmp_path / "coco", "coco")
    coco = read_annotations(tmp_path / "coco", "coco").annotations[1]
    assert coco.iscrowd.tolist() == [False, True] and coco.area.tolist() == [50.0, 7.5]
    voc_only = d.subset([1])
    report = write_annotations(voc_only, tmp_path / "voc", "voc")
    assert [i.code for i in report.issues] == ["crowd_not_representable"]
    voc = read_annotations(tmp_path / "voc", "voc").annotations[1]
    assert voc.difficult.tolist() == [True] and voc.truncated.tolist() == [False]


def _chain(dataset: Dataset, base: Path) -> Dataset:
    write_annotations(dataset, base / "coco", "coco", copy_images="symlink")
    coco = read_annotations(base / "coco")
    assert coco.source["format"] == "coco"
    write_annotations(coco, base / "yolo", "yolo", copy_images="symlink")
    yolo = read_annotations(base / "yolo")
    assert yolo.source["format"] == "yolo"
    write_annotations(yolo, base / "voc", "voc", copy_images="symlink")
    voc = read_annotations(base / "voc")
    assert voc.source["format"] == "voc"
    return voc


@pytest.mark.parametrize("name, subdir", [("raccoon", ""), ("bccd", "BCCD")])
def test_shared_dataset_voc_coco_yolo_voc_is_lossless(datasets_dir: Path, tmp_path: Path, name: str,
                                                      subdir: str) -> None:
    original = read_annotations(datasets_dir / name / subdir)
    back = _chain(original, tmp_path)
    assert_same_boxes(original, back, atol=0.0)
    assert {im.path: im.image_hw for im in original.images} == {im.path: im.image_hw for im in back.images}


@pytest.mark.parametrize("fmt", ["coco", "csv", "cvat"])
def test_bccd_voc_to_each_format_is_exact(datasets_dir: Path, tmp_path: Path, fmt: str) -> None:
    """Annotations only (YOLO needs the images to denormalize, and VOC writing is in the chain above)."""
    original = read_annotations(datasets_dir / "bccd" / "BCCD")
    write_annotations(original, tmp_path / fmt, fmt)
    assert_same_boxes(original, read_annotations(tmp_path / fmt, fmt), atol=0.0)


def test_writing_over_the_source_layout_never_deletes_images(tmp_path: Path) -> None:
    d = Dataset((ImageRecord(1, "a.png", "a.png", 20, 20),), (Category(1, "x"),),
                {1: GroundTruth([[1, 1, 5, 5]], [1])})
    d = _with_images(d, tmp_path / "JPEGImages")
    before = (tmp_path / "JPEGImages" / "a.png").read_bytes()
    for mode in ("copy", "symlink"):
        write_annotations(d, tmp_path, "voc", copy_images=mode)  # the layout puts a.png where it already is
        assert (tmp_path / "JPEGImages" / "a.png").read_bytes() == before
    assert read_annotations(tmp_path, "voc").num_boxes == 1
