"""Seeded synthetic COCO scenes for the evaluation tests, and pycocotools as the reference."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def make_scene(
    seed: int,
    n_images: int = 8,
    cat_ids: tuple[Any, ...] = (1, 2, 3),
    gt_per_image: float = 4.0,
    fp_per_image: float = 4.0,
    crowd_p: float = 0.1,
    tie_decimals: int | None = 1,
    integer_boxes: bool = False,
    image_ids: list[Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A small COCO GT dict and results list with overlaps, duplicates, crowds, ties and misses."""
    rng = np.random.default_rng(seed)
    if image_ids is None:
        image_ids = sorted(rng.choice(1000, size=n_images, replace=False).tolist())
    images = [{"id": i, "width": 200, "height": 200} for i in image_ids]
    anns: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for img in image_ids:
        for _ in range(rng.poisson(gt_per_image)):
            w, h = np.exp(rng.uniform(np.log(4), np.log(150), size=2))
            x, y = rng.uniform(0, 200 - w), rng.uniform(0, 200 - h)
            box = [x, y, w, h]
            if integer_boxes:
                box = [float(round(v)) for v in box]
            area = box[2] * box[3] * rng.uniform(0.5, 1.0)
            cat = cat_ids[rng.integers(len(cat_ids))]
            crowd = int(rng.random() < crowd_p)
            anns.append(
                {"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": box, "area": area, "iscrowd": crowd}
            )
            for _ in range(rng.integers(0, 3)):  # 0, 1 or 2 detections (duplicates) per object
                jit = np.array(box) + rng.normal(0, 0.1, 4) * np.array([w, h, w, h])
                jit[2:] = np.abs(jit[2:])
                if integer_boxes:
                    jit = np.round(jit)
                c = cat if rng.random() > 0.1 else cat_ids[rng.integers(len(cat_ids))]
                results.append(
                    {"image_id": img, "category_id": c, "bbox": jit.tolist(), "score": float(rng.uniform(0.3, 1.0))}
                )
        for _ in range(rng.poisson(fp_per_image)):
            w, h = np.exp(rng.uniform(np.log(2), np.log(120), size=2))
            box = [rng.uniform(0, 200 - w), rng.uniform(0, 200 - h), w, h]
            if integer_boxes:
                box = [float(round(v)) for v in box]
            results.append(
                {
                    "image_id": img,
                    "category_id": cat_ids[rng.integers(len(cat_ids))],
                    "bbox": box,
                    "score": float(rng.uniform(0.0, 0.8)),
                }
            )
    if tie_decimals is not None:
        for r in results:
            r["score"] = round(r["score"], tie_decimals)
    perm = rng.permutation(len(results))
    results = [results[i] for i in perm]
    gt = {"images": images, "annotations": anns, "categories": [{"id": c, "name": f"c{c}"} for c in cat_ids]}
    return gt, results


def pycoco_eval(
    gt: dict[str, Any],
    results: list[dict[str, Any]],
    iou_thresholds: list[float] | None = None,
    max_dets: list[int] | None = None,
    area_ranges: dict[str, tuple[float, float]] | None = None,
) -> Any:
    """Run pycocotools (stdout silenced) on deep copies; returns the COCOeval after accumulate (and summarize
    when the parameters are the defaults)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        else:  # pycocotools' loadRes cannot take an empty list
            coco_dt = COCO()
            coco_dt.dataset = {
                "images": list(gt["images"]),
                "categories": copy.deepcopy(gt["categories"]),
                "annotations": [],
            }
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        if iou_thresholds is not None:
            ev.params.iouThrs = np.array(iou_thresholds, dtype=np.float64)
        if max_dets is not None:
            ev.params.maxDets = list(max_dets)
        if area_ranges is not None:
            ev.params.areaRng = [list(v) for v in area_ranges.values()]
            ev.params.areaRngLbl = list(area_ranges)
        ev.evaluate()
        ev.accumulate()
        if iou_thresholds is None and max_dets is None and area_ranges is None:
            ev.summarize()
    return ev


def nan_for_minus_one(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=np.float64)
    out[out == -1] = np.nan
    return out
