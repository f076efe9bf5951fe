"""Greedy, class-aware and soft NMS against the brute-force references (seeds x thresholds), and edge cases."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from odkit.errors import BoxFormatError
from odkit.ops import _nms, _nms_blocks, _nms_pairs, batched_nms, box_iou, nms, soft_nms
from odkit.ops._nms_kernel import greedy_nms_sorted
from tests.conftest import assert_unchanged
from tests.ops import _reference as ref
from tests.ops._cases import clustered_boxes, grid_boxes, random_boxes

THRESHOLDS = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]


def _case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kind = seed % 3
    if kind == 0:
        boxes = random_boxes(rng, n)
    elif kind == 1:
        boxes = grid_boxes(rng, n)  # identical boxes and IoUs exactly at 0.5, 1/3, ...
    else:
        boxes = clustered_boxes(rng, n)
    scores = rng.integers(0, 6, n) / 5 if seed % 4 == 1 else rng.random(n)  # %4 == 1: many score ties
    return boxes, scores


@pytest.fixture(params=["auto", "kernel", "pairs", "pairs-give-up", "blocks", "loop-steps", "dense"])
def nms_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force each way odkit.ops.nms can take on small inputs (all must give the same result)."""
    if request.param == "kernel":
        monkeypatch.setattr(_nms, "MAX_BOXES", 0)
        monkeypatch.setattr(_nms, "greedy_nms_pairs", lambda *args: None)
    elif request.param == "pairs":  # batched_nms: all pairs at once, in tiny chunks (nms: the kernel)
        monkeypatch.setattr(_nms, "MAX_BOXES", 0)
        monkeypatch.setattr(_nms_pairs, "_CHUNK", 7)
        monkeypatch.setattr(_nms_pairs, "_PAIRS_PER_BOX", 10**9)
    elif request.param == "pairs-give-up":  # too many rounds: the kernel takes over
        monkeypatch.setattr(_nms, "MAX_BOXES", 0)
        monkeypatch.setattr(_nms_pairs, "_MAX_ROUNDS", 1)
    elif request.param == "blocks":  # many small heads, no dense finish: every step of the block path
        monkeypatch.setattr(_nms_blocks, "_DENSE", 1)
        monkeypatch.setattr(_nms_blocks, "_HEAD", 64)
        monkeypatch.setattr(_nms_blocks, "_MAX_HEAD", 128)
        monkeypatch.setattr(_nms_blocks, "_LOOP_PAIRS", 10**9)
    elif request.param == "loop-steps":
        monkeypatch.setattr(_nms_blocks, "_DENSE", 1)
        monkeypatch.setattr(_nms_blocks, "_LOOP_PAIRS", -1)
    elif request.param == "dense":
        monkeypatch.setattr(_nms_blocks, "_DENSE", 10**9)
    return str(request.param)


@pytest.mark.parametrize("iou_threshold", THRESHOLDS)
@pytest.mark.parametrize("seed", range(15))
def test_nms_matches_reference(seed: int, iou_threshold: float, nms_path: str) -> None:
    boxes, scores = _case(seed, 120)
    keep = nms(boxes, scores, iou_threshold)
    assert keep.dtype == np.int64
    assert keep.tolist() == ref.nms(boxes.tolist(), scores.tolist(), iou_threshold)
    if iou_threshold > 0:
        limited = nms(boxes, scores, iou_threshold, max_det=5)
        assert limited.tolist() == keep[:5].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_nms_matches_reference_on_many_clustered_boxes(seed: int) -> None:
    # Large enough for several blocks of the kernel and many boxes per spatial bucket.
    rng = np.random.default_rng(1000 + seed)
    boxes = clustered_boxes(rng, 1200, cluster=30)
    scores = rng.random(1200).astype(np.float32)
    for iou_threshold in (0.5, 0.8):
        keep = nms(boxes, scores, iou_threshold)
        assert keep.tolist() == ref.nms(boxes.tolist(), scores.tolist(), iou_threshold)


@pytest.mark.parametrize("block", [1, 3, 16, 64])
@pytest.mark.parametrize("seed", range(4))
def test_kernel_block_size_does_not_change_the_result(seed: int, block: int) -> None:
    boxes, scores = _case(seed, 200)
    order = np.argsort(-scores, kind="stable")
    expected = ref.nms(boxes.tolist(), scores.tolist(), 0.4)
    kept = greedy_nms_sorted(boxes[order], 0.4, 200, block)
    assert order[kept].tolist() == expected
    assert order[greedy_nms_sorted(boxes[order], 0.4, 5, block)].tolist() == expected[:5]


@pytest.mark.parametrize("seed", range(6))
def test_nms_score_threshold_and_max_det_match_reference(seed: int) -> None:
    boxes, scores = _case(seed, 150)
    for score_threshold, max_det in ((0.5, None), (None, 7), (0.3, 3), (scores[7], 1000), (None, 0)):
        keep = nms(boxes, scores, 0.5, score_threshold=score_threshold, max_det=max_det)
        assert keep.tolist() == ref.nms(boxes.tolist(), scores.tolist(), 0.5, score_threshold, max_det)
    # a score equal to the threshold is kept
    assert nms(boxes[7:8], scores[7:8], 0.5, score_threshold=float(scores[7])).tolist() == [0]


@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", range(10))
def test_batched_nms_matches_reference(seed: int, iou_threshold: float) -> None:
    boxes, scores = _case(seed, 150)
    class_ids = np.random.default_rng(seed).integers(0, 4, 150)
    keep = batched_nms(boxes, scores, class_ids, iou_threshold)
    assert keep.dtype == np.int64
    assert keep.tolist() == ref.batched_nms(boxes.tolist(), scores.tolist(), class_ids.tolist(), iou_threshold)
    for score_threshold, max_det in ((0.5, None), (None, 5)):
        keep = batched_nms(boxes, scores, class_ids, iou_threshold, score_threshold, max_det)
        expected = ref.batched_nms(
            boxes.tolist(), scores.tolist(), class_ids.tolist(), iou_threshold, score_threshold, max_det
        )
        assert keep.tolist() == expected


def test_batched_nms_classes_never_suppress_each_other() -> None:
    boxes = np.array([[0.0, 0, 10, 10]] * 3)
    scores = np.array([0.9, 0.8, 0.7])
    assert batched_nms(boxes, scores, [0, 1, 0], 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, scores, [2, 2, 2], 0.5).tolist() == [0]
    assert batched_nms(boxes, scores, [0, 1, 2], 0.5, max_det=2).tolist() == [0, 1]


@pytest.mark.parametrize("method", ["linear", "gaussian"])
@pytest.mark.parametrize("seed", range(10))
def test_soft_nms_matches_reference(seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    boxes = clustered_boxes(rng, 80, cluster=8) if seed % 2 else random_boxes(rng, 80)
    scores = rng.random(80)
    for iou_threshold, sigma, score_threshold, max_det in ((0.3, 0.5, 0.001, None), (0.5, 0.2, 0.05, 20)):
        keep, kept_scores = soft_nms(boxes, scores, iou_threshold, sigma, method, score_threshold, max_det)
        ref_keep, ref_scores = ref.soft_nms(
            boxes.tolist(), scores.tolist(), iou_threshold, sigma, method, score_threshold, max_det
        )
        assert keep.dtype == np.int64
        assert kept_scores.dtype == np.float64
        assert keep.tolist() == ref_keep
        np.testing.assert_allclose(kept_scores, ref_scores, rtol=1e-12)
        assert np.all(np.diff(kept_scores) <= 0)
        assert np.all(kept_scores >= score_threshold)


def test_soft_nms_decays_instead_of_removing() -> None:
    boxes = np.array([[0.0, 0, 2, 1], [0, 0, 1, 1], [10, 10, 11, 11]])  # IoU(0, 1) = 0.5
    scores = np.array([0.9, 0.8, 0.5])
    keep, kept = soft_nms(boxes, scores, iou_threshold=0.5, method="linear", score_threshold=0.0)
    assert keep.tolist() == [0, 2, 1]  # 0.8 decays to 0.4, under the untouched 0.5
    np.testing.assert_allclose(kept, [0.9, 0.5, 0.4])
    keep, kept = soft_nms(boxes, scores, iou_threshold=0.6, method="linear", score_threshold=0.0)
    assert keep.tolist() == [0, 1, 2]  # IoU under the linear threshold: no decay
    np.testing.assert_allclose(kept, [0.9, 0.8, 0.5])
    keep, kept = soft_nms(boxes, scores, sigma=0.5, method="gaussian", score_threshold=0.0)
    assert keep.tolist() == [0, 2, 1]
    np.testing.assert_allclose(kept, [0.9, 0.5, 0.8 * np.exp(-0.25 / 0.5)])
    keep, kept = soft_nms(boxes, scores, iou_threshold=0.5, method="linear", score_threshold=0.45)
    assert keep.tolist() == [0, 2]  # 0.4 fell under the floor


# --- boundary: at or over the threshold (torchvision: strictly over) ---------------------------------------


def test_iou_exactly_at_threshold_is_removed() -> None:
    boxes = np.array([[0.0, 0, 2, 1], [0, 0, 1, 1]])  # inter 1, union 2: IoU exactly 0.5
    scores = np.array([0.9, 0.8])
    assert box_iou(boxes[:1], boxes[1:])[0, 0] == 0.5
    assert nms(boxes, scores, 0.5).tolist() == [0]  # torchvision.ops.nms keeps both here
    assert nms(boxes, scores, float(np.nextafter(0.5, 1.0))).tolist() == [0, 1]
    assert batched_nms(boxes, scores, [1, 1], 0.5).tolist() == [0]
    third = np.array([[0.0, 0, 2, 2], [1, 0, 3, 2]])  # IoU 1/3 as float64, compared exactly
    assert nms(third, scores, 1 / 3).tolist() == [0]
    assert nms(third, scores, float(np.nextafter(1 / 3, 1.0))).tolist() == [0, 1]


def test_threshold_zero_and_one() -> None:
    boxes = np.array([[0.0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [0, 0, 0, 0]])
    scores = np.array([0.5, 0.9, 0.7, 0.8])
    assert nms(boxes, scores, 0.0).tolist() == [1]  # IoU >= 0 always: only the best survives
    assert nms(boxes, scores, 1.0).tolist() == [1, 3, 2]  # only exact duplicates go


# --- edge cases ---------------------------------------------------------------------------------------------


def test_empty_inputs() -> None:
    for boxes, scores in ((np.zeros((0, 4)), np.zeros(0)), ([], [])):
        for keep in (
            nms(boxes, scores, 0.5),
            nms(boxes, scores, 0.5, score_threshold=0.1, max_det=3),
            batched_nms(boxes, scores, np.zeros(0, dtype=np.int64), 0.5),
            soft_nms(boxes, scores)[0],
        ):
            assert keep.shape == (0,)
            assert keep.dtype == np.int64
    assert soft_nms(np.zeros((0, 4)), np.zeros(0))[1].dtype == np.float64
    # everything under the score threshold
    assert nms([[0, 0, 1, 1]], [0.1], 0.5, score_threshold=0.2).shape == (0,)


def test_one_box() -> None:
    assert nms([[0, 0, 1, 1]], [0.3], 0.5).tolist() == [0]
    assert batched_nms([[0, 0, 1, 1]], [0.3], [4], 0.5).tolist() == [0]
    keep, kept = soft_nms([[0, 0, 1, 1]], [0.3])
    assert keep.tolist() == [0]
    np.testing.assert_allclose(kept, [0.3])


def test_identical_boxes_and_score_ties_are_stable() -> None:
    boxes = np.array([[0.0, 0, 4, 4]] * 5)
    assert nms(boxes, np.full(5, 0.5), 0.5).tolist() == [0]
    assert nms(boxes, [0.1, 0.9, 0.9, 0.2, 0.9], 0.5).tolist() == [1]
    far = np.array([[10.0 * i, 0, 10 * i + 5, 5] for i in range(6)])
    assert nms(far, np.full(6, 0.5), 0.5).tolist() == [0, 1, 2, 3, 4, 5]
    assert nms(far, [0.5, 0.7, 0.5, 0.7, 0.5, 0.7], 0.5).tolist() == [1, 3, 5, 0, 2, 4]
    assert soft_nms(far, np.full(6, 0.5))[0].tolist() == [0, 1, 2, 3, 4, 5]


def test_degenerate_boxes_never_suppress() -> None:
    boxes = np.array([[1.0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 5, 0], [0, 0, 5, 0], [0, 0, 2, 2]])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert nms(boxes, scores, 0.5).tolist() == [0, 1, 2, 3, 4]
    assert nms(boxes, scores, 1e-12).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("scale, offset", [(1e6, 1e12), (1e-7, -3.0), (1.0, -1e9), (1e150, 0.0)])
def test_huge_and_tiny_coordinates_match_reference(scale: float, offset: float) -> None:
    rng = np.random.default_rng(11)
    boxes = clustered_boxes(rng, 400, cluster=10) / 600 * scale + offset
    scores = rng.random(400)
    for iou_threshold in (0.3, 0.5, 0.9):
        keep = nms(boxes, scores, iou_threshold)
        assert keep.tolist() == ref.nms(boxes.tolist(), scores.tolist(), iou_threshold)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8, np.float16, np.float32, np.float64])
def test_input_dtypes(dtype: type) -> None:
    rng = np.random.default_rng(2)
    boxes = grid_boxes(rng, 60)
    scores = rng.random(60)
    expected = ref.nms(boxes.tolist(), scores.tolist(), 0.4)
    assert nms(boxes.astype(dtype), scores, 0.4).tolist() == expected
    assert nms(boxes, scores.astype(np.float32), 0.4).tolist() == ref.nms(
        boxes.tolist(), scores.astype(np.float32).tolist(), 0.4
    )
    int_scores = rng.integers(0, 100, 60)
    assert nms(boxes.astype(dtype), int_scores, 0.4).tolist() == ref.nms(boxes.tolist(), int_scores.tolist(), 0.4)


def test_inputs_not_mutated() -> None:
    rng = np.random.default_rng(4)
    boxes = clustered_boxes(rng, 300).astype(np.float32)
    scores = rng.random(300).astype(np.float32)
    class_ids = rng.integers(0, 3, 300)
    assert_unchanged(nms, boxes, scores, 0.5, score_threshold=0.2, max_det=10)
    assert_unchanged(batched_nms, boxes, scores, class_ids, 0.5)
    assert_unchanged(soft_nms, boxes, scores, 0.3, 0.5, "linear")
    assert_unchanged(nms, boxes.tolist(), scores.tolist(), 0.5)


# --- errors -------------------------------------------------------------------------------------------------


def test_bad_inputs_raise_typed_errors_that_say_where() -> None:
    boxes = np.array([[0.0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 3, 3]])
    scores = np.array([0.1, 0.2, 0.3])
    with pytest.raises(BoxFormatError, match=r"shape \(N, 4\); got \(3, 5\)"):
        nms(np.ones((3, 5)), scores, 0.5)
    with pytest.raises(BoxFormatError, match=r"scores must have shape \(3,\).*\(2,\)"):
        nms(boxes, scores[:2], 0.5)
    nan_boxes = boxes.copy()
    nan_boxes[2, 1] = np.nan
    with pytest.raises(BoxFormatError, match=r"boxes_xyxy\[2\] has a NaN"):
        nms(nan_boxes, scores, 0.5)
    with pytest.raises(BoxFormatError, match=r"scores\[1\] must be finite; got nan"):
        nms(boxes, [0.1, np.nan, 0.3], 0.5)
    with pytest.raises(BoxFormatError, match=r"scores\[0\] must be finite; got inf"):
        soft_nms(boxes, [np.inf, 0.2, 0.3])
    with pytest.raises(BoxFormatError, match=r"boxes_xyxy\[1\].*y_max < y_min"):
        nms([[0, 0, 1, 1], [0, 5, 1, 1]], [0.5, 0.5], 0.5)
    with pytest.raises(BoxFormatError, match=r"class_ids must have shape \(3,\)"):
        batched_nms(boxes, scores, [0, 1], 0.5)
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\]; got 1.5"):
        nms(boxes, scores, 1.5)
    with pytest.raises(ValueError, match="max_det must be >= 0"):
        nms(boxes, scores, 0.5, max_det=-1)
    with pytest.raises(ValueError, match="method must be 'linear' or 'gaussian'"):
        soft_nms(boxes, scores, method="hard")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sigma must be > 0"):
        soft_nms(boxes, scores, sigma=0.0)


def _structured(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if name == "identical":
        return np.tile([[10.0, 10, 50, 60]], (n, 1))
    if name == "concentric":
        s = np.linspace(1, 300, n)
        return np.stack([-s, -s, s, s], axis=1)
    if name == "stripes":  # full-width thin boxes: every pair overlaps in x
        y = rng.uniform(0, 100, n)
        return np.stack([np.zeros(n), y, np.full(n, 1000.0), y + 2], axis=1)
    if name == "crossing":  # thin horizontal and vertical boxes crossing each other
        v = rng.uniform(0, 100, (n, 1))
        horizontal = np.hstack([np.zeros((n, 1)), v, np.full((n, 1), 100.0), v + 3])
        vertical = np.hstack([v, np.zeros((n, 1)), v + 3, np.full((n, 1), 100.0)])
        return np.where(rng.random((n, 1)) < 0.5, horizontal, vertical)
    # sizes over 6 orders of magnitude
    c = rng.uniform(0, 1000, (n, 2))
    wh = np.exp(rng.uniform(-7, 7, (n, 2)))
    return np.concatenate([c - wh / 2, c + wh / 2], axis=1)


@pytest.mark.parametrize("name", ["identical", "concentric", "stripes", "crossing", "sizes"])
def test_nms_structured_scenes_match_reference(name: str) -> None:
    rng = np.random.default_rng(len(name))
    boxes = _structured(name, 400, rng)
    scores = rng.random(400)
    for iou_threshold in (0.05, 0.5, 0.95):
        keep = nms(boxes, scores, iou_threshold)
        assert keep.tolist() == ref.nms(boxes.tolist(), scores.tolist(), iou_threshold)


def test_far_away_degenerate_box_raises_no_warning() -> None:
    boxes = np.array([[0.0, 0, 1, 1], [0, 1e300, 5, 1e300], [0, 0, 1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nms(boxes, [0.5, 0.9, 0.1], 0.5).tolist() == [1, 0]
        assert nms(boxes, [0.5, 0.9, 0.1], 5e-324).tolist() == [1, 0]


def test_boxes_whose_area_overflows_are_rejected_by_every_nms() -> None:
    boxes = np.array([[0.0, 0, 1, 1], [0, 0, 2e154, 2e154], [0, 0, 1, 1]])
    for call in (
        lambda: nms(boxes, [0.9, 0.8, 0.7], 0.5),
        lambda: batched_nms(boxes, [0.9, 0.8, 0.7], [0, 0, 1], 0.5),
        lambda: soft_nms(boxes, [0.9, 0.8, 0.7], 0.5),
    ):
        with pytest.raises(BoxFormatError, match=r"boxes_xyxy\[1\].*box area overflows float64"):
            call()


@pytest.mark.parametrize("n", [3, 600, 5000])  # dense matrix, 64-bit-mask blocks, blocked kernel
def test_largest_accepted_boxes_same_result_on_both_paths(n: int) -> None:
    rng = np.random.default_rng(7)
    side = float(np.sqrt(np.finfo(np.float64).max / 2)) * (1 - 1e-12)
    frac = np.sort(rng.random((n, 2)), axis=1)
    boxes = np.stack([np.zeros(n), np.zeros(n), frac[:, 1] * side, frac[:, 1] * side], axis=1)
    scores = rng.random(n)
    for thr in (0.3, 0.5, 0.9):
        assert nms(boxes, scores, thr).tolist() == ref.nms(boxes.tolist(), scores.tolist(), thr)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_score_threshold_raises(bad: float) -> None:
    boxes, scores = np.array([[0.0, 0, 1, 1]]), np.array([0.5])
    with pytest.raises(ValueError, match="score_threshold must be a finite number"):
        nms(boxes, scores, 0.5, score_threshold=bad)
    with pytest.raises(ValueError, match="score_threshold must be a finite number"):
        batched_nms(boxes, scores, [0], 0.5, score_threshold=bad)
    with pytest.raises(ValueError, match="score_threshold must be a finite number"):
        soft_nms(boxes, scores, 0.5, score_threshold=bad)


# --- the paths of one image's detections (odkit.ops._nms_blocks) --------------------------------------------


def _detector_output(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return clustered_boxes(rng, n, cluster=25).astype(np.float32), rng.random(n).astype(np.float32)


@functools.cache
def _expected_nms(seed: int, n: int, iou_threshold: float) -> tuple[int, ...]:
    """The reference's answer, computed once for all the paths the tests force."""
    boxes, scores = _detector_output(seed, n)
    return tuple(ref.nms(boxes.tolist(), scores.tolist(), iou_threshold))


@pytest.mark.parametrize("iou_threshold", [0.05, 0.3, 0.5, 0.7, 0.95])
@pytest.mark.parametrize("seed", range(3))
def test_one_image_of_detections_matches_reference(seed: int, iou_threshold: float, nms_path: str) -> None:
    boxes, scores = _detector_output(seed, 1000)
    expected = list(_expected_nms(seed, 1000, iou_threshold))
    assert nms(boxes, scores, iou_threshold).tolist() == expected
    for max_det in (1, 7, 100):  # limits inside the first head, the loop steps or the dense finish
        assert nms(boxes, scores, iou_threshold, max_det=max_det).tolist() == expected[:max_det]


@pytest.mark.parametrize("seed", range(3))
def test_batched_80_classes_matches_reference(seed: int, nms_path: str) -> None:
    boxes, scores = _detector_output(seed + 10, 1000)
    class_ids = np.random.default_rng(seed).integers(0, 80, 1000)
    expected = ref.batched_nms(boxes.tolist(), scores.tolist(), class_ids.tolist(), 0.5)
    assert batched_nms(boxes, scores, class_ids, 0.5).tolist() == expected
    assert batched_nms(boxes, scores, class_ids, 0.5, max_det=50).tolist() == expected[:50]
    # more classes than cells per axis, in a few spots: class rows of the masks' tables past the x/y ones
    many = np.random.default_rng(seed).integers(0, 300, 1000) * 7
    expected = ref.batched_nms(boxes.tolist(), scores.tolist(), many.tolist(), 0.3)
    assert batched_nms(boxes, scores, many, 0.3).tolist() == expected


@functools.cache
def _scene(kind: str) -> tuple[np.ndarray, np.ndarray, dict[float, list[int]]]:
    rng = np.random.default_rng(3)
    n = 700
    if kind == "huge":  # boxes far larger than their spacing: every window holds every box (loop steps)
        xy = rng.uniform(0, 50, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(300, 900, (n, 2))], axis=1)
    elif kind == "sparse":  # nothing overlaps: every head is kept whole, heads grow
        xy = rng.uniform(0, 5000, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(1, 20, (n, 2))], axis=1)
    elif kind == "one-spot":  # all boxes nearly identical: one cell, one kept
        boxes = np.array([[10.0, 10, 20, 20]]) + rng.normal(0, 1e-3, (n, 4))
    else:  # pairs whose IoU is exactly 0.5 (unit squares against 2x1 boxes on a grid)
        xy = rng.integers(0, 30, (n, 2)).astype(np.float64)
        wide = rng.random(n) < 0.5
        boxes = np.concatenate([xy, xy + np.stack([np.where(wide, 2.0, 1.0), np.ones(n)], axis=1)], axis=1)
    scores = rng.integers(0, 20, n) / 20  # many ties
    return boxes, scores, {t: ref.nms(boxes.tolist(), scores.tolist(), t) for t in (0.5, 0.8)}


@pytest.mark.parametrize("kind", ["huge", "sparse", "one-spot", "at-threshold"])
def test_scenes_that_defeat_the_windows_match_reference(kind: str, nms_path: str) -> None:
    boxes, scores, expected = _scene(kind)
    for iou_threshold, keep in expected.items():
        assert nms(boxes, scores, iou_threshold).tolist() == keep


@pytest.mark.parametrize(
    "bad",
    [
        [[0.0, 0, 1, 1], [0, 0, float("nan"), 1]],
        [[0.0, 0, 1, 1], [float("-inf"), 0, 1, 1]],
        [[0.0, 0, 1, 1], [0, 0, float("inf"), 0]],
        [[0.0, 0, 1, 1], [2, 0, 1, 1]],
        [[0.0, 0, 1, 1], [0, 0, 1e200, 1e200]],
    ],
)
def test_fast_checks_raise_the_errors_of_validate_boxes(bad: list[list[float]]) -> None:
    from odkit.boxes import validate_boxes

    with pytest.raises(BoxFormatError) as expected:
        validate_boxes(np.array(bad), "xyxy", "boxes_xyxy")
    for dtype in (np.float64, np.float32):
        if dtype == np.float32 and 1e200 in np.array(bad):
            continue  # not a float32 value
        with pytest.raises(BoxFormatError) as got:
            nms(np.array(bad, dtype=dtype), [0.5, 0.4], 0.5)
        assert str(got.value) == str(expected.value)
