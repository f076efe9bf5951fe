"""``odkit eval GT PRED``: COCO bbox evaluation of a results list against a COCO instances file."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gt", type=Path, help="COCO instances JSON (images, annotations, categories)")
    parser.add_argument("pred", type=Path, help="COCO results JSON: [{image_id, category_id, bbox: [x,y,w,h], score}]")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the stats and per-class data")
    parser.add_argument("--per-class", action="store_true", help="print the per-class table")
    parser.add_argument(
        "--errors",
        action="store_true",
        help="print (and with --json, write) a TIDE-style error breakdown at IoU 0.5",
    )
    parser.add_argument(
        "--iou-thresholds",
        type=float,
        nargs="+",
        default=None,
        metavar="T",
        help="IoU thresholds (default: 0.50:0.05:0.95)",
    )
    parser.add_argument(
        "--max-dets",
        type=int,
        nargs="+",
        default=None,
        metavar="M",
        help="detections kept per image and class (default: 1 10 100); AP uses the largest",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="HTML",
        help="write an HTML report: per-class table, PR and F1 curves, confusion matrix, error breakdown",
    )
    parser.add_argument(
        "--zero-id-matches",
        action="store_true",
        help="count a match to a GT annotation with id 0 as a match (pycocotools counts it as a false positive; "
        "by default odkit reproduces pycocotools and warns)",
    )


def run(args: argparse.Namespace) -> int:
    # A million freshly parsed JSON objects without reference cycles: the cyclic GC would only walk them
    # again and again (measured: ~0.2 s of a ~1 s run), so it stays off while this command runs.
    from odkit._runtime import paused_gc

    with paused_gc():
        return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    from odkit.eval import COCOEvaluator, COCOParams

    kwargs = {}
    if args.iou_thresholds is not None:
        kwargs["iou_thresholds"] = args.iou_thresholds
    if args.max_dets is not None:
        kwargs["max_dets"] = tuple(args.max_dets)
    try:
        params = COCOParams(**kwargs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # an unwritable --json / --report path is found before a long evaluation, not after it
    for flag, out_path in (("--json", args.json), ("--report", args.report)):
        problem = _unwritable(out_path) if out_path is not None else ""
        if problem:
            print(f"error: cannot write {flag} {out_path}: {problem}", file=sys.stderr)
            return 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluator = COCOEvaluator.from_coco(
            args.gt, args.pred, params, zero_id_as_unmatched=not args.zero_id_matches
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    result = evaluator.compute()
    print(result)
    if args.per_class:
        print()
        print(result.per_class_table())
    out = result.to_dict()
    errors = None
    if args.errors:
        errors = evaluator.error_breakdown()
        print(f"\nErrors at IoU 0.50 (AP50 = {errors['ap']:.3f}); dAP = AP points (x100) won by fixing that type alone")
        print(f"{'type':<16} {'count':>8} {'dAP':>8}")
        for name, delta in errors["delta_ap"].items():
            print(f"{name:<16} {errors['counts'][name]:>8d} {100 * delta:>8.2f}")
        out["errors"] = {"AP50": errors["ap"], "counts": errors["counts"], "delta_ap": errors["delta_ap"]}
    if args.json is not None:
        try:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json.with_name(args.json.name + ".tmp")
            tmp.write_text(json.dumps(out, indent=1))
            os.replace(tmp, args.json)
        except OSError as exc:
            print(f"error: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {args.json}")
    if args.report is not None:
        from odkit.report import write_evaluation_report

        try:
            written = write_evaluation_report(
                args.report, evaluator, result, title=f"odkit eval: {args.pred.name}", errors=errors
            )
        except OSError as exc:
            print(f"error: cannot write {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {written}")
    return 0


def _unwritable(path: Path) -> str:
    """Why ``path`` cannot be written as a file (its missing parents created), or '' when it looks writable."""
    if path.is_dir():
        return "it is a directory"
    parent = path.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return ""
