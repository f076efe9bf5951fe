"""``odkit label``'s server: the token, path traversal, conflicts, byte-for-byte untouched files, atomic saves."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import pytest

from odkit.io import read_annotations, write_annotations
from odkit.label import LabelServer
from tests.label._helpers import copy_raccoon, hashes, request, serve


@pytest.fixture
def raccoon(datasets_dir: Path, tmp_path: Path) -> Path:
    return copy_raccoon(datasets_dir, tmp_path)


def _load(server: LabelServer, index: int) -> dict:
    status, body = request(server, "GET", f"/api/images/{index}")
    assert status == 200, body
    return json.loads(body)


def _raw(server: LabelServer, method: str, raw_path: str, token: bool = True) -> int:
    """Status of a request whose path is sent exactly as given (no client-side normalization)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        if token:
            conn.putheader("X-Odkit-Token", server.token)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_every_route_needs_the_token(raccoon: Path) -> None:
    before = hashes(raccoon.parent)
    with serve(raccoon) as server:
        version = _load(server, 0)["version"]
        for method, path, body in [("GET", "/", None), ("GET", "/static/app.js", None),
                                   ("GET", "/api/images", None), ("GET", "/api/images/0", None),
                                   ("GET", "/api/images/0/file", None), ("GET", "/files/images/raccoon-1.jpg", None),
                                   ("PUT", "/api/images/0", {"version": version, "boxes": []})]:
            for bad in (None, "wrong"):
                headers = {"X-Odkit-Token": "wrong"} if bad else None
                status, reply = request(server, method, path, body, token=None, headers=headers)
                assert status == 403, (method, path, bad)
                assert b"token" in reply and b"raccoon" not in reply
            status, _ = request(server, "GET", path + "?token=nope", token=None)
            assert status == 403
        assert request(server, "GET", "/api/images", token="query")[0] == 200
        assert request(server, "GET", "/api/images", token="cookie")[0] == 200
        status, _ = request(server, "GET", "/", token="query")
        assert status == 200
    assert hashes(raccoon.parent) == before


def test_index_sets_the_cookie_and_ships_the_assets(raccoon: Path) -> None:
    with serve(raccoon) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", f"/?token={server.token}")
        r = conn.getresponse()
        html = r.read()
        assert r.status == 200 and f"{server.cookie_name}={server.token}" in r.getheader("Set-Cookie")
        assert "HttpOnly" in r.getheader("Set-Cookie") and "SameSite=Strict" in r.getheader("Set-Cookie")
        assert b"/static/app.js" in html and b"http" not in html.replace(b"http://www.w3.org/2000/svg", b"")
        conn.close()
        for name in ("app.js", "app.css"):
            status, body = request(server, "GET", f"/static/{name}")
            assert status == 200 and len(body) > 100
        assert request(server, "GET", "/static/index.html.bak")[0] == 404


@pytest.mark.parametrize("raw", [
    "/files/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd", "/files/images/%2E%2E/../outside.txt",
    "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/files/..%2f..%2foutside.txt", "/files/images/..\\..\\x",
    "/files/images/../../outside.txt", "/static/../_store.py", "/api/images/../../outside.txt",
    "/api/images/99", "/api/images/-1", "/../outside.txt",
])
def test_traversal_is_refused(raccoon: Path, raw: str) -> None:
    (raccoon.parent / "outside.txt").write_text("secret")
    before = hashes(raccoon.parent)
    with serve(raccoon) as server:
        assert _raw(server, "GET", raw) in (403, 404)
        assert _raw(server, "GET", "/files/images/raccoon-1.jpg") == 200
    assert hashes(raccoon.parent) == before


def test_symlink_escaping_the_dataset_is_refused(raccoon: Path) -> None:
    secret = raccoon.parent / "secret.jpg"
    secret.write_bytes(b"not yours")
    (raccoon / "images" / "link.jpg").symlink_to(secret)
    (raccoon / "images" / "inside.jpg").symlink_to(raccoon / "images" / "raccoon-2.jpg")
    with serve(raccoon) as server:
        status, body = request(server, "GET", "/files/images/link.jpg")
        assert status == 403 and b"not yours" not in body
        assert request(server, "GET", "/files/images/inside.jpg")[0] == 200
    # an image of the dataset whose file is a symlink out of it is not served either
    (raccoon / "images" / "raccoon-1.jpg").unlink()
    (raccoon / "images" / "raccoon-1.jpg").symlink_to(secret)
    with serve(raccoon) as server:
        status, body = request(server, "GET", "/api/images/0/file")
        assert status == 403 and b"not yours" not in body


def test_save_rewrites_only_that_xml_and_keeps_its_other_fields(raccoon: Path) -> None:
    before = hashes(raccoon)
    xml = raccoon / "annotations" / "raccoon-2.xml"
    with serve(raccoon, classes=["dog"]) as server:
        data = _load(server, 1)
        boxes = data["boxes"]
        boxes[0].update(x0=boxes[0]["x0"] + 5, cls="dog")
        boxes.append({"x0": 10, "y0": 20, "x1": 110, "y1": 90, "cls": "raccoon"})
        status, body = request(server, "PUT", "/api/images/1", {"version": data["version"], "boxes": boxes})
        assert status == 200, body
        assert json.loads(body)["version"] != data["version"]
    after = hashes(raccoon)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"annotations/raccoon-2.xml"} and set(after) == set(before)
    text = xml.read_text()
    for kept in ("<path>", "<database>Unknown</database>", "<depth>3</depth>", "<segmented>0</segmented>",
                 "<pose>Unspecified</pose>", 'verified="yes"'):
        assert kept in text
    ds = read_annotations(raccoon, strict=True)
    gt = ds.annotations[ds.images[1].id]
    names = ds.category_names
    assert [names[int(c)] for c in gt.class_ids] == ["dog", "raccoon"]
    assert gt.boxes_xyxy.tolist()[0][0] == boxes[0]["x0"]
    assert gt.boxes_xyxy.tolist()[1] == [10, 20, 110, 90]


def test_conflict_when_the_file_changed_on_disk(raccoon: Path) -> None:
    xml = raccoon / "annotations" / "raccoon-3.xml"
    with serve(raccoon) as server:
        data = _load(server, 2)
        edited = xml.read_text().replace("<pose>Unspecified</pose>", "<pose>Left</pose>")
        xml.write_text(edited)
        status, body = request(server, "PUT", "/api/images/2", {"version": data["version"], "boxes": []})
        assert status == 409 and b"changed on disk" in body
        assert xml.read_text() == edited
        fresh = _load(server, 2)  # reloading picks up the file as it is now
        assert fresh["version"] != data["version"] and len(fresh["boxes"]) == 1
        status, _ = request(server, "PUT", "/api/images/2", {"version": fresh["version"], "boxes": fresh["boxes"]})
        assert status == 200 and "<pose>Left</pose>" in xml.read_text()


def test_a_failed_save_leaves_the_old_file(raccoon: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = hashes(raccoon)
    with serve(raccoon) as server:
        data = _load(server, 0)

        def crash(src: str, dst: str) -> None:
            raise OSError(28, "No space left on device (simulated)")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            server.store.save(0, data["version"], [])
        monkeypatch.undo()
        assert hashes(raccoon) == before  # the old file, whole; no temporary file left behind
        status, _ = request(server, "PUT", "/api/images/0", {"version": data["version"], "boxes": []})
        assert status == 200
    assert read_annotations(raccoon).annotations[1].boxes_xyxy.shape == (0, 4)


@pytest.mark.parametrize("boxes, fragment", [
    ([{"x0": 5, "y0": 5, "x1": 1, "y1": 9, "cls": "raccoon"}], b"x0 <= x1"),
    ([{"x0": 5, "y0": 5, "x1": 9, "y1": 9, "cls": "cat"}], b"not one of"),
    ([{"x0": "a", "y0": 5, "x1": 9, "y1": 9, "cls": "raccoon"}], b"expected numbers"),
    ([{"x0": 5, "y0": 5, "x1": 9, "y1": 9, "cls": "raccoon", "src": 7}], b"src"),
    ([{"x0": 5, "y0": 5, "x1": 5.2, "y1": 9, "cls": "raccoon"}], b"cannot hold"),
    ("nope", b"list"),
])
def test_bad_or_unholdable_boxes_are_refused(raccoon: Path, boxes: object, fragment: bytes) -> None:
    before = hashes(raccoon)
    with serve(raccoon) as server:
        data = _load(server, 0)
        status, body = request(server, "PUT", "/api/images/0", {"version": data["version"], "boxes": boxes})
        assert status == 422 and fragment in body, body
    assert hashes(raccoon) == before


@pytest.mark.parametrize("fmt", ["yolo", "coco", "csv", "cvat", "labelme"])
def test_other_formats_save_in_place(raccoon: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    write_annotations(read_annotations(raccoon), out, fmt, copy_images="copy")
    before = hashes(out)
    with serve(out, fmt=fmt) as server:
        data = _load(server, 1)
        boxes = [*data["boxes"], {"x0": 10, "y0": 20, "x1": 110, "y1": 90, "cls": "raccoon"}]
        status, body = request(server, "PUT", "/api/images/1", {"version": data["version"], "boxes": boxes})
        assert status == 200, body
    after = hashes(out)
    changed = {k for k in before if before[k] != after[k]}
    assert len(changed) == 1 and set(after) == set(before), changed
    ds = read_annotations(out, fmt)
    gt = ds.annotations[ds.images[1].id]
    assert len(gt) == 2
    assert gt.boxes_xyxy[1].tolist() == pytest.approx([10, 20, 110, 90], abs=0.01)
    for k in (0, 2, 3, 4):
        assert len(ds.annotations[ds.images[k].id]) == 1
