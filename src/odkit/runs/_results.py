"""A training run's per-epoch record: ``results.csv``, its plots, and the callbacks' memory across a resume."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any

from odkit.callbacks import Callback


def read_results(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """The rows of a ``results.csv`` as floats (empty cells: NaN); [] when the file does not exist."""
    p = Path(path)
    if not p.exists():
        return []
    with p.open(newline="", encoding="utf-8") as f:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def _write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    """Write all rows (columns: the union of keys, first-seen order) atomically."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    os.replace(tmp, path)


class RunLogger(Callback):
    """Writes ``results.csv`` (one row per epoch: ``epoch`` 1-based, ``time`` seconds since the run began,
    ``lr``, and every log) and redraws the training plots after each epoch.

    On a resumed run (``BackupAndRestore`` restored epoch E), rows from epoch E+1 on are dropped first (an
    epoch that was logged but not backed up runs again), and the callbacks given as ``remember`` get the
    earlier rows replayed, so that ``ModelCheckpoint``'s best and ``EarlyStopping``'s patience continue from
    where the interrupted run was instead of starting over.

    Args:
        out_dir: the run folder (``results.csv`` and the PNG plots go there).
        remember: callbacks whose state the earlier rows restore (``ModelCheckpoint``, ``EarlyStopping``).
        plots: draw ``losses.png`` / ``metrics.png`` / ``lr.png`` after each epoch.

    In a distributed ``fit`` only rank 0 runs it (``rank_zero_only``): one ``results.csv``.
    """

    rank_zero_only = True

    def __init__(self, out_dir: str | os.PathLike[str], remember: list[Callback] | None = None,
                 plots: bool = True) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "results.csv"
        self.remember = list(remember or [])
        self.plots = plots
        self.rows: list[dict[str, float]] = []
        self._t0 = 0.0
        self._time_before = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        start = int(getattr(self.model, "_initial_epoch", 0))
        self.rows = [r for r in read_results(self.path) if r.get("epoch", 0) <= start]
        self._time_before = self.rows[-1]["time"] if self.rows and math.isfinite(self.rows[-1].get("time", 0)) else 0.0
        self._t0 = time.monotonic()
        for cb in self.remember:
            self._replay(cb)

    def _replay(self, cb: Callback) -> None:
        """Feed the earlier epochs' logs to ``cb`` as if it had seen them: ``EarlyStopping`` through its own
        ``on_epoch_end`` (best, wait, baseline rules), ``ModelCheckpoint`` its best value only (no file
        written)."""
        from odkit.callbacks import EarlyStopping, ModelCheckpoint

        for row in self.rows:
            logs = {k: v for k, v in row.items() if k not in ("epoch", "time") and math.isfinite(v)}
            epoch = int(row["epoch"]) - 1
            if isinstance(cb, EarlyStopping) and not cb.restore_best_weights:
                cb.on_epoch_end(epoch, logs)
            elif isinstance(cb, ModelCheckpoint):
                value = logs.get(cb.monitor)
                if value is not None and cb._is_improvement(value, cb.best):
                    cb.best = value
        self.model.stop_training = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row: dict[str, float] = {"epoch": float(epoch + 1),
                                 "time": round(self._time_before + time.monotonic() - self._t0, 2)}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            row["lr"] = float(optimizer.param_groups[0]["lr"])
        row.update({k: float(v) for k, v in (logs or {}).items()})
        self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _write_rows(self.path, self.rows)
        if self.plots:
            from odkit.report import plot_training

            plot_training(self.rows, self.out_dir)
