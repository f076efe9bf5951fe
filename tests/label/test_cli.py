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
