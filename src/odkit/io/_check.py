"""``check_dataset``: everything wrong or suspicious in a dataset, plus statistics; ``fix_dataset``.

Every finding is an ``Issue`` with a short code, a file (the annotation file for box problems, the image
file for image problems) and a location (``object <index>`` within the image's annotations).

Errors (``odkit check`` exits 1): ``missing_image``, ``unreadable_image``, ``truncated_image``,
``size_mismatch``, ``out_of_bounds``, ``zero_size``, ``inverted_box``, ``bad_box``, ``unknown_class``,
``duplicate``, and every error a lenient reader recorded (bad lines, bad XML...).
``zero_size`` means a width or height of 0 (within 1e-3 px of rounding slack). For boxes read from VOC
XML it means at most 1 px: VOC stores 1-based inclusive pixels, and a VOC box with xmin == xmax (1 px in
continuous coordinates) was drawn with no extent. A box of at most 1 px from any other format is only a
``tiny_box`` warning.
Warnings: ``near_duplicate``, ``tiny_box``, ``extension_mismatch``, ``file_name_mismatch``, ``missing_size``,
``invalid_exif_orientation``, ``no_annotations``, ``unannotated_file``.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from odkit.boxes import GroundTruth
from odkit.io._common import list_images
from odkit.io._images import ImageInfo, inspect_image
from odkit.io._model import Dataset, ImageRecord, Issue
from odkit.ops import box_iou

SMALL_MAX_AREA = 32.0**2  # COCO size ranges, on box w*h in pixels^2
MEDIUM_MAX_AREA = 96.0**2
_BOUNDS_TOLERANCE_PX = 1e-3  # slack for formats that store rounded coordinates (YOLO keeps 6 decimals)
_ASPECT_EDGES = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)  # w / h bucket edges
_ASPECT_NAMES = ("<1/3", "1/3-1/2", "1/2-1", "1-2", "2-3", ">3")


@dataclass
class CheckReport:
    """Findings and statistics of one dataset.

    Attributes:
        findings: every finding, in image order.
        stats: counts and distributions (plain types; see ``dataset_stats``).
        by_image: image id -> the findings about that image and its objects (used by ``fix_dataset``).
    """

    findings: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    by_image: dict[int, list[Issue]] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Issue]:
        """Findings with severity "error"."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Findings with severity "warning"."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings alone are fine)."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """Finding code -> number of findings."""
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.code] = out.get(f.code, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        """Plain-types form, for ``--json``."""
        return {"ok": self.ok, "errors": len(self.errors), "warnings": len(self.warnings),
                "counts": self.counts(), "findings": [f.to_dict() for f in self.findings], "stats": self.stats}


def _box_text(b: np.ndarray) -> str:
    """A box for messages: ``[180, 328, 181, 329.5]`` (at most 3 decimals)."""
    return "[" + ", ".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in b.tolist()) + "]"


def _in_file(ann: GroundTruth, j: int) -> int:
    """Object ``j``'s index in its annotation file (differs when a lenient read skipped an earlier one)."""
    return int(ann.extras[j].get("odkit_object", j))


def _where(im: ImageRecord, ann: GroundTruth, j: int, shared: bool) -> str:
    """``object j``; with the YOLO line, or the image name when many images share the annotation file."""
    line = ann.extras[j].get("yolo_line")
    where = f"object {_in_file(ann, j)}" if line is None else f"object {_in_file(ann, j)} (line {line})"
    return f"{im.file_name} {where}" if shared else where


def object_index(finding: Issue | int | str | None) -> int | None:
    """The object index of a finding (its ``object_index``), or, for a bare ``where`` string, the number
    after the last ``"object "`` when it is one; None otherwise. Never raises."""
    if isinstance(finding, Issue):
        return finding.object_index
    if not isinstance(finding, str) or "object " not in finding:
        return None
    head = finding.rsplit("object ", 1)[1].split()
    return int(head[0]) if head and head[0].isdigit() else None


def _box_findings(im: ImageRecord, ann: GroundTruth, known: set[int], bounds_hw: tuple[int, int],
                  near_dup_iou: float, file: str, shared: bool, voc_pixels: bool = False) -> list[Issue]:
    """Findings about the boxes of one image; ``voc_pixels``: the boxes were read from VOC XML (1-based
    inclusive pixels), where a box of at most 1 px had xmin == xmax (no extent)."""
    out: list[Issue] = []
    boxes = ann.boxes_xyxy
    h, w = bounds_hw
    good = np.ones(len(ann), bool)
    zero_max = 1 + _BOUNDS_TOLERANCE_PX if voc_pixels else _BOUNDS_TOLERANCE_PX
    for j in range(len(ann)):
        where = _where(im, ann, j, shared)
        b = boxes[j]
        cid = int(ann.class_ids[j])
        if cid not in known:
            out.append(Issue("unknown_class", "error", file, where, f"category id {cid} is not in the categories",
                             j))
        if not np.all(np.isfinite(b)):
            out.append(Issue("bad_box", "error", file, where, f"non-finite coordinates {b.tolist()} (xyxy)", j))
            good[j] = False
            continue
        bw, bh = float(b[2] - b[0]), float(b[3] - b[1])
        if bw < 0 or bh < 0:
            out.append(Issue("inverted_box", "error", file, where,
                             f"x_max < x_min or y_max < y_min: {_box_text(b)} (xyxy)", j))
            good[j] = False
        elif bw <= zero_max or bh <= zero_max:
            hint = (" (VOC xmin == xmax or ymin == ymax: 1 px in continuous coordinates)" if voc_pixels
                    else "")
            out.append(Issue("zero_size", "error", file, where,
                             f"box {_box_text(b)} (xyxy) is {bw:.3g}x{bh:.3g} px: no usable extent{hint}", j))
            good[j] = False
        elif bw <= 1 + _BOUNDS_TOLERANCE_PX or bh <= 1 + _BOUNDS_TOLERANCE_PX:
            out.append(Issue("tiny_box", "warning", file, where,
                             f"box {_box_text(b)} (xyxy) is {bw:.3g}x{bh:.3g} px: at most 1 px wide or high", j))
        if h > 0 and w > 0:
            tol = _BOUNDS_TOLERANCE_PX
            if b[0] < -tol or b[1] < -tol or b[2] > w + tol or b[3] > h + tol:
                out.append(Issue("out_of_bounds", "error", file, where,
                                 f"box {_box_text(b)} (xyxy) extends outside the {w}x{h} image", j))
    idx = np.flatnonzero(good)
    if len(idx) > 1:
        iou = box_iou(boxes[idx], boxes[idx])
        for a in range(len(idx)):
            for c in range(a + 1, len(idx)):
                i, k = int(idx[a]), int(idx[c])
                if ann.class_ids[i] != ann.class_ids[k]:
                    continue
                if np.array_equal(boxes[i], boxes[k]):
                    out.append(Issue("duplicate", "error", file, _where(im, ann, k, shared),
                                     f"exact duplicate of object {_in_file(ann, i)} (same class, box "
                                     f"{_box_text(boxes[i])})", k))
                elif iou[a, c] > near_dup_iou:
                    out.append(Issue("near_duplicate", "warning", file, _where(im, ann, k, shared),
                                     f"near duplicate of object {_in_file(ann, i)}: same class, IoU {iou[a, c]:.3f} > "
                                     f"{near_dup_iou}", k))
    return out


def _image_findings(im: ImageRecord, info: ImageInfo) -> list[Issue]:
    path = info.path
    if info.error == "file not found":
        return [Issue("missing_image", "error", im.annotation_file or path, None,
                      f"the annotations point to {path}, which does not exist")]
    out = []
    if info.error:
        code = "truncated_image" if info.truncated else "unreadable_image"
        out.append(Issue(code, "error", path, None, info.error))
        if info.stored_hw == (0, 0):
            return out
    if not info.extension_matches:
        out.append(Issue("extension_mismatch", "warning", path, None,
                         f"the file is {info.format} but its extension is {Path(path).suffix!r}"))
    if info.orientation is not None and not 1 <= info.orientation <= 8:
        out.append(Issue("invalid_exif_orientation", "warning", path, None,
                         f"EXIF orientation {info.orientation} is not in 1..8; treated as 1"))
    if im.width <= 0 or im.height <= 0:
        out.append(Issue("missing_size", "warning", im.annotation_file or path, None,
                         f"annotated size is {im.width}x{im.height}; the image is "
                         f"{info.image_hw[1]}x{info.image_hw[0]}"))
    elif (im.height, im.width) != info.image_hw:
        hint = ""
        if (im.height, im.width) == info.stored_hw:
            hint = (f" (the annotation gives the stored size; EXIF orientation {info.orientation} rotates the "
                    "image by 90 degrees)")
        out.append(Issue("size_mismatch", "error", im.annotation_file or path, "size",
                         f"annotated {im.width}x{im.height} (w x h) but the image is displayed as "
                         f"{info.image_hw[1]}x{info.image_hw[0]}{hint}"))
    return out


def dataset_stats(dataset: Dataset) -> dict[str, Any]:
    """Counts and distributions (plain types).

    Keys: ``images``, ``boxes``, ``images_without_boxes``, ``boxes_per_class`` (name -> n),
    ``boxes_per_image`` (min/mean/max), ``size_buckets`` (COCO small/medium/large on box w*h, overall and per
    class), ``aspect_ratio`` (w/h quantiles and buckets), ``image_sizes`` (distinct annotated w x h -> n).
    """
    names = dataset.category_names
    per_image = [len(a) for a in dataset.annotations.values()]
    all_boxes = [a.boxes_xyxy for a in dataset.annotations.values() if len(a)]
    boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 4))
    cats = np.concatenate([a.class_ids for a in dataset.annotations.values()] or [np.zeros(0, np.int64)])
    wh = boxes[:, 2:] - boxes[:, :2]
    area = wh[:, 0] * wh[:, 1]
    bucket = np.where(area < SMALL_MAX_AREA, 0, np.where(area < MEDIUM_MAX_AREA, 1, 2))
    buckets = ("small", "medium", "large")

    def _bucket_counts(mask: np.ndarray) -> dict[str, int]:
        return {b: int(np.sum(bucket[mask] == k)) for k, b in enumerate(buckets)}

    per_class = {names.get(int(c), str(c)): int(np.sum(cats == c)) for c in sorted(set(cats.tolist()))}
    valid = (wh[:, 1] > 0) & (wh[:, 0] >= 0)
    ratio = wh[valid, 0] / wh[valid, 1]
    aspect: dict[str, Any] = {}
    if ratio.size:
        q = np.quantile(ratio, [0.0, 0.05, 0.5, 0.95, 1.0])
        aspect = {"min": float(q[0]), "p5": float(q[1]), "median": float(q[2]), "p95": float(q[3]),
                  "max": float(q[4])}
        which = np.searchsorted(np.asarray(_ASPECT_EDGES), ratio, side="right")
        aspect["buckets"] = {n: int(np.sum(which == k)) for k, n in enumerate(_ASPECT_NAMES)}
    sizes: dict[str, int] = {}
    for im in dataset.images:
        key = f"{im.width}x{im.height}"
        sizes[key] = sizes.get(key, 0) + 1
    return {
        "images": len(dataset),
        "boxes": int(boxes.shape[0]),
        "images_without_boxes": int(sum(n == 0 for n in per_image)),
        "boxes_per_class": per_class,
        "boxes_per_image": {"min": min(per_image, default=0), "mean": float(np.mean(per_image)) if per_image
                            else 0.0, "max": max(per_image, default=0)},
        "size_buckets": {"all": _bucket_counts(np.ones(len(area), bool)),
                         **{names.get(int(c), str(c)): _bucket_counts(cats == c) for c in sorted(set(cats.tolist()))}},
        "aspect_ratio": aspect,
        "image_sizes": dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:20]),
    }


def check_dataset(
    dataset: Dataset, *, check_images: bool = True, decode: bool = True, near_dup_iou: float = 0.8,
    progress: bool | None = None,
) -> CheckReport:
    """Find what is wrong or suspicious in ``dataset``.

    Args:
        dataset: the dataset; read it with ``strict=False`` so that malformed entries become findings
            (``dataset.issues``) instead of stopping the read.
        check_images: open every image (existence, real format and size, EXIF orientation).
        decode: also decode the pixels (finds truncated files; slower).
        near_dup_iou: two same-class boxes with IoU above this are near duplicates. The default 0.8 (not
            0.9) catches all eight of BCCD's known near-duplicate pairs (IoU 0.83-0.93) while the next
            same-class overlap in BCCD is 0.60.
        progress: show a tqdm bar on stderr; None = only for 500+ images on a terminal.

    Returns:
        A ``CheckReport``; ``report.ok`` is False when there are errors.
    """
    from tqdm import tqdm

    report = CheckReport(findings=list(dataset.issues))
    known = {c.id for c in dataset.categories}
    show = (len(dataset) >= 500 and sys.stderr.isatty()) if progress is None else progress
    referenced: set[Path] = set()
    voc_pixels = dataset.source.get("format") == "voc"
    files = [im.annotation_file for im in dataset.images if im.annotation_file]
    shared_files = {f for f, n in Counter(files).items() if n > 1}
    for im, ann in tqdm(dataset, total=len(dataset), disable=not show, desc="check", unit="img", file=sys.stderr):
        file = im.annotation_file or im.file_name
        found: list[Issue] = []
        bounds = (im.height, im.width)
        if check_images:
            path = dataset.image_path(im)
            referenced.add(path.resolve())
            info = inspect_image(path, decode=decode)
            found.extend(_image_findings(im, info))
            if bounds[0] <= 0 or bounds[1] <= 0:
                bounds = info.image_hw
        if len(ann) == 0:
            found.append(Issue("no_annotations", "warning", file, None, f"image {im.file_name} has no objects"))
        found.extend(_box_findings(im, ann, known, bounds, near_dup_iou, file, file in shared_files, voc_pixels))
        report.findings.extend(found)
        report.by_image[im.id] = found
    if check_images and dataset.root is not None and dataset.root.is_dir():
        for p in list_images(dataset.root):
            if p.resolve() not in referenced:
                report.findings.append(Issue("unannotated_file", "warning", str(p), None,
                                             "image file in the images folder that no annotation refers to"))
    report.stats = dataset_stats(dataset)
    return report


def fix_dataset(dataset: Dataset, report: CheckReport) -> tuple[Dataset, list[str]]:
    """A cleaned copy of ``dataset`` from a check report, and one line per change.

    Changes: drop images whose file is missing or unreadable; take the real image size on
    ``size_mismatch`` / ``missing_size``; point ``file_name`` at the real file on ``file_name_mismatch``;
    drop zero-size, inverted, non-finite, unknown-class and exactly duplicated boxes; clip out-of-bounds
    boxes to the image. Near duplicates are only reported (they may be real, overlapping objects).
    """
    changes: list[str] = []
    drop_codes = {"zero_size", "inverted_box", "bad_box", "unknown_class", "duplicate"}
    bad_image = {"missing_image", "unreadable_image", "truncated_image"}
    images, annotations = [], {}
    per_file: dict[str, int] = {}
    for im in dataset.images:
        per_file[im.annotation_file] = per_file.get(im.annotation_file, 0) + 1
    for im, ann in dataset:
        path = dataset.image_path(im)
        shared = per_file.get(im.annotation_file, 0) > 1
        file = f"{im.annotation_file}: {im.file_name}" if shared else (im.annotation_file or im.file_name)
        found = report.by_image.get(im.id, [])
        codes = {f.code for f in found}
        if codes & bad_image:
            changes.append(f"{im.file_name}: image dropped ({', '.join(sorted(codes & bad_image))})")
            continue
        if codes & {"size_mismatch", "missing_size"}:
            info = inspect_image(path, decode=False)
            h, w = info.image_hw
            if h > 0 and w > 0 and (h, w) != (im.height, im.width):
                changes.append(f"{im.file_name}: size {im.width}x{im.height} -> {w}x{h}")
                im = replace(im, width=w, height=h)
        if Path(im.path).name != Path(im.file_name).name:
            changes.append(f"{im.file_name}: file name -> {Path(im.path).name}")
            im = replace(im, file_name=Path(im.path).name)
        drop = {f.object_index for f in found if f.code in drop_codes} - {None}
        if drop and len(ann):
            keep = np.array([j not in drop for j in range(len(ann))], bool)
            for j in sorted(drop):  # type: ignore[type-var]
                if j is not None and j < len(ann):
                    changes.append(f"{file}: object {_in_file(ann, j)} dropped {ann.boxes_xyxy[j].tolist()}")
            ann = ann[keep]
        if len(ann) and im.width > 0 and im.height > 0:
            b = ann.boxes_xyxy
            clipped = b.copy()
            clipped[:, 0::2] = np.clip(b[:, 0::2], 0, im.width)
            clipped[:, 1::2] = np.clip(b[:, 1::2], 0, im.height)
            moved = np.flatnonzero(np.any(clipped != b, axis=1))
            for j in moved.tolist():
                changes.append(f"{file}: box {b[j].tolist()} clipped to {clipped[j].tolist()}")
            if moved.size:  # only the clipped boxes get a new area (others keep e.g. COCO segment areas)
                area = ann.area.copy()
                area[moved] = (clipped[moved, 2] - clipped[moved, 0]) * (clipped[moved, 3] - clipped[moved, 1])
                ann = ann.with_(boxes_xyxy=clipped, area=area)
        images.append(im)
        annotations[im.id] = ann
    kept = {im.id for im in images}
    splits = {k: tuple(i for i in v if i in kept) for k, v in dataset.splits.items()}
    return replace(dataset, images=tuple(images), annotations=annotations, splits=splits, issues=()), changes
