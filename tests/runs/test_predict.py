"""``odkit predict`` and ``predict_run`` end to end on tiny generated data: every source kind, ``stream=True``,
the files written (annotated images and video, YOLO txt, COCO results, summary.csv) read back by ``odkit.io``
and ``odkit eval``, exit codes, and a classifier."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")

import odkit  # noqa: E402
import odkit.models  # noqa: E402
from odkit.cli.main import main  # noqa: E402
from odkit.data import Letterbox, detection_dataset  # noqa: E402
from odkit.errors import DatasetError  # noqa: E402
from odkit.io import Category, Dataset, GroundTruth, ImageRecord, read_annotations, read_predictions  # noqa: E402
from odkit.io._coco import write_coco  # noqa: E402
from odkit.runs._predict import predict_run  # noqa: E402
from odkit.synthetic import SHAPE_CLASSES, make_shapes_dataset  # noqa: E402

HW = (64, 80)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 generated PNG images and ``instances.json`` (COCO, category ids 1..3) in one folder."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("shapes")
    items = make_shapes_dataset(6, image_hw=HW, max_objects=2, size_range=(16, 32), seed=0)
    records, annotations = [], {}
    for i, item in enumerate(items, start=1):
        name = f"shape{i}.png"
        Image.fromarray(item.image).save(folder / name)
        records.append(ImageRecord(id=i, file_name=name, path=name, width=HW[1], height=HW[0]))
        annotations[i] = GroundTruth(item.ground_truth.boxes_xyxy, item.ground_truth.class_ids + 1)
    ds = Dataset(tuple(records), tuple(Category(k + 1, c) for k, c in enumerate(SHAPE_CLASSES)), annotations,
                 root=folder)
    write_coco(ds, folder / "instances.json")
    return folder


@pytest.fixture(scope="module")
def model_file(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detector-n fitted a few epochs on the 6 images (so that it detects something), saved."""
    model = odkit.models.build("detector-n", num_classes=3, class_names=list(SHAPE_CLASSES), imgsz=64, seed=0,
                               learning_rate=5e-3, warmup_iters=5)
    ds = read_annotations(data / "instances.json")
    model.fit(detection_dataset(ds, transforms=Letterbox((64, 64))), epochs=8, batch_size=6, verbose=0, seed=0)
    path = tmp_path_factory.mktemp("model") / "det.odk"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def model(model_file: Path) -> object:
    return odkit.load_model(model_file)


def _video(path: Path, frames: int = 6) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (HW[1], HW[0]))
    for item in make_shapes_dataset(frames, image_hw=HW, max_objects=2, size_range=(16, 32), seed=1):
        writer.write(cv2.cvtColor(item.image, cv2.COLOR_RGB2BGR))
    writer.release()


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.boxes_xyxy, y.boxes_xyxy)
        np.testing.assert_array_equal(x.scores, y.scores)
        np.testing.assert_array_equal(x.class_ids, y.class_ids)


def test_every_source_kind_and_stream_give_the_same_detections(model: object, data: Path, tmp_path: Path) -> None:
    from PIL import Image

    reference = model.predict(data, conf=0.05)
    assert len(reference) == 6 and sum(len(d) for d in reference) > 0
    stream = model.predict(data, conf=0.05, stream=True, batch_size=4)
    assert iter(stream) is stream  # a generator, not a list
    _same(list(stream), reference)
    _same(model.predict(str(data / "shape*.png"), conf=0.05), reference)
    lines = "".join(f"{data.name}/shape{i}.png\n" for i in range(1, 7))
    (tmp_path / "list.txt").write_text("# every image\n\n" + lines)
    (tmp_path / data.name).symlink_to(data)
    _same(model.predict(tmp_path / "list.txt", conf=0.05), reference)
    arrays = np.stack([np.asarray(Image.open(data / f"shape{i}.png")) for i in range(1, 7)])
    _same(model.predict(arrays, conf=0.05), reference)
    _same(model.predict(data / "instances.json", conf=0.05), reference)
    _same(model.predict(read_annotations(data / "instances.json"), conf=0.05), reference)
    _video(tmp_path / "clip.mp4")
    frames = model.predict(tmp_path / "clip.mp4", conf=0.05)
    _same(list(model.predict(tmp_path / "clip.mp4", conf=0.05, stream=True, batch_size=4)), frames)
    assert len(frames) == 6


def test_cli_on_a_dataset_then_odkit_eval_reads_labels_and_json_alike(model_file: Path, data: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "P"
    code = main(["predict", str(model_file), str(data / "instances.json"), "--save-txt", "--save-json",
                 "--conf", "0.05", "--out", str(out)])
    assert code == 0
    from PIL import Image

    for i in range(1, 7):
        with Image.open(out / f"shape{i}.png") as im:
            assert im.size == (HW[1], HW[0])
    assert (out / "labels" / "classes.txt").read_text().split() == list(SHAPE_CLASSES)
    results = json.loads((out / "predictions.json").read_text())
    assert results and {r["image_id"] for r in results} <= set(range(1, 7))
    assert {r["category_id"] for r in results} <= {1, 2, 3}
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [f"shape{i}.png" for i in range(1, 7)]
    assert list(rows[0]) == ["file", "frame", "width", "height", "detections", *SHAPE_CLASSES, "ms"]
    assert sum(int(r["detections"]) for r in rows) == len(results)

    ds = read_annotations(data / "instances.json")
    from_txt, _ = read_predictions([out / "labels"], ds)
    from_json, _ = read_predictions([out / "predictions.json"], ds)
    for image_id in from_json:
        np.testing.assert_allclose(from_txt[image_id].boxes_xyxy, from_json[image_id].boxes_xyxy, atol=1e-3)
        np.testing.assert_allclose(from_txt[image_id].scores, from_json[image_id].scores, atol=1e-6)
        np.testing.assert_array_equal(from_txt[image_id].class_ids, from_json[image_id].class_ids)
    assert main(["eval", str(data / "instances.json"), str(out / "labels"), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["eval", str(data / "instances.json"), str(out / "predictions.json"),
                 "--json", str(tmp_path / "b.json")]) == 0
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    scalars = {k: v for k, v in b.items() if isinstance(v, float) or v is None}
    assert {"AP", "AP50", "AR100"} <= set(scalars) and b["AP50"] > 0
    for key, value in scalars.items():  # 6-decimal txt against full-precision JSON: the same numbers
        assert a[key] == (None if value is None else pytest.approx(value, abs=1e-6)), key


def test_folder_source_names_its_results_by_file(model: object, data: Path, tmp_path: Path) -> None:
    run = predict_run(model, data, tmp_path / "F", conf=0.05, save_txt=True, save_json=True, verbose=False)
    assert run.images == 6 and run.detections == sum(run.class_counts.values())
    ids = {r["image_id"] for r in json.loads((tmp_path / "F" / "predictions.json").read_text())}
    assert ids <= {f"shape{i}.png" for i in range(1, 7)}  # a plain folder: ids are file names
    assert main(["eval", str(data / "instances.json"), str(tmp_path / "F" / "labels")]) == 0  # matched by stem
    with pytest.raises(DatasetError, match="would overwrite its source"):
        predict_run(model, data, data, verbose=False)


def test_cli_takes_several_files_as_a_shell_glob_gives_them(model_file: Path, data: Path, tmp_path: Path) -> None:
    files = [str(data / "shape1.png"), str(data / "shape2.png"), str(data / "shape3.png")]
    assert main(["predict", str(model_file), *files, "--conf", "0.05", "--out", str(tmp_path / "M")]) == 0
    assert sorted(p.name for p in (tmp_path / "M").glob("*.png")) == ["shape1.png", "shape2.png", "shape3.png"]


def test_video_gives_an_annotated_video_and_labels_per_frame(model: object, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    _video(tmp_path / "clip.mp4")
    run = predict_run(model, tmp_path / "clip.mp4", tmp_path / "V", conf=0.05, save_txt=True, batch_size=4)
    cap = cv2.VideoCapture(str(tmp_path / "V" / "clip.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 6 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == HW[1]
    cap.release()
    assert [r["frame"] for r in run.rows] == list(range(6))
    for path in (tmp_path / "V" / "labels").glob("clip_*.txt"):
        for line in path.read_text().splitlines():
            fields = line.split()
            assert len(fields) == 6 and all(0 <= float(v) <= 1 for v in fields[1:])
    assert len(list((tmp_path / "V" / "labels").glob("clip_*.txt"))) == sum(1 for r in run.rows if r["detections"])
    out = capsys.readouterr().out
    assert "video 6/6 clip.mp4#5: 64x80 " in out and f"Results saved to {tmp_path / 'V'}" in out


def test_exit_codes(model_file: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["predict", str(tmp_path / "none.odk"), str(data)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "none.odk" in err and "\n" not in err
    assert main(["predict", str(model_file), str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1
    assert "missing: no such image" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["predict", str(model_file), str(data), "--conf", "1.5"]) == 2
    assert "--conf must be in [0, 1]" in capsys.readouterr().err
    assert main(["predict", str(model_file), str(data), "--max-det", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(model_file)])
    assert exc.value.code == 2


def test_a_classifier_through_predict_run(data: Path, tmp_path: Path) -> None:
    model = odkit.models.build("classifier", num_classes=2, class_names=["round", "edgy"], in_channels=3,
                               image_hw=(32, 32), seed=0)
    run = predict_run(model, data, tmp_path / "C", verbose=False)
    assert run.images == 6 and sum(run.class_counts.values()) == 6
    assert list(run.rows[0]) == ["file", "frame", "width", "height", "class", "probability", "ms"]
    assert run.rows[0]["class"] in ("round", "edgy") and 0.5 <= run.rows[0]["probability"] <= 1
    from PIL import Image

    with Image.open(tmp_path / "C" / "shape1.png") as im:
        assert im.size == (HW[1], HW[0])
    probs = model.predict(data)
    streamed = np.stack(list(model.predict(data, stream=True, batch_size=4)))
    np.testing.assert_allclose(streamed, probs, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="need a detector"):
        predict_run(model, data, tmp_path / "C2", save_txt=True, verbose=False)
