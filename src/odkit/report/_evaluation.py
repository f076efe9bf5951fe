"""An HTML evaluation report: the numbers of ``odkit.eval`` drawn as tables, curves and pictures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from odkit.report._html import _fmt, heatmap_table, html_table, image_tag, svg_bars, svg_lines, write_html

if TYPE_CHECKING:
    from odkit.eval import COCOEvaluator, MAPResult


def _stat_labels(result: MAPResult) -> list[tuple[str, str]]:
    """(key, label) of the 12 stats, with the IoU range and max_dets actually used."""
    p = result.params
    iou_all = f"@[{p.iou_thresholds[0]:.2f}:{p.iou_thresholds[-1]:.2f}]"
    top = p.max_dets[-1]
    return [
        ("map", f"AP {iou_all}"), ("map50", "AP @.50"), ("map75", "AP @.75"), ("map_small", "AP small"),
        ("map_medium", "AP medium"), ("map_large", "AP large"), ("mar_1", "AR @1"), ("mar_10", "AR @10"),
        ("mar_100", "AR @100"), ("mar_small", f"AR small @{top}"), ("mar_medium", f"AR medium @{top}"),
        ("mar_large", f"AR large @{top}"),
    ]


def mean_f1(f1: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The all-class F1 curve of ``evaluator.f1_confidence()`` and its best point.

    Returns:
        ``(confidence, mean_f1, best_threshold, best_f1)``: the (C,) confidence grid, the (C,) mean over the
        classes with ground truth, and the grid point with the highest mean F1 (the lowest on ties) with that
        F1; the threshold is NaN when no class has ground truth or no detection is right (F1 0 throughout).
    """
    grid = np.asarray(f1["confidence"], dtype=np.float64)
    curves = [e["f1"] for e in f1["per_class"].values() if not math.isnan(e["best_f1"])]
    if not curves:
        return grid, np.full(grid.shape, np.nan), math.nan, math.nan
    mean = np.mean(np.asarray(curves, dtype=np.float64), axis=0)
    best = int(np.argmax(mean))
    if mean[best] <= 0:
        return grid, mean, math.nan, 0.0
    return grid, mean, float(grid[best]), float(mean[best])


def evaluation_sections(
    evaluator: COCOEvaluator,
    result: MAPResult | None = None,
    confusion_score: float = 0.25,
    errors: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """The ``(heading, html)`` sections of an evaluation, shared by the evaluation and the run reports.

    Sections: the 12 COCO stats; per-class AP/AR with VOC AP; precision-recall curves at IoU 0.5 and 0.75;
    F1 against confidence with the best threshold per class and for all classes; a confusion matrix with
    background; the TIDE-style error breakdown in AP points.

    Args:
        evaluator: an evaluator holding the images to report on.
        result: ``evaluator.compute()`` when already computed.
        confusion_score: confidence threshold of the confusion matrix.
        errors: ``evaluator.error_breakdown()`` when already computed (it is the costliest analysis).
    """
    result = evaluator.compute() if result is None else result
    names = {c.class_id: c.name for c in result.per_class}
    sections: list[tuple[str, str]] = []

    stats = result.stats
    summary = html_table(["metric", "value"], [(label, stats[k]) for k, label in _stat_labels(result)])
    summary += (f'<p class="note">COCO definitions, equal to pycocotools; AP uses up to {result.params.max_dets[-1]} '
                'detections per image; "&ndash;" = undefined (no ground truth there, or not evaluated).</p>')
    sections.append(("Summary", summary))

    voc = evaluator.compute_voc(0.5, "all_point")
    voc_ap = dict(zip(voc.class_ids, voc.ap.tolist()))
    rows = [(c.name, c.ap, c.ap50, c.ap75, c.ar, float(voc_ap.get(c.class_id, math.nan)), c.n_gt, c.n_det)
            for c in result.per_class]
    sections.append(("Per class", html_table(
        ["class", "AP", "AP50", "AP75", "AR100", "VOC AP50", "GT", "detections"], rows)))

    curves = []
    for iou in (0.5, 0.75):
        if not np.any(np.isclose(result.params.iou_thresholds, iou)):
            continue
        series = []
        for c in result.per_class:
            recall, precision = result.pr_curve(c.class_id, iou)
            series.append((c.name, recall, precision))
        curves.append(svg_lines(series, "recall", "precision", f"Precision-recall, IoU {iou:.2f}"))
    if curves:
        sections.append(("Precision-recall curves", f'<div class="grid">{"".join(curves)}</div>'))

    f1 = evaluator.f1_confidence(0.5)
    grid = f1["confidence"]
    series = [(names.get(cid, str(cid)), grid, entry["f1"]) for cid, entry in f1["per_class"].items()]
    best = [(names.get(cid, str(cid)), e["best_threshold"], e["best_f1"], e["best_precision"], e["best_recall"])
            for cid, e in f1["per_class"].items()]
    _, mean, threshold, best_f1 = mean_f1(f1)
    series.append(("all classes", grid, mean))
    sections.append(("F1 against confidence (IoU 0.50)",
                     svg_lines(series, "confidence threshold", "F1", "F1 vs confidence")
                     + html_table(["class", "best threshold", "F1", "precision", "recall"], best)
                     + f'<p class="note">All classes: mean F1 {_fmt(best_f1)} at confidence {_fmt(threshold)} '
                       "(best point of the mean curve, on a 0.01 grid).</p>"))

    cm = evaluator.confusion_matrix(0.5, confusion_score)
    labels = [names.get(c, str(c)) for c in cm["labels"]]
    sections.append((f"Confusion matrix (IoU 0.50, confidence >= {confusion_score:g})",
                     heatmap_table(cm["matrix"], labels, labels, corner="true \\ predicted")
                     + '<p class="note">Last row: detections of nothing (background); last column: objects '
                       "nobody detected.</p>"))

    errors = evaluator.error_breakdown() if errors is None else errors
    kinds = list(errors["delta_ap"])
    sections.append(("Where the AP goes (TIDE-style, IoU 0.50)",
                     svg_bars(kinds, [100 * errors["delta_ap"][k] for k in kinds], "AP points won by fixing",
                              unit=" pts")
                     + html_table(["error", "count", "AP points"],
                                  [(k, errors["counts"][k], 100 * errors["delta_ap"][k]) for k in kinds])))
    return sections


def write_evaluation_report(
    path: str | Path,
    evaluator: COCOEvaluator,
    result: MAPResult | None = None,
    samples: Sequence[tuple[str, np.ndarray]] = (),
    title: str = "odkit evaluation report",
    confusion_score: float = 0.25,
    errors: dict[str, Any] | None = None,
) -> Path:
    """Write a standalone HTML report of an evaluation.

    Sections: those of :func:`evaluation_sections`, then ``samples`` (e.g. images with boxes drawn).

    Args:
        path: the ``.html`` file to write (parents are created; written atomically).
        evaluator: an evaluator holding the images to report on.
        result: ``evaluator.compute()`` when already computed.
        samples: (caption, (H, W, 3) uint8 image) pairs shown at the end.
        title: page title.
        confusion_score: confidence threshold of the confusion matrix.
        errors: ``evaluator.error_breakdown()`` when already computed (it is the costliest analysis).

    Returns:
        The path written.
    """
    sections = evaluation_sections(evaluator, result, confusion_score, errors)
    if samples:
        figures = "".join(image_tag(image, caption) for caption, image in samples)
        sections.append(("Samples", f'<div class="grid">{figures}</div>'))
    return write_html(path, title, sections)
