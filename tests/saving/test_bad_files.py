"""Files load_model must refuse with a CheckpointError that names the file and what was expected."""

from __future__ import annotations

import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch

from odkit.errors import CheckpointError
from odkit.saving import load_model, load_training_state, load_weights, save_model, save_training_state
from tests.saving._nets import TinyNet, WiderHeadNet, fake_registry, rewrite_header, trained_tiny_net

CUSTOM = {"tiny-net": TinyNet}


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.odk"
    save_model(trained_tiny_net(), path)
    return path


def _raises(path: Path, pattern: str, **kwargs: Any) -> CheckpointError:
    with pytest.raises(CheckpointError, match=pattern) as info:
        load_model(path, **{"custom_objects": CUSTOM, **kwargs})
    assert str(path) in str(info.value)  # every message names the file
    assert isinstance(info.value, ValueError)
    return info.value


# ---- not an odkit file ----------------------------------------------------------------------------------------


def test_a_missing_path_and_a_folder(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.odk", "no such file")
    (tmp_path / "folder.odk").mkdir()
    _raises(tmp_path / "folder.odk", "is a folder")


def _torch_zip(path: Path) -> None:
    torch.save(TinyNet().state_dict(), path)


def _torch_legacy(path: Path) -> None:
    torch.save(TinyNet().state_dict(), path, _use_new_zipfile_serialization=False)


def _plain_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))


def _keras_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"")


def _other_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")


FOREIGN: list[tuple[str, Callable[[Path], None], str]] = [
    ("torch.save zip", _torch_zip, r"PyTorch checkpoint written by torch\.save.*odkit never unpickles"),
    ("torch.save legacy", _torch_legacy, r"a Python pickle.*odkit never unpickles"),
    ("pickle", _plain_pickle, r"a Python pickle.*odkit never unpickles.*weights_only=True"),
    ("keras", _keras_zip, r"a Keras \.keras archive"),
    ("zip", _other_zip, r"a zip archive, not an odkit file"),
    ("hdf5", lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100)), "an HDF5 file"),
    ("npy", lambda p: np.save(p.with_suffix(".npy"), np.zeros(3)) or p.with_suffix(".npy").rename(p), "NumPy"),
    ("empty", lambda p: p.write_bytes(b""), r"0 bytes is too short"),
    ("text", lambda p: p.write_text("name,score\nabc,1\n"), "not a safetensors file"),
    ("random", lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)), "not a safetensors file"),
]


@pytest.mark.parametrize(("maker", "pattern"), [f[1:] for f in FOREIGN], ids=[f[0] for f in FOREIGN])
def test_foreign_files_are_named(tmp_path: Path, maker: Callable[[Path], None], pattern: str) -> None:
    path = tmp_path / "model.odk"
    maker(path)
    _raises(path, pattern)
    with pytest.raises(CheckpointError, match=pattern):
        load_weights(TinyNet(), path)


# ---- damaged odkit files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [4, 8, 20, "header-1", "data-1", "half"])
def test_truncated_files(good: Path, keep: int | str) -> None:
    data = good.read_bytes()
    n = int.from_bytes(data[:8], "little")
    cut = {"header-1": 8 + n - 1, "data-1": len(data) - 1, "half": len(data) // 2}.get(keep, keep)
    assert isinstance(cut, int)
    good.write_bytes(data[:cut])
    _raises(good, r"too short|truncated")


def test_trailing_bytes(good: Path) -> None:
    good.write_bytes(good.read_bytes() + b"junk")
    _raises(good, r"4 bytes after the last tensor")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        ({"data_offsets": ["0", 12]}, r"tensor 'head\.bias' has no valid data_offsets"),
        ({"dtype": "F99"}, r"damaged safetensors file: "),
        ({"shape": [1000]}, r"damaged safetensors file: "),
    ],
    ids=["offsets", "dtype", "shape"],
)
def test_a_damaged_tensor_table(good: Path, edit: dict[str, Any], pattern: str) -> None:
    data = good.read_bytes()
    n = int.from_bytes(data[:8], "little")
    table = json.loads(data[8 : 8 + n])
    table["head.bias"].update(edit)
    text = json.dumps(table).encode()
    good.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n :])
    _raises(good, pattern)


def test_a_plain_safetensors_file_has_no_odkit_header(tmp_path: Path) -> None:
    path = tmp_path / "hub.odk"
    safetensors.torch.save_file(TinyNet().state_dict(), path)
    _raises(path, r"without an odkit header.*load_weights")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda h: h.update(format="yolo-model"), r"format 'yolo-model'; expected format 'odkit-model'"),
        (lambda h: h.update(format="odkit-weights"), r"is an odkit weights file.*load_weights"),
        (lambda h: h.update(format="odkit-training-state"), r"is an odkit training state.*load_training_state"),
        (lambda h: h.pop("format"), r"format None; expected format 'odkit-model'"),
        (lambda h: h.update(schema_version=2, odkit_version="9.0"),
         r"schema_version 2 by odkit 9\.0; this odkit .* reads schema_version 1 and older: upgrade odkit"),
        (lambda h: h.update(schema_version="1"), r"schema_version must be a positive integer; found '1'"),
        (lambda h: h.update(schema_version=0), r"schema_version must be a positive integer; found 0"),
        (lambda h: h.update(model="tiny-net"), r"expected \"model\": \{\"name\": str, \"config\": object\}"),
        (lambda h: h["model"].update(config=[4]), r"expected \"model\": \{\"name\": str"),
    ],
    ids=["foreign-format", "weights", "state", "no-format", "future", "str-version", "zero", "model", "config"],
)
def test_tampered_headers(good: Path, edit: Callable[[dict[str, Any]], Any], pattern: str) -> None:
    rewrite_header(good, edit)
    _raises(good, pattern)


@pytest.mark.parametrize(("raw", "pattern"), [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object")])
def test_a_header_that_is_not_a_json_object(good: Path, raw: str, pattern: str) -> None:
    rewrite_header(good, lambda h: None, raw=raw)
    _raises(good, pattern)


# ---- files that do not fit ------------------------------------------------------------------------------------


def test_an_unknown_model_name(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_registry(monkeypatch, {"classifier": TinyNet})
    rewrite_header(good, lambda h: h["model"].update(name="my-net"))

    error = _raises(good, r"saved model 'my-net' is neither registered", custom_objects={"other": TinyNet})

    message = str(error)
    assert "registered: ['classifier']" in message and "custom_objects has ['other']" in message
    assert "custom_objects={'my-net': YourClass}" in message and "@odkit.models.register('my-net')" in message


def test_no_registry_and_no_custom_objects(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "odkit.models", None)  # import fails
    _raises(good, r"'tiny-net' is not in custom_objects and odkit\.models could not be imported",
            custom_objects=None)


def test_a_config_the_class_rejects(good: Path) -> None:
    rewrite_header(good, lambda h: h["model"]["config"].update(depth=3))
    _raises(good, r"rebuilding model 'tiny-net' from its saved config .* failed: TypeError: .*depth")


def test_a_factory_that_does_not_return_a_module(good: Path) -> None:
    _raises(good, r"gave a dict, not a torch\.nn\.Module", custom_objects={"tiny-net": lambda **config: config})


def test_another_architecture_lists_every_tensor_that_does_not_fit(good: Path) -> None:
    error = _raises(good, r"do not fit model 'tiny-net' as rebuilt", custom_objects={"tiny-net": WiderHeadNet})

    message = str(error)
    assert "shape mismatch (1): head.weight: model (3, 8), file (3, 4)" in message
    assert "missing from the file (2): extra.weight, extra.bias" in message
    assert "not in the model" not in message


def test_a_tensor_renamed_in_the_file(good: Path, tmp_path: Path) -> None:
    tensors = safetensors.torch.load_file(good)
    tensors["classifier.weight"] = tensors.pop("head.weight")
    header = json.loads(safetensors.safe_open(good, "pt").metadata()["odkit"])
    safetensors.torch.save_file(tensors, good, metadata={"odkit": json.dumps(header)})

    error = _raises(good, "do not fit")
    assert "missing from the file (1): head.weight" in str(error)
    assert "in the file but not in the model (1): classifier.weight" in str(error)


def test_long_listings_are_shortened(tmp_path: Path) -> None:
    from torch import nn

    class Deep(TinyNet):
        def __init__(self, **config: Any) -> None:
            super().__init__(**config)
            self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(8))

    save_model(trained_tiny_net(), tmp_path / "m.odk")
    error = _raises(tmp_path / "m.odk", "do not fit", custom_objects={"tiny-net": Deep})
    assert "missing from the file (16): blocks.0.weight" in str(error) and "... and 6 more" in str(error)


def test_the_other_loaders_refuse_the_other_formats(tmp_path: Path, good: Path) -> None:
    net = trained_tiny_net()
    save_training_state(tmp_path / "state.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))

    _raises(tmp_path / "state.odk", r"is an odkit training state")
    with pytest.raises(CheckpointError, match=r"state\.odk: is an odkit training state"):
        load_weights(TinyNet(), tmp_path / "state.odk")
    with pytest.raises(CheckpointError, match=r"good\.odk: is an odkit model file.*expected format "
                                              r"'odkit-training-state'"):
        load_training_state(good, TinyNet(), torch.optim.SGD(TinyNet().parameters(), lr=0.1))


def test_a_header_length_that_starts_like_a_pickle_is_still_safetensors(good: Path) -> None:
    """A 1408-byte header is written as 80 05 00 .. : the bytes of pickle protocol 5 (a bug found by chance)."""
    data = good.read_bytes()
    n = int.from_bytes(data[:8], "little")
    text = data[8 : 8 + n].rstrip()
    assert len(text) <= 0x580
    good.write_bytes((0x580).to_bytes(8, "little") + text.ljust(0x580) + data[8 + n :])
    assert good.read_bytes()[:2] == b"\x80\x05"

    assert isinstance(load_model(good, custom_objects=CUSTOM), TinyNet)
