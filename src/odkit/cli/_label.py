"""``odkit label DATASET``: a local page to draw, move, resize, delete and relabel boxes, saved in place.

The server binds 127.0.0.1 and prints a URL with a random token (like Jupyter's); every request without it
is refused. Saves go back into the dataset's own files, one image at a time, atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from odkit.cli._common import UsageError

FORMATS = ("coco", "voc", "yolo", "csv", "labelme", "cvat")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="annotation file or dataset folder (any format odkit reads)")
    parser.add_argument("--from", dest="from_fmt", choices=FORMATS, default=None,
                        help="annotation format (default: detected)")
    parser.add_argument("--images", type=Path, default=None, help="folder holding the images, if not found")
    parser.add_argument("--classes", default=None, metavar="NAME,...|FILE",
                        help="class names offered besides the dataset's (comma-separated, or a file with one "
                             "name per line); keys 1-9 pick them in this order after the dataset's own")
    parser.add_argument("--to", nargs="+", default=None, metavar=("FMT", "DST"),
                        help="save into DST in FMT (voc, yolo, coco, labelme, csv) instead of the dataset's own "
                             "files: a dataset is converted into DST once, then edited there; a folder of images "
                             "with no annotations starts a new dataset (needs --classes; DST defaults to the "
                             "images folder)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1; anything else is reachable from "
                             "the network and prints a warning)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--model", type=Path, default=None, metavar="M",
                        help="a detection model (.odk or .onnx) whose boxes the page proposes, dashed; also "
                             "orders the image list by disagreement with the labels")
    parser.add_argument("--conf", type=float, default=0.25,
                        help="confidence threshold of the model's proposals, in [0, 1] (default 0.25)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL only, do not open a browser")


def _to(values: list[str] | None) -> tuple[str | None, Path | None]:
    """``--to FMT [DST]`` as (format, folder)."""
    from odkit.label._new import NEW_FORMATS

    if values is None:
        return None, None
    if len(values) > 2 or values[0] not in NEW_FORMATS:
        raise UsageError(f"--to: expected FMT [DST] with FMT one of {list(NEW_FORMATS)}; got {values}")
    return values[0], Path(values[1]) if len(values) == 2 else None


def _is_new(path: Path, from_fmt: str | None, to_fmt: str | None, dst: Path | None) -> bool:
    """A folder holding images with no annotations odkit reads (or only those an earlier new-dataset session
    saved there as ``to_fmt``): a new dataset."""
    from odkit.errors import DatasetError
    from odkit.io import detect_format
    from odkit.io._common import is_image_file, list_images

    if not path.is_dir() or from_fmt is not None or not list_images(path):
        return False
    try:
        found = detect_format(path).value
    except DatasetError:
        return True
    top = any(is_image_file(p) for p in path.iterdir() if p.is_file())  # not a dataset with images/ below
    return top and to_fmt == found and (dst is None or dst.resolve() == path.resolve())


def run(args: argparse.Namespace) -> int:
    from odkit.cli._check import _class_names
    from odkit.io import detect_format, read_annotations
    from odkit.label import LabelError, LabelServer, LabelStore, ModelAssist
    from odkit.label._new import NEW_FORMATS, convert_into, new_dataset

    if not args.dataset.exists():
        raise UsageError(f"DATASET {args.dataset}: no such file or folder")
    if args.images is not None and not args.images.is_dir():
        raise UsageError(f"--images {args.images}: no such folder")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535; got {args.port}")
    if not 0.0 <= args.conf <= 1.0:
        raise UsageError(f"--conf must be in [0, 1]; got {args.conf}")
    if args.model is not None and not args.model.is_file():
        raise UsageError(f"--model {args.model}: no such file")
    assist = None
    if args.model is not None:
        model_path = args.model

        def load() -> object:
            from odkit.export import load_any_model

            return load_any_model(model_path)

        assist = ModelAssist(load, args.conf, model_path.name)
    to_fmt, dst = _to(args.to)
    extra = _class_names(args.classes) if args.classes is not None else None
    try:
        if _is_new(args.dataset, args.from_fmt, to_fmt, dst):
            if extra is None:
                raise UsageError(f"{args.dataset} holds images and no annotations odkit reads: a new dataset; give "
                                 "its classes with --classes a,b,c")
            if to_fmt is None:
                raise UsageError(f"{args.dataset} holds images and no annotations: a new dataset; give the format "
                                 f"to save in with --to {{{','.join(NEW_FORMATS)}}} [DST]")
            dataset = new_dataset(args.dataset, extra, to_fmt, dst)
            fmt, where = to_fmt, dst or args.dataset
            store = LabelStore(dataset, args.dataset, assist=assist,
                               roots=[where, *{Path(im.annotation_file).parent for im in dataset.images}])
        else:
            fmt = args.from_fmt or detect_format(args.dataset).value
            dataset = read_annotations(args.dataset, fmt, args.images, strict=False)
            reread = lambda: read_annotations(args.dataset, fmt, args.images, strict=False)  # noqa: E731
            roots: list[Path] = []
            if to_fmt is not None:
                if dst is None:
                    raise UsageError(f"--to {to_fmt}: give the folder to save into (DST) for an existing dataset")
                src_root = dataset.root
                dataset, report = convert_into(dataset, to_fmt, dst)
                if report is not None:
                    print(f"converted into {dst}: {report.summary()}")
                fmt, roots = to_fmt, [dst] + ([Path(src_root)] if src_root is not None else [])
                reread = lambda: read_annotations(dst, to_fmt, strict=False)  # noqa: E731
            store = LabelStore(dataset, args.dataset if to_fmt is None else dst, extra, assist=assist,
                               reread=reread, roots=roots)
    except LabelError as exc:
        raise UsageError(str(exc)) from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine and has the URL's token "
              "can read the dataset's images and change its annotations", file=sys.stderr)
    server = LabelServer(store, args.host, args.port)
    print(f"odkit label: {len(dataset)} images ({fmt}) from {args.dataset}")
    if assist is not None:
        assist.start_background([(k, dataset.image_path(im)) for k, im in enumerate(dataset.images)])
        print(f"model {args.model.name}: proposals at conf >= {args.conf}, predicted in the background")
    print(f"open {server.url}", flush=True)
    print("Ctrl-C stops the server (every save is already on disk)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.httpd.server_close()
    return 0
