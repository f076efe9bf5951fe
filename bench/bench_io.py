"""Benchmark odkit.io's COCO reader and writer against pycocotools' ``COCO(path)`` load, in one run.

Run from the repository root::

    .venv/bin/python bench/bench_io.py [--repeats 9] [--n-images 5000]

Workload: the eval benchmark's synthetic ground truth (``bench/_coco_synth.py``, seed 0, 5,000 images,
~35k boxes, 80 sparse categories, 1.5% crowd), written once to a temporary JSON file. Timed, alternating
within each repeat:

- ``pycocotools``: ``COCO(path)`` (json.load + index creation), stdout silenced;
- ``json.load`` of the same file alone: the floor both readers share;
- ``odkit read``: ``read_coco(path)`` (json.load + validation + per-image float64 box arrays);
- ``odkit write``: ``write_coco(dataset, path)`` (to a second temporary file).

The table shows the median and best of the repeats and each odkit time divided by pycocotools' load
(under 1 means odkit is faster). Machines are noisy and shared: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _coco_synth import make_coco_gt_and_results
from odkit.io import read_coco, write_coco


def _time(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def _json_load(path: Path) -> object:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--n-images", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        from pycocotools.coco import COCO
    except ImportError:
        print("pycocotools not installed: pip install pycocotools (the anchor of this benchmark)")
        return 1

    gt, _ = make_coco_gt_and_results(seed=0, n_images=args.n_images, n_categories=80)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "gt.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(gt))
        size_mb = src.stat().st_size / 1e6
        times: dict[str, list[float]] = {"pycocotools COCO()": [], "json.load alone (floor)": [],
                                         "odkit read_coco": [], "odkit write_coco": []}
        dataset = None
        for _ in range(args.repeats):
            with contextlib.redirect_stdout(io.StringIO()):
                t, coco = _time(COCO, str(src))
            times["pycocotools COCO()"].append(t)
            t, _ = _time(_json_load, src)
            times["json.load alone (floor)"].append(t)
            t, dataset = _time(read_coco, src)
            times["odkit read_coco"].append(t)
            t, _ = _time(write_coco, dataset, dst)
            times["odkit write_coco"].append(t)
        assert dataset is not None
        # sanity: same content as pycocotools sees
        n_anns = len(coco.dataset["annotations"])
        if dataset.num_boxes != n_anns or len(dataset) != len(coco.imgs):
            print(f"MISMATCH: odkit {len(dataset)} images / {dataset.num_boxes} boxes, "
                  f"pycocotools {len(coco.imgs)} / {n_anns}")
            return 1
        again = read_coco(dst)
        a = np.concatenate([x.boxes_xyxy for _, x in dataset])
        b = np.concatenate([x.boxes_xyxy for _, x in again])
        max_diff = float(np.abs(a - b).max())

    anchor = statistics.median(times["pycocotools COCO()"])
    print(f"COCO GT: {len(dataset)} images, {dataset.num_boxes} boxes, {len(dataset.categories)} categories, "
          f"{size_mb:.1f} MB JSON; {args.repeats} alternating repeats; write->read max box diff {max_diff:.2g} px")
    print()
    print("| operation | median s | best s | median / pycocotools load |")
    print("|---|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {min(ts):.3f} | {med / anchor:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
