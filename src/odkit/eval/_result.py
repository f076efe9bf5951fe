"""``MAPResult``: the outcome of a COCO evaluation, as plain numbers and arrays."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from odkit.eval._cocoeval import CocoArrays, mean_defined
from odkit.eval._params import COCOParams

__all__ = ["STAT_KEYS", "ClassResult", "MAPResult", "build_result"]

#: The 12 summary stats, in pycocotools' order, and their CLI/JSON names.
STAT_KEYS: tuple[tuple[str, str], ...] = (
    ("map", "AP"),
    ("map50", "AP50"),
    ("map75", "AP75"),
    ("map_small", "APs"),
    ("map_medium", "APm"),
    ("map_large", "APl"),
    ("mar_1", "AR1"),
    ("mar_10", "AR10"),
    ("mar_100", "AR100"),
    ("mar_small", "ARs"),
    ("mar_medium", "ARm"),
    ("mar_large", "ARl"),
)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class ClassResult:
    """Per-category numbers (area "all", the largest max_dets).

    Attributes:
        class_id: the category id.
        name: the category name (the id as text when unnamed).
        ap: AP averaged over the IoU thresholds; NaN without GT.
        ap50: AP at IoU 0.5 (NaN when 0.5 is not a threshold).
        ap75: AP at IoU 0.75.
        ar: recall averaged over the IoU thresholds at the largest max_dets (AR100 by default).
        n_gt: non-crowd GT boxes.
        n_det: detections evaluated (after the per-image max_dets cut).
    """

    class_id: Hashable
    name: str
    ap: float
    ap50: float
    ap75: float
    ar: float
    n_gt: int
    n_det: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; NaN becomes None."""
        return {
            "class_id": self.class_id,
            "name": self.name,
            "AP": _json_float(self.ap),
            "AP50": _json_float(self.ap50),
            "AP75": _json_float(self.ap75),
            "AR": _json_float(self.ar),
            "n_gt": self.n_gt,
            "n_det": self.n_det,
        }


@dataclass(frozen=True, eq=False)
class MAPResult:
    """COCO bbox metrics. Values are in [0, 1]; "undefined" (no GT; pycocotools' -1) is NaN.

    Attributes:
        map, map50, map75, map_small, map_medium, map_large: AP at the largest max_dets (all IoU
            thresholds / IoU 0.5 / IoU 0.75 / the "small", "medium", "large" area ranges).
        mar_1, mar_10, mar_100: AR with 1, 10, 100 detections per image (NaN when that value is not in
            ``params.max_dets``); ``mar_small/medium/large`` at the largest max_dets.
        per_class: one :class:`ClassResult` per category, in ``class_ids`` order.
        class_ids: category ids, the K axis of the arrays.
        params: the settings used.
        precision: (T, R, K, A, M) float64 interpolated precision (T IoU thresholds, R recall thresholds,
            K classes, A area ranges, M max_dets); NaN for undefined cells. Read-only.
        recall: (T, K, A, M) float64 recall. Read-only.
        scores: (T, R, K, A, M) float64 score at which each recall threshold is reached. Read-only.
    """

    map: float
    map50: float
    map75: float
    map_small: float
    map_medium: float
    map_large: float
    mar_1: float
    mar_10: float
    mar_100: float
    mar_small: float
    mar_medium: float
    mar_large: float
    per_class: tuple[ClassResult, ...]
    class_ids: tuple[Hashable, ...]
    params: COCOParams
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray

    @property
    def stats(self) -> dict[str, float]:
        """The 12 stats by key (``map`` ... ``mar_large``), in pycocotools' order."""
        return {key: getattr(self, key) for key, _ in STAT_KEYS}

    def mar_at(self, max_dets: int) -> float:
        """AR (area "all", all IoU thresholds) with ``max_dets`` detections per image; NaN if not evaluated."""
        if max_dets not in self.params.max_dets:
            return float("nan")
        a_all = self.params.area_labels.index("all")  # not necessarily the first range
        return mean_defined(self.recall[:, :, a_all, self.params.max_dets.index(max_dets)])

    def pr_curve(self, class_id: Hashable, iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """The interpolated precision-recall curve of one class (area "all", largest max_dets).

        Returns:
            ``(recall, precision)``: (R,) recall thresholds and (R,) precision; NaN when undefined.

        Raises:
            KeyError: for an unknown class or an IoU threshold that was not evaluated.
        """
        k = self.class_ids.index(class_id) if class_id in self.class_ids else None
        t = np.flatnonzero(self.params.iou_thresholds == iou_threshold)
        if k is None or t.size == 0:
            raise KeyError(f"no curve for class {class_id!r} at IoU {iou_threshold}")
        a_all = self.params.area_labels.index("all")  # not necessarily the first range
        return self.params.rec_thresholds.copy(), self.precision[t[0], :, k, a_all, -1].copy()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: ``AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl`` (undefined as None),
        ``AR_at_max_dets`` ({max_dets: AR}), ``params`` and ``per_class``."""
        out: dict[str, Any] = {name: _json_float(getattr(self, key)) for key, name in STAT_KEYS}
        out["AR_at_max_dets"] = {str(m): _json_float(self.mar_at(m)) for m in self.params.max_dets}
        out["params"] = {
            "iou_thresholds": self.params.iou_thresholds.tolist(),
            "max_dets": list(self.params.max_dets),
            "area_ranges": {k: list(v) for k, v in self.params.area_ranges.items()},
        }
        out["per_class"] = [c.to_dict() for c in self.per_class]
        return out

    def __str__(self) -> str:
        """pycocotools' 12-line summary (undefined shown as nan)."""
        p = self.params
        iou_all = f"{p.iou_thresholds[0]:0.2f}:{p.iou_thresholds[-1]:0.2f}"
        top = p.max_dets[-1]
        rows = [
            (1, iou_all, "all", top, self.map),
            (1, "0.50", "all", top, self.map50),
            (1, "0.75", "all", top, self.map75),
            (1, iou_all, "small", top, self.map_small),
            (1, iou_all, "medium", top, self.map_medium),
            (1, iou_all, "large", top, self.map_large),
            (0, iou_all, "all", 1, self.mar_1),
            (0, iou_all, "all", 10, self.mar_10),
            (0, iou_all, "all", 100, self.mar_100),
            (0, iou_all, "small", top, self.mar_small),
            (0, iou_all, "medium", top, self.mar_medium),
            (0, iou_all, "large", top, self.mar_large),
        ]
        lines = []
        for is_ap, iou, area, md, value in rows:
            title = "Average Precision  (AP)" if is_ap else "Average Recall     (AR)"
            lines.append(f" {title} @[ IoU={iou:<9} | area={area:>6s} | maxDets={md:>3d} ] = {value:0.3f}")
        return "\n".join(lines)

    def per_class_table(self) -> str:
        """A fixed-width table: class, AP, AP50, AP75, AR, #GT, #det (undefined shown as nan)."""
        name_w = max([5, *(len(c.name) for c in self.per_class)])
        head = f"{'class':<{name_w}}  {'AP':>6}  {'AP50':>6}  {'AP75':>6}  {'AR':>6}  {'#GT':>7}  {'#det':>7}"
        lines = [head, "-" * len(head)]
        for c in self.per_class:
            lines.append(
                f"{c.name:<{name_w}}  {c.ap:6.3f}  {c.ap50:6.3f}  {c.ap75:6.3f}  {c.ar:6.3f}  {c.n_gt:7d}  {c.n_det:7d}"
            )
        return "\n".join(lines)


def _ap(precision: np.ndarray, params: COCOParams, iou: float | None, area: str, k: Any = slice(None)) -> float:
    if area not in params.area_ranges:
        return float("nan")
    a = params.area_labels.index(area)
    s = precision
    if iou is not None:
        t = np.flatnonzero(params.iou_thresholds == iou)
        s = s[t]
    return mean_defined(s[:, :, k, a, -1])


def _ar(recall: np.ndarray, params: COCOParams, area: str, max_dets: int | None, k: Any = slice(None)) -> float:
    if area not in params.area_ranges:
        return float("nan")
    a = params.area_labels.index(area)
    m = len(params.max_dets) - 1 if max_dets is None else None
    if max_dets is not None:
        if max_dets not in params.max_dets:
            return float("nan")
        m = params.max_dets.index(max_dets)
    return mean_defined(recall[:, k, a, m])


def build_result(
    arrays: CocoArrays, params: COCOParams, class_ids: list[Hashable], class_names: list[str]
) -> MAPResult:
    """Summarize accumulated arrays into a :class:`MAPResult` (pycocotools ``summarize``, honest maxDets)."""
    prec, rec = arrays.precision, arrays.recall
    a_all = params.area_labels.index("all")
    per_class = tuple(
        ClassResult(
            class_id=cid,
            name=name,
            ap=_ap(prec, params, None, "all", k),
            ap50=_ap(prec, params, 0.5, "all", k),
            ap75=_ap(prec, params, 0.75, "all", k),
            ar=_ar(rec, params, "all", None, k),
            n_gt=int(arrays.n_gt[k, a_all]),
            n_det=int(arrays.n_det[k]),
        )
        for k, (cid, name) in enumerate(zip(class_ids, class_names))
    )
    return MAPResult(
        map=_ap(prec, params, None, "all"),
        map50=_ap(prec, params, 0.5, "all"),
        map75=_ap(prec, params, 0.75, "all"),
        map_small=_ap(prec, params, None, "small"),
        map_medium=_ap(prec, params, None, "medium"),
        map_large=_ap(prec, params, None, "large"),
        mar_1=_ar(rec, params, "all", 1),
        mar_10=_ar(rec, params, "all", 10),
        mar_100=_ar(rec, params, "all", 100),
        mar_small=_ar(rec, params, "small", None),
        mar_medium=_ar(rec, params, "medium", None),
        mar_large=_ar(rec, params, "large", None),
        per_class=per_class,
        class_ids=tuple(class_ids),
        params=params,
        precision=_frozen(arrays.precision),
        recall=_frozen(arrays.recall),
        scores=_frozen(arrays.scores),
    )
