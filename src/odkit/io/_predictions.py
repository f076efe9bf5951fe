"""Predictions on disk: COCO results JSON, YOLO txt with a confidence column, CSV with a score column.

Every reader gives ``{image_id: Detections}`` for the images of a ground-truth ``Dataset`` (absolute xyxy
float64 boxes, float64 scores, ``class_ids`` = the dataset's category ids), so that predictions in any of
these formats are evaluated against ground truth in any format odkit reads (``odkit eval``):

- **COCO results** ``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]``: ids are the
  dataset's (as written by :func:`write_coco_results`); parsed by the one COCO reader (``odkit._coco_json``).
- **YOLO txt**: one ``<image stem>.txt`` per image, lines ``class cx cy w h conf`` normalized to the image
  size (Ultralytics' ``save_txt`` + ``save_conf``); an image without a file has no detections. Class
  indices become names through ``data.yaml`` / ``classes.txt`` beside the predictions (or one folder up),
  else ``class_names``, else the ground truth's own YOLO classes; names are matched to the dataset's.
- **CSV**: a header with ``filename``, ``class`` (a name), ``xmin, ymin, xmax, ymax`` and ``score`` (or
  ``confidence`` / ``conf``) columns; 1-based VOC-style pixels like odkit's CSV annotations unless
  ``one_based=False``.

A prediction for an image that is not in the ground truth is an error naming it (pycocotools: "Results do
not correspond to current coco set"); nothing is dropped silently.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from odkit._coco_json import CocoGroundTruth, load_coco_results
from odkit._runtime import dumps_json
from odkit.boxes import Detections
from odkit.errors import AnnotationError, DatasetError
from odkit.io._model import Dataset

PREDICTION_FORMATS = ("coco", "yolo", "csv")
_SCORE_COLUMNS = ("score", "confidence", "conf", "probability")


def write_coco_results(
    detections: Sequence[Detections],
    image_ids: Sequence[Hashable],
    category_ids: Sequence[int] | None,
    path: str | os.PathLike[str],
) -> int:
    """Write detections as a COCO results list (atomically: temp file, then rename).

    Args:
        detections: one ``Detections`` per image.
        image_ids: the image id of each (the ground truth's ids).
        category_ids: the COCO category id of each class index (``category_ids[k]`` for ``class_ids == k``,
            as a model's contiguous labels need); None when ``class_ids`` already are category ids.
        path: the ``.json`` file.

    Returns:
        the number of results written.

    Raises:
        ValueError: lengths differ or a class index has no category id.
    """
    if len(detections) != len(image_ids):
        raise ValueError(f"got {len(detections)} Detections for {len(image_ids)} image_ids")
    lut = None if category_ids is None else np.asarray(category_ids, dtype=np.int64)
    out: list[dict[str, Any]] = []
    for i, (det, image_id) in enumerate(zip(detections, image_ids)):
        if not isinstance(det, Detections):
            raise ValueError(f"detections[{i}] must be odkit.boxes.Detections; got {type(det).__name__}")
        cls = det.class_ids
        if lut is not None:
            if len(cls) and (cls.min() < 0 or cls.max() >= lut.size):
                raise ValueError(f"detections[{i}]: class index {int(cls.max())} has no entry in category_ids "
                                 f"(length {lut.size})")
            cls = lut[cls]
        xywh = np.concatenate([det.boxes_xyxy[:, :2], det.boxes_xyxy[:, 2:] - det.boxes_xyxy[:, :2]], axis=1)
        out += [{"image_id": image_id, "category_id": c, "bbox": b, "score": s}
                for c, b, s in zip(cls.tolist(), xywh.tolist(), det.scores.tolist())]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(dumps_json(out))
    os.replace(tmp, path)
    return len(out)


def read_coco_results(path: str | os.PathLike[str], dataset: Dataset, *, strict: bool = False
                      ) -> tuple[dict[Hashable, Detections], list[str]]:
    """A COCO results file as ``{image_id: Detections}`` for the images of ``dataset`` (every image
    present, empty when it has no result).

    Args:
        path: the results ``.json``.
        dataset: the ground truth the results refer to (its image and category ids).
        strict: a result whose category is not in ``dataset`` is an error; by default it is left out (as
            pycocotools does) and named in the returned notes.

    Returns:
        the detections per image, and notes on what was left out.

    Raises:
        EvaluationError: naming ``results[i]``: an image id not in the dataset, a malformed entry...
    """
    gt = _coco_view(dataset, str(path))
    dets, unknown = load_coco_results(path, gt, strict=strict)
    notes = [unknown.message(os.fspath(path)) + "; left out"] if unknown is not None else []
    class_ids = np.asarray(gt.class_ids, dtype=np.int64)
    return _group(dataset, dets.det_image, dets.det_xyxy, dets.det_score, class_ids[dets.det_class]), notes


def _coco_view(dataset: Dataset, path: str) -> CocoGroundTruth:
    """The id lists of ``dataset`` in the shape the COCO results loader takes (no annotations needed)."""
    empty = np.zeros(0, dtype=np.int64)
    return CocoGroundTruth(
        image_ids=[im.id for im in dataset.images], class_ids=[c.id for c in dataset.categories],
        class_names=[c.name for c in dataset.categories], gt_image=empty, gt_class=empty,
        gt_xyxy=np.zeros((0, 4)), gt_box_area=np.zeros(0), gt_area=np.zeros(0), gt_crowd=np.zeros(0, bool),
        path=path, gt_zero_id=np.zeros(0, bool), images=[], categories=[], annotations=[], ann_rows=empty,
        ann_ids=[],
    )


def _group(dataset: Dataset, image_index: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
           class_ids: np.ndarray) -> dict[Hashable, Detections]:
    """Flat detections (``image_index`` into ``dataset.images``) as one ``Detections`` per image, in order."""
    order = np.argsort(image_index, kind="stable")
    starts = np.searchsorted(image_index[order], np.arange(len(dataset.images) + 1))
    out = {}
    for k, im in enumerate(dataset.images):
        rows = order[starts[k]:starts[k + 1]]
        out[im.id] = Detections(boxes_xyxy[rows], scores[rows], class_ids[rows])
    return out


def detect_prediction_format(path: str | os.PathLike[str]) -> str:
    """``"coco"``, ``"yolo"`` or ``"csv"`` from a file's extension or the files of a folder.

    Raises:
        DatasetError: when it cannot tell (the message says how to choose).
    """
    p = Path(path)
    if p.is_dir():
        found = {s for s in (".json", ".txt", ".csv") if next(p.glob(f"*{s}"), None) is not None}
        if found - {".txt"} and not _has_label_txt(p):  # a lone classes.txt beside other files names classes
            found.discard(".txt")
        if len(found) == 1:
            return {".json": "coco", ".txt": "yolo", ".csv": "csv"}[found.pop()]
        what = "no .json, .txt or .csv files" if not found else f"{sorted(found)} files"
    else:
        suffix = p.suffix.lower()
        if suffix in (".json", ".txt", ".csv"):
            return {".json": "coco", ".txt": "yolo", ".csv": "csv"}[suffix]
        what = f"the extension {suffix!r}"
    raise DatasetError(f"{p}: cannot tell the predictions' format from {what}; pass --pred-format "
                       f"{{{','.join(PREDICTION_FORMATS)}}} (fmt= in the library)")


def _has_label_txt(folder: Path) -> bool:
    return any(f.name != "classes.txt" for f in folder.glob("*.txt"))


def read_predictions(
    sources: Sequence[str | os.PathLike[str]],
    dataset: Dataset,
    fmt: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    one_based: bool = True,
    strict: bool = False,
) -> tuple[dict[Hashable, Detections], list[str]]:
    """Predictions from one or more files or folders (shards), merged, as ``{image_id: Detections}``.

    Args:
        sources: files or folders; shards of one prediction set (an image may appear in several; its
            detections are concatenated in the order given).
        dataset: the ground truth (images matched by id for COCO, by file stem for YOLO and CSV).
        fmt: ``"coco"``, ``"yolo"`` or ``"csv"``; detected per source when None.
        class_names: YOLO class index -> name, when no ``data.yaml`` / ``classes.txt`` is beside the files.
        one_based: CSV coordinates are 1-based VOC-style pixels (odkit's CSV convention).
        strict: a prediction whose class is not in ``dataset`` is an error instead of being left out.

    Returns:
        detections for every image of ``dataset`` (empty where there are none), and notes on what was
        left out (unknown categories).

    Raises:
        AnnotationError / EvaluationError / DatasetError: naming the file and line or entry.
    """
    parts: list[dict[Hashable, Detections]] = []
    notes: list[str] = []
    for source in sources:
        kind = fmt or detect_prediction_format(source)
        if kind not in PREDICTION_FORMATS:
            raise DatasetError(f"unknown prediction format {kind!r}; expected one of {list(PREDICTION_FORMATS)}")
        files = _files(Path(source), kind)
        for f in files:
            if kind == "coco":
                got, more = read_coco_results(f, dataset, strict=strict)
            elif kind == "yolo":
                got, more = _read_yolo_file(f, dataset, _yolo_names(Path(source), class_names, dataset))
            else:
                got, more = _read_csv_predictions(f, dataset, one_based, strict)
            parts.append(got)
            notes += more
    merged = {}
    for im in dataset.images:
        dets = [p[im.id] for p in parts if im.id in p and len(p[im.id])]
        if not dets:
            merged[im.id] = Detections.empty()
        elif len(dets) == 1:
            merged[im.id] = dets[0]
        else:
            merged[im.id] = Detections(np.concatenate([d.boxes_xyxy for d in dets]),
                                       np.concatenate([d.scores for d in dets]),
                                       np.concatenate([d.class_ids for d in dets]))
    return merged, notes


def _files(source: Path, kind: str) -> list[Path]:
    if not source.exists():
        raise DatasetError(f"{source}: no such file or folder")
    if source.is_file():
        return [source]
    suffix = {"coco": ".json", "yolo": ".txt", "csv": ".csv"}[kind]
    return sorted(f for f in source.iterdir() if f.suffix.lower() == suffix and f.name != "classes.txt")


def _yolo_names(source: Path, class_names: Sequence[str] | None, dataset: Dataset) -> list[str]:
    """YOLO class index -> name: data.yaml / classes.txt beside (or one folder above) the predictions, else
    ``class_names``, else the dataset's own classes when it was read from YOLO."""
    folder = source if source.is_dir() else source.parent
    for base in (folder, folder.parent):
        for name in ("data.yaml", "data.yml", "dataset.yaml"):
            if (base / name).is_file():
                from odkit.io._yolo import _load_yaml, _names

                return _names(_load_yaml(base / name), base / name)
        if (base / "classes.txt").is_file():
            return [ln.strip() for ln in (base / "classes.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    if class_names is not None:
        return list(class_names)
    if dataset.source.get("format") == "yolo":
        return [c.name for c in dataset.categories]
    raise DatasetError(f"{source}: YOLO predictions hold class indices; put a data.yaml or classes.txt beside "
                       "them or pass --classes NAME,NAME,... (class_names= in the library) to name them")


def _name_to_id(names: Sequence[str], dataset: Dataset, where: Path) -> dict[str, int]:
    """Prediction class name -> the dataset's category id; names are matched by name, and a name the
    dataset does not have is an error listing both sides."""
    known = {c.name: c.id for c in dataset.categories}
    missing = [n for n in names if n not in known]
    if missing:
        raise DatasetError(f"{where}: the predictions' classes {list(names)} do not match the ground truth's "
                           f"{list(known)} (not in the ground truth: {missing}); fix the names or pass --classes")
    return {n: known[n] for n in names}


def _stem_index(dataset: Dataset) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, im in enumerate(dataset.images):
        for name in (im.file_name, im.path):
            out.setdefault(Path(name.replace("\\", "/")).stem, k)
    return out


def _read_yolo_file(path: Path, dataset: Dataset, names: list[str]) -> tuple[dict[Hashable, Detections], list[str]]:
    """One label file of predictions (class names were matched to the dataset's by :func:`_name_to_id`)."""
    stems = _stem_index(dataset)
    k = stems.get(path.stem)
    if k is None:
        raise AnnotationError(path, None, "no image of the ground truth has this stem (predictions must refer to "
                              "the ground truth's images)")
    im = dataset.images[k]
    if im.width <= 0 or im.height <= 0:
        raise AnnotationError(path, None, f"the ground truth does not know {im.file_name}'s size, needed to turn "
                              "normalized YOLO boxes into pixels")
    name_to_id = _name_to_id(names, dataset, path)
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:
            raise AnnotationError(path, line_no, f"expected 6 fields 'class cx cy w h conf', got {len(fields)}"
                                  + (" (no confidence column: save predictions with save_conf)"
                                     if len(fields) == 5 else ""))
        try:
            cls = int(fields[0])
            cx, cy, w, h, conf = (float(v) for v in fields[1:])
        except ValueError:
            raise AnnotationError(path, line_no, f"expected an integer class and 5 numbers; got {line!r}") from None
        if not all(np.isfinite([cx, cy, w, h, conf])) or w < 0 or h < 0:
            raise AnnotationError(path, line_no, f"expected finite numbers with w, h >= 0; got {line!r}")
        if not 0 <= cls < len(names):
            raise AnnotationError(path, line_no, f"class {cls} is not a class index 0..{len(names) - 1} of {names}")
        rows.append((name_to_id[names[cls]], cx * im.width, cy * im.height, w * im.width, h * im.height, conf))
    arr = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 5)
    boxes = np.concatenate([arr[:, :2] - arr[:, 2:4] / 2, arr[:, :2] + arr[:, 2:4] / 2], axis=1)
    det = Detections(boxes, arr[:, 4], np.array([r[0] for r in rows], dtype=np.int64))
    return {im.id: det}, []


def _read_csv_predictions(path: Path, dataset: Dataset, one_based: bool, strict: bool
                          ) -> tuple[dict[Hashable, Detections], list[str]]:
    from odkit.io._csv import _column_index

    stems = _stem_index(dataset)
    known = {c.name: c.id for c in dataset.categories}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise AnnotationError(path, 1, "empty file; expected a header")
        cols = _column_index(header, None, path)
        lower = [h.strip().lower() for h in header]
        score_col = next((lower.index(n) for n in _SCORE_COLUMNS if n in lower), None)
        if score_col is None:
            raise AnnotationError(path, 1, f"no score column (one of {list(_SCORE_COLUMNS)}) in header {header}")
        image_index, boxes, scores, class_ids, unknown = [], [], [], [], []
        for line_no, row in enumerate(reader, 2):
            if not row or not row[cols["class"]].strip():
                continue
            name = row[cols["filename"]]
            k = stems.get(Path(name.replace("\\", "/")).stem)
            if k is None:
                raise AnnotationError(path, line_no, f"{name!r} is not an image of the ground truth")
            cls = row[cols["class"]].strip()
            try:
                x0, y0, x1, y1, s = (float(row[i]) for i in (cols["xmin"], cols["ymin"], cols["xmax"], cols["ymax"],
                                                              score_col))
            except (ValueError, IndexError):
                raise AnnotationError(path, line_no, f"expected numbers in the box and score columns; got {row}"
                                      ) from None
            if cls not in known:
                if strict:
                    raise AnnotationError(path, line_no, f"class {cls!r} is not one of {sorted(known)}")
                unknown.append(cls)
                continue
            off = 1.0 if one_based else 0.0
            image_index.append(k)
            boxes.append((x0 - off, y0 - off, x1, y1))
            scores.append(s)
            class_ids.append(known[cls])
    notes = [f"{path}: {len(unknown)} prediction(s) of classes not in the ground truth ({sorted(set(unknown))}); "
             "left out"] if unknown else []
    try:
        grouped = _group(dataset, np.array(image_index, np.int64), np.array(boxes, np.float64).reshape(-1, 4),
                         np.array(scores, np.float64), np.array(class_ids, np.int64))
    except ValueError as exc:
        raise AnnotationError(path, None, str(exc)) from None
    return {k: v for k, v in grouped.items() if len(v)}, notes

