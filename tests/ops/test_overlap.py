"""The one IoU kernel (odkit.ops._overlap) against brute-force references: plain, +1, given areas, crowd."""

from __future__ import annotations

import numpy as np
import pytest

from odkit.ops._overlap import box_columns, pair_iou
from tests.ops import _reference as ref
from tests.ops._cases import clustered_boxes, grid_boxes, random_boxes


def _boxes(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (random_boxes, grid_boxes, clustered_boxes)[seed % 3](rng, n)


@pytest.mark.parametrize("seed", range(9))
def test_matrix_pairs_and_one_against_all_match_reference_bit_for_bit(seed: int) -> None:
    a, b = _boxes(seed, 40), _boxes(seed + 100, 30)
    expected = np.array(ref.pairwise(ref.iou, a.tolist(), b.tolist()))
    ca, cb = box_columns(a), box_columns(b)
    assert np.array_equal(pair_iou(ca[:, :, None], cb[:, None, :]), expected)  # (5, N, 1) x (5, 1, M)
    rows, cols = np.nonzero(np.ones_like(expected, dtype=bool))
    assert np.array_equal(pair_iou(ca[:, rows], cb[:, cols]), expected.reshape(-1))  # gathered pairs
    assert np.array_equal(pair_iou(cb, ca[:, :1]), expected[0])  # one box (5, 1) against all
    out = np.full(expected.shape, np.nan)
    assert pair_iou(ca[:, :, None], cb[:, None, :], out=out) is out
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("seed", range(6))
def test_over_a_is_ioa_where_asked(seed: int) -> None:
    a, b = _boxes(seed, 25), _boxes(seed + 7, 25)
    ca, cb = box_columns(a), box_columns(b)
    ioa = np.array(ref.pairwise(ref.ioa, a.tolist(), b.tolist()))
    iou = np.array(ref.pairwise(ref.iou, a.tolist(), b.tolist()))
    assert np.array_equal(pair_iou(ca[:, :, None], cb[:, None, :], over_a=True), ioa)
    crowd = np.random.default_rng(seed).random(25) < 0.4  # per b, as COCO's iscrowd per GT
    got = pair_iou(ca[:, :, None], cb[:, None, :], over_a=crowd[None, :])
    assert np.array_equal(got, np.where(crowd[None, :], ioa, iou))


@pytest.mark.parametrize("seed", range(6))
def test_plus_one_matches_the_voc_devkit_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = grid_boxes(rng, 30) * 3  # integer pixel boxes, many touching and identical
    b = grid_boxes(rng, 20) * 3
    expected = np.array(ref.pairwise(ref.iou_plus_one, a.tolist(), b.tolist()))
    ca, cb = box_columns(a, plus_one=True), box_columns(b, plus_one=True)
    assert np.array_equal(pair_iou(ca[:, :, None], cb[:, None, :], plus_one=True), expected)
    # touching boxes overlap by one pixel row under +1, not at all without it
    touch = np.array([[0.0, 0, 4, 4], [4, 0, 8, 4]])
    c = box_columns(touch, plus_one=True)
    assert pair_iou(c[:, :1], c[:, 1:], plus_one=True)[0] == 5 / 45
    assert pair_iou(box_columns(touch)[:, :1], box_columns(touch)[:, 1:])[0] == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_given_areas_and_crowd_are_pycocotools_bbiou_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # xywh with fractional coordinates: x + w - x often differs from w in the last bit, so the given areas
    # w * h are not the kernel's own (x2 - x1) * (y2 - y1)
    dt = np.concatenate([rng.uniform(0, 50, (40, 2)), rng.uniform(0, 30, (40, 2))], axis=1) / 7
    gt = np.concatenate([rng.uniform(0, 50, (30, 2)), rng.uniform(0, 30, (30, 2))], axis=1) / 7
    dt[::9, 2] = 0.0  # zero-width detections
    crowd = rng.random(30) < 0.3
    d_cols = np.concatenate([dt[:, :2].T, (dt[:, :2] + dt[:, 2:]).T, (dt[:, 2] * dt[:, 3])[None]])
    g_cols = np.concatenate([gt[:, :2].T, (gt[:, :2] + gt[:, 2:]).T, (gt[:, 2] * gt[:, 3])[None]])
    got = pair_iou(d_cols[:, :, None], g_cols[:, None, :], over_a=crowd[None, :], given_areas=True)
    expected = [[ref.coco_bbiou(d, g, bool(c)) for g, c in zip(gt.tolist(), crowd)] for d in dt.tolist()]
    assert np.array_equal(got, np.array(expected))
    assert not np.isnan(got).any()


def test_zero_areas_give_zero_never_nan() -> None:
    pts = np.array([[1.0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 5, 0], [0, 0, 2, 2]])
    c = box_columns(pts)
    with np.errstate(all="raise"):
        iou = pair_iou(c[:, :, None], c[:, None, :])
        ioa = pair_iou(c[:, :, None], c[:, None, :], over_a=True)
    assert np.array_equal(iou, np.diag([0.0, 0, 0, 1]))
    assert np.array_equal(ioa, np.diag([0.0, 0, 0, 1]))


def test_given_areas_keep_c_semantics_when_an_area_is_zero() -> None:
    # an intersection over a given area of 0 (a crowd region against a detection whose w * h underflowed):
    # pycocotools divides and gets inf; the kernel does the same, without a warning
    d = np.array([[0.0], [0.0], [2.0], [2.0], [0.0]])
    g = np.array([[0.0], [0.0], [1.0], [1.0], [1.0]])
    with np.errstate(all="raise"):
        assert pair_iou(d, g, over_a=True, given_areas=True)[0] == np.inf
        assert pair_iou(d, g, given_areas=True)[0] == np.inf  # union 0 + 1 - 1
