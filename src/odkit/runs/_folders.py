"""Run folders: ``runs/train-1``, ``runs/train-2``, ... (a new one per run unless the user names one)."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Where runs go when no ``--out`` is given (relative to the working directory).
DEFAULT_ROOT = Path("runs")


def new_run_dir(kind: str, out: str | os.PathLike[str] | None = None, root: str | os.PathLike[str] = DEFAULT_ROOT
                ) -> Path:
    """Create and return the folder of a new run.

    Args:
        kind: ``"train"``, ``"val"``, ``"predict"``...; names the folder ``<root>/<kind>-<N>``.
        out: the user's folder: used as it is (created when missing; an existing one is reused, files in it
            are overwritten by the run's own names only).
        root: the parent of numbered run folders.

    Returns:
        ``out``, or ``<root>/<kind>-<N>`` with N one more than the highest existing (``train-1`` first).
    """
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    parent = Path(root)
    parent.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"^{re.escape(kind)}-(\d+)$")
    taken = [int(m.group(1)) for p in parent.iterdir() if (m := pattern.match(p.name))]
    n = max(taken, default=0) + 1
    while True:  # another process may take the same number between the listing and mkdir
        path = parent / f"{kind}-{n}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
