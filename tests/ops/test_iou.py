"""The IoU family (IoU, IoA, GIoU, DIoU, CIoU) against the brute-force references, plus edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from odkit.errors import BoxFormatError, OdkitError
from odkit.ops import box_ioa, box_iou, complete_box_iou, distance_box_iou, generalized_box_iou
from tests.conftest import assert_unchanged
from tests.ops import _reference as ref
from tests.ops._cases import grid_boxes, random_boxes

OPS = {
    "iou": (box_iou, ref.iou),
    "ioa": (box_ioa, ref.ioa),
    "giou": (generalized_box_iou, ref.giou),
    "diou": (distance_box_iou, ref.diou),
    "ciou": (complete_box_iou, ref.ciou),
}
RANGES = {"iou": (0, 1), "ioa": (0, 1), "giou": (-1, 1), "diou": (-1, 1), "ciou": (-1.5, 1)}


def _pair_sets(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if seed % 2:
        return grid_boxes(rng, 17), grid_boxes(rng, 23)
    return random_boxes(rng, 17), random_boxes(rng, 23)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("seed", range(12))
def test_pairwise_matches_reference(name: str, seed: int) -> None:
    fn, ref_fn = OPS[name]
    a, b = _pair_sets(seed)
    got = fn(a, b)
    assert got.shape == (17, 23)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref.pairwise(ref_fn, a.tolist(), b.tolist()), rtol=1e-12, atol=1e-12)
    lo, hi = RANGES[name]
    assert np.all(got >= lo - 1e-12)
    assert np.all(got <= hi + 1e-12)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("seed", range(6))
def test_aligned_matches_reference_and_diagonal(name: str, seed: int) -> None:
    fn, ref_fn = OPS[name]
    rng = np.random.default_rng(100 + seed)
    a, b = random_boxes(rng, 31), random_boxes(rng, 31)
    got = fn(a, b, aligned=True)
    assert got.shape == (31,)
    np.testing.assert_allclose(got, ref.aligned(ref_fn, a.tolist(), b.tolist()), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got, np.diag(fn(a, b)))


def test_iou_is_bit_exact_with_the_reference() -> None:
    # NMS decisions hinge on exact comparisons, so the plain IoU must match the textbook formula exactly.
    rng = np.random.default_rng(7)
    a, b = random_boxes(rng, 40), random_boxes(rng, 50)
    np.testing.assert_array_equal(box_iou(a, b), ref.pairwise(ref.iou, a.tolist(), b.tolist()))


def test_hand_computed_values() -> None:
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2], [0, 0, 1, 1], [5, 5, 6, 6]])
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 1, 0, 1 / 4, 0]])
    np.testing.assert_allclose(box_ioa(a, b), [[1 / 4, 1, 0, 1 / 4, 0]])
    np.testing.assert_allclose(box_ioa(b, a)[:, 0], [1 / 4, 1, 0, 1, 0])
    # GIoU of touching boxes: IoU 0, hull 8, union 8 -> 0; far apart: hull 36, union 5 -> -31/36
    np.testing.assert_allclose(generalized_box_iou(a, b)[0, [2, 4]], [0, -31 / 36])
    # DIoU of concentric boxes is the IoU; centres (1,1) and (2,2), hull diagonal^2 = 18 -> 1/7 - 2/18
    np.testing.assert_allclose(distance_box_iou(a, b)[0, :2], [1 / 7 - 2 / 18, 1])
    # CIoU equals DIoU when aspect ratios agree
    np.testing.assert_allclose(complete_box_iou(a, b), distance_box_iou(a, b))
    square, flat = [[0, 0, 2, 2]], [[0, 0, 4, 1]]
    assert complete_box_iou(square, flat)[0, 0] < distance_box_iou(square, flat)[0, 0]


@pytest.mark.parametrize("name", sorted(OPS))
def test_empty_inputs_give_empty_float64(name: str) -> None:
    fn = OPS[name][0]
    b = np.array([[0.0, 0, 1, 1], [1, 1, 2, 2]])
    for out, shape in (
        (fn(np.zeros((0, 4)), b), (0, 2)),
        (fn(b, np.zeros((0, 4))), (2, 0)),
        (fn(np.zeros((0, 4)), np.zeros((0, 4))), (0, 0)),
        (fn([], []), (0, 0)),
        (fn(np.zeros((0, 4)), np.zeros((0, 4)), aligned=True), (0,)),
    ):
        assert out.shape == shape
        assert out.dtype == np.float64


@pytest.mark.parametrize("name", sorted(OPS))
def test_degenerate_boxes_give_zero_overlap_never_nan(name: str) -> None:
    fn = OPS[name][0]
    pts = np.array([[0.0, 0, 0, 0], [3, 3, 3, 3], [0, 0, 5, 0], [1, 1, 1, 4]])
    out = fn(pts, pts)
    assert np.all(np.isfinite(out))
    if name in ("iou", "ioa"):
        np.testing.assert_array_equal(out, np.zeros((4, 4)))
    np.testing.assert_array_equal(box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]]), [[0.0]])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPS))
def test_dtypes_agree_with_float64(name: str, dtype: type) -> None:
    fn = OPS[name][0]
    rng = np.random.default_rng(3)
    a, b = grid_boxes(rng, 9), grid_boxes(rng, 11)  # small integers: exact in every dtype
    out = fn(a.astype(dtype), b.astype(dtype))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, fn(a, b))


def test_huge_and_tiny_coordinates() -> None:
    base = np.array([[0.0, 0, 2, 2], [1, 1, 3, 3]])
    for scale, offset in ((1e9, 1e12), (1e-9, -5.0), (1.0, -1e7)):
        a = base * scale + offset
        np.testing.assert_allclose(box_iou(a, a), [[1, 1 / 7], [1 / 7, 1]], rtol=1e-6)
        np.testing.assert_allclose(generalized_box_iou(a, a), generalized_box_iou(base, base), rtol=1e-6)
        assert np.all(np.isfinite(complete_box_iou(a, a)))


@pytest.mark.parametrize("name", sorted(OPS))
def test_inputs_not_mutated(name: str) -> None:
    fn = OPS[name][0]
    rng = np.random.default_rng(5)
    a32 = random_boxes(rng, 8).astype(np.float32)
    b64 = random_boxes(rng, 8)
    assert_unchanged(fn, a32, b64)
    assert_unchanged(fn, b64, b64, aligned=True)
    assert_unchanged(fn, a32.tolist(), b64.tolist())


@pytest.mark.parametrize("name", sorted(OPS))
def test_bad_input_errors_name_the_row(name: str) -> None:
    fn = OPS[name][0]
    good = np.array([[0.0, 0, 1, 1], [0, 0, 2, 2]])
    with pytest.raises(BoxFormatError, match=r"shape \(N, 4\).*\(2, 3\)"):
        fn(good[:, :3], good)
    nan = good.copy()
    nan[1, 2] = np.nan
    with pytest.raises(BoxFormatError, match=r"boxes2_xyxy\[1\].*NaN"):
        fn(good, nan)
    flipped = np.array([[0.0, 0, 1, 1], [0, 0, 1, 1], [5, 0, 1, 1]])
    with pytest.raises(BoxFormatError, match=r"boxes1_xyxy\[2\].*x_max < x_min.*5\.0"):
        fn(flipped, good)
    with pytest.raises(BoxFormatError, match="same shape"):
        fn(good, good[:1], aligned=True)
    with pytest.raises(ValueError):  # typed errors stay catchable as builtins
        fn(good, np.ones((2, 5)))
    with pytest.raises(OdkitError):
        fn(np.array([["a", "b", "c", "d"]]), good)


@pytest.mark.parametrize("name", sorted(OPS))
def test_boxes_whose_area_overflows_are_rejected(name: str) -> None:
    fn = OPS[name][0]
    huge = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2e154, 2e154]])
    with pytest.raises(BoxFormatError, match=r"boxes1_xyxy\[1\].*box area overflows float64"):
        fn(huge, huge[:1])
    with pytest.raises(BoxFormatError, match=r"boxes2_xyxy\[1\].*box area overflows float64"):
        fn(huge[:1], huge)


def test_largest_accepted_boxes_give_defined_iou() -> None:
    side = float(np.sqrt(np.finfo(np.float64).max / 2)) * (1 - 1e-12)
    a = np.array([[0.0, 0.0, side, side], [0.0, 0.0, side, side / 2]])
    out = box_iou(a, a)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[1.0, 0.5], [0.5, 1.0]], rtol=1e-12)


def test_far_apart_boxes_at_huge_coordinates_give_defined_giou_diou_ciou() -> None:
    # the enclosing box area / diagonal overflow float64 here; the penalties are ratios and stay defined
    a = np.array([[-1e300, -1e300, -1e300 + 1e7, -1e300 + 1e7], [1e307, 1e307, 1e307, 1e307], [-1e307, 0, 1e307, 1]])
    b = np.array([[1e300, 1e300, 1e300 + 1e7, 1e300 + 1e7], [-1e307, -1e307, -1e307, -1e307], [0, 0, 1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (generalized_box_iou, distance_box_iou, complete_box_iou):
            out = fn(a, b)
            assert np.all(np.isfinite(out)) and out.shape == (3, 3)
            np.testing.assert_array_equal(fn(a, b, aligned=True), np.diag(out))
        np.testing.assert_allclose(generalized_box_iou(a, b, aligned=True)[:2], [-1.0, -1.0], atol=1e-12)
        np.testing.assert_allclose(distance_box_iou(a, b, aligned=True)[:2], [-1.0, -1.0], atol=1e-12)
        # the wide flat box contains b's centre row: DIoU penalty (0.5^2 + 0.5^2) / (2e307^2 + 1) ~ 0
        assert distance_box_iou(a[2:], b[2:], aligned=True)[0] == pytest.approx(box_iou(a[2:], b[2:], aligned=True)[0])
