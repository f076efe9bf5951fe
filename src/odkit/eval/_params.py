"""``COCOParams``: the thresholds, size ranges and detection limits of a COCO evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["COCO_AREA_RANGES", "COCOParams"]

#: pycocotools' size ranges, px^2; a GT is outside a range when ``area < lo or area > hi`` (both inclusive).
COCO_AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e10),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e10),
}


def _readonly(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class COCOParams:
    """Settings of a COCO bbox evaluation; the defaults are pycocotools' ``Params('bbox')``.

    Attributes:
        iou_thresholds: (T,) float64 IoU thresholds, default ``linspace(.5, .95, 10)``. A detection matches
            at threshold ``t`` when IoU >= ``min(t, 1 - 1e-10)``.
        rec_thresholds: (R,) float64 recall points where precision is sampled, default ``linspace(0, 1, 101)``.
        max_dets: detections kept per image and category, sorted ascending; default (1, 10, 100). The
            headline AP stats use the largest value (pycocotools hard-codes 100 and reports -1 when 100 is
            not in its list; odkit honours a custom list).
        area_ranges: label -> (lo, hi) in px^2, both bounds inclusive; must contain "all". The stats
            ``map_small`` etc. read the labels "small", "medium" and "large" (NaN when a label is absent).
    """

    iou_thresholds: np.ndarray = field(default_factory=lambda: _readonly(np.linspace(0.5, 0.95, 10)))
    rec_thresholds: np.ndarray = field(default_factory=lambda: _readonly(np.linspace(0.0, 1.0, 101)))
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_ranges: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(COCO_AREA_RANGES))

    def __post_init__(self) -> None:
        iou = _readonly(self.iou_thresholds)
        if iou.size == 0 or not np.all(np.isfinite(iou)) or np.any((iou < 0) | (iou > 1)):
            raise ValueError(f"iou_thresholds must be a non-empty list of values in [0, 1]; got {iou.tolist()}")
        rec = _readonly(self.rec_thresholds)
        if rec.size == 0 or np.any(np.diff(rec) < 0) or np.any((rec < 0) | (rec > 1)):
            raise ValueError(f"rec_thresholds must be ascending values in [0, 1]; got {rec.tolist()}")
        max_dets = tuple(sorted(int(m) for m in self.max_dets))
        if not max_dets or max_dets[0] < 1 or len(set(max_dets)) != len(max_dets):
            raise ValueError(f"max_dets must be distinct positive integers; got {list(self.max_dets)}")
        ranges = {str(k): (float(v[0]), float(v[1])) for k, v in dict(self.area_ranges).items()}
        if "all" not in ranges:
            raise ValueError(f"area_ranges must contain 'all'; got labels {list(ranges)}")
        for label, (lo, hi) in ranges.items():
            if not lo <= hi:
                raise ValueError(f"area_ranges[{label!r}] must have lo <= hi; got ({lo}, {hi})")
        object.__setattr__(self, "iou_thresholds", iou)
        object.__setattr__(self, "rec_thresholds", rec)
        object.__setattr__(self, "max_dets", max_dets)
        object.__setattr__(self, "area_ranges", ranges)

    @property
    def area_labels(self) -> tuple[str, ...]:
        """Area-range labels in the order of the A axis of the result arrays."""
        return tuple(self.area_ranges)

    @property
    def area_bounds(self) -> np.ndarray:
        """(A, 2) float64 (lo, hi) per area range, px^2."""
        return np.array(list(self.area_ranges.values()), dtype=np.float64).reshape(-1, 2)

    @property
    def match_thresholds(self) -> np.ndarray:
        """(T,) float64 thresholds actually used for matching: ``min(t, 1 - 1e-10)``, as pycocotools."""
        return np.minimum(self.iou_thresholds, 1 - 1e-10)
