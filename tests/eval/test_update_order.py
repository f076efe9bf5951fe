"""``COCOEvaluator.update`` checks everything that can raise before it warns: a call that raises never warns
first, and leaves the evaluator as it was."""

from __future__ import annotations

import warnings

import pytest

from odkit.boxes import Detections, GroundTruth
from odkit.errors import EvaluationError
from odkit.eval import COCOEvaluator

BOX = [0, 0, 10, 10]


def _update_raising(ev: COCOEvaluator, *args: object, match: str, **kwargs: object) -> None:
    """``ev.update(*args, **kwargs)`` raises an EvaluationError matching ``match`` and warns nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(EvaluationError, match=match):
            ev.update(*args, **kwargs)  # type: ignore[arg-type]
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("strict", [False, True])
def test_unknown_ground_truth_class_raises_before_any_word_on_predictions(strict: bool) -> None:
    dets = Detections([BOX, BOX], [0.9, 0.5], [1, 7])  # class 7 is not evaluated
    gt = GroundTruth([BOX, BOX], [1, 9])  # neither is 9: an error, whatever strict says
    ev = COCOEvaluator(class_ids=[1], strict=strict)
    _update_raising(ev, [dets], [gt], ["a"], match=r"ground_truths: class id 9 is not one of the evaluated class_ids")
    assert ev.num_images == 0
    good_gt = GroundTruth([BOX], [1])
    if strict:  # with the ground truth fixed, the prediction of class 7 is what is wrong
        with pytest.raises(EvaluationError, match=r"predictions\[0\]\[1\]: class id 7"):
            ev.update([dets], [good_gt], ["a"])
        assert ev.num_images == 0  # rolled back too
    else:  # image "a" was rolled back: it can be added now, with the usual warning
        with pytest.warns(UserWarning, match=r"\(7; first: predictions\[0\]\[1\]\)"):
            ev.update([dets], [good_gt], ["a"])
        assert ev.num_images == 1


def test_repeated_image_id_raises_before_any_word_on_predictions() -> None:
    ev = COCOEvaluator(class_ids=[1]).update([Detections([BOX], [0.9], [1])], [GroundTruth([BOX], [1])], ["a"])
    _update_raising(ev, [Detections([BOX], [0.9], [7])], [GroundTruth([BOX], [1])], ["a"], match="already evaluated")
    assert ev.num_images == 1


def test_a_valid_call_still_warns_once() -> None:
    ev = COCOEvaluator(class_ids=[1])
    with pytest.warns(UserWarning, match=r"1 prediction\(s\) have a class id that is not evaluated") as record:
        ev.update([Detections([BOX, BOX], [0.9, 0.5], [1, 7])], [GroundTruth([BOX], [1])])
    assert len(record) == 1
    assert ev.num_images == 1


def test_open_class_list_keeps_its_order_of_appearance() -> None:
    # without class_ids nothing is unknown; classes are numbered as they come, the predictions' first
    ev = COCOEvaluator().update([Detections([BOX], [0.9], [5])], [GroundTruth([BOX, BOX], [3, 5])])
    assert ev.state_dict()["class_ids"] == [5, 3]
