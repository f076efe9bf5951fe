"""Loading parses JSON and safetensors only: no pickle, no torch.load, no import or call named by the file."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from odkit.errors import CheckpointError
from odkit.saving import (
    load_model,
    load_training_state,
    load_weights,
    save_model,
    save_training_state,
    save_weights,
)
from tests.saving._nets import TinyNet, fake_registry, rewrite_header, trained_tiny_net

ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this runs ``exec(code)``, which writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.code = f"open({str(marker)!r}, 'w').write('code from the file ran')"

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (exec, (self.code,))


def _loaders(path: Path) -> list[Callable[[], Any]]:
    net = TinyNet()
    return [
        lambda: load_model(path, custom_objects={"tiny-net": TinyNet}),
        lambda: load_weights(net, path),
        lambda: load_training_state(path, net, torch.optim.SGD(net.parameters(), lr=0.1)),
    ]


@pytest.mark.parametrize("writer", ["pickle", "torch.save", "torch.save legacy"])
def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "model.odk"
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"weights": Payload(marker)}))
    else:
        torch.save({"weights": Payload(marker)}, path, _use_new_zipfile_serialization=writer == "torch.save")
    # the control: the payload is live (this is the test's own file, opened the unsafe way on purpose)
    pickle.loads(path.read_bytes()) if writer == "pickle" else torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()

    for load in _loaders(path):
        with pytest.raises(CheckpointError, match="odkit never unpickles"):
            load()
    assert not marker.exists()


def _trap(name: str) -> Callable[..., Any]:
    def trap(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"loading called {name}")

    return trap


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any use of pickle or torch.load during the test fails it."""
    for name in ("loads", "load", "Unpickler", "_loads", "_load", "_Unpickler"):
        if hasattr(pickle, name):
            monkeypatch.setattr(pickle, name, _trap(f"pickle.{name}"))
    monkeypatch.setattr(torch, "load", _trap("torch.load"))
    monkeypatch.setattr(torch.serialization, "load", _trap("torch.serialization.load"))


def test_loading_good_and_foreign_files_never_unpickles(tmp_path: Path, no_unpickling: None) -> None:
    net = trained_tiny_net()
    save_model(net, tmp_path / "m.odk")
    save_weights(net, tmp_path / "w.safetensors")
    save_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
    torch.save(net.state_dict(), tmp_path / "torch.odk", pickle_module=_RealPickle)
    (tmp_path / "pickle.odk").write_bytes(_RealPickle.dumps({"a": 1}))

    load_model(tmp_path / "m.odk", custom_objects={"tiny-net": TinyNet})
    load_weights(TinyNet(), tmp_path / "w.safetensors")
    load_training_state(tmp_path / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
    for name in ("torch.odk", "pickle.odk"):
        with pytest.raises(CheckpointError, match="never unpickles"):
            load_model(tmp_path / name)
        with pytest.raises(CheckpointError, match="never unpickles"):
            load_weights(TinyNet(), tmp_path / name)


class _RealPickle:
    """The pickle module's writing half, held before the fixture traps the module's names."""

    Pickler = pickle.Pickler
    dumps = staticmethod(pickle.dumps)
    dump = staticmethod(pickle.dump)
    HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    DEFAULT_PROTOCOL = pickle.DEFAULT_PROTOCOL


@pytest.mark.parametrize("name", ["builtins.exec", "os:system", "subprocess.Popen", "__import__", "eval"])
def test_a_model_name_is_never_imported_or_called(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "m.odk"
    save_model(trained_tiny_net(), path)
    code = f"open({str(marker)!r}, 'w')"
    rewrite_header(path, lambda h: h["model"].update(name=name, config={"source": code, "args": f"touch {marker}"}))
    fake_registry(monkeypatch, {"tiny-net": TinyNet})

    with pytest.raises(CheckpointError, match=f"saved model '{name}' is neither registered"):
        load_model(path, custom_objects={"tiny-net": TinyNet})
    assert not marker.exists()


@pytest.mark.slow  # a child process: importing torch takes seconds
def test_loading_raises_no_code_execution_audit_events(tmp_path: Path) -> None:
    """With a CPython audit hook (in a child process, since hooks cannot be removed): loading good, foreign and
    malicious files raises no pickle / exec / compile / process / import event."""
    script = textwrap.dedent("""
        import pickle, sys, zipfile
        from pathlib import Path
        import torch
        from odkit.errors import CheckpointError
        from odkit.saving import load_model, load_training_state, load_weights, save_model, save_training_state
        from tests.saving._nets import TinyNet, trained_tiny_net

        out = Path(sys.argv[1])
        net = trained_tiny_net()
        save_model(net, out / "m.odk")
        save_training_state(out / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
        bad = out / "evil.odk"
        bad.write_bytes(pickle.dumps(("exec", "print(1)")))
        torch.save({"w": 1}, out / "torch.odk")
        with zipfile.ZipFile(out / "zip.odk", "w") as z:
            z.writestr("data.pkl", b"x")

        def load_all():
            load_model(out / "m.odk", custom_objects={"tiny-net": TinyNet})
            load_weights(TinyNet(), out / "m.odk")
            load_training_state(out / "s.odk", net, torch.optim.SGD(net.parameters(), lr=0.1))
            for name in ("evil.odk", "torch.odk", "zip.odk"):
                try:
                    load_model(out / name)
                except CheckpointError:
                    pass
                else:
                    raise SystemExit(f"{name} loaded")

        load_all()  # warm up: lazy imports happen here, before the hook
        watched = ("pickle.", "exec", "compile", "import", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
                   "subprocess.", "ctypes.", "marshal.", "builtins.input", "code.")
        seen = []
        sys.addaudithook(lambda event, args: seen.append(event) if event.startswith(watched) else None)
        load_all()
        print("EVENTS", sorted(set(seen)))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "EVENTS []" in done.stdout, done.stdout
