"""YOLO txt labels laid out as Ultralytics expects.

A ``data.yaml`` gives ``path`` (dataset root; the YAML's folder when absent), ``train`` / ``val`` /
``test`` (each a folder of images, a ``.txt`` list of image paths, or a list of those) and ``names``
(a list, or a dict ``{0: name}``) and/or ``nc``. Each image's label file is found by replacing the **last**
``/images/`` path component with ``/labels/`` and the extension with ``.txt``. Each line is
``class x_center y_center width height``, normalized to the image size (as displayed, i.e. after EXIF
orientation), with a zero-based integer class. A missing label file means an image without objects.

Normalized coordinates exist only in this module.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from odkit.boxes import GroundTruth
from odkit.errors import AnnotationError
from odkit.io._common import IssueLog, WriteReport, list_images, report_lost_fields, skip_degenerate
from odkit.io._images import inspect_image
from odkit.io._model import Category, Dataset, ImageRecord, Issue

_SPLIT_KEYS = ("train", "val", "test", "trainval")


def label_path(image_path: str | os.PathLike[str]) -> Path:
    """Ultralytics' rule: the **last** ``images`` path component -> ``labels``, extension -> ``.txt``.

    Works on path components, so relative paths (``images/a.jpg``, ``../d/images/a.jpg``) follow the same
    rule as absolute ones; a path without an ``images`` component keeps its folder.
    """
    parts = list(Path(image_path).parts)
    for k in range(len(parts) - 2, -1, -1):  # never the file name itself
        if parts[k] == "images":
            parts[k] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _absolute(path: Path) -> Path:
    """``path`` made absolute against the current folder and normalized (symlinks kept as they are)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise AnnotationError(path, line, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise AnnotationError(path, None, f"invalid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(path, None, f"cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"expected a mapping of keys; got {type(data).__name__}")
    return data


def _names(data: dict[str, Any], path: Path) -> list[str]:
    names, nc = data.get("names"), data.get("nc")
    if names is None and nc is None:
        raise AnnotationError(path, "names", "either 'names' or 'nc' is required")
    if isinstance(names, dict):
        by_index: dict[int, Any] = {}
        for k, v in names.items():
            integral = (isinstance(k, int) and not isinstance(k, bool)) or (isinstance(k, str) and k.isdigit())
            if not integral:
                raise AnnotationError(path, "names", f"dict keys must be class indices 0, 1, ...; got {k!r}")
            by_index[int(k)] = v
        keys = sorted(by_index)
        if keys != list(range(len(keys))) or len(by_index) != len(names):
            raise AnnotationError(
                path, "names", f"class indices must be 0..{len(names) - 1}, once each; got {list(names)}"
            )
        out = [str(by_index[k]) for k in keys]
    elif isinstance(names, list):
        out = [str(n) for n in names]
    elif names is None:
        if not isinstance(nc, int) or isinstance(nc, bool) or nc < 0:
            raise AnnotationError(path, "nc", f"nc must be a non-negative integer; got {nc!r}")
        out = [f"class{i}" for i in range(nc)]
    else:
        raise AnnotationError(path, "names", f"expected a list or a dict; got {type(names).__name__}")
    if nc is not None and nc != len(out):
        raise AnnotationError(path, "nc", f"nc={nc} but names has {len(out)} entries")
    if len(set(out)) != len(out):
        raise AnnotationError(path, "names", f"class names must be unique; got {out}")
    return out


def _split_candidates(e: str, root: Path, yaml_dir: Path) -> list[Path]:
    """Where a relative split entry may be: under ``root`` (Ultralytics), beside the YAML, and with a
    leading ``../`` stripped (Roboflow exports write ``train: ../train/images`` next to ``train/``)."""
    if Path(e).is_absolute():
        return [Path(e)]
    out = [root / e, yaml_dir / e]
    stripped = e
    while stripped.startswith(("../", "..\\")):
        stripped = stripped[3:]
    if stripped != e:
        out += [root / stripped, yaml_dir / stripped]
    unique: list[Path] = []
    for c in out:
        c = _absolute(c)
        if c not in unique:
            unique.append(c)
    return unique


def _split_images(entry: Any, root: Path, yaml_path: Path, key: str, log: IssueLog) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    out: list[Path] = []
    for e in entries:
        if not isinstance(e, str):
            raise AnnotationError(yaml_path, key, f"expected a path or a list of paths; got {e!r}")
        candidates = _split_candidates(e, root, yaml_path.parent)
        p = next((c for c in candidates if c.is_dir() or (c.is_file() and c.suffix == ".txt")), None)
        if p is None:
            tried = ", ".join(str(c) for c in candidates)
            log.error("missing_split", yaml_path, key, f"{key}: {e!r} is neither a folder nor a .txt list "
                      f"(tried {tried})")
            continue
        if p != candidates[0]:
            log.warning("split_path_fallback", yaml_path, key,
                        f"{key}: {e!r} not found under the root {root}; using {p}")
        before = len(out)
        if p.is_dir():
            out.extend(list_images(p))
        else:
            try:
                listing = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise AnnotationError(p, None, f"cannot read the image list: {exc}") from None
            for line in listing.splitlines():
                line = line.strip()
                if line:
                    q = Path(line)
                    out.append(q if q.is_absolute() else (p.parent / q))
        if len(out) == before:
            log.warning("empty_split", yaml_path, key, f"{key}: {e!r} -> {p} lists no images")
    return [_absolute(p) for p in out]


def _resolve_root(data: dict[str, Any], yaml_path: Path, log: IssueLog) -> Path:
    """The dataset root: ``path:`` (absolute; relative -> the current folder if it exists there, else the
    YAML's folder, as Ultralytics tries the current folder first), or the YAML's folder when absent."""
    value = data.get("path")
    if value is not None and not isinstance(value, str):
        raise AnnotationError(yaml_path, "path", f"expected a folder path; got {value!r}")
    if not value:
        return yaml_path.parent
    given = Path(value)
    root = _absolute(given if given.is_absolute() or given.is_dir() else yaml_path.parent / given)
    if not root.is_dir():
        log.warning("missing_root", yaml_path, "path", f"path: {value!r} -> {root} is not a folder; "
                    "split entries are also looked up beside the YAML")
    return root


def _parse_labels(label_file: Path, n_classes: int, log: IssueLog) -> list[tuple[int, list[float], int]]:
    rows = []
    try:
        text = label_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.error("unreadable_annotation", label_file, None, f"cannot read: {exc}")
        return rows
    for line_no, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            log.error("bad_line", label_file, line_no,
                      f"expected 5 fields 'class cx cy w h', got {len(parts)}")
            continue
        try:
            cls_f = float(parts[0])
            values = [float(v) for v in parts[1:]]
        except ValueError:
            log.error("bad_line", label_file, line_no, f"expected numbers; got {line.strip()!r}")
            continue
        if not math.isfinite(cls_f) or cls_f != int(cls_f):
            log.error("bad_line", label_file, line_no, f"class must be an integer; got {parts[0]!r}")
            continue
        cls = int(cls_f)
        if not 0 <= cls < n_classes:
            log.error("unknown_class", label_file, line_no,
                      f"class {cls} is beyond the names list (0..{n_classes - 1})")
            continue
        if not all(np.isfinite(values)) or min(values) < 0 or max(values) > 1.01:
            log.error("bad_line", label_file, line_no,
                      f"coordinates must be normalized to [0, 1]; got {parts[1:]}")
            continue
        rows.append((cls, values, line_no))
    return rows


def _orphan_labels(images: dict[Path, int], log: IssueLog) -> None:
    """Label files beside the images' label folders whose image does not exist (recorded, never raised)."""
    expected = {label_path(p) for p in images}
    folders = {lf.parent for lf in expected}
    for folder in sorted(folders):
        for lf in sorted(folder.glob("*.txt")):
            if lf not in expected:
                log.issues.append(Issue("missing_image", "error", str(lf), None,
                                        "label file whose image is missing (no image with this stem in the split)"))


def _find_yaml(path: Path) -> Path | None:
    if path.is_file():
        return path
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (path / name).is_file():
            return path / name
    found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
    return found[0] if len(found) == 1 else None


def read_yolo(
    path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    class_names: list[str] | None = None,
) -> Dataset:
    """Read a YOLO dataset.

    Args:
        path: a ``data.yaml``, a folder holding one, or a folder with ``images/`` (+ ``labels/``) and no
            YAML (then ``class_names`` or a ``classes.txt`` gives the names).
        images_dir: without a YAML, the images folder (default ``path/images``).
        strict: raise ``AnnotationError`` on the first problem; when False, skip bad lines / images and
            record them in ``Dataset.issues``.
        class_names: class names when there is no YAML.

    Returns:
        The dataset: category ids are the YOLO class indices 0..K-1, image sizes are read from the image
        files (needed to denormalize), splits come from ``train``/``val``/``test``.

    Raises:
        AnnotationError: naming the YAML key, or the label file and line.
    """
    path = _absolute(Path(path))
    log = IssueLog(strict)
    yaml_path = _find_yaml(path) if path.exists() else None
    split_paths: dict[str, list[Path]] = {}
    if yaml_path is not None:
        data = _load_yaml(yaml_path)
        if "validation" in data and "val" not in data:
            data["val"] = data.pop("validation")
        names = _names(data, yaml_path)
        root = _resolve_root(data, yaml_path, log)
        for key in _SPLIT_KEYS:
            if data.get(key):
                split_paths[key] = _split_images(data[key], root, yaml_path, key, log)
        if not split_paths:
            raise AnnotationError(yaml_path, None, "no 'train', 'val' or 'test' key (at least 'train' and 'val' "
                                                   "are required by Ultralytics)")
        sets = [set(v) for v in split_paths.values()]
        if len(sets) > 1 and all(s == sets[0] for s in sets[1:]) and sets[0]:
            log.warning("splits_identical", yaml_path, None,
                        f"{', '.join(split_paths)} list the same {len(sets[0])} images: read as one unsplit set")
            split_paths = {"all": next(iter(split_paths.values()))}
    elif path.is_dir():
        root = path
        img_dir = _absolute(Path(images_dir)) if images_dir is not None else path / "images"
        if not img_dir.is_dir():
            raise AnnotationError(path, None, "no data.yaml and no images/ folder: not a YOLO dataset")
        if class_names is None and (path / "classes.txt").is_file():
            class_names = [ln.strip() for ln in (path / "classes.txt").read_text().splitlines() if ln.strip()]
        if class_names is None:
            raise AnnotationError(path, None, "no data.yaml: pass class_names (or add classes.txt)")
        names = list(class_names)
        split_paths["all"] = [_absolute(p) for p in list_images(img_dir)]
    else:
        raise AnnotationError(path, None, "no such file or folder")

    ordered: dict[Path, int] = {}
    for paths in split_paths.values():
        for p in paths:
            ordered.setdefault(p, len(ordered) + 1)
    images, annotations = [], {}
    show = len(ordered) >= 500 and sys.stderr.isatty()
    from tqdm import tqdm

    for p, image_id in tqdm(ordered.items(), total=len(ordered), disable=not show, desc="yolo", unit="img",
                            file=sys.stderr):
        try:
            rel = p.relative_to(root).as_posix()
        except ValueError:
            rel = p.as_posix()
        lf = label_path(p)
        info = inspect_image(p, decode=False)
        h, w = info.image_hw
        if info.error:
            log.error("unreadable_image", p, None, f"image needed to denormalize YOLO boxes: {info.error}")
        images.append(ImageRecord(image_id, rel, rel, w, h, str(lf) if lf.is_file() else ""))
        if not lf.is_file():
            continue
        rows = _parse_labels(lf, len(names), log)
        if not rows:
            continue
        if info.error:
            continue
        arr = np.array([r[1] for r in rows], np.float64)
        scale = np.array([w, h, w, h], np.float64)
        cxcywh = arr * scale
        boxes = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
        annotations[image_id] = GroundTruth(
            boxes, np.array([r[0] for r in rows], np.int64),
            extras=tuple({"yolo_line": r[2]} for r in rows),
        )
    _orphan_labels(ordered, log)
    splits = {} if "all" in split_paths else {k: [ordered[p] for p in v] for k, v in split_paths.items()}
    return Dataset(
        images=tuple(images), categories=tuple(Category(i, n) for i, n in enumerate(names)),
        annotations=annotations, root=root, splits=splits, issues=tuple(log.issues),
        source={"format": "yolo", "path": str(path)},
    )


def _assign_folders(dataset: Dataset) -> dict[int, str]:
    """Image id -> the split folder it is written to (the first of train/val/test/... that lists it)."""
    order = [s for s in _SPLIT_KEYS if s in dataset.splits] + [s for s in dataset.splits if s not in _SPLIT_KEYS]
    folder: dict[int, str] = {}
    for s in order:
        for i in dataset.splits[s]:
            folder.setdefault(i, s)
    if dataset.splits:
        for im in dataset.images:
            folder.setdefault(im.id, "train")
    return folder


def yolo_layout(dataset: Dataset) -> dict[int, str]:
    """Image id -> path of the image inside a YOLO output folder (``images/<split>/<name>``)."""
    folder = _assign_folders(dataset)
    out: dict[int, str] = {}
    used: set[str] = set()
    for im in dataset.images:
        name = Path(im.path).name
        sub = folder.get(im.id, "")
        rel = "/".join(x for x in ("images", sub, name) if x)
        if rel in used:
            rel = "/".join(x for x in ("images", sub, f"{im.id}_{name}") if x)
        used.add(rel)
        out[im.id] = rel
    return out


def _fmt(v: float) -> str:
    return f"{v:.6f}"


def write_yolo(dataset: Dataset, path: str | os.PathLike[str]) -> WriteReport:
    """Write labels and ``data.yaml``: ``labels/<split>/<stem>.txt`` beside ``images/<split>/``.

    Image paths inside the output follow ``yolo_layout``; ``write_annotations(copy_images=...)`` puts the
    images there. Class indices are the categories' positions in id order. Images without objects get an
    empty label file.

    Returns:
        What was written; crowd boxes (not representable), inverted and zero-size boxes (Ultralytics
        rejects them) and boxes wholly outside the image are skipped, the difficult flag is dropped and
        boxes partly outside the image are clipped, each reported per box.
    """
    out = Path(path)
    report = WriteReport("yolo", str(out))
    layout = yolo_layout(dataset)
    index = {c.id: k for k, c in enumerate(dataset.categories)}
    for im in dataset.images:
        ann = dataset.annotations[im.id]
        h, w = im.height, im.width
        if (h <= 0 or w <= 0) and len(ann):
            info = inspect_image(dataset.image_path(im), decode=False)
            h, w = info.image_hw
        lines = []
        if len(ann) and (h <= 0 or w <= 0):
            report.skip("unknown_size", im.file_name, None,
                        f"image size unknown and the image is unreadable; {len(ann)} boxes not written")
        else:
            for j in range(len(ann)):
                if ann.iscrowd[j]:
                    report.skip("crowd_not_representable", im.file_name, j, "YOLO has no crowd flag; not written")
                    continue
                if ann.difficult[j]:
                    report.skip("difficult_dropped", im.file_name, j, "YOLO has no difficult flag; written as "
                                "a normal box")
                x0, y0, x1, y1 = ann.boxes_xyxy[j].tolist()
                if skip_degenerate(report, im.file_name, j, (x0, y0, x1, y1), "YOLO", zero_ok=False):
                    continue
                c = (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))
                if c[2] <= c[0] or c[3] <= c[1]:
                    report.skip("outside_image", im.file_name, j, f"box {[x0, y0, x1, y1]} lies outside the image "
                                f"{w}x{h}; not written")
                    continue
                if c != (x0, y0, x1, y1):
                    report.skip("clipped", im.file_name, j, f"box {[x0, y0, x1, y1]} clipped to the image {w}x{h}")
                x0, y0, x1, y1 = c
                vals = ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h)
                lines.append(f"{index[int(ann.class_ids[j])]} " + " ".join(_fmt(v) for v in vals) + "\n")
        lf = label_path(out / layout[im.id])
        lf.parent.mkdir(parents=True, exist_ok=True)
        lf.write_text("".join(lines), encoding="utf-8")
        report.images += 1
        report.boxes += len(lines)
    report_lost_fields(report, dataset, "YOLO", truncated=True, segmentation=True)
    data: dict[str, Any] = {}
    if dataset.splits:
        folders = _assign_folders(dataset)
        in_splits = {i for ids in dataset.splits.values() for i in ids}
        unsplit = [im.id for im in dataset.images if im.id not in in_splits]
        members = {k: list(v) for k, v in dataset.splits.items()}
        if unsplit:
            members["train"] = members.get("train", []) + unsplit
            report.skip("unsplit_in_train", str(out), None, f"{len(unsplit)} images in no split were put in "
                        "the train split (images/train)")
        for split, ids in members.items():
            if all(folders[i] == split for i in ids) and sum(v == split for v in folders.values()) == len(ids):
                data[split] = f"images/{split}"
            else:  # overlapping splits (VOC trainval): a list file
                (out / f"{split}.txt").write_text("".join(f"./{layout[i]}\n" for i in ids), encoding="utf-8")
                data[split] = f"{split}.txt"
        if "train" not in data:
            data["train"] = data.get("trainval", data.get("val", data[next(iter(data))]))
            report.skip("train_from_other_split", str(out / "data.yaml"), "train",
                        f"no 'train' split; train: set to {data['train']} (Ultralytics requires it)")
        if "val" not in data:
            data["val"] = data["train"]
            report.skip("val_is_train", str(out / "data.yaml"), "val", "no 'val' split; val: set to train "
                        "(Ultralytics requires both)")
    else:
        data["train"] = "images"
        data["val"] = "images"
    data["nc"] = len(dataset.categories)
    data["names"] = [c.name for c in dataset.categories]
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return report
