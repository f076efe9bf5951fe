"""Launch helpers of the distributed tests: a free loopback port, torchrun with N CPU processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def run_single(module_args: list[str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m <module_args>`` in one process."""
    return subprocess.run([sys.executable, "-m", *module_args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def run_torchrun(module_args: list[str], nproc: int = 2, cwd: Path | None = None,
                 timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --nproc_per_node N ... -m <module_args>`` on loopback."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
           "127.0.0.1", "--master_port", str(free_port()), "-m", *module_args]
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


def check(result: subprocess.CompletedProcess) -> None:
    """Fail with the processes' output when they failed."""
    if result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n"
                             f"{result.stderr[-6000:]}")
