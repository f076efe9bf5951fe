"""Hypothesis properties of the IoU family and of greedy NMS."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from odkit.ops import batched_nms, box_iou, complete_box_iou, distance_box_iou, generalized_box_iou, nms

PROPS = settings(max_examples=100, deadline=None)


@st.composite
def int_boxes(draw: st.DrawFn, min_n: int = 1, max_n: int = 8, min_size: int = 0) -> np.ndarray:
    """(n, 4) float64 xyxy boxes with integer corners (so translations are exact)."""
    n = draw(st.integers(min_n, max_n))
    corner = st.integers(-1000, 1000)
    size = st.integers(min_size, 300)
    rows = [
        (x, y, x + w, y + h)
        for x, y, w, h in draw(st.lists(st.tuples(corner, corner, size, size), min_size=n, max_size=n))
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


@st.composite
def float_boxes(draw: st.DrawFn, max_n: int = 40) -> np.ndarray:
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    span = draw(st.sampled_from([10.0, 100.0, 1000.0]))
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0, span / 3, (n, 2)) * (rng.random((n, 2)) > 0.05)  # some zero-size boxes
    return np.concatenate([xy, xy + wh], axis=1)


@PROPS
@given(int_boxes(), int_boxes())
def test_iou_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    ab = box_iou(a, b)
    np.testing.assert_array_equal(ab, box_iou(b, a).T)
    assert np.all((ab >= 0) & (ab <= 1))
    for fn in (generalized_box_iou, distance_box_iou, complete_box_iou):
        np.testing.assert_allclose(fn(a, b), fn(b, a).T, rtol=1e-12, atol=1e-12)
        assert np.all(np.abs(fn(a, b)) <= 1.5 + 1e-12)
    assert np.all(generalized_box_iou(a, b) <= ab + 1e-12)
    assert np.all(distance_box_iou(a, b) <= ab + 1e-12)


@PROPS
@given(int_boxes(min_size=1))
def test_iou_with_itself_is_one(a: np.ndarray) -> None:
    for fn in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        np.testing.assert_allclose(np.diag(fn(a, a)), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fn(a, a, aligned=True), 1.0, rtol=0, atol=1e-12)


@PROPS
@given(int_boxes(), int_boxes(), st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_iou_invariant_to_translating_both(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> None:
    shift = np.array([dx, dy, dx, dy], dtype=np.float64)
    np.testing.assert_array_equal(box_iou(a + shift, b + shift), box_iou(a, b))  # integer math: exact
    for fn in (generalized_box_iou, distance_box_iou, complete_box_iou):
        np.testing.assert_allclose(fn(a + shift, b + shift), fn(a, b), rtol=1e-9, atol=1e-9)


@PROPS
@given(int_boxes(), int_boxes(), st.floats(1e-3, 1e3), st.integers(-20, 20))
def test_iou_invariant_to_scaling_both(a: np.ndarray, b: np.ndarray, factor: float, power: int) -> None:
    np.testing.assert_array_equal(box_iou(a * 2.0**power, b * 2.0**power), box_iou(a, b))  # exact
    for fn in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        np.testing.assert_allclose(fn(a * factor, b * factor), fn(a, b), rtol=1e-9, atol=1e-12)


def _check_greedy_properties(boxes: np.ndarray, scores: np.ndarray, thr: float, keep: np.ndarray) -> None:
    assert keep.dtype == np.int64
    assert np.unique(keep).size == keep.size
    assert np.all(np.diff(scores[keep]) <= 0)  # by descending score
    if boxes.shape[0]:
        assert keep[0] == int(np.argmax(scores))  # the top-scoring box (first of ties) is kept
    iou = box_iou(boxes[keep], boxes[keep])
    np.fill_diagonal(iou, 0.0)
    if keep.size > 1 and thr > 0:
        assert iou.max() < thr  # kept boxes overlap each other under the threshold
    removed = np.setdiff1d(np.arange(boxes.shape[0]), keep)
    if removed.size:  # each removed box is covered by a kept box ranked before it
        cover = box_iou(boxes[removed], boxes[keep]) >= thr
        rank = np.argsort(np.argsort(-scores, kind="stable"), kind="stable")
        before = rank[keep][None, :] < rank[removed][:, None]
        assert np.all((cover & before).any(axis=1))


@PROPS
@given(float_boxes(), st.floats(0.0, 1.0), st.booleans(), st.integers(0, 2**32 - 1))
def test_nms_properties(boxes: np.ndarray, thr: float, tied: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = boxes.shape[0]
    scores = rng.integers(0, 3, n).astype(np.float64) if tied else rng.random(n)
    keep = nms(boxes, scores, thr)
    _check_greedy_properties(boxes, scores, thr, keep)
    again = nms(boxes[keep], scores[keep], thr)
    np.testing.assert_array_equal(again, np.arange(keep.size))  # idempotent: nothing more to remove
    solid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if thr > 0:
        assert set(np.flatnonzero(~solid)) <= set(keep.tolist())  # zero-size boxes never overlap


@PROPS
@given(float_boxes(), st.floats(0.05, 1.0), st.integers(0, 2**32 - 1))
def test_batched_nms_is_nms_per_class(boxes: np.ndarray, thr: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = boxes.shape[0]
    scores = rng.random(n)
    class_ids = rng.integers(0, 3, n)
    keep = batched_nms(boxes, scores, class_ids, thr)
    assert np.all(np.diff(scores[keep]) <= 0)
    for c in range(3):
        members = np.flatnonzero(class_ids == c)
        expected = members[nms(boxes[members], scores[members], thr)]
        np.testing.assert_array_equal(keep[class_ids[keep] == c], expected)
