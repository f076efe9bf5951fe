"""``odkit eval GT PRED...``: COCO-style evaluation of predictions against ground truth, in any format odkit
reads (COCO instances + results JSON on the fast path; VOC / YOLO / CSV / LabelMe / CVAT ground truth and
YOLO txt / CSV / COCO results predictions through ``odkit.io``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gt", type=Path, help="ground truth: a COCO instances JSON, or any dataset odkit reads "
                        "(VOC folder, YOLO data.yaml, CSV, LabelMe, CVAT)")
    parser.add_argument("pred", type=Path, nargs="+", help="predictions: COCO results JSON, a folder of YOLO txt "
                        "files with a confidence column (class cx cy w h conf), or CSV with a score column; several "
                        "files or folders are shards of one set")
    parser.add_argument("--gt-format", default=None, choices=["coco", "voc", "yolo", "csv", "labelme", "cvat"],
                        help="the ground truth's format when detection cannot tell")
    parser.add_argument("--pred-format", default=None, choices=["coco", "yolo", "csv"],
                        help="the predictions' format when detection cannot tell")
    parser.add_argument("--classes", default=None, metavar="NAME,...",
                        help="names of YOLO class indices 0, 1, ... when no data.yaml / classes.txt is beside them")
    parser.add_argument("--strict", action="store_true",
                        help="predictions of categories not in the ground truth are an error (default: left out "
                        "with a warning, as pycocotools does)")
    parser.add_argument("--csv-zero-based", action="store_true",
                        help="CSV predictions hold 0-based continuous pixels (default: 1-based, like odkit's CSV)")
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
        if _all_coco(args):
            evaluator = COCOEvaluator.from_coco(
                args.gt, args.pred if len(args.pred) > 1 else args.pred[0], params,
                zero_id_as_unmatched=not args.zero_id_matches, strict=args.strict,
            )
        else:
            evaluator = _from_any_format(args, params)
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
                args.report, evaluator, result, title=f"odkit eval: {args.pred[0].name}", errors=errors
            )
        except OSError as exc:
            print(f"error: cannot write {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {written}")
    return 0


def _all_coco(args: argparse.Namespace) -> bool:
    """COCO instances GT and COCO results predictions: the fast path, straight from JSON to columns."""
    gt_coco = args.gt_format == "coco" or (args.gt_format is None and args.gt.suffix.lower() == ".json")
    pred_coco = args.pred_format == "coco" or (
        args.pred_format is None and all(p.is_file() and p.suffix.lower() == ".json" for p in args.pred))
    return gt_coco and pred_coco


def _from_any_format(args: argparse.Namespace, params: Any) -> Any:
    """An evaluator over a dataset odkit reads and predictions in any supported format (merged shards)."""
    from odkit.eval import COCOEvaluator
    from odkit.io import read_annotations, read_predictions

    dataset = read_annotations(args.gt, args.gt_format)
    names = [n.strip() for n in args.classes.split(",")] if args.classes else None
    predictions, notes = read_predictions(args.pred, dataset, args.pred_format, class_names=names,
                                          one_based=not args.csv_zero_based, strict=args.strict)
    for note in notes:
        warnings.warn(note + " (as pycocotools ignores categories not in the ground truth; --strict to make it an "
                      "error)", UserWarning, stacklevel=2)
    gts, image_ids, class_ids, class_names = dataset.evaluation_inputs()
    evaluator = COCOEvaluator(params, class_ids=class_ids, class_names=class_names, strict=args.strict)
    return evaluator.update([predictions[i] for i in image_ids], gts, image_ids)


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
