"""PNG plots: the files exist, decode, have sane sizes, and degenerate inputs draw (or skip) cleanly."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from odkit.report import plot_evaluation, plot_training
from tests.report._png import assert_png
from tests.report.conftest import Scene, make_scene

pytest.importorskip("matplotlib")

HISTORY = [
    {"epoch": e, "loss": 2.0 / e, "box_loss": 1.0 / e, "cls_loss": 0.8 / e, "val_loss": 2.2 / e + 0.1,
     "val_box_loss": 1.1 / e, "val_cls_loss": 0.9 / e, "val_map50": 0.1 * e, "val_map": 0.05 * e,
     "lr": 1e-3 * 0.5 ** e, "time": 3.0 * e}
    for e in range(1, 8)
]


def test_plot_training_writes_three_figures(tmp_path: Path) -> None:
    written = plot_training(HISTORY, tmp_path / "run")
    assert [p.name for p in written] == ["losses.png", "metrics.png", "lr.png"]
    for path in written:
        assert_png(path)
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_plot_training_one_epoch_and_validation_gaps(tmp_path: Path) -> None:
    one = plot_training([{"epoch": 1, "loss": 0.7, "accuracy": 0.5, "lr": 0.01}], tmp_path / "one")
    assert [p.name for p in one] == ["losses.png", "metrics.png", "lr.png"]
    # validation every 3rd epoch: NaN, missing and empty values are gaps
    rows = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.1 * e} for e in range(1, 10)]
    for e, row in enumerate(rows, start=1):
        if e % 3 == 0:
            row.update(val_loss=1.2 / e, val_accuracy=0.09 * e)
        elif e % 3 == 1:
            row.update(val_loss=math.nan, val_accuracy="")
    gaps = plot_training(rows, tmp_path / "gaps")
    assert [p.name for p in gaps] == ["losses.png", "metrics.png"]  # no lr column: no lr.png
    for path in gaps:
        assert_png(path)


def test_plot_training_nothing_to_draw(tmp_path: Path) -> None:
    assert plot_training([], tmp_path) == []
    assert plot_training([{"epoch": 1, "time": 2.0, "val_loss": math.nan}], tmp_path) == []
    assert not list(tmp_path.iterdir())


def test_plot_training_names_a_bad_value() -> None:
    with pytest.raises(ValueError, match=r"history\[1\]\['loss'\] must be a number; got 'abc'"):
        plot_training([{"loss": 1.0}, {"loss": "abc"}], "unused")


def test_plot_training_leaves_the_history_alone(tmp_path: Path) -> None:
    rows = [dict(r) for r in HISTORY]
    plot_training(rows, tmp_path)
    assert rows == HISTORY


NAMES = ["pr_curve.png", "f1_curve.png", "confusion_matrix.png", "errors.png"]


def test_plot_evaluation_writes_four_figures(tmp_path: Path, scene: Scene) -> None:
    written = plot_evaluation(scene.evaluator, None, tmp_path)
    assert [p.name for p in written] == NAMES
    for path in written:
        assert_png(path)


@pytest.mark.parametrize("case", ["class_without_gt", "no_detections"])
def test_plot_evaluation_degenerate(tmp_path: Path, case: str) -> None:
    scene = make_scene(4, extra_class=case == "class_without_gt", no_detections=case == "no_detections")
    result = scene.evaluator.compute()
    errors = scene.evaluator.error_breakdown()
    written = plot_evaluation(scene.evaluator, result, tmp_path, confusion_score=0.5, errors=errors)
    assert [p.name for p in written] == NAMES
    for path in written:
        assert_png(path)


def test_import_report_does_not_import_matplotlib() -> None:
    code = "import sys, odkit.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
