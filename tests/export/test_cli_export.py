"""``odkit export``, and ``odkit predict`` / ``odkit val`` on the ``.onnx`` file: exit codes, files, and the same
outputs and metrics as the ``.odk``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from odkit.cli.main import main  # noqa: E402


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "summary.csv").open() as f:
        return [{k: v for k, v in row.items() if k != "ms"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def onnx_files(detector_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    odk = folder / "det.odk"
    odk.write_bytes(detector_file.read_bytes())
    assert main(["export", str(odk), "--format", "onnx"]) == 0
    assert main(["export", str(odk), "--format", "ONNX", "--nms", "--dynamic", "--opset", "13",
                 "--out", str(folder / "det_nms.onnx")]) == 0
    return {"odk": odk, "plain": folder / "det.onnx", "nms": folder / "det_nms.onnx"}


def test_export_writes_a_checked_file_beside_the_model(onnx_files: dict[str, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for key in ("plain", "nms"):
        onnx.checker.check_model(str(onnx_files[key]), full_check=True)
    props = {p.key: p.value for p in onnx.load(str(onnx_files["nms"])).metadata_props}
    assert props["odkit_batch"] == "dynamic" and json.loads(props["odkit_nms"])["in_graph"] is True
    assert onnx.load(str(onnx_files["nms"])).opset_import[0].version == 13
    assert not list(onnx_files["odk"].parent.glob(".*.tmp"))


def test_predict_on_the_onnx_file_writes_what_the_odk_writes(onnx_files: dict[str, Path], shapes: Path,
                                                             tmp_path: Path) -> None:
    source = str(shapes / "annotations" / "instances_val.json")
    outs = {}
    for key in ("odk", "plain", "nms"):
        outs[key] = tmp_path / key
        assert main(["predict", str(onnx_files[key]), source, "--conf", "0.1", "--save-txt", "--save-json",
                     "--out", str(outs[key])]) == 0
    reference = _rows(outs["odk"])
    assert len(reference) == 4 and sum(int(r["detections"]) for r in reference) > 0
    for key in ("plain", "nms"):
        assert _rows(outs[key]) == reference
        ours = json.loads((outs[key] / "predictions.json").read_text())
        theirs = json.loads((outs["odk"] / "predictions.json").read_text())
        assert [(d["image_id"], d["category_id"]) for d in ours] == [(d["image_id"], d["category_id"]) for d in theirs]
        for a, b in zip(ours, theirs):
            assert a["score"] == pytest.approx(b["score"], abs=1e-4)
            assert a["bbox"] == pytest.approx(b["bbox"], rel=1e-3, abs=1e-2)  # rounded in the file


def test_val_on_the_onnx_file_gives_the_odks_metrics(onnx_files: dict[str, Path], shapes: Path,
                                                     tmp_path: Path) -> None:
    metrics = {}
    for key in ("odk", "plain", "nms"):
        assert main(["val", str(onnx_files[key]), str(shapes), "--out", str(tmp_path / key)]) == 0
        metrics[key] = json.loads((tmp_path / key / "metrics.json").read_text())
    assert metrics["odk"]["AP50"] > 0
    for name in ("AP", "AP50", "AP75", "AR100"):
        assert metrics["plain"][name] == pytest.approx(metrics["odk"][name], abs=1e-6), name
        assert metrics["nms"][name] == pytest.approx(metrics["odk"][name], abs=1e-3), name
    assert (tmp_path / "plain" / "report.html").is_file()


def test_classifier_export_predict_and_val(classifier: Any, digits: Path, tmp_path: Path) -> None:
    odk = tmp_path / "clf.odk"
    classifier.save(odk)
    assert main(["export", str(odk), "--format", "onnx", "--dynamic"]) == 0
    for key, path in (("odk", odk), ("onnx", tmp_path / "clf.onnx")):
        assert main(["predict", str(path), str(digits / "2"), "--out", str(tmp_path / f"p_{key}")]) == 0
        assert main(["val", str(path), str(digits), "--out", str(tmp_path / f"v_{key}")]) == 0
    p_odk, p_onnx = _rows(tmp_path / "p_odk"), _rows(tmp_path / "p_onnx")
    assert [r["class"] for r in p_onnx] == [r["class"] for r in p_odk] and len(p_odk) > 0
    for a, b in zip(p_onnx, p_odk):
        assert float(a["probability"]) == pytest.approx(float(b["probability"]), abs=1e-5)
    v_odk = json.loads((tmp_path / "v_odk" / "metrics.json").read_text())
    v_onnx = json.loads((tmp_path / "v_onnx" / "metrics.json").read_text())
    assert v_onnx["accuracy"] == v_odk["accuracy"] and v_onnx["confusion_matrix"] == v_odk["confusion_matrix"]
    assert main(["export", str(odk), "--format", "onnx", "--nms"]) == 2


@pytest.mark.parametrize(("args", "code", "message"), [
    (["{onnx}", "--format", "onnx"], 1, "takes a .odk model file"),
    (["{dir}/missing.odk", "--format", "onnx"], 1, "no such model file"),
    (["{odk}", "--format", "tflite"], 2, "--format must be one of ['onnx']"),
    (["{odk}", "--format", "onnx", "--opset", "9"], 2, "--opset must be in 11..20"),
    (["{odk}", "--format", "onnx", "--opset", "21"], 2, "--opset must be in 11..20"),
    (["{odk}", "--format", "onnx", "--imgsz", "16"], 2, "--imgsz takes one size or HEIGHT WIDTH"),
    (["{odk}", "--format", "onnx", "--imgsz", "64", "64", "64"], 2, "--imgsz takes one size"),
    (["{odk}", "--format", "onnx", "--out", "{odk}"], 2, "would overwrite the model file"),
])
def test_export_errors(onnx_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       args: list[str], code: int, message: str) -> None:
    fill = {"onnx": str(onnx_files["plain"]), "odk": str(onnx_files["odk"]), "dir": str(tmp_path)}
    assert main(["export", *(a.format(**fill) for a in args)]) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_predict_and_val_reject_a_foreign_onnx_file(tmp_path: Path, shapes: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01 not onnx")
    assert main(["predict", str(tmp_path / "junk.onnx"), str(shapes / "images"), "--out", str(tmp_path / "p")]) == 1
    assert "junk.onnx: onnxruntime cannot load it" in capsys.readouterr().err
    assert main(["val", str(tmp_path / "junk.onnx"), str(shapes), "--out", str(tmp_path / "v")]) == 1
    assert "junk.onnx: onnxruntime cannot load it" in capsys.readouterr().err


def test_the_parsers_constants_are_the_librarys() -> None:
    import odkit.export
    from odkit.cli import _export

    assert _export.FORMATS == odkit.export.FORMATS
    assert (_export.MIN_OPSET, _export.MAX_OPSET, _export.DEFAULT_OPSET) == (
        odkit.export.MIN_OPSET, odkit.export.MAX_OPSET, odkit.export.DEFAULT_OPSET)
    from torch.onnx import _constants

    assert odkit.export.MAX_OPSET <= _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
