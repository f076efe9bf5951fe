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


def run(args: argparse.Namespace) -> int:
    from odkit.cli._check import _class_names
    from odkit.io import detect_format, read_annotations
    from odkit.label import LabelError, LabelServer, LabelStore, ModelAssist

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
    fmt = args.from_fmt or detect_format(args.dataset).value
    dataset = read_annotations(args.dataset, fmt, args.images, strict=False)
    extra = _class_names(args.classes) if args.classes is not None else None
    try:
        store = LabelStore(dataset, args.dataset, extra, assist=assist,
                           reread=lambda: read_annotations(args.dataset, fmt, args.images, strict=False))
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
