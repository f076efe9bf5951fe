"""odkit.ops against torchvision.ops, its C++ twin (runs only where torchvision imports, e.g. ``.venv-tv``).

torchvision is not part of the test set-up (it needs a 5.5 GB build here); these tests document and pin the
one intended difference: torchvision's NMS removes boxes whose IoU is strictly over the threshold, odkit's at
or over it.
"""

from __future__ import annotations

import numpy as np
import pytest

from odkit.ops import batched_nms, box_iou, complete_box_iou, distance_box_iou, generalized_box_iou, nms
from tests.ops._cases import clustered_boxes, random_boxes

tv_ops = pytest.importorskip("torchvision.ops")  # first: without torchvision, torch is never imported
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("seed", range(5))
def test_iou_family_matches_torchvision(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 40), random_boxes(rng, 50)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    # torchvision's box_iou divides by a zero union (NaN for two points): compare boxes with area only
    solid_a = (a[:, 2] > a[:, 0]) & (a[:, 3] > a[:, 1])
    solid_b = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    tv_iou = tv_ops.box_iou(ta, tb).numpy()
    np.testing.assert_allclose(box_iou(a, b)[np.ix_(solid_a, solid_b)], tv_iou[np.ix_(solid_a, solid_b)], rtol=1e-12)
    for ours, theirs in (
        (generalized_box_iou, tv_ops.generalized_box_iou),
        (distance_box_iou, tv_ops.distance_box_iou),
        (complete_box_iou, tv_ops.complete_box_iou),
    ):
        sa, sb = a[solid_a], b[solid_b]
        # torchvision adds eps=1e-7 to some denominators; odkit does not (STYLE: no +eps)
        np.testing.assert_allclose(ours(sa, sb), theirs(torch.from_numpy(sa), torch.from_numpy(sb)).numpy(), atol=1e-6)


@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_torchvision_away_from_exact_ties(seed: int, iou_threshold: float) -> None:
    rng = np.random.default_rng(seed)
    boxes = clustered_boxes(rng, 2000)
    scores = rng.random(2000)
    keep = nms(boxes, scores, iou_threshold)
    tv_keep = tv_ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou_threshold).numpy()
    np.testing.assert_array_equal(keep, tv_keep)
    class_ids = rng.integers(0, 5, 2000)
    tv_batched = tv_ops.batched_nms(
        torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(class_ids), iou_threshold
    ).numpy()
    np.testing.assert_array_equal(batched_nms(boxes, scores, class_ids, iou_threshold), tv_batched)


def test_threshold_boundary_differs_from_torchvision_as_documented() -> None:
    boxes = np.array([[0.0, 0, 2, 1], [0, 0, 1, 1]])  # IoU exactly 0.5
    scores = np.array([0.9, 0.8])
    tv_keep = tv_ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).numpy()
    assert tv_keep.tolist() == [0, 1]  # strictly over: kept
    assert nms(boxes, scores, 0.5).tolist() == [0]  # at or over: removed
