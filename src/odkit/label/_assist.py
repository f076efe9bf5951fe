"""Model-assisted labelling for ``odkit label --model``: proposals per image and the disagreement score.

A ``ModelAssist`` loads its model once, lazily, under a lock (the loader is given by the caller, so this
module imports neither torch nor the model code), and caches each image's predictions: computed when the
image is first asked for, for all images at once on demand (``predict_all``), or in a background thread.

The model's classes are matched to the dataset's by name. A model class the dataset lacks is offered as a
new class when the format can hold one (every format but YOLO, whose names live in ``data.yaml``); in YOLO
its proposals are shown but cannot be accepted.

Disagreement, per image, compares the model's boxes (score >= conf) with the labels, one to one, greedily by
descending score: a box matched to a label of the same class at IoU >= 0.5 agrees; of what is left, a model
box and a label of different classes at IoU >= 0.5 are a class conflict (counted once, not also as missed or
extra); then an unmatched model box is a missed object and an unmatched label an extra box.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from odkit.ops import box_iou

IOU = 0.5
BATCH = 16


class AssistError(Exception):
    """The model could not be loaded or used; the message says why."""


def disagreement(label_xyxy: np.ndarray, label_cls: Sequence[str], pred_xyxy: np.ndarray,
                 pred_cls: Sequence[str], pred_scores: np.ndarray, iou: float = IOU) -> dict[str, int]:
    """Missed objects, extra boxes and class conflicts between labels and model boxes of one image.

    Args:
        label_xyxy: (L, 4) label boxes, absolute xyxy pixels.
        label_cls: L class names.
        pred_xyxy: (P, 4) model boxes (already filtered by the confidence threshold).
        pred_cls: P class names (the model's names, after mapping).
        pred_scores: (P,) scores; matching takes model boxes by descending score.
        iou: the IoU at which a model box and a label cover the same object.

    Returns:
        ``{"missed", "extra", "conflicts", "score"}``, ``score`` the sum of the three.
    """
    n_l, n_p = len(label_cls), len(pred_cls)
    ious = box_iou(np.asarray(pred_xyxy, np.float64).reshape(-1, 4), np.asarray(label_xyxy, np.float64).reshape(-1, 4))
    order = np.argsort(-np.asarray(pred_scores, np.float64), kind="stable")
    used_l = np.zeros(n_l, bool)
    used_p = np.zeros(n_p, bool)
    conflicts = 0
    for same_class in (True, False):
        for p in order:
            if used_p[p]:
                continue
            ok = ~used_l & (ious[p] >= iou) if n_l else np.zeros(0, bool)
            if same_class:
                ok &= np.array([c == pred_cls[p] for c in label_cls], bool)
            if not ok.any():
                continue
            best = int(np.argmax(np.where(ok, ious[p], -1.0)))
            used_l[best] = used_p[p] = True
            conflicts += not same_class
    missed, extra = int((~used_p).sum()), int((~used_l).sum())
    return {"missed": missed, "extra": extra, "conflicts": conflicts, "score": missed + extra + conflicts}


class ModelAssist:
    """A detection model's proposals for the images of one ``LabelStore``.

    Args:
        loader: returns the model (``predict(list_of_paths, conf=)`` -> list of ``Detections``,
            ``class_names``, ``task == "detect"``); called once, on first use.
        conf: the confidence threshold of proposals, in [0, 1].
        name: how the page names the model (its file name).
    """

    def __init__(self, loader: Callable[[], Any], conf: float = 0.25, name: str = "model") -> None:
        if not 0.0 <= conf <= 1.0:
            raise AssistError(f"conf must be in [0, 1]; got {conf}")
        self._loader = loader
        self.conf = float(conf)
        self.name = name
        self._model: Any = None
        self.error: str | None = None  # the model could not be loaded: nothing more is tried
        self.background_error: str | None = None
        self._model_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, list[str]]] = {}
        self._thread: threading.Thread | None = None

    @classmethod
    def from_model(cls, model: Any, conf: float = 0.25, name: str = "model") -> ModelAssist:
        """An assist on a model object already in memory (tests, embedding)."""
        return cls(lambda: model, conf, name)

    def model(self) -> Any:
        """The model, loaded on first call (under a lock); ``AssistError`` when loading failed."""
        with self._model_lock:
            if self._model is None and self.error is None:
                try:
                    model = self._loader()
                except Exception as exc:  # any loader failure is shown in the page, not a crash
                    self.error = f"cannot load the model: {exc}"
                else:
                    task = getattr(model, "task", None)
                    if task != "detect":
                        self.error = f"expected a detection model (task 'detect'); got task {task!r}"
                    else:
                        self._model = model
            if self.error is not None:
                raise AssistError(self.error)
            return self._model

    def class_names(self) -> list[str]:
        return [str(c) for c in self.model().class_names]

    def cached(self, index: int) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """Image ``index``'s (boxes, scores, class names), or None when not predicted yet."""
        with self._cache_lock:
            return self._cache.get(index)

    def pending(self, count: int) -> int:
        with self._cache_lock:
            return count - len(self._cache)

    def predict(self, items: Sequence[tuple[int, Path]]) -> None:
        """Predict the images ``(index, path)`` not cached yet, in batches; errors become ``AssistError``."""
        todo = [(k, p) for k, p in items if self.cached(k) is None]
        for start in range(0, len(todo), BATCH):
            chunk = todo[start:start + BATCH]
            model = self.model()
            names = self.class_names()
            with self._model_lock:  # one prediction at a time: models are not assumed thread-safe
                chunk = [(k, p) for k, p in chunk if self.cached(k) is None]
                if not chunk:
                    continue
                try:
                    dets = list(model.predict([str(p) for _, p in chunk], conf=self.conf))
                except Exception as exc:
                    raise AssistError(f"the model failed on {chunk[0][1].name}...: {exc}") from exc
            if len(dets) != len(chunk):
                raise AssistError(f"expected {len(chunk)} predictions from the model; got {len(dets)}")
            with self._cache_lock:
                for (k, _), d in zip(chunk, dets):
                    keep = np.asarray(d.scores, np.float64) >= self.conf
                    cls = [names[int(c)] if 0 <= int(c) < len(names) else str(int(c))
                           for c in np.asarray(d.class_ids)[keep]]
                    self._cache[k] = (np.asarray(d.boxes_xyxy, np.float64)[keep].reshape(-1, 4),
                                      np.asarray(d.scores, np.float64)[keep], cls)

    def start_background(self, items: Sequence[tuple[int, Path]]) -> None:
        """Predict every image in a daemon thread (an error is kept in ``background_error``)."""
        if self._thread is not None:
            return

        def work() -> None:
            try:
                self.predict(items)
            except AssistError as exc:
                self.background_error = str(exc)

        self._thread = threading.Thread(target=work, name="odkit-label-predict", daemon=True)
        self._thread.start()

    def invalidate(self) -> None:
        """Forget every cached prediction (tests; a changed model)."""
        with self._cache_lock:
            self._cache.clear()
