"""The Keras course's save & load workflow, line by line in odkit's terms (issue bar): folder dataset ->
classifier -> ModelCheckpoint + EarlyStopping -> fit stops early -> the best model is on disk and
``odkit.load_model`` of it predicts exactly what the best epoch's weights predict; fine-tuning a loaded model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import odkit  # noqa: E402
from odkit.callbacks import EarlyStopping, ModelCheckpoint  # noqa: E402
from odkit.data import image_dataset_from_directory  # noqa: E402
from odkit.synthetic import make_digits  # noqa: E402


@pytest.fixture(scope="module")
def digit_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("digits")
    x, y = make_digits(600, seed=5)
    for i, (img, label) in enumerate(zip(x, y.tolist())):
        folder = root / str(label)
        folder.mkdir(exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root


def test_course_workflow_keeps_the_best_model(digit_folders: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    train, val = image_dataset_from_directory(digit_folders, label_mode="categorical", color_mode="grayscale",
                                              image_size=(28, 28), validation_split=0.2, subset="both", seed=1)
    model = odkit.models.build("classifier", num_classes=10, class_names=train.class_names, seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    best_path = tmp_path / "model1.odk"
    mcp = ModelCheckpoint(filepath=str(best_path), monitor="val_loss", verbose=1, save_best_only=True,
                          save_weights_only=False)
    es = EarlyStopping("val_loss", 0, 3, 1, restore_best_weights=True)  # positional, as the course writes it
    history = model.fit(train, validation_data=val, epochs=10000, verbose=0, callbacks=[es, mcp], seed=0)
    epochs_run = len(history.epoch)
    assert 4 <= epochs_run < 10000 and model.stop_training
    out = capsys.readouterr().out
    assert "val_loss improved from None to" in out and "early stopping" in out
    best_epoch = int(np.argmin(history.history["val_loss"]))
    assert best_epoch == epochs_run - 4  # patience 3: three epochs without improvement after the best
    loaded = odkit.load_model(best_path)
    images = next(iter(val.iter_epoch(0)))[0]
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))  # restored = best on disk
    assert loaded.class_names == train.class_names
    assert history.history["val_accuracy"][best_epoch] > 0.9
    # fine-tuning the loaded model on the same folders continues from the best weights
    loaded.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    before = loaded.evaluate(val)[1]
    loaded.fit(train, epochs=1, verbose=0, seed=1)
    assert loaded.evaluate(val)[1] > before - 0.05
