"""``odkit train DATA``: train a detector (or a classifier on class folders) into a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from odkit.cli._common import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", help="a dataset odkit.io reads (COCO, VOC, YOLO data.yaml, CSV...) or a "
                        "class-folder tree (then a classifier is trained); not needed with --resume")
    parser.add_argument("--model", default="detector-s",
                        help="detector-n, detector-s (default), classifier, or a saved .odk to fine-tune")
    parser.add_argument("--epochs", type=int, default=100, help="most epochs (default 100)")
    parser.add_argument("--time", type=float, default=None, metavar="MINUTES",
                        help="train for at most this many minutes; the learning-rate schedule fits the budget")
    parser.add_argument("--imgsz", type=int, default=None, help="input side in pixels (default: detectors 288x384, "
                        "classifier 96)")
    parser.add_argument("--batch", type=int, default=None, help="images per step (default: detectors 8, "
                        "classifier 32)")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate (default: detectors 2e-3 AdamW, classifier 1e-3 Adam)")
    parser.add_argument("--patience", type=int, default=None,
                        help="epochs without improvement before stopping (default: 20 detectors, 5 classifier)")
    parser.add_argument("--monitor", default=None,
                        help="what picks best.odk and stops early (default: val_map detectors, val_loss classifier)")
    parser.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1...")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data order and augmentation")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/train-N)")
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue an interrupted run from its folder")
    parser.add_argument("--amp", choices=("off", "bf16", "fp16"), default="off",
                        help="detectors: mixed precision (autocast): bf16 (CPU or GPU) or fp16 (GPU, with a gradient "
                        "scaler); default off")
    parser.add_argument("--workers", type=int, default=0,
                        help="detectors: data-loading worker processes (default 0: two threads in the training "
                        "process, decoded images cached); pinned memory on CUDA")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 quiet, 1 progress bars (default), 2 one line per epoch")


def run(args: argparse.Namespace) -> int:
    if args.resume is None and args.data is None:
        raise UsageError("odkit train needs DATA (or --resume DIR)")
    from odkit.runs import train_run
    from odkit.runs._train import check_values

    try:  # the library's bounds, said as usage errors (--time is train_run's minutes)
        check_values({"epochs": args.epochs, "minutes": args.time, "imgsz": args.imgsz, "lr": args.lr,
                      "batch": args.batch, "patience": args.patience, "amp": args.amp, "workers": args.workers})
    except ValueError as exc:
        raise UsageError(f"--{exc}".replace("--minutes", "--time")) from None

    result = train_run(args.data, model=args.model, epochs=args.epochs, minutes=args.time, imgsz=args.imgsz,
                       batch=args.batch, patience=args.patience, device=args.device, seed=args.seed, out=args.out,
                       resume=args.resume, monitor=args.monitor, verbose=args.verbose, amp=args.amp,
                       workers=args.workers, lr=args.lr)
    if result.report is not None or result.epochs:  # under torchrun: rank 0 only
        print(f"run folder: {result.out_dir}  (best: {result.best}, report: {result.report})")
    return 0
