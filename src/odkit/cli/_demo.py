"""``odkit demo``: a short, real tour on generated data (boxes, IoU, NMS)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the demo's outputs")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the generated data")


def _clustered_detections(rng: np.random.Generator, n_objects: int, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw-detector-like output: ``copies`` jittered boxes around each of ``n_objects`` objects."""
    centers = rng.uniform(50, 590, size=(n_objects, 2))
    sizes = rng.uniform(20, 120, size=(n_objects, 2))
    cxcy = np.repeat(centers, copies, axis=0) + rng.normal(0, 3, size=(n_objects * copies, 2))
    wh = np.repeat(sizes, copies, axis=0) * np.exp(rng.normal(0, 0.08, size=(n_objects * copies, 2)))
    boxes_xyxy = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)
    scores = rng.uniform(0.05, 1.0, size=n_objects * copies)
    return boxes_xyxy, scores


def run(args: argparse.Namespace) -> int:
    from odkit.boxes import box_convert
    from odkit.ops import box_iou, nms

    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    boxes_xyxy = np.array([[10, 10, 50, 50], [30, 30, 70, 70], [100, 100, 140, 160]], dtype=np.float64)
    print("boxes (xyxy):\n", boxes_xyxy)
    print("as COCO xywh:\n", box_convert(boxes_xyxy, "xyxy", "xywh"))
    print("as YOLO cxcywh normalized to a 480x640 image:\n",
          np.round(box_convert(boxes_xyxy, "xyxy", "cxcywh_norm", image_hw=(480, 640)), 4))
    print("IoU matrix:\n", np.round(box_iou(boxes_xyxy, boxes_xyxy), 4))
    det_xyxy, det_scores = _clustered_detections(rng, n_objects=40, copies=25)
    keep = nms(det_xyxy, det_scores, iou_threshold=0.5, score_threshold=0.1)
    print(f"NMS on {len(det_scores)} clustered raw detections around 40 objects: kept {keep.size} boxes")
    np.savetxt(args.out / "nms_kept_xyxy.csv", det_xyxy[keep], delimiter=",", fmt="%.2f",
               header="x_min,y_min,x_max,y_max", comments="")
    print(f"wrote {args.out / 'nms_kept_xyxy.csv'}")
    return 0
