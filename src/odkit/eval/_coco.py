"""``COCOEvaluator``: streaming COCO bbox evaluation (update / merge / compute) on flat arrays."""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from odkit._coco_json import PathOrData, load_coco_ground_truth, load_coco_results
from odkit.boxes import Detections, GroundTruth
from odkit.errors import EvaluationError
from odkit.eval._cocoeval import CocoArrays, coco_evaluate
from odkit.eval._flat import FIELDS, GT_FIELDS, FlatData, empty_field
from odkit.eval._params import COCOParams
from odkit.eval._result import MAPResult, build_result
from odkit.eval._voc import VOCMethod, VOCResult, voc_evaluate_flat

__all__ = ["COCOEvaluator", "evaluate_coco"]


def _order(ids: list[Hashable]) -> np.ndarray:
    """Permutation that sorts ``ids`` (pycocotools sorts ids with np.unique); identity if not comparable."""
    try:
        return np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
    except TypeError:
        return np.arange(len(ids), dtype=np.int64)


class COCOEvaluator:
    """COCO bbox mAP, equal to pycocotools' 12 stats to the last bit, fed image by image or in batches.

    State is flat arrays (about 64 bytes per detection and per GT); nothing else grows. Split evaluation
    across processes, then gather with :meth:`state_dict` / :meth:`from_state` and :meth:`merge`: the
    result is the same as one pass (images must not repeat).

    Differences from pycocotools, on purpose: the headline AP stats use the largest ``max_dets`` (pycocotools
    hard-codes 100 and reports -1 otherwise); undefined values are NaN, not -1; unknown image or class ids
    raise instead of being dropped (predictions of unknown categories are left out, as pycocotools does, but
    with a warning). pycocotools' reading of a match to a GT with annotation id 0 as "no match"
    is reproduced for COCO files, with a warning (see :meth:`from_coco`); containers carry no annotation ids,
    so :meth:`update` never meets it.

    Precision: containers hold float64 boxes and scores, as a results file does, so feeding the same
    detections as containers or as JSON gives the same ranking and the same numbers.

    Args:
        params: thresholds, ``max_dets`` and area ranges; the default is pycocotools' bbox setup.
        class_ids: the categories to evaluate (as the GT file's ``categories``). When given, a ground-truth
            box of another class raises, and a prediction of another class is left out with a warning
            giving the count, the ids and the first one (pycocotools evaluates only the GT's categories and
            ignores the rest; ``strict=True`` raises instead); when None, every class id seen in
            predictions or GT takes part.
        class_names: display names, aligned with ``class_ids``.
        strict: predictions of categories not in ``class_ids`` are an error instead of a warning.

    Example:
        >>> ev = COCOEvaluator()
        >>> ev.update([dets], [gt], image_ids=[42])  # doctest: +SKIP
        >>> print(ev.compute())  # doctest: +SKIP
    """

    def __init__(
        self,
        params: COCOParams | None = None,
        *,
        class_ids: Sequence[Hashable] | None = None,
        class_names: Sequence[str] | None = None,
        strict: bool = False,
    ) -> None:
        self.params = params if params is not None else COCOParams()
        self.strict = strict
        self._fixed_classes = class_ids is not None
        self._init_classes = list(class_ids) if class_ids is not None else []
        if class_names is not None and len(class_names) != len(self._init_classes):
            raise ValueError(f"class_names has {len(class_names)} names for {len(self._init_classes)} class_ids")
        self._init_names = list(class_names) if class_names is not None else None
        self.reset()

    # ---- state ----
    def reset(self) -> None:
        """Forget every image seen (the classes given to the constructor stay)."""
        self._image_ids: list[Hashable] = []
        self._image_index: dict[Hashable, int] = {}
        self._class_ids: list[Hashable] = list(self._init_classes)
        self._class_index: dict[Hashable, int] = {c: i for i, c in enumerate(self._class_ids)}
        self._names: dict[Hashable, str] = (
            dict(zip(self._init_classes, self._init_names)) if self._init_names is not None else {}
        )
        self._chunks: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}

    @property
    def num_images(self) -> int:
        """Images seen so far."""
        return len(self._image_ids)

    def _image_codes(self, image_ids: Sequence[Hashable]) -> list[int]:
        """Register new images (all or none) and return their indices."""
        fresh: dict[Hashable, int] = {}
        for i, image_id in enumerate(image_ids):
            try:
                seen = image_id in self._image_index or image_id in fresh
            except TypeError:
                raise EvaluationError(f"image_ids[{i}] must be hashable; got {image_id!r}") from None
            if seen:
                raise EvaluationError(
                    f"image id {image_id!r} (image_ids[{i}]) was already evaluated; every image must appear "
                    "once (pass distinct image_ids when evaluation is split)"
                )
            fresh[image_id] = len(self._image_ids) + len(fresh)
        self._image_index.update(fresh)
        self._image_ids.extend(fresh)
        return list(fresh.values())

    def _class_codes(self, values: np.ndarray, where: str) -> np.ndarray:
        uniq, inverse = np.unique(values, return_inverse=True)
        codes = np.empty(uniq.shape[0], dtype=np.int64)
        for j, v in enumerate(uniq.tolist()):
            if v not in self._class_index:
                if self._fixed_classes:
                    raise EvaluationError(f"{where}: class id {v!r} is not one of the evaluated class_ids")
                self._class_index[v] = len(self._class_ids)
                self._class_ids.append(v)
            codes[j] = self._class_index[v]
        return codes[inverse.reshape(-1)]

    def _known_class_predictions(self, predictions: Sequence[Detections]) -> list[Detections]:
        """``predictions`` without the detections whose class is not evaluated (warned about), or an
        EvaluationError when ``strict``."""
        out = list(predictions)
        count, ids, first = 0, {}, ""
        for i, det in enumerate(predictions):
            known = np.fromiter((c in self._class_index for c in det.class_ids.tolist()), dtype=bool,
                                count=len(det))
            if known.all():
                continue
            bad = np.flatnonzero(~known)
            if self.strict:
                raise EvaluationError(f"predictions[{i}][{int(bad[0])}]: class id {int(det.class_ids[bad[0]])} is "
                                      "not one of the evaluated class_ids")
            count += int(bad.size)
            ids.update(dict.fromkeys(det.class_ids[bad].tolist()))
            first = first or f"predictions[{i}][{int(bad[0])}]"
            out[i] = det[known]
        if count:
            warnings.warn(f"{count} prediction(s) have a class id that is not evaluated ({', '.join(map(repr, ids))}; "
                          f"first: {first}); left out, as pycocotools ignores categories not in the ground truth "
                          "(strict=True to make it an error)", UserWarning, stacklevel=3)
        return out

    def _append(self, **arrays: np.ndarray) -> None:
        for name, arr in arrays.items():
            self._chunks[name].append(arr)

    def update(
        self,
        predictions: Sequence[Detections],
        ground_truths: Sequence[GroundTruth],
        image_ids: Sequence[Hashable] | None = None,
    ) -> COCOEvaluator:
        """Add images: one ``Detections`` and one ``GroundTruth`` per image (absolute xyxy, class_ids).

        Args:
            predictions: per-image detections; within an image, order breaks score ties (stable sort).
            ground_truths: per-image ground truth, same length.
            image_ids: one hashable id per image; default: consecutive integers from ``num_images``.
                Ids only set the tie-break order between images (sorted ids, as pycocotools).

        Returns:
            self.

        Raises:
            EvaluationError: lengths differ, an item has the wrong type, an image id repeats or a class id
                is not among ``class_ids``. Checked before predictions of classes not evaluated are left out
                with a warning: a call that raises warns nothing and adds nothing.
        """
        if len(predictions) != len(ground_truths):
            raise EvaluationError(
                f"got {len(predictions)} predictions for {len(ground_truths)} ground truths; need one of each per image"
            )
        if image_ids is None:
            image_ids = list(range(self.num_images, self.num_images + len(predictions)))
        elif len(image_ids) != len(predictions):
            raise EvaluationError(f"got {len(image_ids)} image_ids for {len(predictions)} images")
        for i, (det, gt) in enumerate(zip(predictions, ground_truths)):
            if not isinstance(det, Detections):
                raise EvaluationError(f"predictions[{i}] must be odkit.boxes.Detections; got {type(det).__name__}")
            if not isinstance(gt, GroundTruth):
                raise EvaluationError(f"ground_truths[{i}] must be odkit.boxes.GroundTruth; got {type(gt).__name__}")
        start = len(self._image_ids)
        codes = self._image_codes(list(image_ids))
        try:
            gt_class_ids = np.concatenate([np.zeros(0, np.int64), *(g.class_ids for g in ground_truths)])
            gt_class = None
            if self._fixed_classes:
                # the ground truth before the predictions: an unknown GT class raises here, so a call that
                # raises never first warns about (or, strict, raises on) unknown-class predictions
                gt_class = self._class_codes(gt_class_ids, "ground_truths")
                predictions = self._known_class_predictions(predictions)
            n_det = np.array([len(d) for d in predictions], dtype=np.int64)
            n_gt = np.array([len(g) for g in ground_truths], dtype=np.int64)
            det_xyxy = np.concatenate([np.zeros((0, 4)), *(d.boxes_xyxy for d in predictions)]).astype(np.float64)
            gt_xyxy = np.concatenate([np.zeros((0, 4)), *(g.boxes_xyxy for g in ground_truths)]).astype(np.float64)
            det_class = self._class_codes(
                np.concatenate([np.zeros(0, np.int64), *(d.class_ids for d in predictions)]), "predictions"
            )
            if gt_class is None:  # an open class list grows in order of appearance: the predictions' classes first
                gt_class = self._class_codes(gt_class_ids, "ground_truths")
        except EvaluationError:
            del self._image_ids[start:]
            for image_id in image_ids:
                self._image_index.pop(image_id, None)
            raise
        det_wh = det_xyxy[:, 2:] - det_xyxy[:, :2]
        gt_wh = gt_xyxy[:, 2:] - gt_xyxy[:, :2]
        self._append(
            det_image=np.repeat(np.array(codes, dtype=np.int64), n_det),
            det_class=det_class,
            det_xyxy=det_xyxy,
            det_area=det_wh[:, 0] * det_wh[:, 1],
            det_score=np.concatenate([np.zeros(0), *(d.scores for d in predictions)]).astype(np.float64),
            gt_image=np.repeat(np.array(codes, dtype=np.int64), n_gt),
            gt_class=gt_class,
            gt_xyxy=gt_xyxy,
            gt_box_area=gt_wh[:, 0] * gt_wh[:, 1],
            gt_area=np.concatenate([np.zeros(0), *(g.area for g in ground_truths)]).astype(np.float64),
            gt_crowd=np.concatenate([np.zeros(0, bool), *(g.iscrowd for g in ground_truths)]),
            gt_difficult=np.concatenate([np.zeros(0, bool), *(g.difficult for g in ground_truths)]),
            gt_zero_id=np.zeros(gt_xyxy.shape[0], dtype=bool),  # containers carry no annotation ids
        )
        return self

    # ---- gathering ----
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this evaluator: plain lists and numpy arrays (pickle / gather safe)."""
        state: dict[str, Any] = {f: self._concat(f) for f in FIELDS}
        state["image_ids"] = list(self._image_ids)
        state["class_ids"] = list(self._class_ids)
        state["class_names"] = dict(self._names)
        return state

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], params: COCOParams | None = None, *, class_ids: Sequence[Hashable] | None = None
    ) -> COCOEvaluator:
        """A new evaluator holding ``state`` (from :meth:`state_dict`)."""
        ev = cls(params, class_ids=class_ids)
        ev._add_state(state)
        return ev

    def merge(self, other: COCOEvaluator | Mapping[str, Any]) -> COCOEvaluator:
        """Add the images of ``other`` (an evaluator or a :meth:`state_dict`); returns self.

        Raises:
            EvaluationError: if an image id is in both.
        """
        self._add_state(other.state_dict() if isinstance(other, COCOEvaluator) else other)
        return self

    def _add_state(self, state: Mapping[str, Any]) -> None:
        class_list = list(state["class_ids"])
        if self._fixed_classes:
            unknown = [c for c in class_list if c not in self._class_index]
            if unknown:
                raise EvaluationError(f"merged state has class id {unknown[0]!r}, not one of the evaluated class_ids")
        image_codes = np.array(self._image_codes(list(state["image_ids"])), dtype=np.int64)
        codes = np.empty(len(class_list), dtype=np.int64)
        for j, c in enumerate(class_list):
            if c not in self._class_index:
                self._class_index[c] = len(self._class_ids)
                self._class_ids.append(c)
            codes[j] = self._class_index[c]
        self._names.update(state.get("class_names", {}))
        remapped = {}
        n_gt_new = len(state["gt_image"])
        for f in FIELDS:
            arr = np.asarray(state[f]) if f in state or f != "gt_zero_id" else np.zeros(n_gt_new, dtype=bool)
            if f.endswith("_image"):
                arr = image_codes[arr]
            elif f.endswith("_class"):
                arr = codes[arr]
            remapped[f] = arr
        self._append(**remapped)

    def _concat(self, field: str) -> np.ndarray:
        chunks = self._chunks[field]
        if not chunks:
            return empty_field(field)
        if len(chunks) > 1:
            self._chunks[field] = [np.concatenate(chunks)]
        return self._chunks[field][0].copy()

    # ---- results ----
    def flat_data(self) -> tuple[FlatData, list[Hashable], list[Hashable]]:
        """The state as :class:`FlatData` in evaluation order, with the image ids and class ids of its indices."""
        img_order = _order(self._image_ids)
        cls_order = _order(self._class_ids)
        img_rank = np.empty_like(img_order)
        img_rank[img_order] = np.arange(img_order.size)
        cls_rank = np.empty_like(cls_order)
        cls_rank[cls_order] = np.arange(cls_order.size)
        arrays = {f: self._concat(f) for f in FIELDS}
        for f in arrays:
            if f.endswith("_image"):
                arrays[f] = img_rank[arrays[f]]
            elif f.endswith("_class"):
                arrays[f] = cls_rank[arrays[f]]
        flat = FlatData(n_images=len(self._image_ids), n_classes=len(self._class_ids), **arrays)
        return flat, [self._image_ids[i] for i in img_order], [self._class_ids[i] for i in cls_order]

    def compute_arrays(self) -> tuple[CocoArrays, FlatData, list[Hashable]]:
        """Accumulated arrays (precision, recall, per-detection matches), the flat data and the class ids."""
        flat, _, class_ids = self.flat_data()
        return coco_evaluate(flat, self.params), flat, class_ids

    def compute(self) -> MAPResult:
        """Evaluate everything seen so far (the state is kept; call :meth:`reset` to start over)."""
        arrays, _, class_ids = self.compute_arrays()
        names = [self._names.get(c, str(c)) for c in class_ids]
        return build_result(arrays, self.params, class_ids, names)

    def compute_voc(
        self, iou_threshold: float = 0.5, method: VOCMethod = "all_point", plus_one: bool = False
    ) -> VOCResult:
        """PASCAL VOC AP per class on the same images (all detections; ``difficult`` and crowd GTs ignored).

        Args:
            iou_threshold: a detection matches when IoU > this (strictly, as the devkit).
            method: ``"11point"`` (VOC2007) or ``"all_point"`` (VOC2010+).
            plus_one: use the devkit's +1 pixel widths and heights (for integer pixel boxes).
        """
        flat, _, class_ids = self.flat_data()
        return voc_evaluate_flat(flat, class_ids, iou_threshold, method, plus_one)

    def f1_confidence(self, iou_threshold: float = 0.5, confidences: np.ndarray | None = None) -> dict[str, Any]:
        """Precision / recall / F1 against the confidence threshold per class and the best threshold.

        See :func:`odkit.eval._analysis.f1_confidence`; curves sampled at ``confidences`` (default
        ``linspace(0, 1, 101)``), best threshold searched over the detections' scores.
        """
        from odkit.eval._analysis import f1_confidence

        flat, _, class_ids = self.flat_data()
        return f1_confidence(flat, class_ids, self.params, iou_threshold, confidences)

    def confusion_matrix(self, iou_threshold: float = 0.5, score_threshold: float = 0.25) -> dict[str, Any]:
        """(K+1, K+1) confusion matrix, rows true class, columns predicted, last row/column background."""
        from odkit.eval._analysis import confusion_matrix

        flat, _, class_ids = self.flat_data()
        return confusion_matrix(flat, class_ids, iou_threshold, score_threshold)

    def error_breakdown(self, fg_iou: float = 0.5, bg_iou: float = 0.1) -> dict[str, Any]:
        """TIDE-style errors (classification, localization, both, duplicate, background, missed), each
        with the AP it costs at ``fg_iou``; see :func:`odkit.eval._analysis.error_breakdown`."""
        from odkit.eval._analysis import error_breakdown

        flat, _, class_ids = self.flat_data()
        return error_breakdown(flat, class_ids, self.params, fg_iou, bg_iou)

    # ---- COCO files ----
    @classmethod
    def from_coco(
        cls,
        ground_truth: PathOrData,
        results: PathOrData,
        params: COCOParams | None = None,
        *,
        zero_id_as_unmatched: bool = True,
        strict: bool = False,
    ) -> COCOEvaluator:
        """An evaluator holding a COCO instances file and a COCO results list (paths or parsed JSON); a list
        of paths is several shards of one results set (the numbers equal those of the joined list).

        Every image and category of the GT file takes part, as in pycocotools. Raises AnnotationError /
        EvaluationError naming the first malformed entry.

        Args:
            ground_truth, results: paths or parsed JSON.
            params: evaluation settings.
            zero_id_as_unmatched: reproduce pycocotools (and faster-coco-eval) where a GT annotation has
                ``"id": 0``: a detection matched to it counts as a false positive, because pycocotools
                stores matches as annotation ids and reads 0 as "unmatched". On by default so the numbers
                equal pycocotools'; a warning says when it applies. False counts such matches as true
                positives (the correct reading; renumbering the annotations from 1 does the same).
                String ids that read as 0 ("0", "0.0", "-0") count as 0, as in pycocotools' float array;
                other non-numeric string ids (on which pycocotools itself fails) are evaluated normally.
            strict: results whose category is not in the GT are an error; by default they are left out with
                a warning (count, ids, first ``results[i]``), giving pycocotools' numbers.
        """
        gt = load_coco_ground_truth(ground_truth)
        shards = list(results) if _is_path_list(results) else [results]
        parts = []
        for shard in shards:
            dt, unknown = load_coco_results(shard, gt, strict=strict)
            if unknown is not None:
                warnings.warn(unknown.message(gt_path_or(shard)) + "; left out, as pycocotools does (strict=True / "
                              "odkit eval --strict to make it an error)", UserWarning, stacklevel=2)
            parts.append(dt)
        dt = type(parts[0])(*(np.concatenate(columns) for columns in zip(*parts)))
        zero_id = gt.gt_zero_id if zero_id_as_unmatched else np.zeros_like(gt.gt_zero_id)
        if zero_id.any():
            warnings.warn(
                f"{gt.path}: an annotation has id 0; as in pycocotools, a detection matched to it counts as a "
                "false positive (pycocotools reads match id 0 as 'unmatched'). Number annotations from 1, or "
                "pass zero_id_as_unmatched=False (odkit eval --zero-id-matches) to count it as a match.",
                UserWarning,
                stacklevel=2,
            )
        ev = cls(params, class_ids=gt.class_ids, class_names=gt.class_names, strict=strict)
        gt_columns = {f: getattr(gt, f) for f in GT_FIELDS if f in gt._fields}
        ev._add_state({
            "image_ids": gt.image_ids, "class_ids": gt.class_ids, **dt._asdict(), **gt_columns,
            "gt_difficult": np.zeros(gt.gt_crowd.shape[0], dtype=bool), "gt_zero_id": zero_id,
        })
        return ev


def evaluate_coco(
    ground_truth: PathOrData,
    results: PathOrData,
    params: COCOParams | None = None,
    *,
    zero_id_as_unmatched: bool = True,
    strict: bool = False,
) -> MAPResult:
    """COCO bbox evaluation of a results list against an instances file; see :meth:`COCOEvaluator.from_coco`."""
    return COCOEvaluator.from_coco(
        ground_truth, results, params, zero_id_as_unmatched=zero_id_as_unmatched, strict=strict
    ).compute()


def _is_path_list(results: Any) -> bool:
    return isinstance(results, (list, tuple)) and bool(results) and all(
        isinstance(r, (str, os.PathLike)) for r in results)


def gt_path_or(source: PathOrData) -> str:
    """A file's path, or ``<results>`` for parsed data (for messages)."""
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<results>"
