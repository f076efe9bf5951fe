"""A GT annotation with ``"id": 0``: pycocotools reads a match to it as "unmatched"; odkit reproduces that
by default (with a warning) so the numbers stay equal, and counts it as a match on request."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from odkit.cli.main import main
from odkit.eval import evaluate_coco

from ._scenes import make_scene, nan_for_minus_one, pycoco_eval

pytest.importorskip("pycocotools")


def _zero_based(gt: dict[str, Any]) -> dict[str, Any]:
    anns = [{**a, "id": k} for k, a in enumerate(gt["annotations"])]
    return {**gt, "annotations": anns}


def _two_objects() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 0, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
        ],
    }
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 20, 20], "score": 0.8},
    ]
    return gt, results


def test_hand_case_matches_pycocotools_and_warns() -> None:
    gt, results = _two_objects()
    with pytest.warns(UserWarning, match="annotation has id 0"):
        ours = evaluate_coco(gt, results)
    ref = pycoco_eval(gt, results)
    # the top detection (on the id-0 object) is a false positive, the second a true positive: precision 0.5
    # up to recall 0.5, so the 101-point AP is 51 * 0.5 / 101
    assert ours.map50 == pytest.approx(25.5 / 101, abs=1e-12)
    np.testing.assert_allclose(list(ours.stats.values()), nan_for_minus_one(ref.stats), rtol=0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate_coco(gt, results, zero_id_as_unmatched=False).map == 1.0


def test_zero_based_ids_equal_pycocotools() -> None:
    differs = 0
    for seed in range(8):
        gt, results = make_scene(seed, n_images=6, cat_ids=(1, 2), crowd_p=0.1 if seed % 2 else 0.0)
        gt = _zero_based(gt)
        ref = pycoco_eval(gt, results)
        with pytest.warns(UserWarning):
            ours = evaluate_coco(gt, results)
        np.testing.assert_array_equal(ours.precision, nan_for_minus_one(ref.eval["precision"]))
        np.testing.assert_array_equal(ours.recall, nan_for_minus_one(ref.eval["recall"]))
        np.testing.assert_allclose(list(ours.stats.values()), nan_for_minus_one(ref.stats), rtol=0, atol=1e-12)
        correct = evaluate_coco(gt, results, zero_id_as_unmatched=False)
        differs += not np.allclose(list(correct.stats.values()), list(ours.stats.values()), equal_nan=True)
    assert differs >= 3, "the id-0 object should be matched (and so change the numbers) in most scenes"


def test_cli_warns_and_offers_the_correct_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, results = _two_objects()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(results))
    args = ["eval", str(tmp_path / "gt.json"), str(tmp_path / "pred.json")]
    assert main([*args, "--json", str(tmp_path / "a.json")]) == 0
    assert "warning: " in capsys.readouterr().err
    assert json.loads((tmp_path / "a.json").read_text())["AP50"] == pytest.approx(25.5 / 101)
    assert main([*args, "--zero-id-matches", "--json", str(tmp_path / "b.json")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((tmp_path / "b.json").read_text())["AP"] == 1.0


@pytest.mark.parametrize("zero", ["0", "0.0", "-0", 0.0, -0.0, False])
def test_string_and_float_zero_ids_equal_pycocotools(zero: Any) -> None:
    gt, results = _two_objects()
    gt["annotations"][0]["id"] = zero
    gt["annotations"][1]["id"] = "1" if isinstance(zero, str) else 1
    with pytest.warns(UserWarning, match="annotation has id 0"):
        ours = evaluate_coco(gt, results)
    ref = pycoco_eval(gt, results)
    np.testing.assert_allclose(list(ours.stats.values()), nan_for_minus_one(ref.stats), rtol=0, atol=1e-12)


def test_non_numeric_string_ids_are_evaluated() -> None:
    # pycocotools fails on these (it stores matched ids in a float array); odkit needs no id and goes on
    gt, results = _two_objects()
    gt["annotations"][0]["id"], gt["annotations"][1]["id"] = "a0", "b1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate_coco(gt, results).map == 1.0
