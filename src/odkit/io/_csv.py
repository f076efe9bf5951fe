"""CSV with a header, one row per box: ``filename,width,height,class,xmin,ymin,xmax,ymax`` by default.

Columns are found by name, so any order works (BCCD's ``filename,cell_type,xmin,xmax,ymin,ymax`` reads
with ``cell_type`` recognised as the class column); ``columns=`` maps odkit's field names to other
header names. An image without objects is a row with an empty class and coordinates.

Coordinates are VOC-style 1-based pixels by default, on read **and** write (symmetric): the common
header comes from the widespread ``xml_to_csv`` export of VOC XML (raccoon's and BCCD's CSVs match their
XML exactly), so ``x_min = xmin - 1`` on read and ``xmin = x_min + 1`` on write, ``x_max``/``y_max``
unchanged. ``one_based=False`` reads and writes odkit's 0-based continuous coordinates as they are.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from odkit.errors import AnnotationError
from odkit.io._common import (
    ImageFinder,
    IssueLog,
    WriteReport,
    as_int,
    checked_ground_truth,
    guess_images_dir,
    image_dir_candidates,
    report_lost_fields,
    skip_degenerate,
)
from odkit.io._model import Category, Dataset, ImageRecord

FIELDS = ("filename", "width", "height", "class", "xmin", "ymin", "xmax", "ymax")
_ALIASES = {
    "filename": ("filename", "file_name", "image", "image_name", "image_path", "path", "file", "img"),
    "width": ("width", "image_width", "img_width", "w"),
    "height": ("height", "image_height", "img_height", "h"),
    "class": ("class", "label", "category", "class_name", "category_name", "name", "cell_type"),
    "xmin": ("xmin", "x_min", "x1", "left"),
    "ymin": ("ymin", "y_min", "y1", "top"),
    "xmax": ("xmax", "x_max", "x2", "right"),
    "ymax": ("ymax", "y_max", "y2", "bottom"),
}
_REQUIRED = ("filename", "class", "xmin", "ymin", "xmax", "ymax")


def _column_index(header: list[str], columns: dict[str, str] | None, path: Path) -> dict[str, int]:
    lower = [h.strip().lower() for h in header]
    out: dict[str, int] = {}
    for field in FIELDS:
        if columns and field in columns:
            name = columns[field].strip().lower()
            if name not in lower:
                raise AnnotationError(path, 1, f"column {columns[field]!r} (for {field}) not in header {header}")
            out[field] = lower.index(name)
            continue
        for alias in _ALIASES[field]:
            if alias in lower:
                out[field] = lower.index(alias)
                break
    missing = [f for f in _REQUIRED if f not in out]
    if missing:
        raise AnnotationError(path, 1, f"header {header} lacks column(s) for {missing}; pass columns="
                                       f"{{'field': 'header name'}} to map them")
    return out


def read_csv(
    path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    columns: dict[str, str] | None = None,
    one_based: bool = True,
    class_names: list[str] | None = None,
) -> Dataset:
    """Read a CSV of boxes.

    Args:
        path: the ``.csv`` file (UTF-8, comma-separated, with a header row).
        images_dir: folder the file names are relative to; guessed when None (``images/`` next to or above
            the file, or the file's folder).
        strict: raise ``AnnotationError`` on the first bad row; when False skip it and record an issue.
        columns: odkit field (``filename``, ``width``, ``height``, ``class``, ``xmin``, ``ymin``, ``xmax``,
            ``ymax``) -> header name, for headers the built-in aliases do not cover.
        one_based: coordinates are VOC-style 1-based pixels (default; x_min = xmin - 1 on read); False
            for 0-based continuous coordinates.
        class_names: category names in id order (ids 1..K); by default the names found, sorted.

    Returns:
        The dataset; images in order of first appearance, ids 1..N.

    Raises:
        AnnotationError: naming the file and line.
    """
    path = Path(path)
    log = IssueLog(strict)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AnnotationError(path, None, f"cannot read CSV: {exc}") from None
    if not rows:
        raise AnnotationError(path, 1, "empty file; expected a header row")
    col = _column_index(rows[0], columns, path)
    shift = 1.0 if one_based else 0.0
    per_image: dict[str, list[tuple[str, tuple[float, float, float, float]]]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(rows[0]):
            log.error("bad_line", path, line_no, f"expected {len(rows[0])} fields as in the header, got {len(row)}")
            continue
        file_name = row[col["filename"]].strip()
        if not file_name:
            log.error("bad_line", path, line_no, "empty filename")
            continue
        try:
            w = as_int(row[col["width"]]) if "width" in col and row[col["width"]].strip() else 0
            h = as_int(row[col["height"]]) if "height" in col and row[col["height"]].strip() else 0
        except ValueError:
            log.error("bad_line", path, line_no, f"width/height must be integers; got {row}")
            continue
        boxes = per_image.setdefault(file_name, [])
        if file_name not in sizes or sizes[file_name] == (0, 0):
            sizes[file_name] = (w, h)
        elif (w, h) != (0, 0) and sizes[file_name] != (w, h):
            log.warning("size_conflict", path, line_no,
                        f"{file_name}: size {w}x{h} differs from {sizes[file_name][0]}x{sizes[file_name][1]}")
        cls = row[col["class"]].strip()
        coords = [row[col[k]].strip() for k in ("xmin", "ymin", "xmax", "ymax")]
        if not cls and not any(coords):
            continue  # an image without objects
        try:
            x0, y0, x1, y1 = (float(v) for v in coords)
        except ValueError:
            log.error("bad_line", path, line_no, f"coordinates must be numbers; got {coords}")
            continue
        if not cls or not all(np.isfinite([x0, y0, x1, y1])):
            log.error("bad_line", path, line_no, f"expected a class and 4 finite coordinates; got {row}")
            continue
        boxes.append((cls, (x0 - shift, y0 - shift, x1, y1)))
    found = sorted({c for objs in per_image.values() for c, _ in objs})
    names = list(class_names) if class_names is not None else found
    name_to_id = {n: i + 1 for i, n in enumerate(names)}
    file_names = list(per_image)
    if images_dir is not None:
        root = Path(images_dir)
    else:
        guess = guess_images_dir(image_dir_candidates(path.parent, path.parent.parent), file_names)
        root = guess if guess is not None else path.parent
    images, annotations = [], {}
    finder = ImageFinder(root)
    for image_id, file_name in enumerate(file_names, start=1):
        rel, exists = finder.find(file_name)
        if exists and rel != file_name:
            log.warning("file_name_mismatch", path, None, f"{file_name!r} not found; using {rel!r}")
        w, h = sizes[file_name]
        images.append(ImageRecord(image_id, file_name, rel, w, h, str(path)))
        objs = []
        for cls, box in per_image[file_name]:
            if cls not in name_to_id:
                log.error("unknown_class", path, file_name, f"class {cls!r} is not one of {names}")
                continue
            objs.append((name_to_id[cls], box))
        if objs:
            annotations[image_id] = checked_ground_truth(
                log, path, lambda j, name=file_name: f"{name} box {j}", np.array([o[1] for o in objs], np.float64),
                np.array([o[0] for o in objs], np.int64))
    return Dataset(
        images=tuple(images), categories=tuple(Category(i, n) for n, i in name_to_id.items()),
        annotations=annotations, root=root, issues=tuple(log.issues),
        source={"format": "csv", "path": str(path)},
    )


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def write_csv(dataset: Dataset, path: str | os.PathLike[str], one_based: bool = True) -> WriteReport:
    """Write ``filename,width,height,class,xmin,ymin,xmax,ymax`` rows (``filename`` = the image path).

    Args:
        dataset: what to write.
        path: the ``.csv`` file, or a folder (then ``annotations.csv`` inside it).
        one_based: write VOC-style 1-based pixels (default; xmin = x_min + 1, as ``read_csv`` expects);
            False writes 0-based continuous coordinates.

    Returns:
        What was written; crowd boxes (no CSV column) are skipped and the difficult flag is dropped,
        each reported per box.
    """
    out = Path(path)
    if out.suffix.lower() != ".csv":
        out = out / "annotations.csv"
    report = WriteReport("csv", str(out))
    names = dataset.category_names
    shift = 1.0 if one_based else 0.0
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(FIELDS)
        for im in dataset.images:
            ann = dataset.annotations[im.id]
            written = 0
            for j in range(len(ann)):
                if ann.iscrowd[j]:
                    report.skip("crowd_not_representable", im.file_name, j, "CSV has no crowd column; not written")
                    continue
                if ann.difficult[j]:
                    report.skip("difficult_dropped", im.file_name, j, "CSV has no difficult column")
                x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
                # 1-based pixels cannot hold a zero-width box (it would read back inverted); 0-based can
                if skip_degenerate(report, im.file_name, j, (x0, y0, x1, y1), "CSV", zero_ok=not one_based):
                    continue
                writer.writerow([im.path, im.width, im.height, names[int(ann.class_ids[j])],
                                 _num(x0 + shift), _num(y0 + shift), _num(x1), _num(y1)])
                written += 1
            if written == 0:
                writer.writerow([im.path, im.width, im.height, "", "", "", "", ""])
            report.images += 1
            report.boxes += written
    report_lost_fields(report, dataset, "CSV", truncated=True, segmentation=True)
    if dataset.splits:
        report.skip("splits_dropped", str(out), None, f"CSV has no splits; {sorted(dataset.splits)} not written")
    return report
