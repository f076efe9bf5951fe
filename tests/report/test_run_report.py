"""The run report and the evaluation report, opened in headless Chromium (tests/_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from odkit.report import (
    image_errors,
    side_by_side,
    worst_first,
    write_evaluation_report,
    write_run_report,
)
from odkit.synthetic import SHAPE_CLASSES
from tests._browser import PageResult
from tests.report._png import assert_png
from tests.report.conftest import Scene

HISTORY = [
    {"epoch": e, "loss": 2.0 / e, "box_loss": 1.0 / e, "val_loss": 2.2 / e if e % 2 == 0 else float("nan"),
     "val_box_loss": 1.1 / e if e % 2 == 0 else float("nan"),
     "val_map50": 0.12 * e if e % 2 == 0 else float("nan"), "lr": 1e-3 * 0.7 ** e, "time": 3.0 * e}
    for e in range(1, 7)
]
INFO = {"model": "detector-s", "data": "shapes (12 images)", "epochs": 6, "best epoch": 6, "time": "18 s",
        "device": "cpu", "lr": 0.001}

#: src/href/url()/@import that would load something from elsewhere (http://, https://, or protocol-relative //).
EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["']?)(?:https?:)?//""", re.I)


def gallery(scene: Scene, n: int = 4) -> list[tuple[str, np.ndarray]]:
    errors = [image_errors(p, item.ground_truth, conf=0.25) for p, item in zip(scene.predictions, scene.items)]
    return [(f"image {i}: {errors[i].fp} false positives, {errors[i].fn} missed",
             side_by_side(scene.items[i].image, scene.predictions[i], scene.items[i].ground_truth, SHAPE_CLASSES, 0.25))
            for i in worst_first(errors)[:n]]


def assert_clean(page: PageResult) -> None:
    assert page.console_errors == []
    assert page.page_errors == []
    assert page.external_requests == []
    assert page.screenshot is not None
    assert_png(page.screenshot, min_wh=(1000, 900), max_wh=(1400, 40000))


def test_run_report_in_chromium(tmp_path: Path, scene: Scene, browser_page: Callable[..., PageResult]) -> None:
    result = scene.evaluator.compute()
    path = write_run_report(tmp_path / "report.html", title="odkit train: shapes", info=INFO,
                            evaluator=scene.evaluator, result=result, history=HISTORY, gallery=gallery(scene),
                            extra_sections=[("Notes", "<p id='notes'>simulated detector</p>")])
    text = path.read_text()
    assert not EXTERNAL.findall(text)
    page = browser_page(path, tmp_path / "report.png",
                        ["#tile-map50 .value", "#tile-map .value", "#tile-f1-threshold .value", "#notes"])
    assert_clean(page)
    assert page.texts["#tile-map50 .value"] == f"{result.map50:.3f}"
    assert page.texts["#tile-map .value"] == f"{result.map:.3f}"
    assert re.fullmatch(r"0\.\d\d", page.texts["#tile-f1-threshold .value"] or "")
    assert page.texts["#notes"] == "simulated detector"


def test_classifier_run_report_in_chromium(tmp_path: Path, browser_page: Callable[..., PageResult]) -> None:
    history = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.5 + 0.05 * e, "val_loss": 1.1 / e,
                "val_accuracy": 0.45 + 0.05 * e, "lr": 0.01} for e in range(1, 4)]
    history.append({"epoch": 4, "loss": 0.2, "accuracy": 0.75, "lr": 0.01})  # no validation at the last epoch
    path = write_run_report(tmp_path / "report.html", title="odkit train: flowers", info={"model": "classifier-s"},
                            history=history)
    page = browser_page(path, tmp_path / "report.png", ["#tile-val-accuracy .value", "#tile-map50"])
    assert_clean(page)
    assert page.texts["#tile-val-accuracy .value"] == "0.6"
    assert page.texts["#tile-map50"] is None


def test_evaluation_report_in_chromium(tmp_path: Path, scene: Scene, browser_page: Callable[..., PageResult]) -> None:
    path = write_evaluation_report(tmp_path / "eval.html", scene.evaluator, samples=gallery(scene, 2))
    assert not EXTERNAL.findall(path.read_text())
    assert_clean(browser_page(path, tmp_path / "eval.png"))


def test_external_reference_pattern() -> None:
    assert EXTERNAL.findall('<img src="https://x.org/a.png">') and EXTERNAL.findall("url(//cdn/x.woff)")
    assert EXTERNAL.findall('<link href="http://x/s.css">') and EXTERNAL.findall('@import "https://f/x.css"')
    assert not EXTERNAL.findall('<svg xmlns="http://www.w3.org/2000/svg"><img src="data:image/png;base64,AA">')


def test_run_report_needs_the_evaluator_with_a_result(tmp_path: Path, scene: Scene) -> None:
    with pytest.raises(ValueError, match="result was given without its evaluator"):
        write_run_report(tmp_path / "r.html", title="t", info={}, result=scene.evaluator.compute())
