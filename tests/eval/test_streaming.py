"""Streaming update / merge / state gathering give exactly the one-pass numbers; container input vs pycocotools."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.errors import EvaluationError
from odkit.eval import COCOEvaluator, MAPResult

from ._scenes import make_scene, nan_for_minus_one, pycoco_eval


def _containers(seed: int, n_images: int = 12) -> tuple[list[Any], list[Detections], list[GroundTruth]]:
    gt, results = make_scene(seed, n_images=n_images, cat_ids=(1, 4, 7), crowd_p=0.1, tie_decimals=1)
    ids = [im["id"] for im in gt["images"]]
    dets, gts = [], []
    for i in ids:
        rs = [r for r in results if r["image_id"] == i]
        anns = [a for a in gt["annotations"] if a["image_id"] == i]
        xywh = np.array([r["bbox"] for r in rs]).reshape(-1, 4)
        dets.append(
            Detections(
                np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1),
                [r["score"] for r in rs],
                [r["category_id"] for r in rs],
            )
        )
        g = np.array([a["bbox"] for a in anns]).reshape(-1, 4)
        gts.append(
            GroundTruth(
                np.concatenate([g[:, :2], g[:, :2] + g[:, 2:]], axis=1),
                [a["category_id"] for a in anns],
                [a["iscrowd"] for a in anns],
                [a["area"] for a in anns],
            )
        )
    return ids, dets, gts


def _same(a: MAPResult, b: MAPResult) -> None:
    np.testing.assert_array_equal(a.precision, b.precision)
    np.testing.assert_array_equal(a.recall, b.recall)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert [c.to_dict() for c in a.per_class] == [c.to_dict() for c in b.per_class]
    np.testing.assert_array_equal(list(a.stats.values()), list(b.stats.values()))


def test_containers_equal_pycocotools() -> None:
    pytest.importorskip("pycocotools")
    ids, dets, gts = _containers(1)
    # the reference sees exactly the float32 boxes and scores the containers hold
    gt = {"images": [{"id": i} for i in ids], "categories": [{"id": c} for c in (1, 4, 7)], "annotations": []}
    results = []
    for i, d, g in zip(ids, dets, gts):
        for box, c, crowd, area in zip(g.boxes_xyxy.astype(float), g.class_ids, g.iscrowd, g.area):
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i,
                    "category_id": int(c),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "area": float(area),
                    "iscrowd": int(crowd),
                }
            )
        for box, s, c in zip(d.boxes_xyxy.astype(float), d.scores.astype(float), d.class_ids):
            results.append(
                {
                    "image_id": i,
                    "category_id": int(c),
                    "score": float(s),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    ref = pycoco_eval(gt, results)
    ours = COCOEvaluator(class_ids=[1, 4, 7]).update(dets, gts, image_ids=ids).compute()
    np.testing.assert_array_equal(ours.precision, nan_for_minus_one(ref.eval["precision"]))
    np.testing.assert_allclose(list(ours.stats.values()), nan_for_minus_one(ref.stats), rtol=0, atol=1e-12)


def test_image_by_image_equals_one_batch() -> None:
    ids, dets, gts = _containers(2)
    whole = COCOEvaluator().update(dets, gts, image_ids=ids).compute()
    ev = COCOEvaluator()
    for i, d, g in zip(ids, dets, gts):
        ev.update([d], [g], image_ids=[i])
    _same(whole, ev.compute())


def test_merge_and_state_gather_equal_one_pass() -> None:
    ids, dets, gts = _containers(3)
    whole = COCOEvaluator().update(dets, gts, image_ids=ids).compute()
    parts = [COCOEvaluator().update(dets[k::3], gts[k::3], image_ids=ids[k::3]) for k in range(3)]
    merged = COCOEvaluator()
    for p in parts:
        merged.merge(pickle.loads(pickle.dumps(p.state_dict())))  # as if gathered from other processes
    _same(whole, merged.compute())
    rebuilt = COCOEvaluator.from_state(parts[0].state_dict()).merge(parts[1]).merge(parts[2])
    _same(whole, rebuilt.compute())


def test_permuting_images_changes_nothing() -> None:
    ids, dets, gts = _containers(4)
    base = COCOEvaluator().update(dets, gts, image_ids=ids).compute()
    perm = np.random.default_rng(0).permutation(len(ids))
    shuffled = COCOEvaluator().update([dets[i] for i in perm], [gts[i] for i in perm], [ids[i] for i in perm])
    _same(base, shuffled.compute())


def test_compute_keeps_state_and_reset_clears() -> None:
    ids, dets, gts = _containers(5)
    ev = COCOEvaluator().update(dets, gts, image_ids=ids)
    _same(ev.compute(), ev.compute())
    ev.reset()
    assert ev.num_images == 0
    assert np.isnan(ev.compute().map)


def test_repeated_image_id_raises() -> None:
    ids, dets, gts = _containers(6, n_images=2)
    ev = COCOEvaluator().update(dets, gts, image_ids=ids)
    with pytest.raises(EvaluationError, match="already evaluated"):
        ev.update(dets[:1], gts[:1], image_ids=ids[:1])
    with pytest.raises(EvaluationError, match="already evaluated"):
        ev.merge(COCOEvaluator().update(dets[:1], gts[:1], image_ids=ids[:1]))


def test_bad_update_inputs_raise() -> None:
    ids, dets, gts = _containers(7, n_images=2)
    with pytest.raises(EvaluationError, match="predictions"):
        COCOEvaluator().update(dets, gts[:1])
    with pytest.raises(EvaluationError, match=r"predictions\[0\]"):
        COCOEvaluator().update([{"boxes": []}], gts[:1])  # type: ignore[list-item]
    with pytest.raises(EvaluationError, match="class id 1"):
        COCOEvaluator(class_ids=[4, 7]).update(dets, gts, image_ids=ids)


def test_unknown_class_rolls_back_image_ids() -> None:
    ids, dets, gts = _containers(8, n_images=2)
    ev = COCOEvaluator(class_ids=[4, 7])
    with pytest.raises(EvaluationError):
        ev.update(dets, gts, image_ids=ids)
    assert ev.num_images == 0


def test_any_hashable_ids() -> None:
    ids, dets, gts = _containers(9, n_images=4)
    base = COCOEvaluator().update(dets, gts, image_ids=ids).compute()
    # ids only set the tie-break order between images; tuples sort like the ints they wrap
    tupled = COCOEvaluator().update(dets, gts, image_ids=[("img", i) for i in ids]).compute()
    _same(base, tupled)
    mixed = COCOEvaluator().update(dets, gts, image_ids=["a", 1, ("b",), 2.5]).compute()  # not sortable
    assert mixed.map == pytest.approx(base.map, abs=0.02)


def test_class_names_and_fixed_classes_in_result() -> None:
    ids, dets, gts = _containers(10, n_images=3)
    res = (
        COCOEvaluator(class_ids=[7, 4, 1, 99], class_names=["seven", "four", "one", "none"])
        .update(dets, gts, image_ids=ids)
        .compute()
    )
    assert res.class_ids == (1, 4, 7, 99)
    assert [c.name for c in res.per_class] == ["one", "four", "seven", "none"]
    assert np.isnan(res.per_class[3].ap) and res.per_class[3].n_gt == 0
    assert "seven" in res.per_class_table()
    rec, prec = res.pr_curve(1, 0.5)
    assert rec.shape == prec.shape == (101,)
    with pytest.raises(KeyError):
        res.pr_curve(5, 0.5)


def test_failed_update_or_merge_leaves_state_unchanged() -> None:
    ids, dets, gts = _containers(12, n_images=3)
    ev = COCOEvaluator().update(dets[:1], gts[:1], image_ids=ids[:1])
    before = ev.compute()
    with pytest.raises(EvaluationError, match="already evaluated"):
        ev.update(dets[1:], gts[1:], image_ids=[ids[1], ids[1]])  # repeated within one call
    fixed = COCOEvaluator(class_ids=[1])
    with pytest.raises(EvaluationError, match="class id"):
        fixed.merge(COCOEvaluator().update(dets[1:], gts[1:], image_ids=ids[1:]))
    assert fixed.num_images == 0
    assert ev.num_images == 1
    _same(before, ev.compute())
    ev.update(dets[1:], gts[1:], image_ids=ids[1:])  # the ids are still free
    assert ev.num_images == 3
