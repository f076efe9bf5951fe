"""``predict_run``: a model on images, folders, globs, list files, videos or a dataset, into a run folder.

What lands in the folder:

- annotated images, one per source image under its own file name (JPEG at quality 95 for a ``.jpg`` /
  ``.jpeg`` source, PNG otherwise: ``<stem>.png``); for a video, one annotated video ``<stem>.mp4`` (mp4v,
  the source's fps and frame size) instead of its frames;
- with ``save_txt``: ``labels/<stem>.txt`` per image (``labels/<stem>_<frame>.txt`` per video frame), lines
  ``class cx cy w h conf`` normalized to the image size with 6 decimals (Ultralytics' ``save_txt`` +
  ``save_conf``); an image without detections gets no file; ``labels/classes.txt`` names the class indices,
  so that ``odkit eval GT OUT/labels`` and ``odkit.io.read_predictions`` read them;
- with ``save_json``: ``predictions.json``, COCO results (``odkit.io.write_coco_results``);
- always ``summary.csv``: one row per image or frame (``file, frame, width, height, detections``, a count
  per class, ``ms``; for a classifier ``file, frame, width, height, class, probability, ms``).

Image ids of ``predictions.json``: when the source is a dataset (an ``odkit.io.Dataset``, a detection
dataset, an annotation file or a dataset folder ``odkit.io`` reads), each image's id in that dataset, and
category ids are the dataset's categories of the model's class names (by name); ``odkit eval DATASET
OUT/predictions.json`` then scores them. For any other source the image id is the item's name (the file
name, ``clip.mp4#12`` for a video frame, ``image3.png`` for an array) and the category id is the class index:
to evaluate a folder of images, predict on the dataset instead, or evaluate ``OUT/labels`` (matched to the
ground truth's images by file stem).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import DatasetError

_JPEG = (".jpg", ".jpeg")


@dataclass(frozen=True)
class PredictRun:
    """What :func:`predict_run` did.

    Attributes:
        out_dir: the run folder.
        images: images and video frames predicted.
        detections: boxes kept, all images together (a classifier: 0).
        class_counts: class name -> boxes of that class (a classifier: images whose top-1 it is).
        rows: the rows of ``summary.csv``, as dicts keyed by its header.
        files: what was written: ``"summary"``, ``"images"`` (annotated images and videos), ``"labels"`` (the
            labels folder), ``"predictions"`` (the COCO results file), each present only when written.
    """

    out_dir: Path
    images: int
    detections: int
    class_counts: dict[str, int]
    rows: list[dict[str, Any]] = field(repr=False)
    files: dict[str, Any] = field(repr=False)


def predict_run(model: Any, source: Any, out_dir: str | os.PathLike[str], *, conf: float = 0.25, iou: float = 0.5,
                max_det: int = 100, line_width: int | None = None, save_images: bool = True, save_txt: bool = False,
                save_json: bool = False, batch_size: int = 8, device: str | None = None, verbose: bool = True
                ) -> PredictRun:
    """Predict on every image or video frame of ``source`` and write the outputs of the module docstring.

    Args:
        model: a detector (``odkit.models.Detector``) or a classifier (an ``odkit.Model`` whose ``predict``
            gives class probabilities).
        source: anything ``odkit.models._sources.resolve_source`` reads (image, folder, glob, list file,
            video, arrays, dataset).
        out_dir: the run folder (created when missing; see ``odkit.runs.new_run_dir``).
        conf: lowest detection score kept, in [0, 1].
        iou: NMS IoU threshold, in [0, 1].
        max_det: most detections per image.
        line_width: box outline in pixels; None: from the image size (about 0.3% of its diagonal, at least 2).
        save_images: write annotated images and videos.
        save_txt: write YOLO txt predictions (detectors only).
        save_json: write COCO results (detectors only).
        batch_size: images run through the model at a time.
        device: ``"auto"``, ``"cpu"``, ``"cuda:0"``...; None: where the model is.
        verbose: print one line per image and where the outputs went; a progress bar when the number of
            images is known.

    Returns:
        the run's counts, summary rows and written files.

    Raises:
        DatasetError: a missing source, an output that would overwrite its own source image, two images
            whose outputs would have one name.
        ValueError: bad arguments, or a model that is neither a detector nor a classifier.
    """
    from odkit.models._base import resolve_device
    from odkit.models._sources import chunks, resolve_source

    if not 0.0 <= conf <= 1.0 or not 0.0 <= iou <= 1.0:
        raise ValueError(f"conf and iou must be in [0, 1]; got conf={conf}, iou={iou}")
    if max_det < 1 or batch_size < 1 or (line_width is not None and line_width < 1):
        raise ValueError(f"max_det, batch_size and line_width must be >= 1; got max_det={max_det}, "
                         f"batch_size={batch_size}, line_width={line_width}")
    is_detector = getattr(model, "task", None) == "detect"
    if getattr(model, "task", None) == "localize":
        raise ValueError("predict_run takes a detector or a classifier; got a localizer (one box per image: "
                         "use model.predict)")
    if (save_txt or save_json) and not is_detector:
        raise ValueError("save_txt and save_json write boxes: they need a detector")
    resolved = resolve_source(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if device is not None:
        model.to(resolve_device(device))
    names = _class_names(model)
    writer = _Writer(out, resolved, names, line_width, save_images, save_txt, save_json, is_detector)
    total = resolved.length
    bar = None
    if verbose and total is not None:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="img", file=sys.stderr, leave=False)
    done = 0
    try:
        for chunk in chunks(iter(resolved), batch_size):
            t0 = time.perf_counter()
            if is_detector:
                results = model.predict(chunk, batch_size=len(chunk), conf=conf, iou=iou, max_det=max_det)
            else:
                results = list(model.predict(chunk, batch_size=len(chunk)))
            ms = (time.perf_counter() - t0) * 1000 / len(chunk)
            for item, result in zip(chunk, results):
                done += 1
                line = writer.add(item, result, ms)
                if verbose:
                    text = f"{'video' if item.frame is not None else 'image'} {done}/{total or '?'} {line}"
                    if bar is not None:
                        bar.write(text, file=sys.stdout)
                        bar.update(1)
                    else:
                        print(text, flush=True)
    finally:
        if bar is not None:
            bar.close()
        writer.close()
    run = writer.finish(done)
    if verbose:
        for kind, path in run.files.items():
            if isinstance(path, list):
                videos = sum(1 for p in path if p.suffix == ".mp4")
                print(f"{kind}: {len(path) - videos} annotated images, {videos} annotated videos in {out}")
            else:
                print(f"{kind}: {path}")
        print(f"Results saved to {out}")
    return run


def _class_names(model: Any) -> list[str]:
    names = getattr(model, "class_names", None)
    if names:
        return [str(n) for n in names]
    count = int(getattr(model, "config", {}).get("num_classes", 0) or 0)
    return [str(k) for k in range(count)]


def default_line_width(image_hw: tuple[int, int]) -> int:
    """Box outline in pixels for an image of ``image_hw`` (height, width): 0.3% of the diagonal, at least 2."""
    return max(2, round(0.003 * float(np.hypot(*image_hw))))


class _Writer:
    """Writes each image's outputs as it comes; keeps only the summary rows and the COCO results."""

    def __init__(self, out: Path, resolved: Any, names: list[str], line_width: int | None, save_images: bool,
                 save_txt: bool, save_json: bool, is_detector: bool) -> None:
        self.out, self.names, self.line_width = out, names, line_width
        self.save_images, self.save_txt, self.save_json = save_images, save_txt, save_json
        self.is_detector = is_detector
        self.dataset = resolved.dataset
        self.category_ids = _category_ids(names, self.dataset)
        self.used: dict[str, str] = {}  # output name -> the source it came from
        self.video: tuple[Path, Any] | None = None  # (source video, cv2.VideoWriter)
        self.videos: list[Path] = []
        self.images: list[Path] = []
        self.labels = out / "labels"
        if save_txt:
            self.labels.mkdir(exist_ok=True)
            (self.labels / "classes.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        self.detections: list[Any] = []
        self.image_ids: list[Hashable] = []
        self.rows: list[dict[str, Any]] = []
        self.counts = dict.fromkeys(names, 0)
        header = (["file", "frame", "width", "height", "detections", *names, "ms"] if is_detector
                  else ["file", "frame", "width", "height", "class", "probability", "ms"])
        self.header = header
        self.summary_path = out / "summary.csv"
        self._summary = open(self.summary_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.DictWriter(self._summary, fieldnames=header)
        self._csv.writeheader()

    # ---- one image ---------------------------------------------------------------------------
    def add(self, item: Any, result: Any, ms: float) -> str:
        """Write one image's outputs; returns its log line (without the ``image i/n`` prefix)."""
        h, w = item.image.shape[:2]
        source_name = item.path.name if item.path is not None else item.name
        row: dict[str, Any] = {"file": source_name, "frame": "" if item.frame is None else item.frame,
                               "width": w, "height": h}
        if self.is_detector:
            counts = np.bincount(result.class_ids, minlength=len(self.names)) if len(result) else np.zeros(0, int)
            per_class = {n: int(counts[k]) if k < len(counts) else 0 for k, n in enumerate(self.names)}
            row.update(detections=len(result), **per_class)
            for n, c in per_class.items():
                self.counts[n] += c
            what = ", ".join(f"{c} {n}" for n, c in per_class.items() if c) or "(no detections)"
            if self.save_txt:
                self._write_txt(item, result, (h, w))
            if self.save_json:
                self.detections.append(result)
                self.image_ids.append(item.image_id if item.image_id is not None else item.name)
        else:
            top = int(np.argmax(result))
            label = self.names[top] if top < len(self.names) else str(top)
            row.update({"class": label, "probability": round(float(result[top]), 6)})
            self.counts[label] = self.counts.get(label, 0) + 1
            what = f"{label} {float(result[top]):.2f}"
        row["ms"] = round(ms, 2)
        if self.save_images:
            self._write_image(item, result)
        self._csv.writerow(row)
        self.rows.append(row)
        return f"{item.name}: {h}x{w} {what}, {ms:.1f}ms"

    def _annotated(self, item: Any, result: Any) -> np.ndarray:
        width = self.line_width or default_line_width(item.image.shape[:2])
        if self.is_detector:
            from odkit.viz import draw_boxes

            return draw_boxes(item.image, result, None, self.names, width)
        top = int(np.argmax(result))
        label = self.names[top] if top < len(self.names) else str(top)
        return _draw_label(item.image, f"{label} {float(result[top]):.2f}")

    def _write_image(self, item: Any, result: Any) -> None:
        if item.frame is not None:
            self._write_frame(item, self._annotated(item, result))
            return
        suffix = Path(item.name).suffix.lower()
        name = item.name if suffix in (*_JPEG, ".png") else f"{Path(item.name).stem}.png"
        target = self.out / self._claim(name, item)
        from PIL import Image

        image = Image.fromarray(self._annotated(item, result))
        if suffix in _JPEG:
            image.save(target, quality=95)
        else:
            image.save(target)
        self.images.append(target)

    def _claim(self, name: str, item: Any) -> str:
        """``name`` for this item's output, checked not to overwrite its own source or another image's output."""
        where = str(item.path) if item.path is not None else item.name
        if name in self.used:
            raise DatasetError(f"{where} and {self.used[name]} would both be saved as {self.out / name}; predict "
                               "them in separate runs (--out)")
        self.used[name] = where
        target = self.out / name
        if item.path is not None and target.exists() and os.path.samefile(target, item.path):
            raise DatasetError(f"{target}: the annotated image would overwrite its source; choose another --out")
        return name

    def _write_frame(self, item: Any, frame: np.ndarray) -> None:
        import cv2

        from odkit.models._sources import video_properties

        if self.video is None or self.video[0] != item.path:
            self._close_video()
            fps = video_properties(item.path)[0]
            target = self.out / self._claim(f"{item.path.stem}.mp4", item)
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            if not writer.isOpened():
                raise DatasetError(f"{target}: OpenCV cannot write an mp4v video here")
            self.video = (item.path, writer)
            self.videos.append(target)
        self.video[1].write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def _close_video(self) -> None:
        if self.video is not None:
            self.video[1].release()
            self.video = None

    def _write_txt(self, item: Any, det: Any, image_hw: tuple[int, int]) -> None:
        """``labels/<stem>.txt`` (``<stem>_<frame>.txt``) when there are detections; the name is claimed even
        when there are none, so that two images of one stem are an error either way."""
        h, w = image_hw
        name = f"{item.path.stem}_{item.frame}.txt" if item.frame is not None else f"{Path(item.name).stem}.txt"
        name = self._claim(f"labels/{name}", item)
        if not len(det):
            return
        boxes = det.boxes_xyxy
        cxcywh = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2 / w, (boxes[:, 1] + boxes[:, 3]) / 2 / h,
                           (boxes[:, 2] - boxes[:, 0]) / w, (boxes[:, 3] - boxes[:, 1]) / h], axis=1)
        lines = [f"{c} {x:.6f} {y:.6f} {bw:.6f} {bh:.6f} {s:.6f}\n"
                 for c, (x, y, bw, bh), s in zip(det.class_ids.tolist(), cxcywh.tolist(), det.scores.tolist())]
        (self.out / name).write_text("".join(lines), encoding="utf-8")

    # ---- the end -----------------------------------------------------------------------------
    def close(self) -> None:
        self._close_video()
        if not self._summary.closed:
            self._summary.close()

    def finish(self, count: int) -> PredictRun:
        from odkit.io import write_coco_results

        files: dict[str, Any] = {"summary": self.summary_path}
        if self.save_images:
            files["images"] = [*self.images, *self.videos]
        if self.save_txt:
            files["labels"] = self.labels
        if self.save_json:
            target = self.out / "predictions.json"
            write_coco_results(self.detections, self.image_ids, self.category_ids, target)
            files["predictions"] = target
        total = sum(int(r["detections"]) for r in self.rows) if self.is_detector else 0
        return PredictRun(self.out, count, total, dict(self.counts), self.rows, files)


def _category_ids(names: list[str], dataset: Any) -> list[int]:
    """The COCO category id of each class index: the dataset's category of that name when every class name is
    one of the dataset's; otherwise the class index itself."""
    if dataset is not None:
        known = {c.name: c.id for c in dataset.categories}
        if names and all(n in known for n in names):
            return [known[n] for n in names]
    return list(range(len(names)))


def _draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of an (H, W, 3) uint8 image with ``text`` in white on a dark band at its top-left corner."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    size = max(10, round(min(canvas.size) / 20))
    try:
        font: Any = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    draw.rectangle([0, 0, right - left + 2 * pad, bottom - top + 2 * pad], fill=(32, 32, 32))
    draw.text((pad - left, pad - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(canvas)
