"""ONNX export of the classifier: onnxruntime's probabilities are PyTorch's within 1e-5, on arrays and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from odkit.export import OnnxClassifier, export_onnx, load_onnx  # noqa: E402
from odkit.synthetic import make_digits  # noqa: E402


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_probabilities_match_pytorch(classifier: Any, digits: Path, tmp_path: Path, dynamic: bool) -> None:
    path = export_onnx(classifier, tmp_path / "clf.onnx", dynamic=dynamic)
    onnx.checker.check_model(str(path), full_check=True)
    model = load_onnx(path, threads=1)
    assert type(model) is OnnxClassifier and model.name == "classifier"
    assert model.class_names == ["0", "1", "2"] and model.input_info == classifier.input_info
    x, _ = make_digits(40, seed=7)  # held out: another seed
    x = np.repeat(x[..., None], 3, axis=-1)
    ref = classifier.predict(x, batch_size=16)
    got = model.predict(x, batch_size=16)
    assert got.shape == ref.shape == (40, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)
    # image files, resized and read as the classifier reads them
    np.testing.assert_allclose(model.predict(digits / "1"), classifier.predict(digits / "1"), rtol=0, atol=1e-5)
    rows = list(model.predict(x[:5], stream=True))
    np.testing.assert_allclose(np.stack(rows), ref[:5], rtol=0, atol=1e-5)


def test_metadata_of_a_classifier(classifier: Any, tmp_path: Path) -> None:
    proto = onnx.load(str(export_onnx(classifier, tmp_path / "clf.onnx")))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["odkit_task"] == "classify" and props["odkit_input_hw"] == "[28, 28]"
    assert props["odkit_class_names"] == '["0", "1", "2"]' and "odkit_nms" not in props
    assert [o.name for o in proto.graph.output] == ["probabilities"]


def test_classifier_errors(classifier: Any, tmp_path: Path) -> None:
    import odkit.models

    with pytest.raises(ValueError, match="nms=True is for detectors"):
        export_onnx(classifier, tmp_path / "clf.onnx", nms=True)
    with pytest.raises(ValueError, match="not built yet"):
        export_onnx(odkit.models.build("classifier", num_classes=2), tmp_path / "clf.onnx")
    assert not any(tmp_path.iterdir())
