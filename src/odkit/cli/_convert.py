"""``odkit convert SRC DST --to FMT``: convert a dataset between COCO, VOC, YOLO and CSV."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from odkit.cli._common import UsageError

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
    parser.add_argument("--csv-zero-based", action="store_true",
                        help="CSV coordinates are 0-based continuous pixels (input and output); the default is "
                             "VOC-style 1-based pixels, as in the common xml_to_csv export")
    parser.add_argument("--csv-one-based", action="store_true", help="(the default) CSV coordinates are "
                                                                     "VOC-style 1-based pixels")
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
    """``"train=0.8,val=0.2"`` -> ``{"train": 0.8, "val": 0.2}``; a ``UsageError`` when malformed."""
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--split expects NAME=FRACTION pairs like train=0.8,val=0.2; got {text!r}") from None
    return out


def found_in(dataset: object, given: Path) -> str:
    """``" (annots/, images in images/)"``: where detection found the annotations and images, when that is
    not ``given`` itself; "" otherwise."""
    read = Path(str(dataset.source.get("path", given)))  # type: ignore[attr-defined]
    if read.resolve() == given.resolve():
        return ""
    base = given.resolve()

    def rel(p: Path) -> str:
        p = p.resolve()
        shown = p.relative_to(base).as_posix() if base in p.parents else str(p)
        return shown + ("/" if p.is_dir() else "")

    root = dataset.root  # type: ignore[attr-defined]
    return f" ({rel(read)}" + (f", images in {rel(root)})" if root is not None else ")")


def split_counts(splits: dict) -> str:
    """``"train 205, val 87 images"``."""
    return ", ".join(f"{k} {len(v)}" for k, v in splits.items()) + " images"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _protect_images(dataset: object, dst: Path, shown: Path) -> None:
    """A ``DatasetError`` when DST is the images root or holds any source image (writing there could
    overwrite them); a new folder beside the images or the annotation file is fine."""
    from odkit.errors import DatasetError

    root = dataset.root  # type: ignore[attr-defined]
    if root is not None and dst == root.resolve():
        raise DatasetError(f"DST {shown} is the source images folder {root}; choose another folder")
    for im in dataset.images:  # type: ignore[attr-defined]
        image = Path(os.path.abspath(dataset.image_path(im)))  # type: ignore[attr-defined]
        if _inside(image, dst) or _inside(image.resolve(), dst):
            raise DatasetError(f"DST {shown} holds source image {image}; choose a folder outside the images")


def _csv_options(args: argparse.Namespace, fmt: str) -> dict[str, bool]:
    """``one_based`` for the CSV reader/writer (1-based unless ``--csv-zero-based``); empty otherwise."""
    if fmt != "csv":
        return {}
    if args.csv_zero_based and args.csv_one_based:
        raise UsageError("--csv-zero-based and --csv-one-based exclude each other")
    return {"one_based": not args.csv_zero_based}


def _check_emptied(dataset: object, src: Path) -> None:
    """A ``DatasetError`` when reading yielded nothing usable: no images, every box lost to errors, or a
    split that errors emptied (a split the source names but that holds no image)."""
    from odkit.errors import DatasetError

    errors = [i for i in dataset.issues if i.severity == "error"]  # type: ignore[attr-defined]
    first = f"; first error: {errors[0]}" if errors else ""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise DatasetError(f"read 0 images from {src}{first}; nothing to convert")
    if errors and dataset.num_boxes == 0:  # type: ignore[attr-defined]
        raise DatasetError(f"read {len(dataset)} images but 0 boxes from {src}: {len(errors)} error(s) "  # type: ignore[arg-type]
                           f"emptied the dataset{first}")
    lost = [i for i in errors if i.code == "missing_split"]
    if lost:
        raise DatasetError(f"{src}: a split could not be read ({lost[0]}); fix the path or pass --images")
    empty = [k for k, v in dataset.splits.items() if not v]  # type: ignore[attr-defined]
    if empty:
        raise DatasetError(f"{src}: split(s) {empty} hold no image{first}")


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

    if not args.src.exists():
        raise UsageError(f"SRC {args.src}: no such file or folder")
    if args.images is not None and not args.images.is_dir():
        raise UsageError(f"--images {args.images}: no such folder")
    split = _parse_split(args.split) if args.split else None
    src, dst = args.src.resolve(), args.dst.resolve()
    # Protect the source annotation file(s) and the images; a sibling of the annotation file is fine.
    if _inside(dst, src) or (src.is_file() and _inside(src, dst)):
        raise DatasetError(f"DST {args.dst} overlaps SRC {args.src}; choose a folder outside the source dataset")
    if dst.is_dir() and any(dst.iterdir()) and not args.force:
        raise DatasetError(f"DST {args.dst} exists and is not empty; pass --force to write into it")
    from_fmt = args.from_fmt or detect_format(args.src).value
    read_opts = _csv_options(args, from_fmt)
    dataset = read_annotations(args.src, from_fmt, args.images, strict=args.strict, **read_opts)
    _protect_images(dataset, dst, args.dst)
    src_fmt = dataset.source.get("format", args.from_fmt)
    print(f"read {len(dataset)} images, {dataset.num_boxes} boxes, {len(dataset.categories)} classes "
          f"({src_fmt}) from {args.src}{found_in(dataset, args.src)}")
    if dataset.splits:
        print(f"splits: {split_counts(dataset.splits)}")
    read_errors = [i for i in dataset.issues if i.severity == "error"]
    read_warnings = [i for i in dataset.issues if i.severity == "warning"]
    if read_errors:
        print(f"skipped while reading ({len(read_errors)}):")
        _print_issues("skipped ", read_errors, args.verbose)
    _check_emptied(dataset, args.src)
    if split is not None:
        dataset = split_dataset(dataset, split, seed=args.seed, stratify=args.stratify)
        print("split: " + ", ".join(f"{k} {len(v)} images" for k, v in dataset.splits.items())
              + f" (seed {args.seed}{', stratified' if args.stratify else ''})")
    write_opts = _csv_options(args, args.to_fmt)
    report = write_annotations(dataset, args.dst, args.to_fmt, copy_images=args.copy_images, **write_opts)
    print(report.summary().splitlines()[0])
    if args.to_fmt == "coco" and dataset.splits:
        if args.dst.suffix.lower() == ".json":
            print("one .json file holds every image: the splits are not kept (give a folder as DST to write "
                  "annotations/instances_<split>.json, one file per split)")
        else:
            files = [f"annotations/instances_{k}.json" for k in dataset.splits]
            in_splits = {i for ids in dataset.splits.values() for i in ids}
            if len(in_splits) < len(dataset):
                files.append(f"annotations/instances_unassigned.json ({len(dataset) - len(in_splits)} images in "
                             "no split)")
            print("one file per split: " + ", ".join(files))
    if read_warnings:
        print(f"noted while reading ({len(read_warnings)}):")
        _print_issues("note ", read_warnings, args.verbose)
    if report.issues:
        print(f"not representable in {args.to_fmt} or changed ({len(report.issues)}):")
        _print_issues("", report.issues, args.verbose)
    if not (read_errors or report.issues):
        print("nothing skipped")
    return 0
