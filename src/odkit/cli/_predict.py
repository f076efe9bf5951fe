"""``odkit predict MODEL SOURCE``: a saved model on images, folders, globs, list files, videos or a dataset;
annotated images / videos, YOLO txt, COCO results and a summary into a run folder (``odkit.runs.predict_run``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from odkit.cli._common import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path,
                        help="a model file: .odk (model.save / odkit train) or .onnx (odkit export)")
    parser.add_argument("source", nargs="+", help="an image, a folder of images, a glob ('imgs/*.jpg', quoted; ** "
                        "is recursive), a list file (.txt, one path per line), a video (.mp4 .avi .mov .mkv .webm "
                        ".m4v), or a dataset odkit reads (annotation file or dataset folder: its image ids go into "
                        "predictions.json); several image files (as a shell glob gives them) are one source")
    parser.add_argument("--conf", type=float, default=0.25, help="lowest detection score kept, 0..1 (default 0.25)")
    parser.add_argument("--iou", type=float, default=0.5, help="NMS IoU threshold, 0..1 (default 0.5)")
    parser.add_argument("--max-det", type=int, default=100, help="most detections per image (default 100)")
    parser.add_argument("--line-width", type=int, default=None, metavar="N",
                        help="box outline in pixels (default: from the image size)")
    parser.add_argument("--save-txt", action="store_true",
                        help="write labels/<stem>.txt: 'class cx cy w h conf' normalized (what odkit eval reads)")
    parser.add_argument("--save-json", action="store_true", help="write predictions.json (COCO results)")
    parser.add_argument("--no-save", action="store_true", help="do not write annotated images and videos")
    parser.add_argument("--batch", type=int, default=8, help="images per batch (default 8)")
    parser.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda:0... (default auto)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the run folder (default: a new runs/predict-N)")


def _check(args: argparse.Namespace) -> None:
    if not 0.0 <= args.conf <= 1.0:
        raise UsageError(f"--conf must be in [0, 1]; got {args.conf}")
    if not 0.0 <= args.iou <= 1.0:
        raise UsageError(f"--iou must be in [0, 1]; got {args.iou}")
    for flag, value in (("--max-det", args.max_det), ("--batch", args.batch), ("--line-width", args.line_width)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be >= 1; got {value}")


def run(args: argparse.Namespace) -> int:
    _check(args)
    from odkit.errors import CheckpointError
    from odkit.export import load_any_model
    from odkit.models._base import resolve_device
    from odkit.models._sources import resolve_source
    from odkit.runs._folders import new_run_dir
    from odkit.runs._predict import predict_run

    try:
        device = resolve_device(args.device)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(f"--device {args.device!r}: {exc}") from None
    if not args.model.is_file():
        raise CheckpointError(f"{args.model}: no such model file")
    model = load_any_model(args.model)
    if getattr(model, "task", None) != "detect":
        if getattr(model, "task", None) == "localize":
            raise CheckpointError(f"{args.model}: a localizer model; odkit predict takes a detector or a classifier")
        if args.save_txt or args.save_json:
            raise UsageError(f"--save-txt and --save-json write boxes; {args.model} is a {model.name} model")
    # a missing source fails here, before a run folder is made
    source = resolve_source(args.source[0] if len(args.source) == 1 else list(args.source))
    out = new_run_dir("predict", args.out)
    predict_run(model, source, out, conf=args.conf, iou=args.iou, max_det=args.max_det, line_width=args.line_width,
                save_images=not args.no_save, save_txt=args.save_txt, save_json=args.save_json,
                batch_size=args.batch, device=str(device), verbose=True)
    return 0
