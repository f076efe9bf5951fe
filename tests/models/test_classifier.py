"""The classifier and Keras' workflow in odkit's terms: compile strings, fit on arrays and on folder datasets,
callbacks, evaluate, predict, save / load_model, a user-written module, load_img."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import odkit  # noqa: E402
from odkit.models import Model, build, register  # noqa: E402
from odkit.synthetic import make_digits  # noqa: E402


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's arrays: scaled to [0, 1], one-hot labels; 1,000 train and 300 test images."""
    x, y = make_digits(1300, seed=3)
    x = x.astype(np.float32)[..., None] / 255.0
    onehot = np.eye(10, dtype=np.float32)[y]
    return x[:1000], onehot[:1000], x[1000:], onehot[1000:]


def test_registry_builds_and_lists() -> None:
    assert "classifier" in odkit.models.list()
    model = build("classifier", num_classes=4, seed=0)
    assert isinstance(model, Model) and model.name == "classifier"
    with pytest.raises(KeyError, match="no model named 'nope'"):
        build("nope")


def test_fit_evaluate_predict_like_keras(digits: tuple, capsys: pytest.CaptureFixture) -> None:
    train_x, train_y, test_x, test_y = digits
    model = build("classifier", num_classes=10, seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_x, train_y, validation_split=0.2, epochs=5, batch_size=32, verbose=2, seed=0)
    assert history.epoch == [0, 1, 2, 3, 4]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert re.search(r"Epoch 5/5 - \d+m?s - loss:", capsys.readouterr().out)
    loss, accuracy = model.evaluate(test_x, test_y)
    assert accuracy >= 0.9 and loss == pytest.approx(history.history["loss"][-1], abs=0.5)
    probs = model.predict(test_x)
    assert probs.shape == (300, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == test_y.argmax(axis=1)).mean() == pytest.approx(accuracy)


def test_seed_gives_the_same_weights(digits: tuple) -> None:
    train_x, train_y, _, _ = digits
    runs = []
    for _ in range(2):
        model = build("classifier", num_classes=10, seed=7)
        model.compile("sgd", "categorical_crossentropy")
        model.fit(train_x[:200], train_y[:200], epochs=1, verbose=0, seed=7)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_get_set_weights_and_sparse_labels(digits: tuple) -> None:
    train_x, train_y, test_x, _ = digits
    model = build("classifier", num_classes=10, seed=0).compile("adam", "sparse_categorical_crossentropy",
                                                                ["accuracy"])
    model.fit(train_x[:256], train_y[:256].argmax(1), epochs=1, verbose=0, seed=0)
    other = build("classifier", num_classes=10, seed=1).compile("adam", "sparse_categorical_crossentropy")
    other.predict(test_x[:2])  # built from a batch
    other.set_weights(model.get_weights())
    np.testing.assert_array_equal(other.predict(test_x[:50]), model.predict(test_x[:50]))
    with pytest.raises(ValueError, match="expected"):
        other.set_weights(model.get_weights()[:-1])


@register("tiny-mlp-for-tests")
class TinyMLP(torch.nn.Module):
    def __init__(self, hidden: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_user_module_trains_and_records_its_config(digits: tuple) -> None:
    train_x, train_y, test_x, test_y = digits
    model = Model(TinyMLP(hidden=64), class_names=[str(d) for d in range(10)])
    assert model.config["module"] == "tiny-mlp-for-tests" and model.config["module_config"] == {"hidden": 64}
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    model.fit(train_x, train_y, epochs=3, verbose=0, seed=0)
    assert model.evaluate(test_x, test_y)[1] > 0.5  # a 2-layer MLP on 1,000 digits: far above chance (0.1)
    rebuilt = build("module", **model.config)
    assert isinstance(rebuilt.module, TinyMLP) and rebuilt.module.net[1].out_features == 64
    with pytest.raises(TypeError, match="by keyword"):
        TinyMLP(16)


def test_summary_and_compile_errors(capsys: pytest.CaptureFixture) -> None:
    model = build("classifier", num_classes=3, in_channels=1, image_hw=[28, 28])
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "classifier"' in out and "Total params:" in out
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'"):
        model.compile("adamax")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", "hinge")


def test_load_img_and_img_to_array(tmp_path: Path) -> None:
    from PIL import Image

    from odkit.data import img_to_array, load_img

    rgb = (np.arange(40 * 60 * 3) % 251).astype(np.uint8).reshape(40, 60, 3)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    img = load_img(tmp_path / "a.png", color_mode="grayscale", target_size=(28, 28))
    arr = img_to_array(img)
    assert arr.shape == (28, 28, 1) and arr.dtype == np.float32
    expected = np.asarray(Image.fromarray(rgb).convert("L").resize((28, 28), Image.Resampling.NEAREST), np.float32)
    np.testing.assert_array_equal(arr[..., 0], expected)
    assert img_to_array(load_img(tmp_path / "a.png"), data_format="channels_first").shape == (3, 40, 60)
    from odkit.errors import DatasetError

    with pytest.raises(DatasetError, match="no such image file"):
        load_img(tmp_path / "missing.png")


def test_save_load_round_trip_and_unregistered_module(digits: tuple, tmp_path: Path) -> None:
    train_x, train_y, test_x, _ = digits
    model = build("classifier", num_classes=10, class_names=[str(d) for d in range(10)], seed=0)
    model.compile("adam", "categorical_crossentropy", ["accuracy"]).fit(train_x[:128], train_y[:128], verbose=0)
    model.save(tmp_path / "m.odk")
    loaded = odkit.load_model(tmp_path / "m.odk")
    np.testing.assert_array_equal(loaded.predict(test_x[:20]), model.predict(test_x[:20]))
    assert loaded.class_names == model.class_names and loaded.config == model.config

    class Unregistered(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :10]

    with pytest.raises(ValueError, match="not registered"):
        Model(Unregistered()).save(tmp_path / "u.odk")
    wrapped = Model(TinyMLP(hidden=8))
    wrapped.save(tmp_path / "w.odk")
    again = odkit.load_model(tmp_path / "w.odk")
    np.testing.assert_array_equal(again.predict(test_x[:5]), wrapped.predict(test_x[:5]))


def test_predict_on_image_files(digits: tuple, tmp_path: Path) -> None:
    from PIL import Image

    train_x, train_y, test_x, _ = digits
    model = build("classifier", num_classes=10, seed=0).compile("adam", "categorical_crossentropy")
    model.fit(train_x[:64], train_y[:64], verbose=0)
    for i in range(3):
        Image.fromarray((test_x[i, ..., 0] * 255).round().astype(np.uint8)).resize((56, 56)).save(tmp_path / f"{i}.png")
    from_folder = model.predict(tmp_path)
    from_list = model.predict([tmp_path / "0.png", tmp_path / "1.png", tmp_path / "2.png"])
    assert from_folder.shape == (3, 10)
    np.testing.assert_array_equal(from_folder, from_list)
    np.testing.assert_allclose(model.predict(str(tmp_path / "1.png")), from_list[1:2], rtol=1e-5, atol=1e-6)


def test_validation_freq_validates_every_nth_epoch(digits: tuple) -> None:
    train_x, train_y, _, _ = digits
    model = build("classifier", num_classes=10, seed=0).compile("adam", "categorical_crossentropy")
    history = model.fit(train_x[:64], train_y[:64], validation_split=0.25, epochs=4, verbose=0, seed=0,
                        validation_freq=2)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(train_x[:64], train_y[:64], epochs=1, verbose=0, validation_freq=0)
