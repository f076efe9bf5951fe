"""Memory of streaming COCO evaluation as detections grow: what ``COCOEvaluator`` keeps per million detections.

The evaluator matches each image when it is given (``update``) and keeps flat arrays per detection and per
ground-truth box; this measures those arrays (``state_dict`` bytes) and the peak of numpy/Python allocations
(``tracemalloc``) during ``update`` and ``compute`` for growing sets fed in shards of images, and checks that
two half-sets merged give the single evaluator's numbers. Run: ``.venv/bin/python bench/bench_eval_memory.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _coco_synth import make_coco_gt_and_results
from odkit.boxes import Detections, GroundTruth
from odkit.eval import COCOEvaluator


def _per_image(gt: dict[str, Any], results: list[dict[str, Any]]) -> tuple[list[Any], list[Any], list[int]]:
    """Ground truth and detections per image as odkit containers (absolute xyxy)."""
    ids = [im["id"] for im in gt["images"]]
    boxes: dict[int, list[list[float]]] = {i: [] for i in ids}
    labels: dict[int, list[int]] = {i: [] for i in ids}
    crowd: dict[int, list[int]] = {i: [] for i in ids}
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]].append([x, y, x + w, y + h])
        labels[a["image_id"]].append(a["category_id"])
        crowd[a["image_id"]].append(a["iscrowd"])
    dboxes: dict[int, list[list[float]]] = {i: [] for i in ids}
    dscores: dict[int, list[float]] = {i: [] for i in ids}
    dlabels: dict[int, list[int]] = {i: [] for i in ids}
    for r in results:
        x, y, w, h = r["bbox"]
        dboxes[r["image_id"]].append([x, y, x + w, y + h])
        dscores[r["image_id"]].append(r["score"])
        dlabels[r["image_id"]].append(r["category_id"])
    gts = [GroundTruth(np.asarray(boxes[i], float).reshape(-1, 4), np.asarray(labels[i], np.int64),
                       iscrowd=np.asarray(crowd[i], bool)) for i in ids]
    dets = [Detections(np.asarray(dboxes[i], float).reshape(-1, 4), np.asarray(dscores[i]),
                       np.asarray(dlabels[i], np.int64)) for i in ids]
    return gts, dets, ids


def _state_bytes(evaluator: COCOEvaluator) -> int:
    return sum(int(v.nbytes) for v in evaluator.state_dict().values() if isinstance(v, np.ndarray))


def measure(n_images: int, shard: int, seed: int) -> dict[str, float]:
    gt, results = make_coco_gt_and_results(seed=seed, n_images=n_images)
    gts, dets, ids = _per_image(gt, results)
    del results
    class_ids = [c["id"] for c in gt["categories"]]
    n_det = sum(len(d) for d in dets)
    tracemalloc.start()
    t0 = time.perf_counter()
    evaluator = COCOEvaluator(class_ids=class_ids)
    for i in range(0, len(ids), shard):
        evaluator.update(dets[i:i + shard], gts[i:i + shard], ids[i:i + shard])
    _, peak_update = tracemalloc.get_traced_memory()
    state = _state_bytes(evaluator)
    tracemalloc.reset_peak()
    result = evaluator.compute()
    _, peak_compute = tracemalloc.get_traced_memory()
    seconds = time.perf_counter() - t0
    tracemalloc.stop()
    half = len(ids) // 2  # two processes' evaluators merged = one evaluator (the distributed path)
    a = COCOEvaluator(class_ids=class_ids).update(dets[:half], gts[:half], ids[:half])
    b = COCOEvaluator(class_ids=class_ids).update(dets[half:], gts[half:], ids[half:])
    merged = a.merge(b).compute()
    same = bool(np.array_equal(np.asarray(list(merged.stats.values())), np.asarray(list(result.stats.values())),
                               equal_nan=True))
    return {"images": n_images, "detections": n_det, "gt": len(gt["annotations"]), "state_mb": state / 2**20,
            "peak_update_mb": peak_update / 2**20, "peak_compute_mb": peak_compute / 2**20,
            "state_mb_per_million": state / 2**20 / (n_det / 1e6), "seconds": seconds, "map": result.map,
            "merged_equal": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, nargs="+", default=[11_000, 22_000, 45_000],
                        help="set sizes (about 22 detections per image: 0.25M, 0.5M, 1M detections)")
    parser.add_argument("--shard", type=int, default=5000, help="images per update call")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'images':>7} {'dets':>9} {'GT':>8} {'state MB':>9} {'MB/1M det':>10} {'peak update':>12} "
          f"{'peak compute':>13} {'s':>6}  merged==single")
    for n in args.images:
        r = measure(n, args.shard, args.seed)
        print(f"{r['images']:>7} {r['detections']:>9} {r['gt']:>8} {r['state_mb']:>9.1f} "
              f"{r['state_mb_per_million']:>10.1f} {r['peak_update_mb']:>12.1f} {r['peak_compute_mb']:>13.1f} "
              f"{r['seconds']:>6.1f}  {r['merged_equal']}", flush=True)


if __name__ == "__main__":
    main()
