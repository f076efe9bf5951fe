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
from tests.label._helpers import copy_raccoon, hashes, serve


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
