"""``odkit convert SRC DST --to FMT``: convert a dataset between COCO, VOC, YOLO and CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("coco", "voc", "yolo", "csv", "labelme", "cvat")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="annotation file or dataset folder to read")
    parser.add_argument("dst", type=Path, help="output folder (or .json / .csv file), laid out as the format's "
                                               "tools expect")
    parser.add_argument("--to", dest="to_fmt", required=True, choices=FORMATS, help="output format")
    parser.add_argument("--from", dest="from_fmt", choices=FORMATS, default=None,
                        help="input format (default: detected from SRC)")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder holding the images, when SRC does not say and the usual layouts miss it")
    parser.add_argument("--copy-images", choices=("copy", "symlink", "none"), default="copy",
                        help="put the images into DST (default copy); 'none' writes annotations only")
    parser.add_argument("--csv-one-based", action="store_true",
                        help="CSV coordinates are VOC-style 1-based pixels (input and output)")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first malformed entry instead of skipping and reporting it")
    parser.add_argument("--split", default=None, metavar="NAME=FRAC,...",
                        help="re-split the images at random before writing, e.g. train=0.8,val=0.2 "
                             "(replaces the source's splits)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --split (default 0)")
    parser.add_argument("--stratify", action="store_true", help="with --split: keep class shares similar")
    parser.add_argument("--force", action="store_true", help="write into a DST folder that is not empty")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every skipped or changed object")


def _parse_split(text: str) -> dict[str, float]:
    """``"train=0.8,val=0.2"`` -> ``{"train": 0.8, "val": 0.2}``."""
    from odkit.errors import DatasetError

    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise DatasetError(f"--split expects NAME=FRACTION pairs like train=0.8,val=0.2; got {text!r}") from None
    return out


def _print_issues(title: str, issues: list, verbose: bool) -> None:
    counts: dict[str, list] = {}
    for i in issues:
        counts.setdefault(i.code, []).append(i)
    for code, items in sorted(counts.items()):
        print(f"  {title}{code}: {len(items)} (e.g. {items[0]})")
        if verbose:
            for i in items[1:]:
                print(f"    {i}")


def run(args: argparse.Namespace) -> int:
    from odkit.errors import DatasetError
    from odkit.io import detect_format, read_annotations, split_dataset, write_annotations

    src, dst = args.src.resolve(), args.dst.resolve()
    protected = [src, *([src.parent] if src.is_file() else [])]
    if any(dst == p or p in dst.parents for p in protected):
        raise DatasetError(f"DST {args.dst} is inside SRC {args.src}; choose a folder outside the source dataset")
    if dst.is_dir() and any(dst.iterdir()) and not args.force:
        raise DatasetError(f"DST {args.dst} exists and is not empty; pass --force to write into it")
    from_fmt = args.from_fmt or detect_format(args.src).value
    read_opts = {"one_based": True} if args.csv_one_based and from_fmt == "csv" else {}
    dataset = read_annotations(args.src, from_fmt, args.images, strict=args.strict, **read_opts)
    root = dataset.root.resolve() if dataset.root is not None else None
    if root is not None and (dst == root or root in dst.parents):
        raise DatasetError(f"DST {args.dst} is inside the source images folder {dataset.root}; choose another folder")
    src_fmt = dataset.source.get("format", args.from_fmt)
    print(f"read {len(dataset)} images, {dataset.num_boxes} boxes, {len(dataset.categories)} classes "
          f"({src_fmt}) from {args.src}")
    if args.split:
        dataset = split_dataset(dataset, _parse_split(args.split), seed=args.seed, stratify=args.stratify)
        print("split: " + ", ".join(f"{k} {len(v)} images" for k, v in dataset.splits.items())
              + f" (seed {args.seed}{', stratified' if args.stratify else ''})")
    write_opts = {"one_based": True} if args.csv_one_based and args.to_fmt == "csv" else {}
    report = write_annotations(dataset, args.dst, args.to_fmt, copy_images=args.copy_images, **write_opts)
    print(report.summary().splitlines()[0])
    read_errors = [i for i in dataset.issues if i.severity == "error"]
    read_warnings = [i for i in dataset.issues if i.severity == "warning"]
    if read_errors:
        print(f"skipped while reading ({len(read_errors)}):")
        _print_issues("skipped ", read_errors, args.verbose)
    if read_warnings:
        print(f"noted while reading ({len(read_warnings)}):")
        _print_issues("note ", read_warnings, args.verbose)
    if report.issues:
        print(f"not representable in {args.to_fmt} or changed ({len(report.issues)}):")
        _print_issues("", report.issues, args.verbose)
    if not (read_errors or report.issues):
        print("nothing skipped")
    return 0
