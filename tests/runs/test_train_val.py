"""``odkit train`` / ``odkit val`` end to end on tiny generated data: run folders, resume, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from odkit.cli.main import main  # noqa: E402
from odkit.runs import train_run  # noqa: E402
from odkit.runs._results import RunLogger  # noqa: E402
from odkit.saving import load_model  # noqa: E402
from tests.runs._tiny import write_digit_folders, write_shapes  # noqa: E402

TINY = ["--model", "detector-n", "--imgsz", "64", "--batch", "4", "--verbose", "0"]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes") / "ds", n=12)


@pytest.fixture(scope="module")
def trained(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "train"
    assert main(["train", str(shapes), *TINY, "--epochs", "3", "--out", str(out)]) == 0
    return out


def _weights(path: Path) -> list[np.ndarray]:
    return load_model(path).get_weights()


def test_train_writes_the_run_folder(trained: Path) -> None:
    for name in ("args.yaml", "weights/best.odk", "weights/last.odk", "results.csv", "losses.png", "metrics.png",
                 "lr.png", "metrics.json", "report.html", "predictions.json", "pr_curve.png", "f1_curve.png",
                 "confusion_matrix.png", "errors.png"):
        assert (trained / name).is_file(), name
    assert not (trained / "backup").exists()  # removed when training ends normally
    with (trained / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {"loss", "val_loss", "val_map50", "val_map", "lr", "time"} <= rows[0].keys()
    args = yaml.safe_load((trained / "args.yaml").read_text())
    assert args["model"] == "detector-n" and args["epochs"] == 3 and args["task"] == "detect"
    metrics = json.loads((trained / "metrics.json").read_text())
    assert 0 <= metrics["AP50"] <= 1 and metrics["split"] == "val" and metrics["images"] == 4
    # best.odk is the epoch with the highest val_map
    best_epoch = max(range(3), key=lambda i: (float(rows[i]["val_map"]), -i))
    assert load_model(trained / "weights" / "best.odk") is not None
    last = load_model(trained / "weights" / "last.odk")
    assert last.class_names == ["circle", "square", "triangle"]
    assert best_epoch in range(3)


def test_val_scores_the_saved_model_like_the_training_run(trained: Path, shapes: Path, tmp_path: Path) -> None:
    out = tmp_path / "val"
    assert main(["val", str(trained / "weights" / "best.odk"), str(shapes), "--out", str(out)]) == 0
    ours = json.loads((out / "metrics.json").read_text())
    at_train_end = json.loads((trained / "metrics.json").read_text())
    assert ours["AP50"] == at_train_end["AP50"] and ours["AP"] == at_train_end["AP"]
    for name in ("report.html", "pr_curve.png", "f1_curve.png", "confusion_matrix.png", "errors.png",
                 "predictions.json"):
        assert (out / name).is_file(), name
    # its predictions.json is what `odkit eval` reads, with the same numbers against the val split's ground truth
    import odkit.io as io

    io.write_annotations(io.read_annotations(shapes).split("val"), tmp_path / "val.json", "coco")
    assert main(["eval", str(tmp_path / "val.json"), str(out / "predictions.json"), "--json",
                 str(tmp_path / "e.json")]) == 0
    again = json.loads((tmp_path / "e.json").read_text())
    assert again["AP50"] == pytest.approx(ours["AP50"], abs=1e-12)


def test_numbered_run_folders(shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(shapes), *TINY, "--epochs", "1"]) == 0
    assert main(["train", str(shapes), *TINY, "--epochs", "1"]) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["train-1", "train-2"]
    model = tmp_path / "runs" / "train-1" / "weights" / "best.odk"
    assert main(["val", str(model), str(shapes)]) == 0
    assert (tmp_path / "runs" / "val-1" / "report.html").is_file()


def test_resume_after_ctrl_c_reaches_the_uninterrupted_weights(shapes: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    full = train_run(shapes, model="detector-n", imgsz=64, batch=4, epochs=4, out=tmp_path / "full", verbose=0)
    original = RunLogger.on_epoch_end

    def interrupt_after_second(self: RunLogger, epoch: int, logs: dict | None = None) -> None:
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunLogger, "on_epoch_end", interrupt_after_second)
    with pytest.raises(KeyboardInterrupt):
        train_run(shapes, model="detector-n", imgsz=64, batch=4, epochs=4, out=tmp_path / "cut", verbose=0)
    monkeypatch.setattr(RunLogger, "on_epoch_end", original)
    assert (tmp_path / "cut" / "backup").is_dir()
    resumed = train_run(resume=tmp_path / "cut", verbose=0)
    assert resumed.epochs == 4
    for a, b in zip(_weights(full.last), _weights(resumed.last)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_weights(full.best), _weights(resumed.best)):
        np.testing.assert_array_equal(a, b)
    with (tmp_path / "cut" / "results.csv").open() as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3", "4"]


def test_resume_of_a_finished_run_says_why(trained: Path) -> None:
    assert main(["train", "--resume", str(trained)]) == 1


def test_a_dataset_without_val_split_gets_a_stated_seeded_split(tmp_path: Path, capsys: pytest.CaptureFixture
                                                                 ) -> None:
    data = write_shapes(tmp_path / "nosplit", n=10, val=None)
    assert main(["train", str(data), *TINY, "--epochs", "1", "--out", str(tmp_path / "r"), "--verbose", "1"]) == 0
    assert "no validation split; held out 2 of its 10 images" in capsys.readouterr().out
    assert main(["val", str(tmp_path / "r" / "weights" / "best.odk"), str(data), "--out", str(tmp_path / "v")]) == 0
    assert json.loads((tmp_path / "v" / "metrics.json").read_text())["images"] == 2


def test_fine_tune_a_saved_model_on_other_classes(trained: Path, tmp_path: Path) -> None:
    data = write_shapes(tmp_path / "ds", n=8, val=3)
    run = train_run(data, model=str(trained / "weights" / "best.odk"), epochs=1, batch=4, out=tmp_path / "ft",
                    verbose=0)
    assert load_model(run.best).class_names == ["circle", "square", "triangle"]


def test_classifier_on_class_folders(tmp_path: Path) -> None:
    tree = write_digit_folders(tmp_path / "digits", n=40)
    out = tmp_path / "cls"
    assert main(["train", str(tree), "--model", "classifier", "--imgsz", "28", "--epochs", "2", "--out", str(out),
                 "--verbose", "0"]) == 0
    for name in ("weights/best.odk", "results.csv", "losses.png", "report.html", "metrics.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and metrics["images"] == 8
    assert main(["val", str(out / "weights" / "best.odk"), str(tree), "--out", str(tmp_path / "v")]) == 0


@pytest.mark.parametrize(("argv", "code"), [
    (["train"], 2),
    (["train", "DATA", "--epochs", "0"], 2),
    (["train", "no/such/folder"], 1),
    (["val", "no/such.odk", "no/such/folder"], 1),
    (["val", "m.odk", "d", "--conf", "2"], 2),
])
def test_exit_codes(argv: list[str], code: int, shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                    ) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(shapes) if a == "DATA" else a for a in argv]
    assert main(argv) == code


def test_val_with_classes_the_model_does_not_know(trained: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    import odkit.io as io

    ds = io.read_annotations(write_shapes(tmp_path / "d", n=6, val=2))
    renamed = io.remap_categories(ds, {"circle": "disc"})
    io.write_annotations(renamed, tmp_path / "renamed", "coco")
    code = main(["val", str(trained / "weights" / "best.odk"), str(tmp_path / "renamed"), "--out",
                 str(tmp_path / "v")])
    assert code == 1
    assert "the model's classes" in capsys.readouterr().err


def test_val_reads_class_folders_in_the_models_color_mode(tmp_path: Path) -> None:
    """A classifier trained on grayscale images (the course's MNIST way) is validated on grayscale images."""
    import odkit
    from odkit.data import image_dataset_from_directory

    tree = write_digit_folders(tmp_path / "digits", n=30)
    train, val = image_dataset_from_directory(tree, color_mode="grayscale", image_size=(28, 28), seed=0,
                                              validation_split=0.2, subset="both", verbose=False)
    model = odkit.models.build("classifier", num_classes=3, class_names=train.class_names, seed=0)
    model.compile(optimizer="adam", metrics=["accuracy"])
    model.fit(train, validation_data=val, epochs=1, verbose=0)
    model.save(tmp_path / "gray.odk")
    assert main(["val", str(tmp_path / "gray.odk"), str(tree), "--out", str(tmp_path / "v")]) == 0
    assert json.loads((tmp_path / "v" / "metrics.json").read_text())["images"] == 6
