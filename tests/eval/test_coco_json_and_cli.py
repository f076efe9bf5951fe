"""COCO JSON loading errors, the ``odkit eval`` command, and the numpy-only import of ``odkit.eval``."""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from odkit.cli.main import main
from odkit.errors import AnnotationError, EvaluationError
from odkit.eval import evaluate_coco, load_coco_ground_truth, load_coco_results

from ._scenes import make_scene

SRC_EVAL = Path(__file__).resolve().parents[2] / "src" / "odkit" / "eval"


def _bad(results: list[Any], index: int, **change: Any) -> list[Any]:
    out = [dict(r) for r in results]
    out[index].update(change)
    return out


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"image_id": 10_000}, r"results\[3\]\.image_id: image_id 10000 is not in the ground truth"),
        ({"score": float("nan")}, r"results\[3\]\.score: score must be finite"),
        ({"score": "high"}, r"results\[3\]\.score: score must be a number"),
        ({"bbox": [1.0, 2.0, -3.0, 4.0]}, r"results\[3\]\.bbox: bbox has a negative width or height"),
        ({"bbox": [1.0, 2.0, 3.0]}, r"results\[3\]\.bbox: bbox must be \[x, y, w, h\]"),
        ({"bbox": [1.0, 2.0, float("inf"), 3.0]}, r"results\[3\]\.bbox: bbox must be finite"),
    ],
)
def test_bad_result_entry_named(change: dict[str, Any], pattern: str) -> None:
    gt, results = make_scene(0)
    with pytest.raises(EvaluationError, match=pattern):
        evaluate_coco(gt, _bad(results, 3, **change))


def test_missing_key_and_non_object_named() -> None:
    gt, results = make_scene(0)
    broken = [dict(r) for r in results]
    del broken[5]["score"]
    with pytest.raises(EvaluationError, match=r"results\[5\]: missing key 'score'"):
        evaluate_coco(gt, broken)
    with pytest.raises(EvaluationError, match=r"results\[2\]: expected an object"):
        evaluate_coco(gt, [*results[:2], [1, 2, 3], *results[2:]])
    with pytest.raises(EvaluationError, match="expected a list"):
        evaluate_coco(gt, {"annotations": results})  # type: ignore[arg-type]


def test_bad_gt_annotation_named() -> None:
    gt, _ = make_scene(0)
    gt["annotations"][2]["bbox"] = [0, 0, -1, 5]
    with pytest.raises(AnnotationError, match=r"annotations\[2\]\.bbox: bbox has a negative"):
        load_coco_ground_truth(gt)
    gt["annotations"][2]["bbox"] = [0, 0, 1, 5]
    gt["annotations"][4]["image_id"] = "nope"
    with pytest.raises(AnnotationError, match=r"annotations\[4\]\.image_id: image_id 'nope' is not in images"):
        load_coco_ground_truth(gt)
    gt["annotations"][4]["image_id"] = gt["images"][0]["id"]
    gt["annotations"][6]["area"] = "big"
    with pytest.raises(AnnotationError, match=r"annotations\[6\]\.area: area must be a number"):
        load_coco_ground_truth(gt)
    gt["annotations"][6]["area"] = -3.0
    with pytest.raises(AnnotationError, match=r"annotations\[6\]\.area: area must be >= 0"):
        load_coco_ground_truth(gt)


def test_loader_arrays_and_missing_area() -> None:
    gt = {
        "images": [{"id": 5}, {"id": 2}],
        "categories": [{"id": 3, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 5, "category_id": 3, "bbox": [1, 2, 3, 4], "iscrowd": True}],
    }
    loaded = load_coco_ground_truth(gt)
    assert loaded.image_ids == [5, 2] and loaded.class_names == ["cat"]  # file order (the evaluator sorts)
    np.testing.assert_array_equal(loaded.gt_xyxy, [[1, 2, 4, 6]])
    np.testing.assert_array_equal(loaded.gt_area, [12.0])  # no 'area' field: the bbox w*h
    assert loaded.gt_crowd.tolist() == [True] and loaded.gt_image.tolist() == [0]
    dets, unknown = load_coco_results([{"image_id": 2, "category_id": 3, "bbox": [0, 0, 2, 5], "score": 1}], loaded)
    np.testing.assert_array_equal(dets.det_area, [10.0])
    assert dets.det_image.tolist() == [1] and unknown is None


def _write(tmp_path: Path, seed: int = 0) -> tuple[Path, Path]:
    gt, results = make_scene(seed, n_images=6)
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "pred.json"
    gt_path.write_text(json.dumps(gt))
    pred_path.write_text(json.dumps(results))
    return gt_path, pred_path


def test_cli_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = _write(tmp_path)
    out = tmp_path / "out" / "metrics.json"
    assert main(["eval", str(gt_path), str(pred_path), "--json", str(out), "--per-class"]) == 0
    assert gc.isenabled()  # the command pauses the cyclic GC only while it runs
    printed = capsys.readouterr().out
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]" in printed
    assert "#GT" in printed
    data = json.loads(out.read_text())
    expected = evaluate_coco(str(gt_path), str(pred_path))
    for key in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"):
        assert key in data
        assert data[key] is None or isinstance(data[key], float)
    assert data["AP"] == expected.map and data["AR100"] == expected.mar_100
    assert [c["class_id"] for c in data["per_class"]] == list(expected.class_ids)


def test_cli_custom_params_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, pred_path = _write(tmp_path, seed=1)
    out = tmp_path / "m.json"
    code = main(
        [
            "eval",
            str(gt_path),
            str(pred_path),
            "--iou-thresholds",
            "0.5",
            "0.6",
            "--max-dets",
            "5",
            "50",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["AP75"] is None and data["AR100"] is None and data["AR_at_max_dets"]["50"] is not None
    assert main(["eval", str(gt_path), str(pred_path), "--errors", "--json", str(out)]) == 0
    assert "localization" in capsys.readouterr().out
    errors = json.loads(out.read_text())["errors"]
    assert set(errors["delta_ap"]) == {"classification", "localization", "both", "duplicate", "background", "missed"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": -5, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]))
    assert main(["eval", str(gt_path), str(bad)]) == 1
    assert "results[0].image_id: image_id -5" in capsys.readouterr().err
    assert main(["eval", str(gt_path), str(pred_path), "--iou-thresholds", "1.5"]) == 2


def test_cli_subprocess(tmp_path: Path) -> None:
    gt_path, pred_path = _write(tmp_path, seed=2)
    proc = subprocess.run(
        [sys.executable, "-m", "odkit", "eval", str(gt_path), str(pred_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Average") == 12


def test_import_odkit_eval_does_not_import_torch() -> None:
    code = "import sys, odkit.eval, odkit.cli._eval; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
    for path in SRC_EVAL.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "torch" for n in names), path


def test_cli_html_report(tmp_path: Path) -> None:
    gt_path, pred_path = _write(tmp_path, seed=4)
    report = tmp_path / "report" / "eval.html"
    assert main(["eval", str(gt_path), str(pred_path), "--report", str(report)]) == 0
    page = report.read_text()
    expected = evaluate_coco(str(gt_path), str(pred_path))
    assert f"<td>{expected.map:.3f}</td>" in page
    assert page.count("<polyline") >= 2 * len(expected.class_ids)  # PR curves at 0.5 and 0.75
    assert "Confusion matrix" in page and "Where the AP goes" in page


def test_duplicate_annotation_ids_rejected() -> None:
    gt, results = make_scene(0)
    gt["annotations"][5]["id"] = gt["annotations"][2]["id"]
    with pytest.raises(AnnotationError, match=r"annotations\[5\]: annotation ids must be unique.*annotations\[2\]"):
        evaluate_coco(gt, results)
    gt["annotations"][5]["id"] = [1]
    with pytest.raises(AnnotationError, match=r"annotations\[5\]\.id: id must be a number or a string"):
        load_coco_ground_truth(gt)
    for a in gt["annotations"]:
        del a["id"]  # no ids at all: nothing to check
    load_coco_ground_truth(gt)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"score": True}, r"results\[3\]\.score: score must be a number, not a boolean"),
        ({"bbox": [True, 0, 1, 1]}, r"results\[3\]\.bbox: bbox must be \[x, y, w, h\] \(4 numbers, not booleans\)"),
        ({"score": 10**400}, r"results\[3\]\.score: score must be finite in float64"),
        ({"bbox": [0, 0, 10**400, 1]}, r"results\[3\]\.bbox: bbox must be finite in float64"),
        ({"image_id": [1]}, r"results\[3\]\.image_id: ids must be hashable"),
        ({"category_id": {"a": 1}}, r"results\[3\]\.category_id: ids must be hashable"),
    ],
)
def test_bad_result_values_named_in_memory_and_from_file(
    change: dict[str, Any], pattern: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, results = make_scene(0)
    bad = _bad(results, 3, **change)
    with pytest.raises(EvaluationError, match=pattern):
        evaluate_coco(gt, bad)
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "pred.json"
    gt_path.write_text(json.dumps(gt))
    pred_path.write_text(json.dumps(bad))
    with pytest.raises(EvaluationError, match=pattern):
        evaluate_coco(gt_path, pred_path)
    assert main(["eval", str(gt_path), str(pred_path)]) == 1
    assert "results[3]" in capsys.readouterr().err


def test_integers_past_int64_are_numbers_when_float64_holds_them(tmp_path: Path) -> None:
    gt, results = make_scene(0)
    big = _bad(results, 3, score=2**64)
    as_float = _bad(results, 3, score=float(2**64))
    np.testing.assert_array_equal(
        list(evaluate_coco(gt, big).stats.values()), list(evaluate_coco(gt, as_float).stats.values())
    )
    gt["annotations"][1]["area"] = 2**64  # finite: outside every area range, as in pycocotools
    load_coco_ground_truth(gt)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"iscrowd": 0.5}, r"annotations\[2\]\.iscrowd: iscrowd must be 0, 1, true or false; got 0.5"),
        ({"iscrowd": 2}, r"annotations\[2\]\.iscrowd: iscrowd must be 0, 1, true or false; got 2"),
        ({"iscrowd": "1"}, r"annotations\[2\]\.iscrowd: iscrowd must be 0, 1, true or false"),
        ({"area": True}, r"annotations\[2\]\.area: area must be a number, not a boolean"),
        ({"area": 10**400}, r"annotations\[2\]\.area: area must be finite in float64"),
        ({"bbox": [0, False, 3, 4]}, r"annotations\[2\]\.bbox: bbox must be .*not booleans"),
        ({"bbox": [0, 0, 10**400, 4]}, r"annotations\[2\]\.bbox: bbox must be finite"),
    ],
)
def test_bad_gt_values_named(change: dict[str, Any], pattern: str, tmp_path: Path) -> None:
    gt, _ = make_scene(0)
    gt["annotations"][2].update(change)
    with pytest.raises(AnnotationError, match=pattern):
        load_coco_ground_truth(gt)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    with pytest.raises(AnnotationError, match=pattern):
        load_coco_ground_truth(path)


def test_iscrowd_booleans_and_integral_floats_accepted() -> None:
    gt, results = make_scene(0)
    ints = evaluate_coco(gt, results)
    for a in gt["annotations"]:
        a["iscrowd"] = bool(a.get("iscrowd", 0)) if a["id"] % 2 else float(a.get("iscrowd", 0))
    np.testing.assert_array_equal(list(evaluate_coco(gt, results).stats.values()), list(ints.stats.values()))


def test_unhashable_image_id_in_gt_named() -> None:
    gt, _ = make_scene(0)
    gt["images"][1]["id"] = [2]
    with pytest.raises(AnnotationError, match=r"images\[1\]: id must be an integer or a string; got \[2\]"):
        load_coco_ground_truth(gt)


@pytest.mark.parametrize("flag", ["--json", "--report"])
def test_cli_unwritable_output_is_an_error_before_evaluating(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gt_path, pred_path = _write(tmp_path)
    import odkit.eval

    def not_called(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("evaluated despite an unwritable output path")

    monkeypatch.setattr(odkit.eval.COCOEvaluator, "from_coco", not_called)
    for bad in (gt_path / "out.json", gt_path / "deeper" / "out.json", tmp_path):
        assert main(["eval", str(gt_path), str(pred_path), flag, str(bad)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: cannot write {flag} {bad}") and "Traceback" not in err


def test_cli_write_failure_after_evaluating_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gt_path, pred_path = _write(tmp_path)

    def fail(self: Path, *args: Any, **kwargs: Any) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", fail)
    out = tmp_path / "out.json"
    assert main(["eval", str(gt_path), str(pred_path), "--json", str(out)]) == 1
    assert f"error: cannot write {out}: Permission denied" in capsys.readouterr().err
    assert not out.exists()


def test_containers_and_json_rank_float64_scores_the_same() -> None:
    # one precision from file to metric: Detections hold float64 scores, as a results file does
    from odkit.boxes import Detections, GroundTruth
    from odkit.eval import COCOEvaluator

    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100}],
    }
    boxes_xywh = [[0, 0, 10, 10], [0, 0, 10, 6]]  # the first is exact, the second IoU 0.6
    scores = [0.5, 0.5 + 1e-9]  # distinct in float64, equal in float32
    results = [{"image_id": 1, "category_id": 1, "bbox": b, "score": s} for b, s in zip(boxes_xywh, scores)]
    from_json = evaluate_coco(gt, results)
    dets = Detections([[0, 0, 10, 10], [0, 0, 10, 6]], scores, [1, 1])
    from_containers = COCOEvaluator(class_ids=[1]).update([dets], [GroundTruth([[0, 0, 10, 10]], [1])], [1]).compute()
    assert from_json.map < 0.9  # the poor box ranks first
    np.testing.assert_array_equal(list(from_containers.stats.values()), list(from_json.stats.values()))


def test_cli_html_report_labels_follow_the_parameters(tmp_path: Path) -> None:
    gt_path, pred_path = _write(tmp_path, seed=5)
    report = tmp_path / "eval.html"
    args = ["eval", str(gt_path), str(pred_path), "--iou-thresholds", "0.5", "0.6", "--max-dets", "1", "10", "300"]
    assert main([*args, "--report", str(report)]) == 0
    page = report.read_text()
    assert "AP @[0.50:0.60]" in page and "AR small @300" in page and "up to 300 detections" in page
