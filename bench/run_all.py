"""Run every ``bench/bench_*.py`` script in turn with this interpreter and report which failed.

Usage: ``python bench/run_all.py [NAME ...]`` (names like ``ops`` or ``bench_ops``; default: all).
Each script prints its own table of measured times and ratios against its anchor.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in argv}
    scripts = [p for p in sorted(HERE.glob("bench_*.py")) if not wanted or p.stem.removeprefix("bench_") in wanted]
    if not scripts:
        print(f"no benchmark matches {sorted(wanted)}; have {[p.stem for p in HERE.glob('bench_*.py')]}")
        return 2
    failed = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"=== {script.name}: exit {code} after {time.perf_counter() - start:.1f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
