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

from odkit.io import read_annotations
from odkit.label import LabelServer, LabelStore

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


@contextmanager
def serve(dataset: Path, classes: list[str] | None = None, fmt: str | None = None) -> Iterator[LabelServer]:
    """A ``LabelServer`` on a free port of 127.0.0.1, in a thread, shut down after."""
    ds = read_annotations(dataset, fmt, strict=False)
    store = LabelStore(ds, dataset, classes, reread=lambda: read_annotations(dataset, fmt, strict=False))
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
