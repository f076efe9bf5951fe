"""save_model / load_model: the round trip, the header, atomic writes, paths and the registry."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from torch import nn

from odkit.saving import load_model, read_header, save_model
from tests.saving._nets import TinyNet, fake_registry, state_equal, trained_tiny_net

CUSTOM = {"tiny-net": TinyNet}


def test_round_trip_gives_identical_outputs_state_and_metadata(tmp_path: Path) -> None:
    net = trained_tiny_net(width=5)
    path = tmp_path / "best.odk"
    save_model(net, path, training={"epoch": 31, "monitor": "val_map50", "mode": "max", "best": 0.893})

    loaded = load_model(path, custom_objects=CUSTOM)

    assert type(loaded) is TinyNet and not loaded.training  # eval mode, ready to predict
    assert state_equal(loaded, net)
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert loaded.class_names == ["RBC", "WBC", "Platelets"]
    assert loaded.input_info == net.input_info
    assert loaded.config == net.config


def test_header_holds_what_rebuilds_and_describes_the_model(tmp_path: Path) -> None:
    net = trained_tiny_net()
    save_model(net, tmp_path / "m.odk", training={"epoch": 3, "best": float("inf")})

    header = read_header(tmp_path / "m.odk")

    assert header["format"] == "odkit-model" and header["schema_version"] == 1
    assert isinstance(header["odkit_version"], str) and header["odkit_version"]
    assert header["model"] == {"name": "tiny-net", "config": net.config}
    assert header["classes"] == ["RBC", "WBC", "Platelets"]
    assert header["input"]["image_hw"] == [8, 8] and header["input"]["color_mode"] == "rgb"
    assert header["training"] == {"epoch": 3, "best": float("inf")}
    assert datetime.datetime.fromisoformat(header["created"]).tzinfo is not None
    # the file is plain safetensors: any reader sees the state_dict under its own names
    tensors = safetensors.torch.load_file(tmp_path / "m.odk")
    assert state_equal(tensors, net)


def test_input_info_and_classes_come_from_the_header_when_the_config_does_not_set_them(tmp_path: Path) -> None:
    net = trained_tiny_net()
    net.input_info = {"image_hw": [28, 28], "channels": 1, "color_mode": "grayscale"}  # set after building (fit)
    net.class_names = ["zero", "one", "two"]
    save_model(net, tmp_path / "m.odk")

    loaded = load_model(tmp_path / "m.odk", custom_objects=CUSTOM)

    assert loaded.input_info == {"image_hw": [28, 28], "channels": 1, "color_mode": "grayscale"}
    assert loaded.class_names == ["zero", "one", "two"]


def test_registry_rebuilds_without_custom_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = trained_tiny_net()
    save_model(net, tmp_path / "m.odk")
    fake_registry(monkeypatch, {"tiny-net": TinyNet})

    assert state_equal(load_model(tmp_path / "m.odk"), net)


def test_custom_objects_take_precedence_over_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Marked(TinyNet):
        pass

    save_model(trained_tiny_net(), tmp_path / "m.odk")
    fake_registry(monkeypatch, {"tiny-net": TinyNet})

    assert type(load_model(tmp_path / "m.odk", custom_objects={"tiny-net": Marked})) is Marked


def test_wrappers_are_saved_as_the_module_they_wrap(tmp_path: Path) -> None:
    net = trained_tiny_net()
    save_model(nn.DataParallel(net), tmp_path / "m.odk")  # on the CPU, DataParallel just wraps

    assert sorted(safetensors.torch.load_file(tmp_path / "m.odk")) == sorted(net.state_dict())  # no 'module.'
    assert state_equal(load_model(tmp_path / "m.odk", custom_objects=CUSTOM), net)


def test_tied_weights_are_saved(tmp_path: Path) -> None:
    net = trained_tiny_net()
    net.tied = nn.Linear(3, 3)
    net.tied_too = nn.Linear(3, 3)
    net.tied_too.weight = net.tied.weight  # one storage under two names: safetensors alone refuses this
    save_model(net, tmp_path / "m.odk")

    tensors = safetensors.torch.load_file(tmp_path / "m.odk")
    assert torch.equal(tensors["tied.weight"], tensors["tied_too.weight"])


def test_loads_onto_the_requested_device(tmp_path: Path) -> None:
    save_model(trained_tiny_net(), tmp_path / "m.odk")

    loaded = load_model(tmp_path / "m.odk", custom_objects=CUSTOM, device="meta")

    assert all(p.device.type == "meta" for p in loaded.parameters())


# ---- paths and the model contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.keras", "model.pt", "model.safetensors", "model"])
def test_whole_model_path_must_end_in_odk(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"must end in `\.odk`.*Received: filepath=.*" + name):
        save_model(trained_tiny_net(), tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_folders_are_created_and_an_existing_folder_is_refused(tmp_path: Path) -> None:
    save_model(trained_tiny_net(), tmp_path / "run" / "weights" / "best.odk")
    assert (tmp_path / "run" / "weights" / "best.odk").is_file()

    (tmp_path / "dir.odk").mkdir()
    with pytest.raises(IsADirectoryError, match=r"dir\.odk"):
        save_model(trained_tiny_net(), tmp_path / "dir.odk")


def test_a_module_without_name_and_config_cannot_be_saved_whole(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Linear cannot be saved as a whole model.*save_weights"):
        save_model(nn.Linear(2, 2), tmp_path / "m.odk")


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("config", {"act": torch.relu}, r"model\.config\['act'\] = .* is not JSON-able"),
        ("config", {"sizes": {1: 2}}, r"model\.config\['sizes'\] has the key 1"),
        ("input_info", {"mean": torch.zeros(3)}, r"model\.input_info\['mean'\]"),
        ("class_names", "cat", "class_names must be a list of str"),
    ],
)
def test_values_that_json_cannot_hold_are_named(tmp_path: Path, attr: str, value: object, message: str) -> None:
    net = trained_tiny_net()
    setattr(net, attr, value)
    with pytest.raises(ValueError, match=message):
        save_model(net, tmp_path / "m.odk")
    assert not list(tmp_path.iterdir())


def test_training_info_must_be_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"training\['optimizer'\]"):
        save_model(trained_tiny_net(), tmp_path / "m.odk", training={"optimizer": torch.optim.SGD})


def test_config_tuples_and_numpy_scalars_are_saved_as_json(tmp_path: Path) -> None:
    import numpy as np

    net = trained_tiny_net()
    net.config = {**net.config, "image_hw": (8, 8), "width": np.int64(4)}
    save_model(net, tmp_path / "m.odk")

    config = read_header(tmp_path / "m.odk")["model"]["config"]
    assert config["image_hw"] == [8, 8] and type(config["width"]) is int


# ---- atomic writes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   failing: str) -> None:
    path = tmp_path / "best.odk"
    old = trained_tiny_net(seed=1)
    save_model(old, path)
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(f"simulated failure in {failing}")

    if failing == "write":  # the disk fills up half way through the bytes
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: _HalfThenFail(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="simulated failure"):
        save_model(trained_tiny_net(seed=2), path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.odk"]  # the temporary file was removed
    assert state_equal(load_model(path, custom_objects=CUSTOM), old)


class _HalfThenFail:
    """A binary file whose ``write`` writes half of the bytes, then fails as a full disk does."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def __enter__(self) -> _HalfThenFail:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()

    def write(self, data: bytes) -> int:
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise OSError("simulated failure in write: no space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.slow  # a child process: importing torch takes seconds
def test_a_process_killed_mid_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "best.odk"
    old = trained_tiny_net(seed=1)
    save_model(old, path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        from tests.saving._nets import trained_tiny_net
        from odkit.saving import save_model
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed with the new bytes written, unsynced
        save_model(trained_tiny_net(seed=2, width=9), {str(path)!r})
    """)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)

    assert done.returncode == -signal.SIGKILL, done.stderr
    assert path.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "best.odk"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".best.odk.") and leftovers[0].endswith(".tmp")
    assert state_equal(load_model(path, custom_objects=CUSTOM), old)
