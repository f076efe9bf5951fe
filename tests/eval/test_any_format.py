"""``odkit eval GT PRED...`` on any annotation format: YOLO txt / CSV / COCO results predictions against VOC /
YOLO / COCO ground truth give the numbers of the same data converted to COCO first; shards merge; predictions
of unknown categories give pycocotools' numbers with a warning (an error with --strict)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from odkit.boxes import Detections
from odkit.cli.main import main
from odkit.errors import DatasetError, EvaluationError
from odkit.eval import COCOEvaluator, evaluate_coco
from odkit.io import Dataset, read_annotations, read_predictions, write_annotations, write_coco_results

BCCD = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "bccd" / "BCCD"


def _noisy_predictions(ds: Dataset, seed: int = 0) -> dict[int, Detections]:
    """Jittered copies of the GT (some with the wrong class), missed objects and false positives."""
    rng = np.random.default_rng(seed)
    cat_ids = [c.id for c in ds.categories]
    out = {}
    for im, gt in ds:
        keep = rng.random(len(gt)) > 0.15
        boxes = gt.boxes_xyxy[keep]
        wh = boxes[:, 2:] - boxes[:, :2]
        boxes = boxes + rng.normal(0, 0.08, boxes.shape) * np.concatenate([wh, wh], axis=1)
        cls = gt.class_ids[keep].copy()
        flip = rng.random(len(cls)) < 0.1
        cls[flip] = rng.choice(cat_ids, int(flip.sum()))
        n_fp = int(rng.integers(0, 3))
        x0 = rng.uniform(0, im.width * 0.7, n_fp)
        y0 = rng.uniform(0, im.height * 0.7, n_fp)
        fp = np.stack([x0, y0, x0 + rng.uniform(10, 80, n_fp), y0 + rng.uniform(10, 80, n_fp)], axis=1)
        boxes = np.clip(np.concatenate([boxes, fp]), 0, [im.width, im.height, im.width, im.height])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
        scores = np.round(rng.random(len(boxes)), 6)
        out[im.id] = Detections(boxes, scores, np.concatenate([cls, rng.choice(cat_ids, n_fp)]))
    return out


def _write_yolo_predictions(ds: Dataset, preds: dict[int, Detections], folder: Path, names: list[str]) -> None:
    """Ultralytics' save_txt + save_conf layout: one stem.txt per image with detections."""
    folder.mkdir(parents=True)
    index = {c.id: k for k, c in enumerate(ds.categories)}
    for im in ds.images:
        det = preds[im.id]
        if not len(det):
            continue
        b = det.boxes_xyxy
        cx, cy = (b[:, 0] + b[:, 2]) / 2 / im.width, (b[:, 1] + b[:, 3]) / 2 / im.height
        w, h = (b[:, 2] - b[:, 0]) / im.width, (b[:, 3] - b[:, 1]) / im.height
        lines = [f"{index[int(c)]} {a!r} {b_!r} {c_!r} {d!r} {s!r}"
                 for c, a, b_, c_, d, s in zip(det.class_ids.tolist(), cx.tolist(), cy.tolist(), w.tolist(),
                                               h.tolist(), det.scores.tolist())]
        (folder / f"{Path(im.file_name).stem}.txt").write_text("\n".join(lines) + "\n")
    (folder / "classes.txt").write_text("\n".join(names) + "\n")


def _stats(path: Path) -> dict[str, float]:
    return {k: v for k, v in json.loads(path.read_text()).items() if k.startswith(("AP", "AR"))}


@pytest.fixture(scope="module")
def bccd_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Path, Path, Path]:
    if not BCCD.is_dir():
        pytest.skip("../shared/datasets/bccd is not here")
    tmp = tmp_path_factory.mktemp("anyfmt")
    ds = read_annotations(BCCD)  # VOC
    preds = _noisy_predictions(ds)
    yolo_dir = tmp / "pred_yolo"
    _write_yolo_predictions(ds, preds, yolo_dir, [c.name for c in ds.categories])
    # the same data converted to COCO first: GT through odkit convert, predictions through their reader
    gt_json = tmp / "gt.json"
    assert main(["convert", str(BCCD), str(gt_json), "--to", "coco", "--copy-images", "none"]) == 0
    read_back, _ = read_predictions([yolo_dir], ds)
    pred_json = tmp / "pred.json"
    write_coco_results([read_back[im.id] for im in ds.images], [im.id for im in ds.images], None, pred_json)
    return ds, yolo_dir, gt_json, pred_json


def test_yolo_predictions_against_voc_equal_coco_first(bccd_case: tuple, tmp_path: Path) -> None:
    _, yolo_dir, gt_json, pred_json = bccd_case
    assert main(["eval", str(BCCD), str(yolo_dir), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["eval", str(gt_json), str(pred_json), "--json", str(tmp_path / "b.json")]) == 0
    a, b = _stats(tmp_path / "a.json"), _stats(tmp_path / "b.json")
    assert a == b and 0.2 < a["AP50"] < 0.95  # a real, imperfect detector


def test_two_shards_give_the_numbers_of_one_file(bccd_case: tuple, tmp_path: Path) -> None:
    _, yolo_dir, gt_json, pred_json = bccd_case
    results = json.loads(pred_json.read_text())
    (tmp_path / "s1.json").write_text(json.dumps(results[: len(results) // 2]))
    (tmp_path / "s2.json").write_text(json.dumps(results[len(results) // 2:]))
    assert main(["eval", str(gt_json), str(tmp_path / "s1.json"), str(tmp_path / "s2.json"),
                 "--json", str(tmp_path / "shards.json")]) == 0
    assert main(["eval", str(gt_json), str(pred_json), "--json", str(tmp_path / "one.json")]) == 0
    assert _stats(tmp_path / "shards.json") == _stats(tmp_path / "one.json")
    # YOLO shards: the label files split over two folders (each with its classes.txt)
    for k, part in enumerate(("y1", "y2")):
        (tmp_path / part).mkdir()
        (tmp_path / part / "classes.txt").write_text((yolo_dir / "classes.txt").read_text())
        for f in sorted(yolo_dir.glob("*.txt"))[k::2]:
            if f.name != "classes.txt":
                (tmp_path / part / f.name).write_text(f.read_text())
    assert main(["eval", str(BCCD), str(tmp_path / "y1"), str(tmp_path / "y2"),
                 "--json", str(tmp_path / "yshards.json")]) == 0
    assert _stats(tmp_path / "yshards.json") == _stats(tmp_path / "one.json")


def test_csv_predictions_and_yolo_ground_truth(bccd_case: tuple, tmp_path: Path) -> None:
    ds, yolo_dir, gt_json, pred_json = bccd_case
    preds, _ = read_predictions([yolo_dir], ds)
    rows = ["filename,class,xmin,ymin,xmax,ymax,confidence"]
    names = ds.category_names
    for im in ds.images:
        for b, s, c in zip(preds[im.id].boxes_xyxy.tolist(), preds[im.id].scores.tolist(),
                           preds[im.id].class_ids.tolist()):
            rows.append(f"{im.file_name},{names[c]},{b[0]!r},{b[1]!r},{b[2]!r},{b[3]!r},{s!r}")
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    assert main(["eval", str(gt_json), str(tmp_path / "p.csv"), "--csv-zero-based",
                 "--json", str(tmp_path / "c.json")]) == 0
    assert main(["eval", str(gt_json), str(pred_json), "--json", str(tmp_path / "b.json")]) == 0
    assert _stats(tmp_path / "c.json") == _stats(tmp_path / "b.json")
    # YOLO ground truth (its own class names name the prediction indices)
    yolo_gt = tmp_path / "gt_yolo"
    write_annotations(ds, yolo_gt, "yolo", copy_images="symlink")
    assert main(["eval", str(yolo_gt / "data.yaml"), str(yolo_dir), "--json", str(tmp_path / "y.json")]) == 0
    y = _stats(tmp_path / "y.json")
    assert abs(y["AP50"] - _stats(tmp_path / "b.json")["AP50"]) < 0.02  # YOLO txt rounds the GT boxes


def test_class_name_mismatch_lists_both_sides(bccd_case: tuple, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ds, yolo_dir, _, _ = bccd_case
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in yolo_dir.glob("*.txt"):
        (bad / f.name).write_text(f.read_text())
    (bad / "classes.txt").write_text("Platelets\nRBC\nwbc\n")
    assert main(["eval", str(BCCD), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "'wbc'" in err and "'WBC'" in err and "do not match" in err
    with pytest.raises(DatasetError, match="--classes"):
        (bad / "classes.txt").unlink()
        read_predictions([bad], ds)
    preds, _ = read_predictions([bad], ds, class_names=[c.name for c in ds.categories])
    assert sum(len(d) for d in preds.values()) > 0


def _tiny() -> tuple[dict, list[dict]]:
    gt = {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
          "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900,
                           "iscrowd": 0},
                          {"id": 2, "image_id": 2, "category_id": 2, "bbox": [50, 50, 20, 20], "area": 400,
                           "iscrowd": 0}]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [11, 10, 30, 30], "score": 0.9},
               {"image_id": 1, "category_id": 0, "bbox": [11, 10, 30, 30], "score": 0.95},  # background class
               {"image_id": 2, "category_id": 2, "bbox": [0, 0, 20, 20], "score": 0.8},
               {"image_id": 2, "category_id": 99, "bbox": [50, 50, 20, 20], "score": 0.7}]
    return gt, results


def test_unknown_categories_give_pycocotools_numbers_with_one_warning(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    gt, results = _tiny()
    with pytest.warns(UserWarning, match=r"2 result\(s\) have a category_id .*\(0, 99; first: results\[1\]\)"):
        got = evaluate_coco(gt, results)
    known = [r for r in results if r["category_id"] in (1, 2)]
    np.testing.assert_array_equal(list(got.stats.values()), list(evaluate_coco(gt, known).stats.values()))
    pycocotools = pytest.importorskip("pycocotools.coco")
    from pycocotools.cocoeval import COCOeval

    coco_gt = pycocotools.COCO()
    coco_gt.dataset = json.loads(json.dumps(gt))
    coco_gt.createIndex()
    ev = COCOeval(coco_gt, coco_gt.loadRes(json.loads(json.dumps(results))), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    ref = [np.nan if v == -1 else v for v in ev.stats]
    np.testing.assert_array_equal(list(got.stats.values()), ref)
    with pytest.raises(EvaluationError, match=r"results\[1\]\.category_id: category_id 0 is not in"):
        evaluate_coco(gt, results, strict=True)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "r.json").write_text(json.dumps(results))
    assert main(["eval", str(tmp_path / "gt.json"), str(tmp_path / "r.json")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "first: results[1]" in err
    assert main(["eval", str(tmp_path / "gt.json"), str(tmp_path / "r.json"), "--strict"]) == 1


def test_evaluator_update_leaves_out_unknown_classes_unless_strict() -> None:
    gt_boxes = Detections([[0, 0, 10, 10]], [1.0], [1])
    from odkit.boxes import GroundTruth

    gt = GroundTruth([[0, 0, 10, 10]], [1])
    mixed = Detections([[0, 0, 10, 10], [0, 0, 10, 10]], [0.5, 0.9], [1, 7])
    with pytest.warns(UserWarning, match=r"1 prediction\(s\) have a class id that is not evaluated \(7; first: "
                      r"predictions\[0\]\[1\]\)"):
        got = COCOEvaluator(class_ids=[1]).update([mixed], [gt]).compute()
    ref = COCOEvaluator(class_ids=[1]).update([gt_boxes], [gt]).compute()
    np.testing.assert_array_equal(list(got.stats.values()), list(ref.stats.values()))
    with pytest.raises(EvaluationError, match=r"predictions\[0\]\[1\]: class id 7"):
        COCOEvaluator(class_ids=[1], strict=True).update([mixed], [gt])


def test_coco_results_round_trip_through_the_library(tmp_path: Path) -> None:
    gt, _ = _tiny()
    (tmp_path / "gt.json").write_text(json.dumps({**gt, "images": [{**im, "file_name": f"{im['id']}.jpg"}
                                                                     for im in gt["images"]]}))
    ds = read_annotations(tmp_path / "gt.json")
    dets = [Detections([[1.5, 2.25, 30, 40.125]], [0.875], [0]), Detections.empty()]
    n = write_coco_results(dets, [1, 2], [2, 1], tmp_path / "r.json")  # class index 0 -> category 2
    assert n == 1 and json.loads((tmp_path / "r.json").read_text()) == [
        {"image_id": 1, "category_id": 2, "bbox": [1.5, 2.25, 28.5, 37.875], "score": 0.875}]
    back, notes = read_predictions([tmp_path / "r.json"], ds)
    assert notes == [] and len(back[2]) == 0
    np.testing.assert_array_equal(back[1].boxes_xyxy, [[1.5, 2.25, 30, 40.125]])
    assert back[1].class_ids.tolist() == [2] and back[1].scores.tolist() == [0.875]
    with pytest.raises(ValueError, match="no entry in category_ids"):
        write_coco_results([Detections([[0, 0, 1, 1]], [0.5], [3])], [1], [2, 1], tmp_path / "x.json")
