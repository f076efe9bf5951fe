"""``odkit label --model``: proposals, the class mapping by name and the disagreement counts, over the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from odkit.io import read_annotations, write_annotations
from odkit.label import LabelServer
from odkit.label._assist import disagreement
from tests.label._helpers import StubModel, copy_raccoon, hashes, request, serve

# raccoon-1..5 each hold one "raccoon" label:
LABELS = {"raccoon-1.jpg": [80, 87, 522, 408], "raccoon-2.jpg": [59, 50, 462, 499], "raccoon-3.jpg": [0, 0, 720, 476],
          "raccoon-4.jpg": [20, 10, 200, 183], "raccoon-5.jpg": [2, 2, 260, 179]}
PREDICTIONS = {
    "raccoon-1.jpg": [(80, 87, 522, 408, "raccoon", 0.9), (10, 10, 40, 40, "raccoon", 0.1)],  # agrees (0.1 < conf)
    "raccoon-2.jpg": [(59, 50, 462, 499, "dog", 0.8), (600, 50, 700, 150, "raccoon", 0.7)],  # conflict + missed
    "raccoon-3.jpg": [],  # extra
    "raccoon-4.jpg": [(20, 10, 200, 183, "raccoon", 0.9), (22, 12, 200, 180, "raccoon", 0.6)],  # a duplicate: missed
    "raccoon-5.jpg": [(2, 2, 60, 60, "raccoon", 0.9)],  # IoU < 0.5: missed and extra
}
EXPECTED = {"raccoon-1.jpg": (0, 0, 0), "raccoon-2.jpg": (1, 0, 1), "raccoon-3.jpg": (0, 1, 0),
            "raccoon-4.jpg": (1, 0, 0), "raccoon-5.jpg": (1, 1, 0)}  # (missed, extra, conflicts)


@pytest.fixture
def raccoon(datasets_dir: Path, tmp_path: Path) -> Path:
    return copy_raccoon(datasets_dir, tmp_path)


def _stub() -> StubModel:
    return StubModel(["dog", "raccoon", "cat"], PREDICTIONS)


def _get(server: LabelServer, path: str) -> dict[str, Any]:
    status, body = request(server, "GET", path)
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("labels, preds, expected", [
    ([], [], (0, 0, 0)),
    ([([0, 0, 10, 10], "a")], [], (0, 1, 0)),
    ([], [([0, 0, 10, 10], "a", 0.5)], (1, 0, 0)),
    ([([0, 0, 10, 10], "a")], [([0, 0, 10, 10], "a", 0.5)], (0, 0, 0)),
    ([([0, 0, 10, 10], "a")], [([0, 0, 10, 10], "b", 0.5)], (0, 0, 1)),
    ([([0, 0, 10, 10], "a")], [([0, 0, 10, 6], "a", 0.5)], (0, 0, 0)),  # IoU 0.6
    ([([0, 0, 10, 10], "a")], [([0, 0, 10, 4], "a", 0.5)], (1, 1, 0)),  # IoU 0.4
    # the same-class match wins over a better-overlapping other class
    ([([0, 0, 10, 10], "a")], [([0, 0, 10, 10], "b", 0.9), ([0, 0, 10, 7], "a", 0.5)], (1, 0, 0)),
    # two labels, two model boxes crossed: one conflict each
    ([([0, 0, 10, 10], "a"), ([20, 0, 30, 10], "b")], [([0, 0, 10, 10], "b", 0.9), ([20, 0, 30, 10], "a", 0.8)],
     (0, 0, 2)),
])
def test_disagreement_counts(labels: list, preds: list, expected: tuple[int, int, int]) -> None:
    got = disagreement(np.array([b for b, _ in labels], np.float64).reshape(-1, 4), [c for _, c in labels],
                       np.array([b for b, _, _ in preds], np.float64).reshape(-1, 4), [c for _, c, _ in preds],
                       np.array([s for _, _, s in preds], np.float64))
    assert (got["missed"], got["extra"], got["conflicts"]) == expected
    assert got["score"] == sum(expected)


def test_proposals_and_disagreement_over_the_api(raccoon: Path) -> None:
    before = hashes(raccoon)
    model = _stub()
    with serve(raccoon, model=model) as server:
        summary = _get(server, "/api/images")
        assert summary["model"]["pending"] == 5 and model.calls == []  # lazy: nothing predicted yet
        assert all(row["disagreement"] is None for row in summary["images"])
        one = _get(server, "/api/images/1")
        assert model.calls == [["raccoon-2.jpg"]]
        assert [(p["cls"], p["score"], p["acceptable"]) for p in one["proposals"]] == [("dog", 0.8, True),
                                                                                      ("raccoon", 0.7, True)]
        assert one["proposals"][0]["x0"] == 59 and one["disagreement"]["score"] == 2
        assert one["classes"] == ["raccoon", "dog", "cat"]  # VOC can hold new classes: the model's are offered
        summary = _get(server, "/api/images?predict=all")
        assert summary["model"]["pending"] == 0 and summary["model"]["error"] is None
        got = {row["file"]: (row["disagreement"]["missed"], row["disagreement"]["extra"],
                             row["disagreement"]["conflicts"]) for row in summary["images"]}
        assert got == EXPECTED
        assert sorted(f for call in model.calls for f in call) == sorted(LABELS)  # each image predicted once
        _get(server, "/api/images/1")
        assert len(model.calls) == 2  # cached
        assert [p["cls"] for p in _get(server, "/api/images/0")["proposals"]] == ["raccoon"]  # conf filters
    assert hashes(raccoon) == before  # reading proposals writes nothing


def test_accepting_a_new_model_class_adds_it_on_save(raccoon: Path, tmp_path: Path) -> None:
    coco = tmp_path / "coco"
    write_annotations(read_annotations(raccoon), coco, "coco", copy_images="copy")
    with serve(coco, fmt="coco", model=_stub()) as server:
        one = _get(server, "/api/images/1")
        dog = {k: one["proposals"][0][k] for k in ("x0", "y0", "x1", "y1", "cls")}
        assert dog["cls"] == "dog" and "dog" in one["classes"]
        status, body = request(server, "PUT", "/api/images/1", {"version": one["version"], "boxes": [dog]})
        assert status == 200, body
        assert json.loads(body)["disagreement"] == {"missed": 1, "extra": 0, "conflicts": 0, "score": 1}
        status, body = request(server, "PUT", "/api/images/0", {"version": _get(server, "/api/images/0")["version"],
                                                                "boxes": [{**dog, "cls": "lion"}]})
        assert status == 422 and b"lion" in body
    ds = read_annotations(coco, "coco")
    assert [c.name for c in ds.categories] == ["raccoon", "dog"]  # "cat", never used, is not written
    gt = ds.annotations[ds.images[1].id]
    assert [ds.category_names[int(c)] for c in gt.class_ids] == ["dog"]
    assert gt.boxes_xyxy.tolist() == [[59, 50, 462, 499]]


def test_yolo_cannot_accept_a_class_outside_its_names(raccoon: Path, tmp_path: Path) -> None:
    yolo = tmp_path / "yolo"
    write_annotations(read_annotations(raccoon), yolo, "yolo", copy_images="copy")
    before = hashes(yolo)
    with serve(yolo, fmt="yolo", model=_stub()) as server:
        one = _get(server, "/api/images/1")
        dog, cat = one["proposals"]
        assert dog["cls"] == "dog" and not dog["acceptable"] and "data.yaml" in dog["note"]
        assert cat["cls"] == "raccoon" and cat["acceptable"] and cat["note"] is None
        assert one["classes"] == ["raccoon"]
        box = {k: dog[k] for k in ("x0", "y0", "x1", "y1", "cls")}
        status, body = request(server, "PUT", "/api/images/1", {"version": one["version"], "boxes": [box]})
        assert status == 422 and b"data.yaml" in body
    assert hashes(yolo) == before


def test_without_a_model_nothing_changes(raccoon: Path) -> None:
    with serve(raccoon) as server:
        summary = _get(server, "/api/images?predict=all")
        assert "model" not in summary and "disagreement" not in summary["images"][0]
        one = _get(server, "/api/images/0")
        assert "proposals" not in one and "disagreement" not in one


class _Broken:
    task = "detect"
    class_names = ("raccoon",)

    def predict(self, paths: list[str], conf: float = 0.25) -> list[Any]:
        raise RuntimeError("out of memory")


@pytest.mark.parametrize("model, fragment", [(_Broken(), "out of memory"),
                                             (type("Seg", (), {"task": "segment", "class_names": []})(),
                                              "expected a detection model")])
def test_a_failing_model_still_lets_the_page_label(raccoon: Path, model: Any, fragment: str) -> None:
    with serve(raccoon, model=model) as server:
        one = _get(server, "/api/images/0")
        assert one["proposals"] == [] and fragment in one["model_error"] and len(one["boxes"]) == 1
        assert fragment in _get(server, "/api/images?predict=all")["model"]["error"]
