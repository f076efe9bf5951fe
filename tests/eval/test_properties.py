"""Properties of COCO AP that hold for any input (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from odkit.boxes import Detections, GroundTruth
from odkit.eval import COCOEvaluator


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[GroundTruth], int]:
    n_images = draw(st.integers(1, 4))
    gts = []
    for _ in range(n_images):
        n = draw(st.integers(0, 6))
        xy = np.array(draw(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=n, max_size=n)))
        wh = np.array(draw(st.lists(st.tuples(st.integers(1, 120), st.integers(1, 120)), min_size=n, max_size=n)))
        xy, wh = xy.reshape(-1, 2), wh.reshape(-1, 2)
        cls = draw(st.lists(st.sampled_from([1, 2, 5]), min_size=n, max_size=n))
        gts.append(GroundTruth(np.concatenate([xy, xy + wh], axis=1), cls))
    return gts, draw(st.integers(0, 10_000))


def _perfect(gts: list[GroundTruth], seed: int) -> list[Detections]:
    rng = np.random.default_rng(seed)
    return [Detections(g.boxes_xyxy, rng.uniform(0.5, 1.0, len(g)), g.class_ids) for g in gts]


@settings(max_examples=40, deadline=None)
@given(scenes())
def test_perfect_detector_scores_one(scene: tuple[list[GroundTruth], int]) -> None:
    gts, seed = scene
    result = COCOEvaluator().update(_perfect(gts, seed), gts).compute()
    # precision is tp / (tp + fp + eps) as in pycocotools, so "1" is 1 - 2.2e-16
    # (AR1 and AR10 are below 1 when an image holds more objects than that)
    defined = [v for k, v in result.stats.items() if k not in ("mar_1", "mar_10") and not np.isnan(v)]
    assert all(abs(v - 1.0) < 1e-12 for v in defined)
    if sum(len(g) for g in gts) > 0:
        assert abs(result.map - 1.0) < 1e-12 and result.mar_100 == 1.0
    else:
        assert not defined


@settings(max_examples=40, deadline=None)
@given(scenes(), st.integers(0, 3), st.sampled_from([1, 2, 5]))
def test_low_scored_false_positive_does_not_change_ap(
    scene: tuple[list[GroundTruth], int], image: int, cls: int
) -> None:
    gts, seed = scene
    dets = _perfect(gts, seed)
    # make some detections wrong so AP is not trivially 1
    dets = [
        Detections(d.boxes_xyxy + np.where(np.arange(len(d)) % 2 == 0, 0.0, 30.0)[:, None], d.scores, d.class_ids)
        for d in dets
    ]
    base = COCOEvaluator().update(dets, gts).compute()
    i = image % len(gts)
    extra = Detections([[300.0, 300.0, 340.0, 350.0]], [0.01], [cls])  # below every score (>= 0.5), no overlap
    d = dets[i]
    dets[i] = Detections(
        np.concatenate([d.boxes_xyxy, extra.boxes_xyxy]),
        np.concatenate([d.scores, extra.scores]),
        np.concatenate([d.class_ids, extra.class_ids]),
    )
    after = COCOEvaluator().update(dets, gts).compute()
    for key in ("map", "map50", "map75", "mar_100"):
        a, b = getattr(base, key), getattr(after, key)
        assert (np.isnan(a) and np.isnan(b)) or a == b, key
