"""The bar for ``odkit label``: a scripted Chromium session on a copy of the raccoon dataset (VOC).

Draw a box, give it the second class with a key, move and resize one, undo / redo, go to the next image
(auto-save), delete its box, save with Ctrl+S; the XMLs read back hold exactly those boxes and every other
file is byte-for-byte unchanged; the page logs no console error and requests nothing outside the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from odkit.io import read_annotations
from tests.label._helpers import StubModel, copy_raccoon, hashes, serve


class _Screen:
    """Image pixels -> page coordinates, from the ``#image`` element's box (zoom and pan included)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        box = self.page.locator("#image").bounding_box()
        width = self.page.evaluate("document.getElementById('image').width")
        s = box["width"] / width
        return box["x"] + x * s, box["y"] + y * s

    def drag(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*self(*a))
        mouse.down()
        mouse.move(*self(*b), steps=8)
        mouse.up()


def _boxes(page: Any) -> list[tuple[str, list[float]]]:
    rects = page.locator("#overlay rect.box")
    return [(rects.nth(i).get_attribute("data-cls"),
             [float(rects.nth(i).get_attribute(k)) for k in ("x", "y", "width", "height")])
            for i in range(rects.count())]


def _named(ds: Any, index: int) -> list[tuple[str, list[float]]]:
    gt = ds.annotations[ds.images[index].id]
    names = ds.category_names
    return [(names[int(c)], b) for c, b in zip(gt.class_ids.tolist(), gt.boxes_xyxy.tolist())]


def _close(got: list[float], want: list[float]) -> bool:
    return all(abs(g - w) <= 1.0 for g, w in zip(got, want))


def test_draw_move_resize_relabel_delete_save(chromium_browser: Any, datasets_dir: Path, tmp_path: Path) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    before = hashes(raccoon)
    errors: list[str] = []
    outside: list[str] = []
    with serve(raccoon, classes=["dog"]) as server:
        origin = f"http://127.0.0.1:{server.port}/"
        page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: None if r.url.startswith((origin, "data:")) else outside.append(r.url))
        try:
            page.goto(server.url)
            page.wait_for_selector('body[data-loaded="0"]')
            assert page.locator("#image-list li.image-item").count() == 5
            screen = _Screen(page)
            assert _boxes(page)[0][0] == "raccoon"

            # draw a box (w, then drag), then give it class 2 with a key
            page.keyboard.press("w")
            screen.drag((20, 20), (120, 80))
            page.keyboard.press("2")
            # move the original box by (+30, -20), then resize it from its bottom-right corner
            screen.drag((301, 247), (331, 227))
            screen.drag((552, 388), (560, 400))
            # a box drawn then undone is gone; redo and undo again leave it out
            page.keyboard.press("w")
            screen.drag((300, 300), (340, 340))
            assert len(_boxes(page)) == 3
            page.keyboard.press("Control+z")
            page.keyboard.press("Control+y")
            assert len(_boxes(page)) == 3
            page.keyboard.press("Control+z")
            shown = _boxes(page)
            assert len(shown) == 2
            # the crosshair and the coordinates follow the cursor in image pixels
            page.mouse.move(*screen(200, 150))
            x, y = (float(page.locator("#coords").get_attribute(k)) for k in ("data-x", "data-y"))
            assert abs(x - 200) <= 1 and abs(y - 150) <= 1 and page.locator("#cross-v").count() == 1

            # next image: auto-saves this one; delete its box and save with Ctrl+S
            page.keyboard.press("d")
            page.wait_for_selector('body[data-loaded="1"]')
            page.mouse.click(*screen(200, 150))  # raccoon-2's box covers the middle
            page.wait_for_selector("#overlay rect.box.selected")
            page.keyboard.press("Delete")
            assert _boxes(page) == []
            page.keyboard.press("Control+s")
            page.wait_for_selector('#status[data-state="saved"]')
            counts = [page.locator("#image-list li.image-item").nth(i).get_attribute("data-boxes") for i in range(2)]
            assert counts == ["2", "0"]
        finally:
            page.close()

    after = hashes(raccoon)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"annotations/raccoon-1.xml", "annotations/raccoon-2.xml"} and set(after) == set(before)
    ds = read_annotations(raccoon)
    first = _named(ds, 0)
    assert [c for c, _ in first] == ["raccoon", "dog"]
    assert _close(first[0][1], [110, 67, 560, 400]), first
    assert _close(first[1][1], [20, 20, 120, 80]), first
    assert _named(ds, 1) == []
    assert [c for c, _ in shown] == ["raccoon", "dog"]
    assert errors == [] and outside == []


@pytest.mark.parametrize("filter_value, expected", [("all", 5), ("unlabelled", ["raccoon-3.jpg"]),
                                                    ("findings", ["raccoon-4.jpg"])])
def test_image_list_filter(chromium_browser: Any, datasets_dir: Path, tmp_path: Path, filter_value: str,
                           expected: int | list[str]) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    three = raccoon / "annotations" / "raccoon-3.xml"
    text = three.read_text()
    three.write_text(text[:text.index("<object>")] + text[text.index("</object>") + len("</object>"):])
    four = raccoon / "annotations" / "raccoon-4.xml"
    text = four.read_text()
    start = text.index("<xmax>") + len("<xmax>")
    four.write_text(text[:start] + "9999" + text[text.index("</xmax>"):])  # out of the image: a finding
    with serve(raccoon) as server:
        page = chromium_browser.new_page()
        try:
            page.goto(server.url)
            page.wait_for_selector('body[data-loaded="0"]')
            page.select_option("#filter", filter_value)
            items = page.locator("#image-list li.image-item")
            if isinstance(expected, int):
                assert items.count() == expected
            else:
                assert [items.nth(i).get_attribute("title") for i in range(items.count())] == expected
        finally:
            page.close()


def test_conflict_is_shown_and_nothing_is_overwritten(chromium_browser: Any, datasets_dir: Path,
                                                      tmp_path: Path) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    xml = raccoon / "annotations" / "raccoon-1.xml"
    with serve(raccoon) as server:
        page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(server.url)
            page.wait_for_selector('body[data-loaded="0"]')
            page.keyboard.press("w")
            _Screen(page).drag((20, 20), (120, 80))
            edited = xml.read_text().replace("<xmin>81</xmin>", "<xmin>91</xmin>")
            xml.write_text(edited)
            page.keyboard.press("Control+s")
            page.wait_for_selector('#status[data-state="conflict"]')
            assert "changed on disk" in page.locator("#status").inner_text()
            assert xml.read_text() == edited and len(_boxes(page)) == 2  # the edits stay in the page
            page.keyboard.press("d")  # a failed auto-save keeps this image open
            page.wait_for_timeout(500)
            assert page.locator("body").get_attribute("data-loaded") == "0"
            page.click("#btn-reload")
            page.wait_for_selector('#status[data-state="idle"]')  # the page's CSP forbids wait_for_function
            assert len(_boxes(page)) == 1 and _boxes(page)[0][1][0] == 90
        finally:
            page.close()


def test_model_proposals_accept_reject_save_and_disagreement(chromium_browser: Any, datasets_dir: Path,
                                                             tmp_path: Path) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    model = StubModel(["raccoon", "dog"], {
        "raccoon-1.jpg": [(80, 87, 522, 408, "raccoon", 0.95),  # the label itself: not proposed
                          (300, 40, 400, 120, "dog", 0.9), (20, 250, 120, 350, "raccoon", 0.6),
                          (450, 20, 600, 80, "raccoon", 0.3)],
        "raccoon-2.jpg": [(59, 50, 462, 499, "dog", 0.8), (600, 50, 700, 150, "raccoon", 0.7)],
        "raccoon-3.jpg": [(0, 0, 720, 476, "raccoon", 0.9)],
        "raccoon-4.jpg": [(20, 10, 200, 183, "raccoon", 0.9)],
        "raccoon-5.jpg": [(2, 2, 60, 60, "raccoon", 0.9)],
    })
    errors: list[str] = []
    with serve(raccoon, model=model, conf=0.25) as server:
        page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(server.url)
            page.wait_for_selector('body[data-loaded="0"]')
            screen = _Screen(page)
            proposals = page.locator("#overlay rect.proposal")
            assert [proposals.nth(i).get_attribute("data-cls") for i in range(proposals.count())] == [
                "dog", "raccoon", "raccoon"]
            dash = page.eval_on_selector("#overlay rect.proposal", "e => getComputedStyle(e).strokeDasharray")
            assert dash not in ("", "none"), dash
            assert page.eval_on_selector("#overlay rect.box", "e => getComputedStyle(e).strokeDasharray") == "none"

            # click the dog proposal: a label box (undoable); accept all >= 0.5 takes the 0.6 one, not the 0.3
            page.mouse.click(*screen(350, 80))
            assert [c for c, _ in _boxes(page)] == ["raccoon", "dog"] and proposals.count() == 2
            page.keyboard.press("Control+z")
            assert len(_boxes(page)) == 1 and proposals.count() == 3
            page.keyboard.press("Control+y")
            assert len(_boxes(page)) == 2 and proposals.count() == 2
            page.fill("#accept-threshold", "0.5")
            page.click("#btn-accept-all")
            assert [c for c, _ in _boxes(page)] == ["raccoon", "dog", "raccoon"] and proposals.count() == 1
            # select the last one in the list, x rejects it
            page.click('#proposal-list li[data-pid="3"]')
            page.keyboard.press("x")
            assert proposals.count() == 0

            # next image (auto-saves); select a proposal in the list, Enter accepts it; Ctrl+S
            page.keyboard.press("d")
            page.wait_for_selector('body[data-loaded="1"]')
            assert proposals.count() == 2
            page.click('#proposal-list li[data-pid="1"]')
            page.keyboard.press("Enter")
            assert [c for c, _ in _boxes(page)] == ["raccoon", "raccoon"] and proposals.count() == 1
            page.keyboard.press("Control+s")
            page.wait_for_selector('#status[data-state="saved"]')

            # the disagreement filter, sorted by the most disagreement first
            page.select_option("#filter", "disagrees")
            page.select_option("#sort", "disagreement")
            page.wait_for_selector('#image-list li.image-item[data-index="4"]')
            items = page.locator("#image-list li.image-item")
            listed = [items.nth(i).get_attribute("title") for i in range(items.count())]
            assert listed == ["raccoon-5.jpg", "raccoon-1.jpg", "raccoon-2.jpg"], listed
        finally:
            page.close()

    ds = read_annotations(raccoon)
    assert [(c, [round(v) for v in b]) for c, b in _named(ds, 0)] == [
        ("raccoon", [80, 87, 522, 408]), ("dog", [300, 40, 400, 120]), ("raccoon", [20, 250, 120, 350])]
    assert [(c, [round(v) for v in b]) for c, b in _named(ds, 1)] == [
        ("raccoon", [59, 50, 462, 499]), ("raccoon", [600, 50, 700, 150])]
    assert errors == []
