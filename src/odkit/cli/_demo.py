"""``odkit demo``: generate a dataset, train the default detector for real, evaluate, predict, report
(see :mod:`odkit.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from odkit.cli._common import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from odkit.demo import DEMO_MINUTES

    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the demo's outputs")
    parser.add_argument("--minutes", type=float, default=DEMO_MINUTES,
                        help=f"training budget in minutes (default {DEMO_MINUTES:g}); early stopping may end sooner")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data and the training")


def run(args: argparse.Namespace) -> int:
    if not args.minutes > 0:
        raise UsageError(f"--minutes must be > 0; got {args.minutes}")
    from odkit.demo import run_demo

    run_demo(args.out, minutes=args.minutes, seed=args.seed)
    return 0
