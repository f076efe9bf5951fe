"""The demo behind ``make demo`` / ``odkit demo``: the whole workflow on a generated dataset.

1. generate a small shapes dataset and write it as COCO (images + ``annotations/instances.json``);
2. convert it to YOLO and check it, the way a user would with ``odkit convert`` / ``odkit check``;
3. predict boxes, clean them with class-aware NMS, and evaluate them: COCO mAP, per-class AP, PASCAL VOC
   AP, F1 against confidence, a confusion matrix and a TIDE-style error breakdown;
4. write ``report.html``: tables, curves and annotated images.

Until odkit's models exist, the predictions come from a *simulated* detector (:func:`simulate_detector`)
that makes the errors real detectors make (jittered boxes, duplicates, class confusions, background
false positives, missed objects), so every number in the report is computed for real from those boxes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from odkit.boxes import Detections, GroundTruth
from odkit.ops import batched_nms
from odkit.synthetic import SHAPE_CLASSES, make_shapes_dataset


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs, and the headline numbers."""

    out_dir: Path
    report_path: Path
    stats: dict[str, float]


def simulate_detector(ground_truth: GroundTruth, image_hw: tuple[int, int], rng: np.random.Generator) -> Detections:
    """Raw detector-like output for one image: several jittered boxes per object plus false positives.

    Per object: 0 boxes with probability 0.1 (a miss), else 2-6 boxes jittered by ~6% of the object's size
    with scores around 0.75; 8% of objects are given the wrong class. Plus 0-3 background boxes with scores
    around 0.3.

    Args:
        ground_truth: the true objects of the image (absolute xyxy).
        image_hw: (height, width) in pixels; boxes are clipped to it.
        rng: random generator.

    Returns:
        Unfiltered detections (before NMS).
    """
    height, width = image_hw
    boxes, scores, classes = [], [], []
    for box, cls in zip(ground_truth.boxes_xyxy.astype(np.float64), ground_truth.class_ids):
        if rng.random() < 0.1:
            continue
        size = box[2:] - box[:2]
        label = int(rng.integers(0, len(SHAPE_CLASSES))) if rng.random() < 0.08 else int(cls)
        confidence = float(np.clip(rng.normal(0.75, 0.12), 0.05, 0.99))
        for _ in range(int(rng.integers(2, 7))):
            jitter = rng.normal(0, 0.06, size=4) * np.r_[size, size]
            boxes.append(box + jitter)
            scores.append(float(np.clip(confidence - abs(rng.normal(0, 0.08)), 0.01, 0.99)))
            classes.append(label)
    for _ in range(int(rng.integers(0, 4))):
        side = rng.uniform(10, 50, size=2)
        x0, y0 = rng.uniform(0, width - side[0]), rng.uniform(0, height - side[1])
        boxes.append(np.array([x0, y0, x0 + side[0], y0 + side[1]]))
        scores.append(float(np.clip(rng.normal(0.3, 0.12), 0.01, 0.99)))
        classes.append(int(rng.integers(0, len(SHAPE_CLASSES))))
    if not boxes:
        return Detections.empty()
    boxes_xyxy = np.asarray(boxes)
    boxes_xyxy[:, 0::2] = np.clip(boxes_xyxy[:, 0::2], 0, width)
    boxes_xyxy[:, 1::2] = np.clip(boxes_xyxy[:, 1::2], 0, height)
    boxes_xyxy[:, 2:] = np.maximum(boxes_xyxy[:, 2:], boxes_xyxy[:, :2])
    return Detections(boxes_xyxy, np.asarray(scores), np.asarray(classes))


def _write_dataset(out_dir: Path, n_images: int, seed: int) -> tuple[Path, list]:
    """Generate the shapes dataset; write PNG images and a COCO file. Returns (coco path, generated items)."""
    from PIL import Image

    from odkit.io import Category, Dataset, GroundTruth, ImageRecord, write_annotations

    items = make_shapes_dataset(n_images, image_hw=(160, 224), size_range=(14, 104), seed=seed)
    images_dir = out_dir / "dataset" / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    records, annotations = [], {}
    for i, item in enumerate(items, start=1):
        name = f"shapes_{i:04d}.png"
        Image.fromarray(item.image).save(images_dir / name)
        h, w = item.image.shape[:2]
        records.append(ImageRecord(id=i, file_name=name, path=name, width=w, height=h))
        annotations[i] = GroundTruth(item.ground_truth.boxes_xyxy, item.ground_truth.class_ids + 1)
    dataset = Dataset(
        images=tuple(records),
        categories=tuple(Category(id=k + 1, name=n) for k, n in enumerate(SHAPE_CLASSES)),
        annotations=annotations,
        root=images_dir,
    )
    coco_path = out_dir / "dataset" / "annotations" / "instances.json"
    write_annotations(dataset, coco_path, "coco")
    return coco_path, items


def run_demo(out_dir: str | Path = "demo_out", n_images: int = 40, seed: int = 0, verbose: bool = True) -> DemoResult:
    """Run the whole demo; see the module docstring. Returns where things were written."""
    from odkit.eval import COCOEvaluator
    from odkit.io import check_dataset, read_annotations, split_dataset, write_annotations, write_coco_results

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    rng = np.random.default_rng(seed)

    say(f"[1/4] generating {n_images} images of {', '.join(SHAPE_CLASSES)} -> {out / 'dataset'}")
    coco_path, items = _write_dataset(out, n_images, seed)
    dataset = read_annotations(coco_path)
    say(f"      {len(dataset)} images, {dataset.num_boxes} boxes, written as COCO: {coco_path}")

    say("[2/4] splitting 80/20 (stratified), converting to YOLO and checking it")
    split = split_dataset(dataset, {"train": 0.8, "val": 0.2}, seed=seed, stratify=True)
    report = write_annotations(split, out / "yolo", "yolo", copy_images="copy")
    say(f"      {report.summary()}")
    check = check_dataset(read_annotations(out / "yolo"))
    say(f"      odkit check: {len(check.errors)} errors, {len(check.warnings)} warnings")
    for finding in check.findings:
        say(f"        {finding}")

    say("[3/4] predicting (simulated detector) and applying class-aware NMS (IoU 0.5)")
    predictions, raw_count = [], 0
    for item in items:
        raw = simulate_detector(item.ground_truth, item.image.shape[:2], rng)
        raw_count += len(raw)
        keep = batched_nms(raw.boxes_xyxy, raw.scores, raw.class_ids, iou_threshold=0.5, max_det=100)
        predictions.append(raw[keep])
    say(f"      {raw_count} raw boxes -> {sum(len(p) for p in predictions)} after NMS")

    predictions_path = out / "predictions.json"
    category_ids = [c.id for c in dataset.categories]  # class index k -> category id (1-based here)
    write_coco_results(predictions, [im.id for im in dataset.images], category_ids, predictions_path)
    say(f"      wrote {predictions_path} (COCO results format)")

    say(f"[4/4] evaluating (the same as: odkit eval {coco_path} {predictions_path})")
    evaluator = COCOEvaluator.from_coco(coco_path, predictions_path)
    result = evaluator.compute()
    say(str(result))
    say(result.per_class_table())
    (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2))

    from odkit.report import write_evaluation_report
    from odkit.viz import draw_boxes

    samples = [
        (f"shapes_{i + 1:04d}.png: white = truth, colour = prediction",
         draw_boxes(item.image, predictions[i], item.ground_truth, SHAPE_CLASSES))
        for i, item in enumerate(items[:8])
    ]
    report_path = write_evaluation_report(
        out / "report.html", evaluator, result, samples, title="odkit demo: shapes, simulated detector"
    )
    say(f"report: {report_path}")
    return DemoResult(out, report_path, result.stats)
