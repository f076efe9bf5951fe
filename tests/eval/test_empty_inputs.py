"""Empty ground truth and empty detections through every analysis (VOC, F1, confusion, errors, report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from odkit.cli.main import main
from odkit.eval import COCOEvaluator

from ._scenes import make_scene


def _cases() -> list[tuple[str, dict[str, Any], list[Any]]]:
    gt, results = make_scene(0)
    no_anns = {**gt, "annotations": []}
    return [
        ("empty_gt", no_anns, results),
        ("empty_dets", gt, []),
        ("both_empty", no_anns, []),
    ]


@pytest.mark.parametrize(("name", "gt", "results"), _cases(), ids=[c[0] for c in _cases()])
def test_analyses_on_empty_gt_or_detections(name: str, gt: dict[str, Any], results: list[Any]) -> None:
    ev = COCOEvaluator.from_coco(gt, results)
    n_cls = len(gt["categories"])
    for method in ("all_point", "11point"):
        for plus_one in (False, True):
            voc = ev.compute_voc(method=method, plus_one=plus_one)
            assert voc.ap.shape == (n_cls,)
            if not gt["annotations"]:
                assert np.isnan(voc.ap).all() and np.isnan(voc.map)
            else:
                assert (voc.ap[voc.n_gt > 0] == 0.0).all()  # GT but no detections: AP 0
            assert voc.to_dict()["per_class"][0]["class_id"] == gt["categories"][0]["id"] or n_cls == 0
    ev.f1_confidence()
    cm = ev.confusion_matrix()
    assert np.asarray(cm["matrix"]).shape == (n_cls + 1, n_cls + 1)
    ev.error_breakdown()
    result = ev.compute()
    str(result), result.per_class_table(), result.to_dict()


def test_cli_report_with_empty_gt(tmp_path: Path) -> None:
    gt, results = make_scene(1, n_images=4)
    gt["annotations"] = []
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "pred.json"
    gt_path.write_text(json.dumps(gt))
    pred_path.write_text(json.dumps(results))
    report, out = tmp_path / "r.html", tmp_path / "out.json"
    assert main(["eval", str(gt_path), str(pred_path), "--report", str(report), "--json", str(out), "--errors"]) == 0
    assert report.exists() and json.loads(out.read_text())["AP"] is None
