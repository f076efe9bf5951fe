"""How the detector scores itself on a validation feed during ``fit`` (and ``evaluate``): the loss parts on the
transformed targets and COCO mAP of its predictions against the ground truth in the original images' pixels,
merged exactly across ranks under torchrun. A mixin of :class:`odkit.models._detector.Detector` (it expects the
detector's ``compute_loss``, ``_detections``, ``_input_images``, ``_autocast`` and ``device``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from odkit.boxes import Detections

#: The loss parts the detector logs (``val_`` + each during fit).
LOSS_KEYS = ("loss", "cls_loss", "box_loss", "ctr_loss")


class DetectorEvaluation:
    """Validation of a detector on a ``DetectionFeed``: losses and COCO mAP (conf 0.001, NMS 0.5, 100 per image)."""

    @torch.no_grad()
    def _evaluate_source(self, source: Any) -> dict[str, float]:
        """Loss parts on the transformed targets, and COCO mAP of predictions (conf 0.001, NMS 0.5, 100 per
        image) against the dataset's ground truth in original pixels (in the transformed images' pixels when
        the transforms are not a plain letterbox)."""
        from odkit.boxes import GroundTruth
        from odkit.data import Letterbox, letterbox_info, unletterbox_boxes
        from odkit.eval import COCOEvaluator

        ds = source.ds
        plain = isinstance(ds.transforms, Letterbox)
        evaluator = COCOEvaluator(class_ids=list(ds.category_ids), class_names=list(ds.class_names))
        category = np.asarray(ds.category_ids)
        totals: dict[str, float] = {}
        count = 0
        for images, targets in source.iter_epoch(0):
            x = self._input_images(images)
            self.eval()
            with self._autocast():
                outputs = self(x)
            if getattr(self, "_amp", "off") != "off":
                outputs = tuple(o.float() for o in outputs)
            hw = (int(x.shape[2]), int(x.shape[3]))
            losses = self.compute_loss(outputs, targets, hw)
            for k, v in losses.items():
                totals[k] = totals.get(k, 0.0) + float(v) * len(targets)
            count += len(targets)
            dets = self._detections(outputs, hw, conf=0.001, iou=0.5, max_det=100)
            preds, gts, ids = [], [], []
            for det, target in zip(dets, targets):
                boxes = det.boxes_xyxy
                if plain:
                    info = letterbox_info(target["source_hw"], ds.transforms.image_hw, ds.transforms.allow_upscale)
                    boxes = unletterbox_boxes(boxes, info)
                    gt = ds.dataset.annotations[target["image_id"]]
                else:
                    gt = GroundTruth(target["boxes"], category[target["labels"]])
                preds.append(Detections(boxes, det.scores, category[det.class_ids]))
                gts.append(gt)
                ids.append(target["image_id"])
            evaluator.update(preds, gts, ids)
        if getattr(source, "dist", None) is not None and source.dist.active:
            evaluator, totals, count = self._merge_ranks(evaluator, totals, count, ds)
        if count == 0:
            raise ValueError("the evaluation data gave no image")
        result = evaluator.compute()
        logs = {k: v / count for k, v in totals.items()}
        logs.update(map50=float(result.map50), map=float(result.map))
        return logs

    def _merge_ranks(self, evaluator: Any, totals: dict[str, float], count: int, ds: Any
                     ) -> tuple[Any, dict[str, float], int]:
        """Every rank's evaluator states merged (``COCOEvaluator.merge``: the numbers of one evaluator that saw
        every image) and the loss sums and image counts summed, on every rank."""
        from odkit.eval import COCOEvaluator
        from odkit.models._distributed import all_gather_object, all_reduce_sum

        merged = COCOEvaluator(class_ids=list(ds.category_ids), class_names=list(ds.class_names))
        for state in all_gather_object(evaluator.state_dict()):
            merged.merge(state)
        keys = list(LOSS_KEYS)
        sums = all_reduce_sum([float(count), *(totals.get(k, 0.0) for k in keys)], self.device)
        return merged, dict(zip(keys, sums[1:])), round(sums[0])
