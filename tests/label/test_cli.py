"""``odkit label`` on the command line: the printed URL and its token, the warning for another interface."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from odkit.cli.main import main
from tests.label._helpers import copy_raccoon


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "odkit", "label", *args, "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        if line.startswith("open "):
            return proc, line.split()[1]
    proc.kill()
    pytest.fail(f"no URL printed; stderr: {proc.communicate()[1]}")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2"])
def test_prints_a_token_url_and_stops_on_ctrl_c(datasets_dir: Path, tmp_path: Path, host: str) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    proc, url = _start(str(raccoon), "--host", host)
    try:
        assert url.startswith(f"http://{host}:") and "/?token=" in url
        token = url.split("token=")[1]
        assert len(token) >= 24
        base = url.split("/?")[0]
        with urllib.request.urlopen(f"{base}/api/images?token={token}", timeout=10) as r:
            assert len(json.loads(r.read())["images"]) == 5
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/api/images", timeout=10)
        assert info.value.code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert ("warning: listening on 127.0.0.2" in err) == (host != "127.0.0.1")


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["label", str(tmp_path / "missing"), "--no-browser"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_model_proposals_from_a_saved_model(datasets_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import odkit.models

    raccoon = copy_raccoon(datasets_dir, tmp_path)
    model = odkit.models.build("detector-n", num_classes=2, class_names=["raccoon", "dog"], imgsz=64, seed=0)
    model.save(tmp_path / "det.odk")  # untrained: at conf 0 it still proposes boxes, enough for the plumbing
    proc, url = _start(str(raccoon), "--model", str(tmp_path / "det.odk"), "--conf", "0")
    try:
        base, token = url.split("/?")[0], url.split("token=")[1]
        with urllib.request.urlopen(f"{base}/api/images/0?token={token}", timeout=120) as r:
            one = json.loads(r.read())
        assert one["model_error"] is None and one["proposals"], one.get("model_error")
        assert {p["cls"] for p in one["proposals"]} <= {"raccoon", "dog"}
        assert all(0 <= p["x0"] <= p["x1"] <= 650 and 0 <= p["y0"] <= p["y1"] <= 417 for p in one["proposals"])
        with urllib.request.urlopen(f"{base}/api/images?predict=all&token={token}", timeout=120) as r:
            summary = json.loads(r.read())
        assert summary["model"]["name"] == "det.odk" and summary["model"]["pending"] == 0
        assert all(row["disagreement"]["score"] >= 0 for row in summary["images"])
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("extra, fragment", [(["--conf", "1.5"], "--conf must be in [0, 1]"),
                                             (["--model", "missing.odk"], "no such file")])
def test_model_usage_errors(datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            extra: list[str], fragment: str) -> None:
    raccoon = copy_raccoon(datasets_dir, tmp_path)
    assert main(["label", str(raccoon), "--no-browser", *extra]) == 2
    assert fragment in capsys.readouterr().err
