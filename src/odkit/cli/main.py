"""``odkit`` console script: parses arguments and dispatches to one module per subcommand.

Each subcommand lives in ``odkit.cli._<name>`` with ``add_arguments(parser)`` and ``run(args) -> int``.
Those modules import heavy dependencies (torch, image libraries) inside ``run`` only, so ``odkit eval``,
``convert`` and ``check`` work on a machine without torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from odkit import __version__
from odkit.cli._common import UsageError
from odkit.errors import OdkitError

# name -> (module, one-line help). Modules that do not exist yet are not offered.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "eval": ("odkit.cli._eval", "evaluate COCO-format predictions against ground truth (mAP, per class)"),
    "convert": ("odkit.cli._convert", "convert a dataset between COCO, VOC, YOLO, CSV, LabelMe and CVAT"),
    "check": ("odkit.cli._check", "find what is wrong or suspicious in a dataset"),
    "train": ("odkit.cli._train", "train a detector (or a classifier on class folders) into a run folder"),
    "val": ("odkit.cli._val", "evaluate a trained model on a dataset split: metrics, plots and report.html"),
    "predict": ("odkit.cli._predict", "predict boxes on images, folders, globs, list files or videos"),
    "export": ("odkit.cli._export", "export a trained detector or classifier to ONNX (predict and val run it)"),
    "label": ("odkit.cli._label", "draw, move, resize, delete and relabel boxes in a local page, saved in place"),
    "demo": ("odkit.cli._demo", "generate a dataset, train the default detector, evaluate, predict and report"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odkit", description="odkit: an object-detection toolkit.")
    parser.add_argument("--version", action="version", version=f"odkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        code = int(args._run(args))
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return code
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OdkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `odkit check ... | head`): stop quietly, as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file that cannot be read or written (a folder given as --json, a full disk...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
