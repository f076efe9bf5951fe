"""A small copy of the raccoon dataset and a server on it, for the ``odkit label`` tests."""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from odkit.boxes import Detections
from odkit.io import read_annotations
from odkit.label import LabelServer, LabelStore, ModelAssist

N_IMAGES = 5


def copy_raccoon(datasets_dir: Path, dst: Path, n: int = N_IMAGES) -> Path:
    """``n`` raccoon images and their VOC XMLs copied to ``dst/raccoon`` (``annotations/`` + ``images/``)."""
    src = datasets_dir / "raccoon"
    out = dst / "raccoon"
    (out / "annotations").mkdir(parents=True)
    (out / "images").mkdir()
    for i in range(1, n + 1):
        shutil.copy2(src / "annotations" / f"raccoon-{i}.xml", out / "annotations")
        shutil.copy2(src / "images" / f"raccoon-{i}.jpg", out / "images")
    return out


def hashes(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class StubModel:
    """A detection model stand-in: fixed boxes per image file name, ``predict`` filtering by ``conf``.

    Args:
        class_names: the model's classes.
        boxes: file name -> ``[(x0, y0, x1, y1, class_name, score), ...]``.
    """

    task = "detect"

    def __init__(self, class_names: list[str], boxes: dict[str, list[tuple[Any, ...]]]) -> None:
        self.class_names = class_names
        self.boxes = boxes
        self.calls: list[list[str]] = []

    def predict(self, paths: list[str], conf: float = 0.25) -> list[Detections]:
        self.calls.append([Path(p).name for p in paths])
        out = []
        for p in paths:
            rows = [r for r in self.boxes.get(Path(p).name, []) if r[5] >= conf]
            out.append(Detections(np.array([r[:4] for r in rows], np.float64).reshape(-1, 4),
                                  np.array([r[5] for r in rows], np.float64),
                                  np.array([self.class_names.index(r[4]) for r in rows], np.int64)))
        return out


@contextmanager
def serve(dataset: Path, classes: list[str] | None = None, fmt: str | None = None,
          model: Any = None, conf: float = 0.25) -> Iterator[LabelServer]:
    """A ``LabelServer`` on a free port of 127.0.0.1, in a thread, shut down after; ``model`` (an object
    with ``predict``/``class_names``/``task``) gives proposals."""
    ds = read_annotations(dataset, fmt, strict=False)
    assist = None if model is None else ModelAssist.from_model(model, conf, "stub")
    store = LabelStore(ds, dataset, classes, reread=lambda: read_annotations(dataset, fmt, strict=False),
                       assist=assist)
    server = LabelServer(store).start()
    try:
        yield server
    finally:
        server.shutdown()


def request(server: LabelServer, method: str, path: str, body: Any = None, token: str | None = "header",
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body) of one request; ``token``: "header", "query", "cookie" or None (no token)."""
    url = f"http://127.0.0.1:{server.port}{path}"
    hdrs = dict(headers or {})
    if token == "header":
        hdrs["X-Odkit-Token"] = server.token
    elif token == "query":
        url += ("&" if "?" in url else "?") + f"token={server.token}"
    elif token == "cookie":
        hdrs["Cookie"] = f"{server.cookie_name}={server.token}"
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
