"""ONNX export of a detector: onnxruntime gives PyTorch's detections (boxes within 1e-3 relative, same classes,
scores within 1e-4) on held-out images, with NMS after the graph or in it, static or dynamic batch; metadata."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import assert_unchanged

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from odkit.export import OnnxDetector, export_onnx, load_any_model, load_onnx  # noqa: E402
from odkit.export._onnx_meta import parse_props  # noqa: E402

BOX_RTOL, SCORE_ATOL = 1e-3, 1e-4


def assert_same_detections(got: list[Any], ref: list[Any]) -> None:
    """Per image: as many detections, in the same order, same classes, boxes within 1e-3 relative (1e-3 px
    near 0), scores within 1e-4."""
    assert len(got) == len(ref)
    for i, (g, r) in enumerate(zip(got, ref)):
        assert len(g) == len(r), f"image {i}: {len(g)} detections, PyTorch {len(r)}"
        np.testing.assert_array_equal(g.class_ids, r.class_ids, err_msg=f"image {i}")
        np.testing.assert_allclose(g.boxes_xyxy, r.boxes_xyxy, rtol=BOX_RTOL, atol=1e-3, err_msg=f"image {i}")
        np.testing.assert_allclose(g.scores, r.scores, rtol=0, atol=SCORE_ATOL, err_msg=f"image {i}")
        assert g.boxes_xyxy.dtype == np.float64 and g.scores.dtype == np.float64 and g.class_ids.dtype == np.int64


@pytest.mark.parametrize("nms", [False, True], ids=["nms-after", "nms-in-graph"])
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("conf", [0.25, 0.001])
def test_onnxruntime_gives_pytorchs_detections(detector: Any, held_out: list[np.ndarray],
                                               exported: Callable[..., Path], nms: bool, dynamic: bool,
                                               conf: float) -> None:
    path = exported(nms=nms, dynamic=dynamic)
    onnx.checker.check_model(str(path), full_check=True)
    model = load_onnx(path, threads=1)
    ref = detector.predict(held_out, conf=conf, batch_size=4)
    got = model.predict(held_out, conf=conf, batch_size=4)
    assert sum(len(d) for d in ref) > 0  # the trained detector finds something
    assert_same_detections(got, ref)
    for iou, max_det in ((0.3, 5), (0.7, 300)):
        assert_same_detections(model.predict(held_out[:3], conf=conf, iou=iou, max_det=max_det),
                               detector.predict(held_out[:3], conf=conf, iou=iou, max_det=max_det))


def test_a_static_batch_larger_than_one_pads_the_last_piece(detector: Any, held_out: list[np.ndarray],
                                                            exported: Callable[..., Path]) -> None:
    model = load_onnx(exported(batch_size=4), threads=1)
    assert model.info.batch == 4
    images = held_out[:6]  # one full piece of 4, one of 2 padded to 4
    assert_same_detections(model.predict(images, conf=0.05, batch_size=6), detector.predict(images, conf=0.05))
    assert_same_detections(load_onnx(exported(batch_size=4, nms=True), threads=1).predict(images, conf=0.05),
                           detector.predict(images, conf=0.05))


def test_stream_and_sources_as_the_detector(detector: Any, shapes: Path, exported: Callable[..., Path]) -> None:
    model = load_onnx(exported(dynamic=True), threads=1)
    stream = model.predict(shapes, conf=0.05, stream=True, batch_size=3)
    assert iter(stream) is stream
    assert_same_detections(list(stream), detector.predict(shapes, conf=0.05))


def test_predict_leaves_the_callers_arrays_alone(held_out: list[np.ndarray], exported: Callable[..., Path]) -> None:
    model = load_onnx(exported(dynamic=True), threads=1)
    assert_unchanged(model.predict, np.stack(held_out[:4]), conf=0.05)
    assert_unchanged(model.detect, np.full((2, 3, 64, 64), 114.0, np.float32), conf=0.05)


def test_export_leaves_the_model_alone(detector: Any, tmp_path: Path) -> None:
    model = copy.deepcopy(detector).train()
    before = [w.copy() for w in model.get_weights()]
    export_onnx(model, tmp_path / "m.onnx")
    assert model.training and all(m.training for m in model.modules())
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_metadata_round_trip(detector: Any, exported: Callable[..., Path]) -> None:
    for nms, dynamic in ((False, False), (True, True)):
        path = exported(nms=nms, dynamic=dynamic)
        proto = onnx.load(str(path))
        props = {p.key: p.value for p in proto.metadata_props}
        info = parse_props(props, str(path))
        assert info.task == "detect" and info.model_name == "detector-n"
        assert info.class_names == list(detector.class_names) and info.input_hw == (64, 64)
        assert info.batch == (None if dynamic else 1) and info.nms_in_graph == nms and info.pre_nms_top_k == 1000
        assert info.preprocess == {"resize": "letterbox", "fill": 114, "color_mode": "rgb", "scale": "0..255",
                                   "layout": "NCHW", "dtype": "float32"}
        assert props["odkit_format"] == "odkit-onnx" and props["odkit_schema_version"] == "1"
        assert proto.producer_name == "odkit"
        model = load_onnx(path)
        assert model.name == "detector-n" and model.class_names == detector.class_names
        assert model.input_info == detector.input_info and model.image_hw == (64, 64)
        names = [i.name for i in model.session.get_inputs()]
        assert names == (["images", "conf", "iou", "max_det"] if nms else ["images"])
        shape = model.session.get_inputs()[0].shape
        assert shape[1:] == [3, 64, 64] and (isinstance(shape[0], str) if dynamic else shape[0] == 1)


def test_imgsz_exports_another_input_size(detector: Any, held_out: list[np.ndarray],
                                          exported: Callable[..., Path]) -> None:
    model = load_onnx(exported(image_hw=(96, 128), dynamic=True), threads=1)
    assert model.info.input_hw == (96, 128) and model.input_info["image_hw"] == [96, 128]
    resized = copy.deepcopy(detector)
    resized.image_hw = (96, 128)  # the same weights predicting at 96 x 128
    assert_same_detections(model.predict(held_out, conf=0.05), resized.predict(held_out, conf=0.05))


def test_load_any_model_by_suffix(detector_file: Path, exported: Callable[..., Path], tmp_path: Path) -> None:
    assert type(load_any_model(detector_file)).__name__ == "DetectorN"
    upper = tmp_path / "DET.ONNX"
    upper.write_bytes(exported().read_bytes())
    onnx_model = load_any_model(upper)
    assert type(onnx_model) is OnnxDetector
    assert onnx_model.task == load_any_model(detector_file).task == "detect"  # what predict_run and odkit predict test


@pytest.mark.parametrize("opset", [10, 21, 17.0, True])
def test_a_bad_opset_raises(detector: Any, tmp_path: Path, opset: Any) -> None:
    with pytest.raises(ValueError, match=r"opset must be an integer in 11\.\.20"):
        export_onnx(detector, tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [11, 13, 20])
def test_other_opsets_export_and_match(detector: Any, held_out: list[np.ndarray], tmp_path: Path,
                                       opset: int) -> None:
    path = export_onnx(detector, tmp_path / "m.onnx", opset=opset, nms=True, dynamic=True)
    assert onnx.load(str(path)).opset_import[0].version == opset
    assert_same_detections(load_onnx(path, threads=1).predict(held_out[:2], conf=0.05),
                           detector.predict(held_out[:2], conf=0.05))


def test_bad_arguments_raise(detector: Any, tmp_path: Path) -> None:
    import odkit.models

    with pytest.raises(ValueError, match="image_hw must be"):
        export_onnx(detector, tmp_path / "m.onnx", image_hw=(16, 64))
    with pytest.raises(ValueError, match="batch_size must be"):
        export_onnx(detector, tmp_path / "m.onnx", batch_size=0)
    localizer = odkit.models.build("localizer", num_classes=2)
    with pytest.raises(ValueError, match=r"takes a detector .* or the classifier; got 'localizer'"):
        export_onnx(localizer, tmp_path / "m.onnx")
    assert not any(tmp_path.iterdir())


def test_foreign_and_damaged_files_raise_checkpoint_errors(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    from odkit.errors import CheckpointError

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "foreign.onnx"))
    with pytest.raises(CheckpointError, match=r"foreign\.onnx: not an odkit ONNX export"):
        load_onnx(tmp_path / "foreign.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(CheckpointError, match=r"junk\.onnx: onnxruntime cannot load it"):
        load_onnx(tmp_path / "junk.onnx")
    with pytest.raises(CheckpointError, match=r"missing\.onnx: no such model file"):
        load_onnx(tmp_path / "missing.onnx")
