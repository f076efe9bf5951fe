"""``odkit demo``: the whole workflow on a generated dataset (see :mod:`odkit.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the demo's outputs")
    parser.add_argument("--images", type=int, default=40, help="number of images to generate")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the generated data")


def run(args: argparse.Namespace) -> int:
    from odkit.demo import run_demo

    if args.images < 1:
        print("error: --images must be at least 1")
        return 2
    run_demo(args.out, n_images=args.images, seed=args.seed)
    return 0
