"""The ``odkit`` entry point: version, help, ``python -m odkit`` and the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from odkit import __version__
from odkit.cli.main import main


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"odkit {__version__}"
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_odkit() -> None:
    out = subprocess.run([sys.executable, "-m", "odkit", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"odkit {__version__}"


def test_demo_runs_and_writes_outputs(tmp_path: Path) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    written = list(tmp_path.iterdir())
    assert written, "the demo wrote nothing"


def test_closed_pipe_is_quiet(datasets_dir: Path) -> None:
    script = "import sys; sys.argv = ['odkit', 'check', sys.argv[1]]; from odkit.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(datasets_dir / "bccd" / "BCCD")], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_unwritable_and_unreadable_files_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], datasets_dir: Path
) -> None:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    raccoon = str(datasets_dir / "raccoon" / "annotations")
    assert main(["check", raccoon, "--no-images", "--json", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(folder) in err and "Traceback" not in err
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"images": [\xff]}')
    assert main(["eval", str(bad), str(bad)]) == 1
    assert "not UTF-8" in capsys.readouterr().err
