"""``FlatData``: a whole evaluation set as flat arrays (no per-box Python objects)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["DET_FIELDS", "FIELDS", "GT_FIELDS", "FlatData", "empty_field"]


class FlatData(NamedTuple):
    """Detections and ground truth of many images, as flat arrays.

    Image and class fields are *indices* into ``n_images`` / ``n_classes`` lists whose order is the
    evaluation order (sorted ids, as pycocotools' ``np.unique``); the ids themselves live with the caller.

    Attributes:
        n_images: number of images evaluated (images without GT or detections included).
        n_classes: number of categories evaluated.
        det_image: (N,) int64 image index of each detection.
        det_class: (N,) int64 class index.
        det_xyxy: (N, 4) float64 absolute xyxy boxes; ``x_max`` is ``x_min + w`` for COCO input.
        det_area: (N,) float64 box ``w*h`` (the detection's area for size ranges and IoU).
        det_score: (N,) float64 confidence. Detection order within an image is the tie-break of equal
            scores (pycocotools' stable sort keeps results-file order).
        gt_image: (G,) int64 image index of each GT.
        gt_class: (G,) int64 class index.
        gt_xyxy: (G, 4) float64 absolute xyxy boxes.
        gt_box_area: (G,) float64 box ``w*h`` (used by the IoU).
        gt_area: (G,) float64 annotation ``area`` (segment area in COCO), used for size ranges.
        gt_crowd: (G,) bool crowd flags (COCO's ``ignore`` is ``iscrowd``).
        gt_difficult: (G,) bool VOC difficult flags.
        gt_zero_id: (G,) bool, the GT's COCO annotation id is 0 (see ``match_coco``); None when the
            source has no annotation ids.
    """

    n_images: int
    n_classes: int
    det_image: np.ndarray
    det_class: np.ndarray
    det_xyxy: np.ndarray
    det_area: np.ndarray
    det_score: np.ndarray
    gt_image: np.ndarray
    gt_class: np.ndarray
    gt_xyxy: np.ndarray
    gt_box_area: np.ndarray
    gt_area: np.ndarray
    gt_crowd: np.ndarray
    gt_difficult: np.ndarray
    gt_zero_id: np.ndarray | None = None

    @property
    def n_det(self) -> int:
        return int(self.det_score.shape[0])

    @property
    def n_gt(self) -> int:
        return int(self.gt_area.shape[0])


#: The per-detection and per-GT columns of :class:`FlatData`, in order: the one list of evaluation fields
#: (the evaluator's state, its ``state_dict`` and the COCO loaders' columns all use these names).
DET_FIELDS: tuple[str, ...] = tuple(f for f in FlatData._fields if f.startswith("det_"))
GT_FIELDS: tuple[str, ...] = tuple(f for f in FlatData._fields if f.startswith("gt_"))
FIELDS: tuple[str, ...] = DET_FIELDS + GT_FIELDS

_DTYPES = {"image": np.int64, "class": np.int64, "crowd": np.bool_, "difficult": np.bool_, "zero_id": np.bool_}


def empty_field(name: str) -> np.ndarray:
    """An empty column of field ``name``: (0, 4) float64 boxes, (0,) int64 indices, bool flags, float64 else."""
    if name.endswith("_xyxy"):
        return np.zeros((0, 4), dtype=np.float64)
    return np.zeros(0, dtype=_DTYPES.get(name.split("_", 1)[1], np.float64))
