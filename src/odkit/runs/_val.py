"""``odkit val``: score a model on a dataset split and write what a person wants to see.

A validation run folder (``runs/val-N`` unless ``out``; the training run's own folder at the end of a
training run) holds ``metrics.json`` (the COCO stats, per-class AP, the best-F1 confidence), ``predictions.json``
(COCO results that ``odkit eval`` reads), PNG plots (``pr_curve.png``, ``f1_curve.png``,
``confusion_matrix.png``, ``errors.png``) and ``report.html`` (self-contained: numbers, curves, confusion
matrix, error breakdown, and predictions beside the ground truth, worst images first).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import OdkitError
from odkit.runs._data import DetectionSplits, detection_splits, is_class_folder_tree
from odkit.runs._folders import new_run_dir

#: Images shown in a report's gallery.
GALLERY_SIZE = 12


@dataclass
class ValRun:
    """What a validation wrote: the folder, the headline numbers and the report."""

    out_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    report: Path | None = None


def _best_confidence(f1: dict[str, Any]) -> tuple[float, float]:
    """(confidence, F1) at the maximum of the mean F1 curve over the classes that have ground truth."""
    curves = [e["f1"] for e in f1["per_class"].values() if not math.isnan(e["best_f1"])]
    if not curves:
        return 0.25, math.nan
    mean = np.mean(curves, axis=0)
    i = int(np.argmax(mean))
    return float(f1["confidence"][i]), float(mean[i])


def _model_to_dataset(net: Any, dataset: Any, where: Any) -> np.ndarray:
    """Category id of each of the model's classes, matched by name (error listing both sides on a mismatch)."""
    by_name = {c.name: c.id for c in dataset.categories}
    names = list(net.class_names or [])
    missing = [n for n in names if n not in by_name]
    if missing or not names:
        raise OdkitError(f"{where}: the model's classes {names} are not the dataset's {list(by_name)} "
                         f"(missing: {missing})")
    return np.asarray([by_name[n] for n in names], dtype=np.int64)


def validate_detector(net: Any, splits: DetectionSplits, out_dir: str | os.PathLike[str], *,
                      history: list[dict[str, float]] | None = None, info: dict[str, Any] | None = None,
                      conf: float = 0.001, iou: float = 0.5, max_det: int = 100, verbose: int = 1) -> ValRun:
    """Predict on the validation split, evaluate (COCO, = pycocotools) and write the files of the module
    docstring into ``out_dir``. Boxes are scored in the original images' pixels."""
    from odkit.boxes import Detections
    from odkit.data import load_img
    from odkit.eval import COCOEvaluator
    from odkit.io import write_coco_results
    from odkit.report import image_errors, plot_evaluation, side_by_side, worst_first, write_run_report

    say = print if verbose else (lambda *a, **k: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset = splits.dataset.split(splits.val_split)
    if len(dataset) == 0:
        raise OdkitError(f"the {splits.val_split!r} split has no images")
    category = _model_to_dataset(net, dataset, splits.val_split)
    ground_truths, image_ids, class_ids, class_names = dataset.evaluation_inputs()
    paths = [dataset.image_path(r) for r in dataset.images]
    say(f"validating {net.name} on {len(paths)} '{splits.val_split}' images (conf {conf:g}, NMS IoU {iou:g})")
    raw = net.predict(paths, conf=conf, iou=iou, max_det=max_det)
    predictions = [Detections(d.boxes_xyxy, d.scores, category[d.class_ids]) for d in raw]
    evaluator = COCOEvaluator(class_ids=class_ids, class_names=class_names)
    evaluator.update(predictions, ground_truths, image_ids)
    result = evaluator.compute()
    errors = evaluator.error_breakdown()
    best_conf, best_f1 = _best_confidence(evaluator.f1_confidence(0.5))
    write_coco_results(predictions, image_ids, None, out / "predictions.json")
    metrics = {"map50": float(result.map50), "map": float(result.map), "map75": float(result.stats["map75"]),
               "best_f1": best_f1, "best_f1_confidence": best_conf}
    payload = {**result.to_dict(), "split": splits.val_split, "images": len(paths), "conf": conf, "iou": iou,
               "best_f1": best_f1, "best_f1_confidence": best_conf}
    (out / "metrics.json").write_text(json.dumps(payload, indent=2, default=_json_default), encoding="utf-8")
    plot_evaluation(evaluator, result, out, confusion_score=best_conf, errors=errors)

    # the gallery: predictions at the best-F1 confidence beside the truth, worst images first
    label_of = {int(cid): k for k, cid in enumerate(category)}
    per_image = [image_errors(p, g, best_conf) for p, g in zip(predictions, ground_truths)]
    gallery = []
    for i in worst_first(per_image)[:GALLERY_SIZE]:
        gt = ground_truths[i]
        gt_labels = type(gt)(gt.boxes_xyxy, np.asarray([label_of.get(int(c), -1) for c in gt.class_ids]))
        image = np.asarray(load_img(paths[i]), dtype=np.uint8)
        e = per_image[i]
        caption = f"{paths[i].name}: {e.fp} false, {e.fn} missed, {e.wrong_class} wrong class"
        gallery.append((caption, side_by_side(image, raw[i], gt_labels, list(net.class_names), best_conf)))
    info = {**(info or {}), "validation images": len(paths), "confidence (report)": f"{best_conf:.3f} (best F1)"}
    report = write_run_report(out / "report.html", title=f"odkit: {net.name} on {splits.val_split}", info=info,
                              evaluator=evaluator, result=result, history=history, gallery=gallery, errors=errors,
                              confusion_score=best_conf)
    say(str(result))
    say(result.per_class_table())
    say(f"mAP50 {metrics['map50']:.3f}  mAP {metrics['map']:.3f}  best F1 {best_f1:.3f} at confidence {best_conf:.3f}")
    say(f"report: {report}")
    return ValRun(out, metrics, report)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def validate_classifier(net: Any, val_data: Any, out_dir: str | os.PathLike[str], *,
                        history: list[dict[str, float]] | None = None, info: dict[str, Any] | None = None,
                        verbose: int = 1) -> ValRun:
    """Accuracy, per-class precision / recall, confusion matrix and the misclassified images first, for a
    classifier on an ``image_dataset_from_directory`` dataset; ``metrics.json`` and ``report.html``."""
    from odkit.report import heatmap_table, html_table, write_run_report

    say = print if verbose else (lambda *a, **k: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(net.class_names or val_data.class_names)
    truth, guess, confidence, files, images = [], [], [], [], []
    for x, y, batch_paths in val_data.iter_epoch(0, with_paths=True):
        probs = net.predict(x)
        truth.extend(np.asarray(y).astype(int).tolist())
        guess.extend(probs.argmax(1).tolist())
        confidence.extend(probs.max(1).tolist())
        files.extend(batch_paths)
        images.extend(list(np.asarray(x)))
    if not truth:
        raise OdkitError("the validation data gave no image")
    t, g = np.asarray(truth), np.asarray(guess)
    k = len(names)
    matrix = np.zeros((k, k), np.int64)
    np.add.at(matrix, (t, g), 1)
    rows = []
    for c, name in enumerate(names):
        tp = int(matrix[c, c])
        precision = tp / matrix[:, c].sum() if matrix[:, c].sum() else math.nan
        recall = tp / matrix[c].sum() if matrix[c].sum() else math.nan
        rows.append((name, precision, recall, int(matrix[c].sum())))
    accuracy = float((t == g).mean())
    logs = net.evaluate(val_data, return_dict=True) if getattr(net, "_loss_fn", None) is not None else {}
    metrics = {"accuracy": accuracy, **({"loss": float(logs["loss"])} if "loss" in logs else {})}
    (out / "metrics.json").write_text(json.dumps({**metrics, "images": len(t), "confusion_matrix": matrix.tolist(),
                                                  "class_names": names}, indent=2), encoding="utf-8")
    order = sorted(range(len(t)), key=lambda i: (t[i] == g[i], confidence[i] if t[i] == g[i] else -confidence[i]))
    gallery = []
    for i in order[:GALLERY_SIZE]:
        image = np.asarray(images[i])
        image = np.clip(image, 0, 255).astype(np.uint8)
        if image.ndim == 3 and image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        mark = "right" if t[i] == g[i] else "WRONG"
        gallery.append((f"{Path(files[i]).name}: {names[t[i]]} -> {names[g[i]]} ({confidence[i]:.2f}, {mark})", image))
    sections = [("Per class", html_table(["class", "precision", "recall", "images"], rows)),
                ("Confusion matrix", heatmap_table(matrix, names, names, corner="true \\ predicted"))]
    report = write_run_report(out / "report.html", title=f"odkit: {net.name}", info={**(info or {}),
                              "validation images": len(t), "accuracy": f"{accuracy:.4f}"}, history=history,
                              gallery=gallery, extra_sections=sections)
    say(f"accuracy {accuracy:.4f} on {len(t)} validation images")
    say(f"report: {report}")
    return ValRun(out, metrics, report)


def val_run(model: str | os.PathLike[str], data: str | os.PathLike[str], *, split: str | None = None,
            conf: float = 0.001, iou: float = 0.5, max_det: int = 100, device: str | None = None,
            out: str | os.PathLike[str] | None = None, verbose: int = 1) -> ValRun:
    """``odkit val MODEL DATA``: load a ``.odk`` model and validate it on DATA's ``split`` (default: the
    validation split as ``odkit train`` chose it) into a new run folder (``runs/val-N`` unless ``out``)."""
    from odkit.export import load_any_model
    from odkit.runs._train import CLASSIFIER_IMGSZ, _classification_data

    if not Path(model).exists():
        raise OdkitError(f"{model}: no such model file")
    if not Path(data).exists():
        raise OdkitError(f"{data}: no such file or folder")
    net = load_any_model(model)
    if device is not None:
        from odkit.models import resolve_device

        net.to(resolve_device(device))
    if is_class_folder_tree(data):
        hw = net.input_info.get("image_hw") or [CLASSIFIER_IMGSZ, CLASSIFIER_IMGSZ]
        mode = "grayscale" if net.input_info.get("channels") == 1 else "rgb"
        _, val_data, note = _classification_data(Path(data), int(hw[0]), 32, 0, color_mode=mode)
        if note and verbose:
            print(note)
        out_dir = new_run_dir("val", out)
        return validate_classifier(net, val_data, out_dir, info={"model": str(model), "data": str(data)},
                                   verbose=verbose)
    if net.name == "classifier":
        raise OdkitError(f"{model} is a classifier; DATA must be a class-folder tree, not a detection dataset")
    splits = detection_splits(data, split=split)
    if splits.note and verbose:
        print(splits.note)
    out_dir = new_run_dir("val", out)
    return validate_detector(net, splits, out_dir, info={"model": str(model), "data": str(data)}, conf=conf,
                             iou=iou, max_det=max_det, verbose=verbose)
