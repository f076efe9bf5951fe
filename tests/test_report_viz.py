"""HTML report pieces and box drawing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from odkit.boxes import Detections, GroundTruth
from odkit.report import heatmap_table, html_table, image_tag, svg_bars, svg_lines, write_html
from odkit.viz import class_colour, draw_boxes
from tests.conftest import assert_unchanged


def test_draw_boxes_draws_on_a_copy() -> None:
    image = np.full((40, 60, 3), 10, dtype=np.uint8)
    dets = Detections([[5, 20, 25, 35]], [0.87], [2])
    gt = GroundTruth([[30, 5, 50, 30]], [1])
    out = assert_unchanged(lambda im: draw_boxes(im, dets, gt, ["a", "b", "c"]), image)
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert np.all(image == 10)
    assert tuple(out[34, 5]) == class_colour(2)  # bottom-left corner of the detection outline
    assert tuple(out[29, 30]) == (255, 255, 255)  # ground-truth outline, last pixel row 29
    assert np.all(out[8:28, 38:48] == 10)  # inside the GT box (away from the label) nothing is drawn


def test_grayscale_image_and_no_boxes() -> None:
    out = draw_boxes(np.zeros((8, 8), np.uint8))
    assert out.shape == (8, 8, 3) and not out.any()


def test_html_pieces(tmp_path: Path) -> None:
    table = html_table(["class", "AP"], [["cat", 0.5], ["dog", math.nan]])
    assert "<td>0.500</td>" in table and "&ndash;" in table
    heat = heatmap_table(np.array([[3, 1], [0, 0]]), ["a", "b"], ["a", "b"], corner="true/pred")
    assert "rgba(31,119,180,0.75)" in heat and "true/pred" in heat
    chart = svg_lines([("cat", np.array([0, 0.5, 1]), np.array([1, 0.8, 0]))], "recall", "precision")
    assert chart.startswith("<svg") and "polyline" in chart and "cat" in chart
    bars = svg_bars(["missed", "background"], [0.05, math.nan], title="errors")
    assert bars.count("<rect") == 2
    img = image_tag(np.zeros((500, 1000, 3), np.uint8), "x")
    assert "data:image/png;base64," in img
    page = write_html(tmp_path / "r" / "report.html", "Report <1>", [("Summary", table), ("", chart)])
    text = page.read_text()
    assert "Report &lt;1&gt;" in text and "<h2>Summary</h2>" in text
    assert not list(page.parent.glob("*.tmp"))


def test_boxes_under_a_pixel_wide_are_drawn() -> None:
    """A freshly trained model predicts boxes narrower than a pixel; Pillow refuses an end before the start."""
    image = np.zeros((20, 20, 3), np.uint8)
    tiny = np.array([[5.0, 5.0, 5.4, 5.2]])
    out = draw_boxes(image, Detections(tiny, np.array([0.9]), np.array([0])), GroundTruth(tiny, np.array([0])))
    assert out[5, 5].any()
