"""PNG plots of a run (matplotlib, Agg canvas): training curves and the evaluation figures.

matplotlib is imported inside the functions, so ``import odkit.report`` stays light; no global state of
pyplot is touched (figures are made with ``Figure`` and drawn on their own Agg canvas).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from odkit.report._evaluation import mean_f1
from odkit.report._history import history_columns, pair_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from odkit.eval import COCOEvaluator, MAPResult

_DPI = 110


def _figure(size_wh: tuple[float, float] = (7.5, 4.5)) -> Figure:
    """A figure on its own Agg canvas, laid out by matplotlib's constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_wh, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG atomically (temp file, then rename); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fig.savefig(tmp, format="png", dpi=_DPI)
    tmp.replace(path)
    return path


def _legend_outside(ax: Axes) -> None:
    """A legend to the right of the plot, so it never hides a curve."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _plot_pairs(ax: Axes, epochs: np.ndarray, columns: dict[str, np.ndarray]) -> None:
    """Train (solid) and ``val_`` (dashed) columns, one colour per quantity; finite points only, joined."""
    quantities = list(dict.fromkeys(pair_key(k) for k in columns))
    for key, values in columns.items():
        ok = np.isfinite(values)
        colour = f"C{quantities.index(pair_key(key)) % 10}"
        ax.plot(epochs[ok], values[ok], color=colour, linestyle="--" if key.startswith("val_") else "-",
                marker="o" if ok.sum() <= 40 else None, markersize=3, label=key)


def plot_training(history: Sequence[Mapping[str, float]], out_dir: str | Path) -> list[Path]:
    """Plot a run's per-epoch history as ``losses.png``, ``metrics.png`` and ``lr.png`` in ``out_dir``.

    Args:
        history: one mapping per epoch, as the rows of a run's results.csv: ``epoch`` (1-based; the row
            number when absent), ``loss``, ``val_loss``, other ``*_loss`` / ``val_*_loss``, metrics such as
            ``val_map50``, ``val_map``, ``accuracy``, ``val_accuracy``, ``val_iou``, and ``lr``, ``time``.
            Missing, empty or NaN values (validation every N epochs) are left out: each curve joins the
            epochs that have a value.
        out_dir: folder to write to (created when missing).

    Returns:
        The files written, in the order losses, metrics, lr; a figure with nothing to draw is not written.

    Raises:
        ValueError: if a value is not a number (naming the row and the column).
    """
    out = Path(out_dir)
    epochs, losses, metrics, lr_column = history_columns(history)
    written = []
    for name, columns, y_label in (("losses", losses, "loss"), ("metrics", metrics, "value")):
        if not columns:
            continue
        fig = _figure()
        ax = fig.add_subplot()
        _plot_pairs(ax, epochs, columns)
        ax.set(title=f"Training {name} (solid: train, dashed: validation)", xlabel="epoch", ylabel=y_label)
        finite = np.concatenate([v[np.isfinite(v)] for v in columns.values()])
        if name == "metrics" and finite.min() >= 0 and finite.max() <= 1:
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        _legend_outside(ax)
        written.append(_save(fig, out / f"{name}.png"))

    if lr_column:
        lr = lr_column["lr"]
        ok = np.isfinite(lr)
        fig = _figure((7.5, 3.5))
        ax = fig.add_subplot()
        ax.plot(epochs[ok], lr[ok], color="C0", marker="o" if ok.sum() <= 40 else None, markersize=3)
        positive = lr[ok & (lr > 0)]
        if positive.size == ok.sum() and positive.max() / positive.min() > 20:
            ax.set_yscale("log")
        ax.set(title="Learning rate", xlabel="epoch", ylabel="learning rate")
        ax.grid(alpha=0.3)
        written.append(_save(fig, out / "lr.png"))
    return written


def plot_evaluation(
    evaluator: COCOEvaluator,
    result: MAPResult | None,
    out_dir: str | Path,
    confusion_score: float = 0.25,
    errors: dict[str, Any] | None = None,
) -> list[Path]:
    """Plot an evaluation as ``pr_curve.png``, ``f1_curve.png``, ``confusion_matrix.png`` and ``errors.png``.

    - pr_curve: precision against recall per class at IoU 0.5 (AP50 in the legend) and the mean over the
      classes with ground truth (mAP50); left out when 0.5 is not among the evaluated IoU thresholds.
    - f1_curve: F1 against the confidence threshold per class and the mean, with its best threshold marked.
    - confusion_matrix: true class (rows) against predicted class (columns) at IoU 0.5 and
      ``score >= confusion_score``, with a background row (false detections) and column (missed objects);
      cells show counts, colours the share of their row.
    - errors: the TIDE-style breakdown, AP50 points won by fixing each kind of error.

    Args:
        evaluator: an evaluator holding the images to plot.
        result: ``evaluator.compute()`` when already computed (None: computed here).
        out_dir: folder to write to (created when missing).
        confusion_score: confidence threshold of the confusion matrix, in [0, 1].
        errors: ``evaluator.error_breakdown()`` when already computed.

    Returns:
        The files written, in the order above.
    """
    out = Path(out_dir)
    result = evaluator.compute() if result is None else result
    names = {c.class_id: c.name for c in result.per_class}
    written = []
    if np.any(np.isclose(result.params.iou_thresholds, 0.5)):
        written.append(_save(_pr_figure(result), out / "pr_curve.png"))
    written.append(_save(_f1_figure(evaluator.f1_confidence(0.5), names), out / "f1_curve.png"))
    cm = evaluator.confusion_matrix(0.5, confusion_score)
    labels = [names.get(c, str(c)) for c in cm["labels"]]
    written.append(_save(_confusion_figure(cm["matrix"], labels, confusion_score), out / "confusion_matrix.png"))
    errors = evaluator.error_breakdown() if errors is None else errors
    written.append(_save(_errors_figure(errors), out / "errors.png"))
    return written


def _pr_figure(result: MAPResult) -> Figure:
    iou = float(result.params.iou_thresholds[np.flatnonzero(np.isclose(result.params.iou_thresholds, 0.5))[0]])
    fig = _figure((7.5, 5.0))
    ax = fig.add_subplot()
    curves = []
    many = len(result.per_class) > 10
    for c in result.per_class:
        recall, precision = result.pr_curve(c.class_id, iou)
        if np.isnan(precision).all():  # no ground truth: no curve
            continue
        curves.append(precision)
        ax.plot(recall, precision, linewidth=1.0, alpha=0.5 if many else 0.9, label=f"{c.name} {c.ap50:.3f}")
    if curves:
        mean = np.nanmean(np.asarray(curves), axis=0)
        ax.plot(recall, mean, color="black", linewidth=2.5, label=f"all classes {result.map50:.3f} mAP@0.5")
    ax.set(title="Precision-recall (IoU 0.50)", xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return fig


def _f1_figure(f1: dict[str, Any], names: Mapping[Any, str]) -> Figure:
    grid, mean, threshold, best_f1 = mean_f1(f1)
    fig = _figure((7.5, 5.0))
    ax = fig.add_subplot()
    many = len(f1["per_class"]) > 10
    for cid, entry in f1["per_class"].items():
        if math.isnan(entry["best_f1"]):  # no ground truth
            continue
        ax.plot(grid, entry["f1"], linewidth=1.0, alpha=0.5 if many else 0.9, label=names.get(cid, str(cid)))
    if np.isfinite(mean).any():
        ax.plot(grid, mean, color="black", linewidth=2.5, label="all classes")
    if math.isfinite(threshold):
        ax.plot([threshold], [best_f1], marker="o", markersize=9, color="red", linestyle="none",
                label=f"best: F1 {best_f1:.3f} at {threshold:.2f}")
        ax.axvline(threshold, color="red", linewidth=0.8, linestyle=":")
        title = f"F1 vs confidence (IoU 0.50): best all-class F1 {best_f1:.3f} at confidence {threshold:.2f}"
    else:
        title = "F1 vs confidence (IoU 0.50): no correct detection"
    ax.set(title=title, xlabel="confidence threshold", ylabel="F1", xlim=(0, 1), ylim=(0, 1.02))
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return fig


def _confusion_figure(matrix: np.ndarray, labels: Sequence[str], score: float) -> Figure:
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    share = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    n = len(labels)
    side = float(np.clip(2.5 + 0.45 * n, 5.0, 16.0))
    fig = _figure((side + 1.2, side))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the row")
    if n <= 30:
        size = 9 if n <= 12 else 7 if n <= 20 else 5
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=size,
                            color="white" if share[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), labels, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set(title=f"Confusion matrix (IoU 0.50, confidence >= {score:g})", xlabel="predicted", ylabel="true")
    return fig


def _errors_figure(errors: Mapping[str, Any]) -> Figure:
    kinds = list(errors["delta_ap"])
    points = [100 * float(errors["delta_ap"][k]) for k in kinds]
    points = [p if math.isfinite(p) else 0.0 for p in points]
    fig = _figure((7.5, 0.5 + 0.45 * max(len(kinds), 3)))
    ax = fig.add_subplot()
    y = np.arange(len(kinds))
    ax.barh(y, points, color=[f"C{i % 10}" for i in range(len(kinds))])
    ax.set_yticks(y, [f"{k} ({errors['counts'][k]})" for k in kinds])
    ax.invert_yaxis()
    top = max([abs(p) for p in points] + [0.1])
    for yi, p in zip(y, points):
        ax.text(p + top * 0.01, yi, f"{p:.2f}", va="center", fontsize=8)
    ax.set_xlim(min(0.0, *points), top * 1.15)
    base = float(errors.get("ap", math.nan))
    ax.set(title=f"AP50 points won by fixing each error (AP50 {100 * base:.1f}; count in brackets)",
           xlabel="AP points (x100)")
    ax.title.set_fontsize(10)
    ax.grid(axis="x", alpha=0.3)
    return fig
