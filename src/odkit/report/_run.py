"""The report of a run (train / val / predict): one self-contained HTML page.

Headline tiles, the run's facts, training curves, the evaluation sections and a gallery of the images the
model gets most wrong. No network: styles are inline, charts are inline SVG, images are data URIs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from odkit.report._evaluation import evaluation_sections, mean_f1
from odkit.report._history import history_columns, pair_key
from odkit.report._html import image_tag, svg_lines, write_html

if TYPE_CHECKING:
    from odkit.eval import COCOEvaluator, MAPResult


def _value(value: object) -> str:
    """A table or tile value: floats with up to 4 significant digits, NaN as a dash, the rest as text."""
    if isinstance(value, float):
        return "&ndash;" if math.isnan(value) else html.escape(f"{value:.4g}")
    return html.escape(str(value))


def _tile(tile_id: str, label: str, value: str) -> str:
    """One headline number; ``id="tile-<tile_id>"`` and its ``.value`` element let a browser test read it."""
    return (f'<div class="tile" id="tile-{html.escape(tile_id)}"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{value}</div></div>')


def _detection_tiles(evaluator: COCOEvaluator, result: MAPResult) -> list[str]:
    _, _, threshold, best_f1 = mean_f1(evaluator.f1_confidence(0.5))
    fmt = "{:.3f}".format
    return [
        _tile("map50", "mAP50", "&ndash;" if math.isnan(result.map50) else fmt(result.map50)),
        _tile("map", "mAP50-95", "&ndash;" if math.isnan(result.map) else fmt(result.map)),
        _tile("f1-threshold", "best-F1 confidence", "&ndash;" if math.isnan(threshold) else f"{threshold:.2f}"),
        _tile("f1", "F1 there (IoU 0.50)", "&ndash;" if math.isnan(best_f1) else fmt(best_f1)),
    ]


def _history_tiles(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tiles of the validation metrics (``val_*``) of the last row that has any."""
    for row in reversed(history):
        found = {}
        for key, value in row.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if key.startswith("val_") and math.isfinite(number):
                found[key] = number
        if found:
            epoch = row.get("epoch")
            suffix = f" (epoch {int(float(epoch))})" if epoch not in (None, "") else ""
            return [_tile(k.replace("_", "-"), f"{k}{suffix}", f"{v:.4g}") for k, v in found.items()]
    return []


def _info_table(info: Mapping[str, object]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_value(v)}</td></tr>" for k, v in info.items())
    return f'<table class="info">{rows}</table>'


def _curves(history: Sequence[Mapping[str, Any]]) -> str:
    """Inline SVG charts of the history: losses, metrics, learning rate (train solid, validation dashed)."""
    epochs, losses, metrics, lr = history_columns(history)
    lo, hi = float(epochs.min()), float(epochs.max())
    x_range = (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)
    groups = (("losses", "loss", losses), ("metrics", "value", metrics), ("learning rate", "lr", lr))
    charts = []
    for title, y_label, columns in groups:
        if not columns:
            continue
        finite = np.concatenate([v[np.isfinite(v)] for v in columns.values()])
        y_lo = min(0.0, float(finite.min()))
        y_hi = 1.0 if y_lo == 0 and finite.max() <= 1 and title == "metrics" else float(finite.max()) * 1.05
        y_hi = y_hi if y_hi > y_lo else y_lo + 1.0
        quantities = list(dict.fromkeys(pair_key(k) for k in columns))
        charts.append(svg_lines(
            [(k, epochs, v) for k, v in columns.items()], "epoch", y_label, title, x_range=x_range,
            y_range=(y_lo, y_hi), colours=[quantities.index(pair_key(k)) for k in columns],
            dashed=[k.startswith("val_") for k in columns]))
    if not charts:
        return ""
    return (f'<div class="grid">{"".join(charts)}</div>'
            '<p class="note">Solid: training; dashed: validation (at the epochs it ran).</p>')


def write_run_report(
    path: str | Path,
    *,
    title: str,
    info: Mapping[str, object],
    evaluator: COCOEvaluator | None = None,
    result: MAPResult | None = None,
    history: Sequence[Mapping[str, float]] | None = None,
    gallery: Sequence[tuple[str, np.ndarray]] = (),
    errors: dict[str, Any] | None = None,
    confusion_score: float = 0.25,
    extra_sections: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a run's report: one self-contained HTML file (no network; images as data URIs, inline SVG).

    From the top: headline tiles (with an evaluator: mAP50, mAP50-95, the confidence of the best all-class F1
    and that F1, ids ``tile-map50``, ``tile-map``, ``tile-f1-threshold``, ``tile-f1``; without one: the
    ``val_*`` values of the last history row that has any, ids ``tile-val-accuracy`` etc.); the run-info
    table; training curves; the evaluation sections (:func:`evaluation_sections`); the gallery; then
    ``extra_sections``.

    Args:
        path: the ``.html`` file to write (parents are created; written atomically).
        title: page title.
        info: facts about the run shown as a table in the given order (model, data, epochs, best epoch,
            time, device...); floats are shown with 4 significant digits.
        evaluator: an evaluator holding the validation images; None for a run without detection metrics.
        result: ``evaluator.compute()`` when already computed.
        history: per-epoch rows as in a run's results.csv (see :func:`plot_training`).
        gallery: (caption, (H, W, 3) uint8 image) pairs, in the order to show (worst first).
        errors: ``evaluator.error_breakdown()`` when already computed.
        confusion_score: confidence threshold of the confusion matrix.
        extra_sections: further (heading, html) sections at the end.

    Returns:
        The path written.
    """
    if evaluator is None and result is not None:
        raise ValueError("result was given without its evaluator; pass evaluator= as well")
    sections: list[tuple[str, str]] = []
    if evaluator is not None:
        result = evaluator.compute() if result is None else result
        tiles = _detection_tiles(evaluator, result)
    else:
        tiles = _history_tiles(history or ())
    if tiles:
        sections.append(("", f'<div class="tiles">{"".join(tiles)}</div>'))
    if info:
        sections.append(("Run", _info_table(info)))
    curves = _curves(history) if history else ""
    if curves:
        sections.append(("Training curves", curves))
    if evaluator is not None:
        sections += evaluation_sections(evaluator, result, confusion_score, errors)
    if gallery:
        figures = "".join(image_tag(image, caption, max_side=720) for caption, image in gallery)
        sections.append(("Gallery (most errors first)", f'<div class="grid gallery">{figures}</div>'))
    sections += list(extra_sections)
    return write_html(path, title, sections)
