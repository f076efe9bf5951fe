"""The 12 stats and the full precision/recall arrays against pycocotools, over a seeded edge-case matrix."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odkit.eval import COCOParams, evaluate_coco

from ._scenes import make_scene, nan_for_minus_one, pycoco_eval

pytest.importorskip("pycocotools")


def _compare(gt: dict[str, Any], results: list[dict[str, Any]], **kw: Any) -> None:
    ref = pycoco_eval(gt, results, **kw)
    params = COCOParams(
        **{
            k: v
            for k, v in {
                "iou_thresholds": kw.get("iou_thresholds"),
                "max_dets": kw.get("max_dets"),
                "area_ranges": kw.get("area_ranges"),
            }.items()
            if v is not None
        }
    )
    ours = evaluate_coco(gt, results, params)
    np.testing.assert_array_equal(ours.precision, nan_for_minus_one(ref.eval["precision"]))
    np.testing.assert_array_equal(ours.recall, nan_for_minus_one(ref.eval["recall"]))
    np.testing.assert_array_equal(np.nan_to_num(ours.scores, nan=-1.0), ref.eval["scores"])
    if not kw:
        stats = np.array(list(ours.stats.values()))
        ref_stats = nan_for_minus_one(ref.stats)
        np.testing.assert_allclose(stats, ref_stats, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(np.isnan(stats), np.isnan(ref_stats))


def _box(x: float, y: float, w: float, h: float) -> list[float]:
    return [float(x), float(y), float(w), float(h)]


def _gt(anns: list[tuple[Any, ...]], images: list[Any], cats: list[Any]) -> dict[str, Any]:
    """anns: (image_id, category_id, bbox, area, iscrowd)."""
    return {
        "images": [{"id": i} for i in images],
        "categories": [{"id": c, "name": str(c)} for c in cats],
        "annotations": [
            {"id": k + 1, "image_id": a[0], "category_id": a[1], "bbox": a[2], "area": a[3], "iscrowd": a[4]}
            for k, a in enumerate(anns)
        ],
    }


def _det(image_id: Any, cat: Any, bbox: list[float], score: float) -> dict[str, Any]:
    return {"image_id": image_id, "category_id": cat, "bbox": bbox, "score": score}


# ---------------------------------------------------------------- hand-built edge cases
B = _box(10, 10, 40, 40)


def _case_empty_detections() -> tuple[dict[str, Any], list[Any]]:
    return _gt([(1, 1, B, 1600.0, 0)], [1, 2], [1, 2]), []


def _case_empty_gt() -> tuple[dict[str, Any], list[Any]]:
    return _gt([], [1, 2], [1]), [_det(1, 1, B, 0.9)]


def _case_crowd() -> tuple[dict[str, Any], list[Any]]:
    anns = [(1, 1, _box(0, 0, 100, 100), 5000.0, 1), (1, 1, _box(10, 10, 20, 20), 400.0, 0)]
    dets = [
        _det(1, 1, _box(10, 10, 20, 20), 0.9),
        _det(1, 1, _box(50, 50, 20, 20), 0.8),
        _det(1, 1, _box(60, 60, 20, 20), 0.7),
        _det(1, 1, _box(11, 11, 20, 20), 0.95),
        _det(1, 1, _box(90, 90, 30, 30), 0.6),
    ]
    return _gt(anns, [1], [1]), dets


def _case_missing_category_and_det_only() -> tuple[dict[str, Any], list[Any]]:
    anns = [(1, 1, B, 1600.0, 0)]
    dets = [_det(1, 1, B, 0.5), _det(1, 3, B, 0.9), _det(2, 3, B, 0.4)]
    return _gt(anns, [1, 2, 3], [1, 2, 3]), dets


def _case_area_bounds() -> tuple[dict[str, Any], list[Any]]:
    anns = [
        (1, 1, _box(0, 0, 32, 32), 32.0**2, 0),
        (1, 1, _box(100, 0, 96, 96), 96.0**2, 0),
        (2, 1, _box(0, 0, 33, 31), 32.0**2, 0),
        (2, 1, _box(50, 50, 40, 40), 96.0**2 + 1e-9, 0),
        (3, 2, _box(0, 0, 32, 32), 32.0**2 - 1e-9, 0),
    ]
    dets = [
        _det(1, 1, _box(0, 0, 32, 32), 0.9),
        _det(1, 1, _box(100, 0, 96, 96), 0.8),
        _det(2, 1, _box(0, 0, 32, 32), 0.7),
        _det(2, 1, _box(52, 52, 40, 40), 0.6),
        _det(3, 2, _box(1, 1, 32, 32), 0.5),
        _det(3, 2, _box(150, 150, 32, 32), 0.55),
        _det(3, 2, _box(150, 10, 96, 96), 0.45),
    ]
    return _gt(anns, [1, 2, 3], [1, 2]), dets


def _case_many_dets() -> tuple[dict[str, Any], list[Any]]:
    rng = np.random.default_rng(3)
    anns = [(1, 1, _box(5 * i, 5 * i, 30, 30), 900.0, 0) for i in range(20)]
    dets = [_det(1, 1, _box(*(rng.uniform(0, 100, 2)), 30, 30), float(rng.uniform())) for _ in range(250)]
    dets += [_det(1, 1, _box(5 * i, 5 * i, 30, 30), 0.001) for i in range(20)]  # TPs cut by maxDets=100
    return _gt(anns, [1], [1]), dets


def _case_score_ties() -> tuple[dict[str, Any], list[Any]]:
    anns = [(i, 1, _box(10, 10, 40, 40), 1600.0, 0) for i in (1, 2, 3)]
    dets = []
    for i in (3, 1, 2):
        dets += [
            _det(i, 1, _box(60, 60, 40, 40), 0.5),
            _det(i, 1, _box(10, 10, 40, 40), 0.5),
            _det(i, 1, _box(11, 10, 40, 40), 0.5),
        ]
    return _gt(anns, [1, 2, 3], [1]), dets


def _case_zero_size() -> tuple[dict[str, Any], list[Any]]:
    anns = [(1, 1, _box(10, 10, 0, 20), 0.0, 0), (1, 1, _box(30, 30, 10, 10), 100.0, 0)]
    dets = [
        _det(1, 1, _box(10, 10, 0, 20), 0.9),
        _det(1, 1, _box(30, 30, 10, 0), 0.8),
        _det(1, 1, _box(30, 30, 10, 10), 0.7),
        _det(1, 1, _box(0, 0, 0, 0), 0.95),
    ]
    return _gt(anns, [1], [1]), dets


def _case_sparse_ids() -> tuple[dict[str, Any], list[Any]]:
    anns = [(7, 90, B, 1600.0, 0), (123456, 3, B, 1600.0, 0), (7, 3, _box(50, 50, 20, 20), 400.0, 0)]
    dets = [_det(7, 90, B, 0.8), _det(123456, 3, _box(12, 12, 40, 40), 0.7), _det(7, 3, B, 0.6)]
    return _gt(anns, [123456, 7, 99], [90, 3, 1000]), dets


def _case_iou_ties() -> tuple[dict[str, Any], list[Any]]:
    # one detection exactly between two GTs (equal IoU): pycocotools takes the later GT
    anns = [
        (1, 1, _box(0, 0, 20, 20), 400.0, 0),
        (1, 1, _box(20, 0, 20, 20), 400.0, 0),
        (1, 1, _box(10, 0, 20, 20), 400.0, 1),
    ]
    dets = [
        _det(1, 1, _box(10, 0, 20, 20), 0.9),
        _det(1, 1, _box(10, 0, 20, 20), 0.8),
        _det(1, 1, _box(10, 0, 20, 20), 0.7),
    ]
    return _gt(anns, [1], [1]), dets


def _case_ignored_area_match() -> tuple[dict[str, Any], list[Any]]:
    # a small GT next to a large one: for "large" the small GT is ignored and its match is ignored
    anns = [(1, 1, _box(0, 0, 20, 20), 400.0, 0), (1, 1, _box(0, 0, 120, 120), 14400.0, 0)]
    dets = [
        _det(1, 1, _box(0, 0, 20, 20), 0.9),
        _det(1, 1, _box(0, 0, 21, 21), 0.85),
        _det(1, 1, _box(0, 0, 118, 118), 0.8),
        _det(1, 1, _box(150, 150, 5, 5), 0.7),
    ]
    return _gt(anns, [1], [1]), dets


def _case_string_ids() -> tuple[dict[str, Any], list[Any]]:
    anns = [("b.jpg", 1, B, 1600.0, 0), ("a.jpg", 1, B, 1600.0, 0)]
    dets = [_det("a.jpg", 1, B, 0.5), _det("b.jpg", 1, _box(11, 10, 40, 40), 0.5), _det("c.jpg", 1, B, 0.5)]
    return _gt(anns, ["b.jpg", "a.jpg", "c.jpg"], [1]), dets


EDGE_CASES = {
    "empty_detections": _case_empty_detections,
    "empty_gt": _case_empty_gt,
    "crowd": _case_crowd,
    "missing_category_and_det_only": _case_missing_category_and_det_only,
    "area_bounds": _case_area_bounds,
    "many_dets": _case_many_dets,
    "score_ties": _case_score_ties,
    "zero_size": _case_zero_size,
    "sparse_ids": _case_sparse_ids,
    "iou_ties": _case_iou_ties,
    "ignored_area_match": _case_ignored_area_match,
    "string_ids": _case_string_ids,
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_case_equals_pycocotools(name: str) -> None:
    gt, results = EDGE_CASES[name]()
    _compare(gt, results)


# ---------------------------------------------------------------- seeded random scenes
@pytest.mark.parametrize("seed", range(12))
def test_random_scene_equals_pycocotools(seed: int) -> None:
    gt, results = make_scene(
        seed,
        n_images=10,
        cat_ids=(1, 5, 9),
        integer_boxes=seed % 2 == 0,
        tie_decimals=(1, 2, None)[seed % 3],
        crowd_p=0.15,
    )
    _compare(gt, results)


@pytest.mark.parametrize("seed", range(3))
def test_large_random_scene_equals_pycocotools(seed: int) -> None:
    gt, results = make_scene(
        100 + seed, n_images=60, cat_ids=(2, 3, 11, 40), gt_per_image=12, fp_per_image=30, tie_decimals=2, crowd_p=0.03
    )
    _compare(gt, results)


def test_dense_image_over_100_detections() -> None:
    gt, results = make_scene(7, n_images=3, cat_ids=(1,), gt_per_image=40, fp_per_image=120, tie_decimals=1)
    assert max(sum(r["image_id"] == i["id"] for r in results) for i in gt["images"]) > 100
    _compare(gt, results)


# ---------------------------------------------------------------- custom parameters
def test_custom_iou_thresholds() -> None:
    gt, results = make_scene(21, n_images=10)
    _compare(gt, results, iou_thresholds=[0.1, 0.3, 0.5, 0.99, 1.0])


def test_custom_max_dets() -> None:
    gt, results = make_scene(22, n_images=10, fp_per_image=10)
    _compare(gt, results, max_dets=[2, 5, 300])


def test_custom_area_ranges() -> None:
    gt, results = make_scene(23, n_images=10)
    ranges = {"all": (0.0, 1e10), "tiny": (0.0, 100.0), "mid": (100.0, 2500.0), "big": (2500.0, 1e10)}
    _compare(gt, results, area_ranges=ranges)


def test_headline_ap_honours_custom_max_dets() -> None:
    gt, results = make_scene(24, n_images=10, fp_per_image=10)
    ours = evaluate_coco(gt, results, COCOParams(max_dets=(1, 10, 300)))
    ref = pycoco_eval(gt, results, max_dets=[1, 10, 300])
    expected = np.mean(ref.eval["precision"][:, :, :, 0, 2][ref.eval["precision"][:, :, :, 0, 2] > -1])
    assert ours.map == expected
    assert np.isnan(ours.mar_100)
    assert ours.mar_at(300) == np.mean(ref.eval["recall"][:, :, 0, 2][ref.eval["recall"][:, :, 0, 2] > -1])


def test_inputs_not_modified() -> None:
    from tests.conftest import assert_unchanged

    gt, results = make_scene(5)
    gt_copy, results_copy = copy.deepcopy(gt), copy.deepcopy(results)
    assert_unchanged(evaluate_coco, gt, results)
    assert gt == gt_copy and results == results_copy


# ---------------------------------------------------------------- Hypothesis: random tiny scenes
_int_box = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))


@st.composite
def _tiny_scenes(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    images = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4, unique=True))
    anns = []
    for _ in range(draw(st.integers(0, 8))):
        x, y, w, h = draw(_int_box)
        area = draw(st.sampled_from([float(w * h), 1024.0, 9216.0, float(w * h) / 2]))
        anns.append(
            (
                draw(st.sampled_from(images)),
                draw(st.sampled_from([1, 2])),
                _box(x, y, w, h),
                area,
                int(draw(st.integers(0, 5)) == 0),
            )
        )
    dets = []
    for _ in range(draw(st.integers(0, 12))):
        x, y, w, h = draw(_int_box)
        dets.append(
            _det(
                draw(st.sampled_from(images)),
                draw(st.sampled_from([1, 2])),
                _box(x, y, w, h),
                draw(st.sampled_from([0.1, 0.5, 0.5, 0.9, 0.3])),
            )
        )
    return _gt(anns, images, [1, 2]), dets


@settings(max_examples=60, deadline=None)
@given(_tiny_scenes())
def test_hypothesis_scenes_equal_pycocotools(scene: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, results = scene
    _compare(gt, results, iou_thresholds=[0.1, 0.3, 0.5, 0.7, 0.9], max_dets=[1, 3, 100])


def test_all_range_not_first_reads_all_in_mar_at_pr_curve_and_to_dict() -> None:
    gt, results = make_scene(25, n_images=10)
    default = evaluate_coco(gt, results)
    ranges = {"small": (0.0, 32.0**2), "all": (0.0, 1e10), "large": (96.0**2, 1e10)}
    moved = evaluate_coco(gt, results, COCOParams(area_ranges=ranges))
    assert moved.map == default.map and moved.mar_100 == default.mar_100
    for m in (1, 10, 100):
        assert moved.mar_at(m) == default.mar_at(m) and not np.isnan(moved.mar_at(m))
    assert moved.to_dict()["AR_at_max_dets"] == default.to_dict()["AR_at_max_dets"]
    cid = default.class_ids[0]
    np.testing.assert_array_equal(moved.pr_curve(cid)[1], default.pr_curve(cid)[1])
    assert not np.isnan(moved.pr_curve(cid)[1]).all()
