"""``odkit export MODEL --format onnx``: a saved detector or classifier as an ONNX file (``odkit.export``).

``odkit predict`` and ``odkit val`` take the ``.onnx`` file as they take the ``.odk`` and run it with onnxruntime.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from odkit.cli._common import UsageError

#: What ``--format`` accepts (``odkit.export.FORMATS``, repeated here so the parser builds without torch).
FORMATS = ("onnx",)
#: ``--opset`` bounds (``odkit.export.MIN_OPSET`` / ``MAX_OPSET``) and default.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 11, 20, 17


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="a model file (.odk) written by model.save / odkit train")
    parser.add_argument("--format", required=True, help=f"what to write: {', '.join(FORMATS)}")
    parser.add_argument("--imgsz", type=int, nargs="+", default=None, metavar="N",
                        help="input size in pixels: one number (square) or HEIGHT WIDTH (default: the model's)")
    parser.add_argument("--dynamic", action="store_true", help="a dynamic batch axis (default: batch 1)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"ONNX opset, {MIN_OPSET}..{MAX_OPSET} (default {DEFAULT_OPSET})")
    parser.add_argument("--nms", action="store_true",
                        help="detectors: class-aware NMS in the graph (conf, iou, max_det as graph inputs); "
                        "default: the graph ends at decoded boxes and scores and odkit runs NMS after it")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="the file to write (default: MODEL with the format's suffix, e.g. best.onnx)")


def _check(args: argparse.Namespace) -> tuple[int, int] | None:
    if args.format.lower() not in FORMATS:
        raise UsageError(f"--format must be one of {list(FORMATS)}; got {args.format!r}")
    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        raise UsageError(f"--opset must be in {MIN_OPSET}..{MAX_OPSET}; got {args.opset}")
    if args.imgsz is None:
        return None
    if len(args.imgsz) not in (1, 2) or min(args.imgsz) < 32:
        raise UsageError(f"--imgsz takes one size or HEIGHT WIDTH, each >= 32 pixels; got {args.imgsz}")
    return (args.imgsz[0], args.imgsz[-1])


def run(args: argparse.Namespace) -> int:
    image_hw = _check(args)
    from odkit.errors import CheckpointError

    if args.model.suffix.lower() != ".odk":
        raise CheckpointError(f"{args.model}: odkit export takes a .odk model file (model.save / odkit train); got "
                              f"a {args.model.suffix or 'suffix-less'} file")
    if not args.model.is_file():
        raise CheckpointError(f"{args.model}: no such model file")
    from odkit.export import export_onnx
    from odkit.saving import load_model

    model = load_model(args.model)
    out = args.out if args.out is not None else args.model.with_suffix(".onnx")
    if out.resolve() == args.model.resolve():
        raise UsageError(f"--out {out} would overwrite the model file")
    if args.nms and model.name == "classifier":
        raise UsageError(f"--nms is for detectors; {args.model} is a classifier")
    try:
        path = export_onnx(model, out, image_hw=image_hw, dynamic=args.dynamic, opset=args.opset, nms=args.nms)
    except ValueError as exc:  # a model that is neither a detector nor the classifier, an unbuilt classifier
        raise CheckpointError(f"{args.model}: {exc}") from None
    kind = "dynamic batch" if args.dynamic else "batch 1"
    nms = ", NMS in the graph" if args.nms else ""
    print(f"exported {model.name} to {path} (opset {args.opset}, {kind}{nms})")
    return 0
