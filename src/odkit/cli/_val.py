"""``odkit val MODEL DATA``: score a trained model on a dataset split; metrics, plots and report.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from odkit.cli._common import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a saved model (.odk, or .onnx from odkit export), e.g. "
                        "runs/train-1/weights/best.odk")
    parser.add_argument("data", help="the dataset (any format odkit.io reads, or a class-folder tree)")
    parser.add_argument("--split", default=None, help="split to score (default: val; made as odkit train made it "
                        "when the dataset has none)")
    parser.add_argument("--conf", type=float, default=0.001, help="lowest confidence kept (default 0.001, for mAP)")
    parser.add_argument("--iou", type=float, default=0.5, help="NMS IoU threshold (default 0.5)")
    parser.add_argument("--max-det", type=int, default=100, help="most detections per image (default 100)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda... (default: cpu)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/val-N)")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.conf <= 1:
        raise UsageError(f"--conf must be in [0, 1]; got {args.conf}")
    if not 0 < args.iou <= 1:
        raise UsageError(f"--iou must be in (0, 1]; got {args.iou}")
    if args.max_det < 1:
        raise UsageError(f"--max-det must be >= 1; got {args.max_det}")
    from odkit.runs import val_run

    result = val_run(args.model, args.data, split=args.split, conf=args.conf, iou=args.iou, max_det=args.max_det,
                     device=args.device, out=args.out)
    print(f"run folder: {result.out_dir}")
    return 0
