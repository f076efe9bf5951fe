"""save_weights / load_weights: plain safetensors, Keras' mismatch listing and skip_mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch
from torch import nn

from odkit.errors import CheckpointError
from odkit.saving import load_weights, read_header, save_model, save_weights
from tests.saving._nets import TinyNet, WiderHeadNet, state_equal, trained_tiny_net


def test_round_trip_into_a_fresh_model(tmp_path: Path) -> None:
    net = trained_tiny_net(width=6)
    save_weights(net, tmp_path / "w.safetensors")
    torch.manual_seed(123)
    fresh = TinyNet(width=6)
    assert not state_equal(fresh, net)

    load_weights(fresh, tmp_path / "w.safetensors")

    assert state_equal(fresh, net)


def test_the_file_is_plain_safetensors_with_an_informative_header(tmp_path: Path) -> None:
    net = trained_tiny_net()
    save_weights(net, tmp_path / "w.safetensors")

    assert state_equal(safetensors.torch.load_file(tmp_path / "w.safetensors"), net)
    header = read_header(tmp_path / "w.safetensors")
    assert header["format"] == "odkit-weights" and header["schema_version"] == 1
    assert header["model"] == {"name": "tiny-net", "class": "tests.saving._nets.TinyNet"}
    assert header["classes"] == ["RBC", "WBC", "Platelets"]


def test_any_module_and_any_safetensors_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    save_weights(net, tmp_path / "w.safetensors")
    safetensors.torch.save_file(net.state_dict(), tmp_path / "hub.safetensors")  # no odkit header
    for name in ("w.safetensors", "hub.safetensors"):
        fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        load_weights(fresh, tmp_path / name)
        assert state_equal(fresh, net)


def test_weights_from_a_whole_model_file(tmp_path: Path) -> None:
    net = trained_tiny_net()
    save_model(net, tmp_path / "m.odk")
    fresh = TinyNet()
    load_weights(fresh, tmp_path / "m.odk")
    assert state_equal(fresh, net)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.pt", "w.odk", "w"])
def test_weights_path_must_end_in_safetensors(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"must end in `\.safetensors`.*Received: filepath=.*" + name):
        save_weights(TinyNet(), tmp_path / name)


def test_load_weights_path_must_be_safetensors_or_odk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"`\.safetensors` or `\.odk`.*Received: filepath=.*w\.pt"):
        load_weights(TinyNet(), tmp_path / "w.pt")


def test_a_mismatch_lists_every_object_and_changes_nothing(tmp_path: Path) -> None:
    save_weights(trained_tiny_net(), tmp_path / "w.safetensors")
    torch.manual_seed(5)
    other = WiderHeadNet()
    before = {k: v.clone() for k, v in other.state_dict().items()}

    with pytest.raises(CheckpointError, match=r"w\.safetensors: A total of 3 objects could not be loaded into "
                                              r"WiderHeadNet") as info:
        load_weights(other, tmp_path / "w.safetensors")

    message = str(info.value)
    assert "shape mismatch (1): head.weight: model (3, 8), file (3, 4)" in message
    assert "in the model but missing from the file (2): extra.weight, extra.bias" in message
    assert "skip_mismatch=True" in message
    assert state_equal(other, before)


def test_skip_mismatch_loads_what_fits_and_warns_about_the_rest(tmp_path: Path) -> None:
    source = trained_tiny_net()
    save_weights(source, tmp_path / "w.safetensors")
    torch.manual_seed(5)
    other = WiderHeadNet()
    before = {k: v.clone() for k, v in other.state_dict().items()}

    with pytest.warns(UserWarning, match=r"skipped 3 objects .*head\.weight: model \(3, 8\), file \(3, 4\)"):
        load_weights(other, tmp_path / "w.safetensors", skip_mismatch=True)

    after = other.state_dict()
    for key in ("conv.weight", "conv.bias", "bn.running_mean", "bn.num_batches_tracked", "head.bias"):
        assert torch.equal(after[key], source.state_dict()[key]), key
    for key in ("head.weight", "extra.weight", "extra.bias"):
        assert torch.equal(after[key], before[key]), key


def test_skip_mismatch_ignores_tensors_the_model_does_not_have(tmp_path: Path) -> None:
    torch.manual_seed(1)
    wide = WiderHeadNet()
    save_weights(wide, tmp_path / "w.safetensors")
    narrow = TinyNet()
    with pytest.warns(UserWarning, match=r"in the file but not in the model \(2\): extra\.bias, extra\.weight"):
        load_weights(narrow, tmp_path / "w.safetensors", skip_mismatch=True)
    assert torch.equal(narrow.conv.weight, wide.conv.weight)


def test_a_newer_weights_schema_is_refused(tmp_path: Path) -> None:
    save_weights(TinyNet(), tmp_path / "w.safetensors")
    tensors = safetensors.torch.load_file(tmp_path / "w.safetensors")
    header = json.loads(safetensors.safe_open(tmp_path / "w.safetensors", "pt").metadata()["odkit"])
    header["schema_version"] = 7
    safetensors.torch.save_file(tensors, tmp_path / "w.safetensors", metadata={"odkit": json.dumps(header)})
    with pytest.raises(CheckpointError, match="schema_version 7"):
        load_weights(TinyNet(), tmp_path / "w.safetensors")


def test_dtypes_are_kept_in_the_file_and_cast_on_load(tmp_path: Path) -> None:
    net = TinyNet().to(torch.float16)
    save_weights(net, tmp_path / "w.safetensors")
    assert safetensors.torch.load_file(tmp_path / "w.safetensors")["conv.weight"].dtype == torch.float16
    fresh = TinyNet()
    load_weights(fresh, tmp_path / "w.safetensors")
    assert fresh.conv.weight.dtype == torch.float32
    assert torch.equal(fresh.conv.weight, net.conv.weight.float())
