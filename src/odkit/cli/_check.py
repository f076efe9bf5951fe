"""``odkit check DATASET``: everything wrong or suspicious in a dataset, plus statistics.

Exit code 0 when there is no error (warnings alone do not fail), 1 when errors were found.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from odkit.cli._common import UsageError
from odkit.cli._convert import found_in


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="annotation file or dataset folder")
    parser.add_argument("--from", dest="from_fmt", choices=("coco", "voc", "yolo", "csv", "labelme", "cvat"),
                        default=None, help="annotation format (default: detected)")
    parser.add_argument("--images", type=Path, default=None, help="folder holding the images, if not found")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report as JSON here")
    parser.add_argument("--fix", type=Path, default=None, metavar="OUT",
                        help="write a cleaned copy (same format, images copied) to OUT; the original is untouched")
    parser.add_argument("--no-images", action="store_true", help="do not open the image files")
    parser.add_argument("--fast", action="store_true", help="read image headers only (no truncation check)")
    parser.add_argument("--near-dup-iou", type=float, default=0.8,
                        help="same-class boxes with IoU above this are near duplicates (default 0.8)")
    parser.add_argument("--csv-zero-based", action="store_true",
                        help="CSV coordinates are 0-based continuous pixels (default: VOC-style 1-based)")
    parser.add_argument("--csv-one-based", action="store_true", help="(the default) CSV coordinates are 1-based")
    parser.add_argument("--classes", default=None, metavar="NAME,...|FILE",
                        help="the expected class names (comma-separated, or a file with one name per line); "
                             "other names are unknown_class findings (VOC, CSV, LabelMe, CVAT)")
    parser.add_argument("--max-per-code", type=int, default=20,
                        help="findings printed per code (all are in --json); default 20")


def _print_stats(stats: dict) -> None:
    print(f"images: {stats['images']}  boxes: {stats['boxes']}  images without boxes: "
          f"{stats['images_without_boxes']}")
    bpi = stats["boxes_per_image"]
    print(f"boxes per image: min {bpi['min']}  mean {bpi['mean']:.2f}  max {bpi['max']}")
    print("boxes per class: " + ", ".join(f"{k} {v}" for k, v in stats["boxes_per_class"].items()))
    b = stats["size_buckets"]["all"]
    print(f"sizes (COCO, box w*h): small {b['small']}  medium {b['medium']}  large {b['large']}")
    ar = stats["aspect_ratio"]
    if ar:
        print(f"aspect ratio w/h: min {ar['min']:.2f}  median {ar['median']:.2f}  max {ar['max']:.2f}  "
              + "  ".join(f"{k}: {v}" for k, v in ar["buckets"].items()))


def _class_names(value: str) -> list[str]:
    """``--classes``: a file with one name per line, or comma-separated names."""
    path = Path(value)
    if path.is_file():
        try:
            names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--classes {value}: cannot read: {exc}") from None
    else:
        names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError(f"--classes {value!r}: expected NAME,... or a file with one name per line")
    if len(set(names)) != len(names):
        raise UsageError(f"--classes: names must be unique; got {names}")
    return names


def run(args: argparse.Namespace) -> int:
    from odkit.io import check_dataset, detect_format, fix_dataset, read_annotations, write_annotations

    if not args.dataset.exists():
        raise UsageError(f"DATASET {args.dataset}: no such file or folder")
    if args.images is not None and not args.images.is_dir():
        raise UsageError(f"--images {args.images}: no such folder")
    if args.csv_zero_based and args.csv_one_based:
        raise UsageError("--csv-zero-based and --csv-one-based exclude each other")
    from_fmt = args.from_fmt or detect_format(args.dataset).value
    opts: dict[str, object] = {"one_based": not args.csv_zero_based} if from_fmt == "csv" else {}
    if args.classes is not None:
        if from_fmt not in ("voc", "csv", "labelme", "cvat"):
            raise UsageError(f"--classes applies to voc, csv, labelme and cvat; {from_fmt} files name their "
                             "classes themselves")
        opts["class_names"] = _class_names(args.classes)
    dataset = read_annotations(args.dataset, from_fmt, args.images, strict=False, **opts)
    note = found_in(dataset, args.dataset)
    if note:
        print(f"{from_fmt} dataset found in {args.dataset}{note}")
    report = check_dataset(dataset, check_images=not args.no_images, decode=not args.fast,
                           near_dup_iou=args.near_dup_iou)
    by_code: dict[str, list] = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    for code, items in sorted(by_code.items(), key=lambda kv: (kv[1][0].severity != "error", kv[0])):
        print(f"[{code}] {len(items)} {items[0].severity}(s)")
        for f in items[: args.max_per_code]:
            print(f"  {f}")
        if len(items) > args.max_per_code:
            print(f"  ... and {len(items) - args.max_per_code} more (see --json)")
    _print_stats(report.stats)
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s): "
          + ("OK" if report.ok else "errors found"))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
        print(f"report written to {args.json}")
    if args.fix is not None:
        src = args.dataset.resolve()
        out = args.fix.resolve()
        protected = [src, *([src.parent] if src.is_file() else []),
                     *([dataset.root.resolve()] if dataset.root is not None else [])]
        if any(out == p or p in out.parents for p in protected):
            raise UsageError(f"--fix {args.fix} would write inside the original dataset; choose another folder")
        if out.is_dir() and any(out.iterdir()):
            raise UsageError(f"--fix {args.fix} exists and is not empty")
        fixed, changes = fix_dataset(dataset, report)
        fmt = from_fmt
        write_opts = {k: v for k, v in opts.items() if k == "one_based"}
        wrep = write_annotations(fixed, out, fmt, copy_images="copy", **write_opts)
        print(f"--fix: wrote a cleaned copy ({fmt}) to {args.fix}: {len(changes)} change(s)")
        for c in changes:
            print(f"  {c}")
        for i in wrep.issues:
            print(f"  {i}")
    return 0 if report.ok else 1
