"""A run's per-epoch history (the rows of results.csv) as columns, for the PNG plots and the HTML charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Columns of a run's results.csv that are not plotted as metrics.
NOT_METRICS = ("epoch", "lr", "time")


def _column(history: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """(E,) float64 values of ``key`` per row; missing, empty or None values are NaN."""
    out = np.full(len(history), np.nan)
    for i, row in enumerate(history):
        value = row.get(key)
        if value is None or value == "":
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"history[{i}][{key!r}] must be a number; got {value!r}") from None
    return out


def history_columns(
    history: Sequence[Mapping[str, Any]],
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split a history into ``(epochs, losses, metrics, lr)``.

    Returns:
        (E,) float64 epochs (the row's ``epoch``, else its 1-based number), then three ``{column: (E,) float64}``
        dicts with NaN where a row has no value, columns in order of first appearance and only those with at
        least one finite value: every column ending in ``loss``; every other column but epoch / lr / time;
        and ``lr``.

    Raises:
        ValueError: if a value is not a number (naming the row and the column).
    """
    keys = list(dict.fromkeys(k for row in history for k in row))
    rows = np.arange(1.0, len(history) + 1)
    epochs = _column(history, "epoch") if "epoch" in keys else rows
    epochs = np.where(np.isfinite(epochs), epochs, rows)
    values = {k: _column(history, k) for k in keys if k != "epoch"}
    values = {k: v for k, v in values.items() if np.isfinite(v).any()}
    losses = {k: v for k, v in values.items() if k.endswith("loss")}
    metrics = {k: v for k, v in values.items() if not k.endswith("loss") and k not in NOT_METRICS}
    lr = {k: v for k, v in values.items() if k == "lr"}
    return epochs, losses, metrics, lr


def pair_key(key: str) -> str:
    """The quantity a column measures: ``val_box_loss`` and ``box_loss`` are both ``box_loss``."""
    return key[4:] if key.startswith("val_") else key
