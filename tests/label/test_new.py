"""``odkit label --to FMT [DST]``: a folder of images as a new dataset, and an existing dataset edited as a
converted copy (the source files untouched)."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from odkit.cli.main import main
from odkit.io import read_annotations
from odkit.label import LabelError, LabelServer, LabelStore
from odkit.label._new import convert_into, new_dataset
from tests.label._helpers import copy_raccoon, hashes, request
from tests.label.test_cli import _start

CLASSES = ["cat", "dog"]


def _images(folder: Path, n: int = 3) -> Path:
    """``n`` generated images (different sizes) in ``folder``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        arr = rng.integers(0, 255, (60 + 10 * k, 80 + 10 * k, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"img{k}.png")
    return folder


@contextmanager
def _serve(store: LabelStore) -> Iterator[LabelServer]:
    server = LabelServer(store).start()
    try:
        yield server
    finally:
        server.shutdown()


def _put(server: LabelServer, index: int, boxes: list[dict]) -> dict:
    status, body = request(server, "GET", f"/api/images/{index}")
    assert status == 200, body
    version = json.loads(body)["version"]
    status, body = request(server, "PUT", f"/api/images/{index}", {"version": version, "boxes": boxes})
    assert status == 200, body
    return json.loads(body)


def _by_name(ds) -> dict[str, tuple[list[list[float]], list[str]]]:
    names = ds.category_names
    return {Path(im.path).name: (ds.annotations[im.id].boxes_xyxy.tolist(),
                                 [names[int(c)] for c in ds.annotations[im.id].class_ids])
            for im in ds.images}


BOX = {"x0": 10.0, "y0": 5.0, "x1": 40.0, "y1": 30.0, "cls": "dog"}


@pytest.mark.parametrize("dst_name", [None, "out"])
@pytest.mark.parametrize("fmt", ["yolo", "voc", "coco", "csv", "labelme"])
def test_new_dataset_saves_only_the_drawn_image(tmp_path: Path, fmt: str, dst_name: str | None) -> None:
    images = _images(tmp_path / "pics")
    before = hashes(images)
    dst = tmp_path / dst_name if dst_name else None
    ds = new_dataset(images, CLASSES, fmt, dst)
    assert len(ds) == 3 and all(len(a) == 0 for a in ds.annotations.values())
    where = dst or images
    store = LabelStore(ds, images, roots=[where, *{Path(im.annotation_file).parent for im in ds.images}])
    with _serve(store) as server:
        out = _put(server, 1, [BOX, {**BOX, "x0": 1.0, "cls": "cat"}])
    saved = Path(out["file"])
    new_files = set(hashes(tmp_path)) - {f"pics/{k}" for k in before}
    expected = {saved.relative_to(tmp_path).as_posix()}
    if fmt == "yolo":
        expected.add(f"{dst_name or 'pics'}/data.yaml")
    assert new_files == expected  # only that image's file (or the one file); the others get none
    assert {k: v for k, v in hashes(images).items() if k in before} == before  # images untouched
    kwargs = {} if fmt == "yolo" or dst is None else {"images_dir": images}
    back = _by_name(read_annotations(where / ("annotations.json" if fmt == "coco" else ""), fmt, **kwargs))
    assert np.allclose(back["img1.png"][0], [[10, 5, 40, 30], [1, 5, 40, 30]], atol=1e-3)  # YOLO: 6 digits
    assert back["img1.png"][1] == ["dog", "cat"]
    assert all(v == ([], []) for k, v in back.items() if k != "img1.png")
    # a second session sees the saved boxes
    again = _by_name(new_dataset(images, CLASSES, fmt, dst))
    assert np.allclose(again["img1.png"][0], back["img1.png"][0]) and again["img1.png"][1] == ["dog", "cat"]


def test_convert_voc_to_yolo_leaves_the_source_untouched(datasets_dir: Path, tmp_path: Path) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path, n=3)
    before = hashes(raccoon)
    src = read_annotations(raccoon)
    dst = tmp_path / "yolo"
    ds, report = convert_into(src, "yolo", dst)
    assert report is not None and len(ds) == 3
    store = LabelStore(ds, dst, roots=[dst, Path(src.root)])
    with _serve(store) as server:
        index = next(k for k, im in enumerate(ds.images) if Path(im.path).name == "raccoon-2.jpg")
        _put(server, index, [{"x0": 20.0, "y0": 30.0, "x1": 120.0, "y1": 140.0, "cls": "raccoon"}])
        status, _ = request(server, "GET", f"/api/images/{index}/file")
        assert status == 200  # the symlinked image is served
    back = _by_name(read_annotations(dst, "yolo"))
    assert np.allclose(back["raccoon-2.jpg"][0], [[20.0, 30.0, 120.0, 140.0]], atol=1e-3)
    assert np.allclose(back["raccoon-1.jpg"][0], _by_name(src)["raccoon-1.jpg"][0], atol=1e-3)
    assert hashes(raccoon) == before
    # the same conversion is reused (the edit kept); another dataset's folder is refused
    again, report = convert_into(src, "yolo", dst)
    assert report is None and np.allclose(_by_name(again)["raccoon-2.jpg"][0], [[20.0, 30.0, 120.0, 140.0]])
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("hi")
    with pytest.raises(LabelError, match="not empty"):
        convert_into(src, "yolo", other)


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = _images(tmp_path / "pics")
    assert main(["label", str(images), "--to", "yolo", "--no-browser"]) == 2
    assert "--classes" in capsys.readouterr().err
    assert main(["label", str(images), "--classes", "a,b", "--no-browser"]) == 2
    assert "--to" in capsys.readouterr().err
    assert main(["label", str(images), "--classes", "a", "--to", "xml", "--no-browser"]) == 2
    assert "FMT one of" in capsys.readouterr().err
    assert len(list(images.iterdir())) == 3  # nothing written


def _cli_put(url: str, index: int, boxes: list[dict]) -> dict:
    base, token = url.split("/?")[0], url.split("token=")[1]
    with urllib.request.urlopen(f"{base}/api/images/{index}?token={token}", timeout=10) as r:
        version = json.loads(r.read())["version"]
    req = urllib.request.Request(f"{base}/api/images/{index}?token={token}", method="PUT",
                                 data=json.dumps({"version": version, "boxes": boxes}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.parametrize("fmt", ["voc", "yolo"])
def test_cli_new_dataset_and_convert(datasets_dir: Path, tmp_path: Path, fmt: str) -> None:
    images = _images(tmp_path / "pics")
    raccoon = copy_raccoon(datasets_dir, tmp_path, n=2)
    before = hashes(raccoon)
    for args, where in [((str(images), "--classes", "cat,dog", "--to", fmt), images),
                        ((str(raccoon), "--to", fmt, str(tmp_path / "conv")), tmp_path / "conv")]:
        proc, url = _start(*args)
        try:
            _cli_put(url, 0, [{**BOX, "cls": "raccoon" if where != images else "dog"}])
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        ds = read_annotations(where, fmt)
        first = ds.images[0] if fmt == "yolo" else next(im for im in ds.images if len(ds.annotations[im.id]))
        assert np.allclose(ds.annotations[first.id].boxes_xyxy, [[10, 5, 40, 30]], atol=1e-3)
    assert hashes(raccoon) == before
    proc, url = _start(str(images), "--classes", "cat,dog", "--to", fmt)  # a second session resumes
    try:
        base, token = url.split("/?")[0], url.split("token=")[1]
        with urllib.request.urlopen(f"{base}/api/images?token={token}", timeout=10) as r:
            assert [row["boxes"] for row in json.loads(r.read())["images"]] == [1, 0, 0]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_browser_draws_a_box_on_a_new_dataset(chromium_browser: Any, tmp_path: Path) -> None:
    from tests.label.test_browser import _Screen

    images = _images(tmp_path / "pics")
    ds = new_dataset(images, CLASSES, "voc", tmp_path / "voc")
    store = LabelStore(ds, images, roots=[tmp_path / "voc"])
    errors: list[str] = []
    with _serve(store) as server:
        page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(server.url)
            page.wait_for_selector('body[data-loaded="0"]')
            assert page.locator("#image-list li.image-item").count() == 3
            page.keyboard.press("w")
            _Screen(page).drag((10, 10), (50, 40))
            page.keyboard.press("2")
            page.keyboard.press("Control+s")
            page.wait_for_selector('#status[data-state="saved"]')
        finally:
            page.close()
    assert errors == []
    assert sorted(p.name for p in (tmp_path / "voc").rglob("*") if p.is_file()) == ["img0.xml"]
    back = read_annotations(tmp_path / "voc", "voc", images_dir=images)
    gt = back.annotations[back.images[0].id]
    assert [back.category_names[int(c)] for c in gt.class_ids] == ["dog"]
    assert np.allclose(gt.boxes_xyxy, [[10, 10, 50, 40]], atol=1.0)


def test_yolo_classes_must_match_an_earlier_session(tmp_path: Path) -> None:
    images = _images(tmp_path / "pics")
    new_dataset(images, CLASSES, "yolo")
    assert [c.name for c in new_dataset(images, CLASSES, "yolo").categories] == CLASSES
    with pytest.raises(LabelError, match="same order"):
        new_dataset(images, CLASSES[::-1], "yolo")
    with pytest.raises(LabelError, match="class names"):
        new_dataset(images, [], "voc")
