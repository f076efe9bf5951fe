"""Whole-process COCO evaluation benchmark: ``odkit eval`` vs faster-coco-eval vs pycocotools.

Each run is a fresh Python process that loads the JSON files, evaluates and prints the 12-line summary
(the cost a user pays). The tools alternate within each repeat; the report gives the median and best wall
time, the CPU time (user + sys, less sensitive to other load on the machine) and the peak RSS of each child
(from ``os.wait4``), the odkit/faster-coco-eval ratios, and the max abs difference of the 12 stats.

Usage::

    python bench/bench_eval.py [--repeats 5] [--n-images 5000] [--skip-pycocotools] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _coco_synth import write_coco_synth

_COCOAPI_SCRIPT = """
import json, sys
gt_path, res_path, out_path, which = sys.argv[1:5]
if which == "faster":
    from faster_coco_eval import COCO, COCOeval_faster as COCOeval
else:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
gt = COCO(gt_path)
dt = gt.loadRes(res_path)
ev = COCOeval(gt, dt, "bbox")
ev.evaluate()
ev.accumulate()
ev.summarize()
json.dump([float(v) for v in ev.stats], open(out_path, "w"))
"""

_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _run(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd``; returns (wall s, cpu s, peak RSS MB) of that child alone."""
    t0 = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:4]} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def _commands(data: Path, out: Path) -> dict[str, list[str]]:
    gt, res = str(data / "gt.json"), str(data / "results.json")
    py = sys.executable
    return {
        "odkit": [py, "-m", "odkit", "eval", gt, res, "--json", str(out / "odkit.json")],
        "faster-coco-eval": [py, "-c", _COCOAPI_SCRIPT, gt, res, str(out / "faster.json"), "faster"],
        "pycocotools": [py, "-c", _COCOAPI_SCRIPT, gt, res, str(out / "pycocotools.json"), "pycocotools"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs of odkit and faster-coco-eval")
    parser.add_argument("--n-images", type=int, default=5000)
    parser.add_argument("--skip-pycocotools", action="store_true", help="pycocotools takes ~40 s a run")
    parser.add_argument("--data", type=Path, default=None, help="reuse gt.json/results.json in this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        data = args.data
        if data is None:
            data = out / "data"
            write_coco_synth(data, seed=0, n_images=args.n_images)
        gt = json.loads((data / "gt.json").read_text())
        n_det = len(json.loads((data / "results.json").read_text()))
        print(
            f"set: {len(gt['images'])} images, {len(gt['annotations'])} GT, {n_det} detections, "
            f"{len(gt['categories'])} categories"
        )
        del gt
        cmds = _commands(data, out)
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cmds}
        for r in range(args.repeats):
            order = ["odkit", "faster-coco-eval"] if r % 2 == 0 else ["faster-coco-eval", "odkit"]
            for name in order:
                times[name].append(_run(cmds[name]))
        tools = ["odkit", "faster-coco-eval"]
        if not args.skip_pycocotools:
            times["pycocotools"].append(_run(cmds["pycocotools"]))
            tools.append("pycocotools")

        print(f"\n{'tool':<18} {'runs':>4} {'wall med s':>10} {'wall best s':>11} {'cpu med s':>9} {'peak MB':>8}")
        summary = {}
        for name in tools:
            walls = [t[0] for t in times[name]]
            cpus = [t[1] for t in times[name]]
            rss = max(t[2] for t in times[name])
            summary[name] = (statistics.median(walls), min(walls), statistics.median(cpus), rss)
            print(
                f"{name:<18} {len(walls):>4} {summary[name][0]:>10.2f} {summary[name][1]:>11.2f} "
                f"{summary[name][2]:>9.2f} {rss:>8.0f}"
            )
        od, fc = summary["odkit"], summary["faster-coco-eval"]
        print(
            f"\nodkit speed-up vs faster-coco-eval: wall median {fc[0] / od[0]:.2f}x, wall best "
            f"{fc[1] / od[1]:.2f}x, cpu median {fc[2] / od[2]:.2f}x; peak memory {od[3] / fc[3]:.2f}x of it"
        )
        if "pycocotools" in summary:
            pc = summary["pycocotools"]
            print(f"odkit speed-up vs pycocotools: wall {pc[0] / od[0]:.1f}x, cpu {pc[2] / od[2]:.1f}x")

        ours = json.loads((out / "odkit.json").read_text())
        ours_stats = [ours[k] if ours[k] is not None else -1.0 for k in _KEYS]
        for name, fname in (("faster-coco-eval", "faster.json"), ("pycocotools", "pycocotools.json")):
            path = out / fname
            if path.exists():
                theirs = json.loads(path.read_text())
                diff = max(abs(a - b) for a, b in zip(ours_stats, theirs))
                print(f"max |odkit - {name}| over the 12 stats: {diff:.3g}")


if __name__ == "__main__":
    main()
