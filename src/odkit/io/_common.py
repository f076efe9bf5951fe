"""Helpers shared by the readers and writers: issue collection, natural sort, image file lookup."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from odkit._runtime import paused_gc as paused_gc
from odkit.boxes import GroundTruth
from odkit.errors import AnnotationError
from odkit.io._model import Issue

# Image extensions we look for (Ultralytics' list, lower case, without the dot).
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "gif", "jp2", "mpo", "dng", "heic",
                    "heif", "avif")

# ``GroundTruth.extras`` keys that a reader adds for its own format (VOC tags, the YOLO line number,
# LabelMe points, CVAT attributes): never written into another format's files.
# ``odkit_object``: the object's index in its annotation file when a lenient read skipped an earlier object.
INTERNAL_EXTRA_PREFIXES = ("voc_", "yolo_", "labelme_", "cvat_", "odkit_")


@dataclass
class IssueLog:
    """Collects problems while reading; ``strict`` turns every error into an ``AnnotationError`` at once."""

    strict: bool = True
    issues: list[Issue] = field(default_factory=list)

    def error(self, code: str, file: str | os.PathLike[str], where: int | str | None, message: str,
              object_index: int | None = None) -> None:
        """An error: raised when strict, recorded (and the offending item skipped by the caller) otherwise."""
        if self.strict:
            raise AnnotationError(file, where, message)
        self.issues.append(Issue(code, "error", os.fspath(file), where, message, object_index))

    def warning(self, code: str, file: str | os.PathLike[str], where: int | str | None, message: str) -> None:
        """A warning: always recorded, never raised."""
        self.issues.append(Issue(code, "warning", os.fspath(file), where, message))


def natural_key(text: str) -> list[object]:
    """Sort key that orders ``img2`` before ``img10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def is_image_file(path: Path) -> bool:
    """True when ``path``'s extension is a known image extension."""
    return path.suffix.lower().lstrip(".") in IMAGE_EXTENSIONS


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive), natural-sorted by relative path; hidden entries skipped."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out.extend(Path(dirpath) / f for f in filenames if not f.startswith(".") and is_image_file(Path(f)))
    return sorted(out, key=lambda p: natural_key(p.relative_to(folder).as_posix()))


class ImageFinder:
    """Finds the image a file name refers to inside one folder; the folder is listed once.

    ``find`` tries the name as given (it may hold sub-folders), then its base name, then the same stem
    (or one of ``fallback_stems``) with any image extension. That finds ``x.jpg`` for an annotation that
    says ``x.png`` or ``x``.
    """

    def __init__(self, images_dir: Path) -> None:
        self.images_dir = images_dir
        try:
            entries = os.listdir(images_dir)
        except OSError:
            entries = []
        self._names = set(entries)
        self._by_stem: dict[str, str] = {}
        for name in sorted(entries):
            stem, ext = os.path.splitext(name)
            if ext.lower().lstrip(".") in IMAGE_EXTENSIONS:
                self._by_stem.setdefault(stem, name)

    def find(self, file_name: str, fallback_stems: Iterable[str] = ()) -> tuple[str, bool]:
        """(path relative to the folder (posix), whether it exists); ``file_name`` itself when not found."""
        name = file_name.replace("\\", "/")
        if "/" in name:
            if (self.images_dir / name).is_file():
                return name, True
            base = name.rsplit("/", 1)[1]
        else:
            base = name
        if base in self._names and (self.images_dir / base).is_file():
            return base, True
        stem, ext = os.path.splitext(base)
        first = stem if ext.lower().lstrip(".") in IMAGE_EXTENSIONS else base
        for s in (first, *fallback_stems):
            if s and s in self._by_stem:
                return self._by_stem[s], True
        return name, False


def find_image(images_dir: Path, file_name: str, fallback_stems: Iterable[str] = ()) -> tuple[str, bool]:
    """``ImageFinder(images_dir).find(file_name, fallback_stems)`` for a single look-up."""
    return ImageFinder(images_dir).find(file_name, fallback_stems)


def guess_images_dir(candidates: Iterable[Path], file_names: list[str]) -> Path | None:
    """The first candidate folder in which some of ``file_names`` (or their stems) exist."""
    sample = file_names[:20]
    for cand in candidates:
        if not cand.is_dir():
            continue
        if not sample:
            return cand
        finder = ImageFinder(cand)
        if any(finder.find(f)[1] for f in sample):
            return cand
    return None


def as_int(text: str) -> int:
    """Parse an int that may be written as a float (``"640.0"``); raises ValueError otherwise."""
    value = float(text)
    if not np.isfinite(value) or value != int(value):
        raise ValueError(f"{text!r} is not an integer")
    return int(value)


@dataclass
class WriteReport:
    """What a writer wrote, and what it could not represent.

    Attributes:
        fmt: the format written.
        path: the file or folder written.
        images: number of images written.
        boxes: number of boxes written.
        issues: objects or images skipped or changed, each with its image file and object index
            (e.g. crowd boxes a format cannot represent, coordinates rounded to whole pixels).
    """

    fmt: str
    path: str
    images: int = 0
    boxes: int = 0
    issues: list[Issue] = field(default_factory=list)

    def skip(self, code: str, file: str, where: int | str | None, message: str) -> None:
        """Record an object (``where`` = its index in the image) or image (None) not written as it was."""
        self.issues.append(Issue(code, "warning", file, f"object {where}" if isinstance(where, int) else where,
                                 message))

    def summary(self) -> str:
        """One line per kind of problem, with counts."""
        counts: dict[str, int] = {}
        for i in self.issues:
            counts[i.code] = counts.get(i.code, 0) + 1
        lines = [f"wrote {self.images} images, {self.boxes} boxes as {self.fmt} to {self.path}"]
        lines += [f"  {code}: {n}" for code, n in sorted(counts.items())]
        return "\n".join(lines)


def skip_degenerate(report: WriteReport, file: str, j: int, box_xyxy: Iterable[float], fmt: str,
                    zero_ok: bool) -> bool:
    """True (and the box reported) when ``fmt`` cannot hold it: an inverted box (x_max < x_min or
    y_max < y_min) or a non-finite one always, a zero-width or zero-height box unless ``zero_ok``."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    if not all(np.isfinite([x0, y0, x1, y1])):
        report.skip("bad_box", file, j, f"non-finite box {[x0, y0, x1, y1]} (xyxy) not written")
        return True
    if x1 < x0 or y1 < y0:
        report.skip("inverted_box", file, j, f"box {[x0, y0, x1, y1]} (xyxy) has x_max < x_min or y_max < y_min; "
                    f"{fmt} cannot hold it: not written")
        return True
    if not zero_ok and (x1 == x0 or y1 == y0):
        report.skip("zero_size", file, j, f"box {[x0, y0, x1, y1]} (xyxy) has zero width or height; {fmt} "
                    "cannot hold it: not written")
        return True
    return False


def image_dir_candidates(*bases: Path) -> list[Path]:
    """Usual image folders around annotation files: ``images/``, ``JPEGImages/`` (also one level down)."""
    out: list[Path] = []
    for base in bases:
        out += [base / "images", base / "JPEGImages"]
        if base.is_dir():
            subs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
            out += [d / n for d in subs for n in ("images", "JPEGImages")]
    return [*out, *bases]


def report_lost_fields(report: WriteReport, dataset: Any, fmt: str, truncated: bool, segmentation: bool) -> None:
    """Record, per object, the VOC truncated flags and COCO segmentations a format cannot store."""
    for im, ann in dataset:
        if truncated:
            for j in np.flatnonzero(ann.truncated & ~ann.iscrowd).tolist():
                report.skip("truncated_dropped", im.file_name, j, f"{fmt} has no truncated flag")
        if segmentation:
            for j, extra in enumerate(ann.extras):
                if extra.get("segmentation") and not ann.iscrowd[j]:  # [] / {} / None: nothing is lost
                    report.skip("segmentation_dropped", im.file_name, j, f"{fmt} stores boxes only; the "
                                "segmentation is not written")




def checked_ground_truth(
    log: IssueLog,
    file: str | os.PathLike[str],
    where: Callable[[int], str],
    boxes_xyxy: Any,
    class_ids: Any,
    **columns: Any,
) -> GroundTruth:
    """The objects of one image as a ``GroundTruth``, after the one rule every reader applies to boxes.

    A box with a non-finite coordinate (``bad_box``) or with ``x_max < x_min`` or ``y_max < y_min``
    (``inverted_box``) cannot be evaluated or trained on: it is an error naming ``file`` and ``where(j)``
    (raised when ``log.strict``, else recorded and the object skipped). Zero-size and out-of-bounds boxes are
    kept (``odkit check`` reports them). When objects are skipped, the others keep their index in the file
    in ``extras["odkit_object"]`` so that later findings name the right object.

    Args:
        log: where errors go.
        file: the annotation file, for messages.
        where: object index in the file -> its location for messages (``"object 3"``, ``"shapes[3]"``).
        boxes_xyxy: (N, 4) absolute xyxy boxes in continuous pixels.
        class_ids: (N,) category ids.
        **columns: the other ``GroundTruth`` columns (``difficult``, ``truncated``, ``extras``...), N long.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    with np.errstate(invalid="ignore"):
        bad = ~finite | (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if not bad.any():
        return GroundTruth(boxes, class_ids, **columns)
    for j in np.flatnonzero(bad).tolist():
        if finite[j]:
            log.error("inverted_box", file, where(j), f"box {boxes[j].tolist()} (xyxy) has x_max < x_min or "
                      "y_max < y_min; expected x_min <= x_max and y_min <= y_max")
        else:
            log.error("bad_box", file, where(j), f"non-finite coordinates {boxes[j].tolist()} (xyxy)")
    keep = np.flatnonzero(~bad)
    kept = {name: np.asarray(value)[keep] for name, value in columns.items() if name != "extras" and value is not None}
    extras = columns.get("extras") or ({},) * len(boxes)
    kept_extras = tuple({**extras[j], "odkit_object": j} for j in keep.tolist())
    return GroundTruth(boxes[keep], np.asarray(class_ids)[keep], **kept, extras=kept_extras)
