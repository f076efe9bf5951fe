"""Benchmark odkit.ops (IoU matrix, greedy NMS) against a naive numpy baseline and torchvision.ops.

Run from the repository root (one thread each; torchvision when it is importable)::

    .venv-tv/bin/python bench/bench_ops.py      # with torchvision (see below)
    .venv/bin/python bench/bench_ops.py         # prints "torchvision not installed" and the rest

torchvision only imports here as the 5.5 GB CUDA build, kept out of the test set-up in its own venv::

    python3 -m venv .venv-tv
    .venv-tv/bin/pip install torch==2.14.1 torchvision==0.29.1 numpy pillow pyyaml tqdm
    .venv-tv/bin/pip install -e . --no-deps

Workload: boxes in clusters of ~25 jittered copies around random objects (log-normal size jitter 8%, centre
jitter 8% of the object size, object widths log-uniform in [16, 400] px on a 1333 x 800 image), random
scores, IoU threshold 0.5 -- what a detector's raw output looks like. All implementations get the same
float32 arrays; odkit computes in float64. Runs alternate between implementations; the table shows the
best and the median of the repeats and the ratios odkit / other of both (under 1 means odkit is faster).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from odkit.ops import batched_nms, box_iou, nms  # noqa: E402


def clustered_boxes(n: int, seed: int = 0, cluster: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) float32 xyxy boxes in clusters of ~``cluster`` jittered copies, and (n,) float32 scores."""
    rng = np.random.default_rng(seed)
    image_h, image_w = 800.0, 1333.0
    n_obj = max(1, n // cluster)
    obj_w = np.exp(rng.uniform(np.log(16), np.log(400), n_obj))
    obj_h = obj_w * np.exp(rng.normal(0, 0.4, n_obj))
    obj_cx, obj_cy = rng.uniform(0, image_w, n_obj), rng.uniform(0, image_h, n_obj)
    k = rng.integers(0, n_obj, n)
    w = obj_w[k] * np.exp(rng.normal(0, 0.08, n))
    h = obj_h[k] * np.exp(rng.normal(0, 0.08, n))
    cx = obj_cx[k] + rng.normal(0, 0.08, n) * obj_w[k]
    cy = obj_cy[k] + rng.normal(0, 0.08, n) * obj_h[k]
    boxes_xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes_xyxy.astype(np.float32), rng.random(n).astype(np.float32)


def naive_box_iou(boxes1_xyxy: np.ndarray, boxes2_xyxy: np.ndarray) -> np.ndarray:
    """The textbook broadcasting IoU (float64, no in-place work, no zero-union guard)."""
    a = boxes1_xyxy.astype(np.float64)[:, None, :]
    b = boxes2_xyxy.astype(np.float64)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


def naive_nms(boxes_xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """The textbook numpy greedy loop (py_cpu_nms style), removing IoU at or over the threshold."""
    b = boxes_xyxy.astype(np.float64)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        union = area[i] + area[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _time_alternating(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, calls interleaved so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm-up (allocations, lazy imports)
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def _load_torchvision() -> Any:
    try:
        import torch
        import torchvision
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch, torchvision


def _row(label: str, times: dict[str, list[float]], extra: str = "") -> str:
    best = {k: min(v) for k, v in times.items()}
    cells = [f"{label:<22}"]
    for name in ("odkit", "naive numpy", "torchvision"):
        if name in best:
            med = statistics.median(times[name])
            cells.append(f"{best[name] * 1e3:10.2f} ({med * 1e3:8.2f})")
        else:
            cells.append(f"{'-':>21}")
    for other in ("naive numpy", "torchvision"):
        if other in best:
            med_ratio = statistics.median(times["odkit"]) / statistics.median(times[other])
            cells.append(f"{best['odkit'] / best[other]:5.2f} ({med_ratio:4.2f})")
        else:
            cells.append(f"{'-':>12}")
    return " | ".join(cells) + (f" | {extra}" if extra else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per implementation and case")
    parser.add_argument("--quick", action="store_true", help="skip the 50k NMS and the 4k IoU cases")
    args = parser.parse_args()

    tv = _load_torchvision()
    if tv is None:
        print("torchvision not installed: comparing against the naive numpy baseline only")
    else:
        print(f"torchvision {tv[1].__version__} (torch {tv[0].__version__}, {tv[0].get_num_threads()} thread)")
    print(f"numpy {np.__version__}; times in ms: best (median) of {args.repeats}; ratio = odkit / other, of the best")
    print("(of the medians); the machine's load moves single runs by up to 2x: compare ratios of alternating runs")
    header = ["case".ljust(22), "odkit".rjust(21), "naive numpy".rjust(21), "torchvision".rjust(21)]
    print(" | ".join([*header, "/ naive".rjust(12), "/ tv".rjust(12), "kept"]))

    for n in (1000,) if args.quick else (1000, 4000):
        boxes, _ = clustered_boxes(n, seed=1)
        fns: dict[str, Callable[[], Any]] = {"odkit": lambda b=boxes: box_iou(b, b)}
        fns["naive numpy"] = lambda b=boxes: naive_box_iou(b, b)
        if tv is not None:
            tb = tv[0].from_numpy(boxes)
            fns["torchvision"] = lambda t=tb: tv[1].ops.box_iou(t, t)
        print(_row(f"box_iou {n}x{n}", _time_alternating(fns, args.repeats)), flush=True)

    for n in (1000, 10000) if args.quick else (1000, 10000, 50000):
        boxes, scores = clustered_boxes(n, seed=2)
        keep = nms(boxes, scores, 0.5)
        reference = naive_nms(boxes, scores, 0.5)
        if not np.array_equal(keep, reference):
            raise SystemExit(f"odkit nms differs from the naive greedy loop at n={n}")
        fns = {"odkit": lambda b=boxes, s=scores: nms(b, s, 0.5)}
        reps = args.repeats if n < 50000 else max(1, args.repeats // 3)
        if n < 50000:
            fns["naive numpy"] = lambda b=boxes, s=scores: naive_nms(b, s, 0.5)
        extra = f"{keep.size} kept"
        if tv is not None:
            tb, ts = tv[0].from_numpy(boxes), tv[0].from_numpy(scores)
            fns["torchvision"] = lambda b=tb, s=ts: tv[1].ops.nms(b, s, 0.5)
            tv_keep = tv[1].ops.nms(tb, ts, 0.5).numpy()
            extra += f" (torchvision {tv_keep.size}, same: {np.array_equal(keep, tv_keep)})"
        times = _time_alternating(fns, reps)
        if n >= 50000:  # the naive loop takes seconds here: one run, outside the alternation
            start = time.perf_counter()
            naive_nms(boxes, scores, 0.5)
            times["naive numpy"] = [time.perf_counter() - start]
        print(_row(f"nms {n} clustered", times, extra), flush=True)

    # Class-aware NMS, 80 classes: most boxes survive (a cluster's copies are spread over classes). 1k boxes is
    # one image's detections after a confidence threshold; 10k, a low threshold or a batch of images.
    for n in (1000, 10000):
        boxes, scores = clustered_boxes(n, seed=3)
        class_ids = np.random.default_rng(3).integers(0, 80, n)
        keep = batched_nms(boxes, scores, class_ids, 0.5)
        fns = {"odkit": lambda b=boxes, s=scores, c=class_ids: batched_nms(b, s, c, 0.5)}
        extra = f"{keep.size} kept"
        if tv is not None:
            tb, ts, tc = (tv[0].from_numpy(x) for x in (boxes, scores, class_ids))
            fns["torchvision"] = lambda b=tb, s=ts, c=tc: tv[1].ops.batched_nms(b, s, c, 0.5)
            tv_keep = tv[1].ops.batched_nms(tb, ts, tc, 0.5).numpy()
            # torchvision's final sort by score is not stable: compare the kept sets
            extra += f" (torchvision {tv_keep.size}, same set: {set(keep.tolist()) == set(tv_keep.tolist())})"
        print(_row(f"batched_nms {n} x80", _time_alternating(fns, args.repeats), extra), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
