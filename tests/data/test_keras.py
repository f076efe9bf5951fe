"""Keras 3 ``model.fit`` over ``ds.as_keras()``; skipped where keras is not installed (run in a Keras env)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from odkit.data import image_dataset_from_directory

keras = pytest.importorskip("keras")


def _folder(tmp_path: Path, broken: bool = False) -> Path:
    tmp_path.mkdir(exist_ok=True)
    rng = np.random.RandomState(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.fromarray(rng.randint(0, 256, (6, 6, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    if broken:
        (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    return tmp_path


def _model() -> object:
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_model_fit_runs_every_epoch_over_as_keras(tmp_path: Path) -> None:
    """Regression: fit(ds) raised 'Unrecognized data type' and fit(iter(ds)) ran out of data after epoch 1."""
    ds, val = image_dataset_from_directory(_folder(tmp_path), image_size=6, batch_size=4, seed=0, verbose=False,
                                           validation_split=0.2, subset="both")
    ds = image_dataset_from_directory(_folder(tmp_path / "all"), image_size=6, batch_size=4, seed=0, verbose=False)
    data = ds.as_keras()
    assert isinstance(data, keras.utils.PyDataset) and len(data) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "Your input ran out of data" would fail here
        history = _model().fit(data, epochs=3, verbose=0, validation_data=val.as_keras())
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == 3 and data.epoch >= 3
    # the wrapper's epoch k serves ds.epoch_order(k), all files once; the order changes between epochs
    seen = [int(i) for b in range(len(data)) for i in data[b][1]]
    assert seen == ds.labels[ds.epoch_order(data.epoch)].tolist()
    first = data[0][0]
    data.on_epoch_end()
    assert not np.array_equal(data[0][0], first)


def test_as_keras_skips_unreadable_images_and_counts_them(tmp_path: Path) -> None:
    ds = image_dataset_from_directory(
        _folder(tmp_path, broken=True), image_size=6, batch_size=4, shuffle=False, verbose=False
    )
    data = ds.as_keras()
    with pytest.warns(RuntimeWarning) as record:
        _model().fit(data, epochs=2, verbose=0)
    messages = [str(w.message) for w in record]
    assert any("broken.png" in m for m in messages)
    assert sum("skipped 1 unreadable image(s) of 11 this epoch" in m for m in messages) == 2
    assert sum(len(data[b][1]) for b in range(len(data))) == 10


def test_as_keras_needs_batches(tmp_path: Path) -> None:
    ds = image_dataset_from_directory(_folder(tmp_path), image_size=6, batch_size=None, verbose=False)
    with pytest.raises(ValueError, match="needs a batched dataset"):
        ds.as_keras()
