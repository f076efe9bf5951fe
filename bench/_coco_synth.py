"""Seeded synthetic COCO-scale detection set: a GT instances dict and a results list.

Shape of the default set (``seed=0, n_images=5000, n_categories=80``), close to COCO val2017:

- about 35k GT boxes (Poisson(7) per image), 1.5% crowd, size mix 45/33/22% small/medium/large
  by the ``area`` field, and ``area`` smaller than the box's ``w*h`` (as segment areas are);
- about 111k detections: jittered true positives (some duplicated, some with the wrong class),
  misses, and false positives (heavy-tailed count per image), at most 100 per image, scores with
  three decimals (so tied scores occur), boxes with two decimals;
- sparse category ids (COCO's 80 ids in 1..90) with a skewed frequency, image ids with gaps.

API (kept stable; the annotation-io benchmark imports it)::

    gt, results = make_coco_gt_and_results(seed=0, n_images=5000, n_categories=80)

CLI::

    python bench/_coco_synth.py OUTDIR [--seed 0] [--n-images 5000] [--n-categories 80]

writes ``OUTDIR/gt.json`` and ``OUTDIR/results.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["make_coco_gt_and_results", "write_coco_synth"]

_COCO_MISSING_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
_IMAGE_HW = ((480, 640), (640, 480), (427, 640), (640, 640), (375, 500))
# (lo, hi) of the `area` field per size class, px^2; hi of small/medium equal the COCO bounds.
_SIZE_RANGES = ((16.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 400.0**2))
_SIZE_PROBS = (0.45, 0.33, 0.22)


def _category_ids(n_categories: int) -> list[int]:
    ids: list[int] = []
    i = 1
    while len(ids) < n_categories:
        if i not in _COCO_MISSING_IDS:
            ids.append(i)
        i += 1
    return ids


def _jitter(rng: np.random.Generator, boxes_xywh: np.ndarray, sigma: float) -> np.ndarray:
    """Boxes moved by N(0, sigma * size) and rescaled by exp(N(0, sigma))."""
    wh = boxes_xywh[:, 2:]
    cxcy = boxes_xywh[:, :2] + wh / 2 + rng.normal(0.0, sigma, size=wh.shape) * wh
    new_wh = wh * np.exp(rng.normal(0.0, sigma, size=wh.shape))
    return np.concatenate([cxcy - new_wh / 2, new_wh], axis=1)


def _clip_xywh(boxes_xywh: np.ndarray, image_hw: np.ndarray) -> np.ndarray:
    """Clip (N, 4) xywh boxes to their images' (N, 2) (height, width); keeps w, h >= 0."""
    x1 = np.clip(boxes_xywh[:, 0], 0, image_hw[:, 1])
    y1 = np.clip(boxes_xywh[:, 1], 0, image_hw[:, 0])
    x2 = np.clip(boxes_xywh[:, 0] + boxes_xywh[:, 2], 0, image_hw[:, 1])
    y2 = np.clip(boxes_xywh[:, 1] + boxes_xywh[:, 3], 0, image_hw[:, 0])
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def make_coco_gt_and_results(
    seed: int = 0, n_images: int = 5000, n_categories: int = 80
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate a synthetic COCO instances dict and a matching COCO results list.

    Args:
        seed: seed of the numpy Generator; the same seed gives the same set.
        n_images: number of images.
        n_categories: number of categories (sparse COCO-style ids).

    Returns:
        ``(gt, results)``: ``gt`` has ``images``, ``annotations`` (bbox xywh absolute pixels, ``area``,
        ``iscrowd``) and ``categories``; ``results`` is a list of
        ``{image_id, category_id, bbox: [x, y, w, h], score}``.
    """
    rng = np.random.default_rng(seed)
    cat_ids = np.array(_category_ids(n_categories), dtype=np.int64)
    cat_p = 1.0 / np.arange(1, n_categories + 1) ** 0.9
    cat_p /= cat_p.sum()
    image_ids = np.cumsum(rng.integers(1, 40, size=n_images)).astype(np.int64)
    hw_choice = np.array(_IMAGE_HW, dtype=np.float64)[rng.integers(0, len(_IMAGE_HW), size=n_images)]

    # ---- ground truth ----
    n_gt_per_image = rng.poisson(7.0, size=n_images)
    gt_image = np.repeat(np.arange(n_images), n_gt_per_image)
    n_gt = gt_image.size
    size_class = rng.choice(3, size=n_gt, p=_SIZE_PROBS)
    lo = np.array([r[0] for r in _SIZE_RANGES])[size_class]
    hi = np.array([r[1] for r in _SIZE_RANGES])[size_class]
    seg_area = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    fill = rng.uniform(0.45, 0.95, size=n_gt)  # segment area / box area
    box_area = seg_area / fill
    aspect = np.exp(rng.uniform(np.log(0.4), np.log(2.5), size=n_gt))  # w / h
    img_hw = hw_choice[gt_image]
    w = np.minimum(np.sqrt(box_area * aspect), img_hw[:, 1])
    h = np.minimum(box_area / np.maximum(w, 1e-9), img_hw[:, 0])
    x = rng.uniform(0, 1, size=n_gt) * (img_hw[:, 1] - w)
    y = rng.uniform(0, 1, size=n_gt) * (img_hw[:, 0] - h)
    gt_xywh = np.round(np.stack([x, y, w, h], axis=1), 2)
    seg_area = np.round(np.minimum(seg_area, gt_xywh[:, 2] * gt_xywh[:, 3] * fill), 2)
    gt_cat = cat_ids[rng.choice(n_categories, size=n_gt, p=cat_p)]
    gt_crowd = rng.random(n_gt) < 0.015

    # ---- detections: true positives (with duplicates and class confusions), then false positives ----
    detected = rng.random(n_gt) < 0.85
    tp_src = np.flatnonzero(detected)
    dup_src = tp_src[rng.random(tp_src.size) < 0.25]
    src = np.concatenate([tp_src, dup_src])
    tp_xywh = _clip_xywh(_jitter(rng, gt_xywh[src], 0.08), hw_choice[gt_image[src]])
    tp_cat = gt_cat[src].copy()
    confused = rng.random(src.size) < 0.05
    tp_cat[confused] = cat_ids[rng.choice(n_categories, size=int(confused.sum()), p=cat_p)]
    tp_score = rng.beta(5.0, 2.0, size=src.size)
    tp_score[tp_src.size :] *= 0.7  # duplicates score lower

    n_fp_per_image = rng.negative_binomial(1, 1.0 / 16.0, size=n_images)
    fp_image = np.repeat(np.arange(n_images), n_fp_per_image)
    n_fp = fp_image.size
    fp_hw = hw_choice[fp_image]
    fp_area = np.exp(rng.uniform(np.log(20.0), np.log(300.0**2), size=n_fp))
    fp_aspect = np.exp(rng.uniform(np.log(0.4), np.log(2.5), size=n_fp))
    fp_w = np.sqrt(fp_area * fp_aspect)
    fp_h = fp_area / fp_w
    fp_xywh = np.stack(
        [rng.uniform(0, 1, n_fp) * fp_hw[:, 1], rng.uniform(0, 1, n_fp) * fp_hw[:, 0], fp_w, fp_h], axis=1
    )
    fp_xywh = _clip_xywh(fp_xywh, fp_hw)
    fp_cat = cat_ids[rng.choice(n_categories, size=n_fp, p=cat_p)]
    fp_score = rng.beta(2.0, 5.0, size=n_fp)

    det_image = np.concatenate([gt_image[src], fp_image])
    det_xywh = np.round(np.concatenate([tp_xywh, fp_xywh]), 2)
    det_cat = np.concatenate([tp_cat, fp_cat])
    det_score = np.round(np.concatenate([tp_score, fp_score]), 3)
    # shuffle (results files are not sorted), then keep the top 100 per image
    perm = rng.permutation(det_image.size)
    det_image, det_xywh, det_cat, det_score = det_image[perm], det_xywh[perm], det_cat[perm], det_score[perm]
    order = np.lexsort((-det_score, det_image))
    first = np.searchsorted(det_image[order], det_image[order], side="left")
    rank = np.arange(order.size) - first
    keep = np.sort(order[rank < 100])
    det_image, det_xywh, det_cat, det_score = det_image[keep], det_xywh[keep], det_cat[keep], det_score[keep]

    images = [
        {"id": int(i), "file_name": f"{int(i):012d}.jpg", "height": int(hw[0]), "width": int(hw[1])}
        for i, hw in zip(image_ids.tolist(), hw_choice.tolist())
    ]
    gt_img_ids = image_ids[gt_image].tolist()
    annotations = [
        {"id": k + 1, "image_id": im, "category_id": c, "bbox": b, "area": a, "iscrowd": int(cr)}
        for k, (im, c, b, a, cr) in enumerate(
            zip(gt_img_ids, gt_cat.tolist(), gt_xywh.tolist(), seg_area.tolist(), gt_crowd.tolist())
        )
    ]
    categories = [{"id": int(c), "name": f"class_{int(c)}", "supercategory": "thing"} for c in cat_ids]
    gt = {
        "info": {"description": f"odkit synthetic COCO set, seed={seed}"},
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    results = [
        {"image_id": im, "category_id": c, "bbox": b, "score": s}
        for im, c, b, s in zip(image_ids[det_image].tolist(), det_cat.tolist(), det_xywh.tolist(), det_score.tolist())
    ]
    return gt, results


def write_coco_synth(out_dir: str | Path, seed: int = 0, n_images: int = 5000, n_categories: int = 80) -> None:
    """Write ``gt.json`` and ``results.json`` of :func:`make_coco_gt_and_results` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gt, results = make_coco_gt_and_results(seed=seed, n_images=n_images, n_categories=n_categories)
    (out / "gt.json").write_text(json.dumps(gt))
    (out / "results.json").write_text(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for gt.json and results.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-images", type=int, default=5000)
    parser.add_argument("--n-categories", type=int, default=80)
    args = parser.parse_args()
    write_coco_synth(args.out_dir, args.seed, args.n_images, args.n_categories)
    print(f"wrote {args.out_dir / 'gt.json'} and {args.out_dir / 'results.json'}")


if __name__ == "__main__":
    main()
