"""Distributed data-parallel training throughput on this machine: detector-n train images/s of one process
(``--threads`` torch threads, global batch B) against ``torchrun --nproc_per_node N`` (``threads / N`` threads
each, batch B / N each: the same global batch and the same weights), on generated shapes images.

    python bench/bench_ddp.py                       # 1 x 2 threads vs 2 x 1 thread, 64 images 128x128, batch 8
    python bench/bench_ddp.py --procs 4 --threads 8 --images 256 --imgsz 256

Each side runs ``--epochs`` epochs without validation; the first is a warm-up (decoding, caches, the first
allocations) and the images/s are those of the others. The sides alternate ``--rounds`` times; the medians
are reported with their ratio, and a control: one process with one process's share of the threads. On a
machine with as few cores as processes DDP has little to gain: the processes share the same cores and add
gradient all-reduces (gloo, loopback) and a BatchNorm all-reduce per layer; DDP is for more cores, GPUs or
machines.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    import odkit
    from odkit.callbacks import Callback
    from odkit.data import detection_dataset

    class Clock(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.times.append(time.perf_counter() - self.t0)

    ds = detection_dataset(args.data, split=None, drop_degenerate=True)
    model = odkit.models.build("detector-n", num_classes=len(ds.class_names), imgsz=args.imgsz, seed=0)
    clock = Clock()
    model.fit(ds, epochs=args.epochs, batch_size=args.batch, seed=0, device="cpu", verbose=0, callbacks=[clock])
    if int(os.environ.get("RANK", "0")) == 0:
        timed = sum(clock.times[1:])
        Path(args.result).write_text(json.dumps({"images_per_s": len(ds.records) * (len(clock.times) - 1) / timed}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _side(args: argparse.Namespace, data: Path, procs: int, tmp: Path, threads: int | None = None) -> float:
    result = tmp / f"result-{procs}.json"
    threads = args.threads // procs if threads is None else threads
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": str(threads)}
    worker = [__file__, "--worker", "--data", str(data), "--result", str(result), "--epochs", str(args.epochs),
              "--imgsz", str(args.imgsz), "--batch", str(args.batch // procs), "--threads", str(threads)]
    if procs == 1:
        cmd = [sys.executable, *worker]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs), "--master_addr",
               "127.0.0.1", "--master_port", str(_free_port()), *worker]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return float(json.loads(result.read_text())["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads in all (split between processes)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8, help="global batch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.batch % args.procs or args.threads % args.procs:
        parser.error("--batch and --threads must be multiples of --procs")
    sys.path.insert(0, str(ROOT))
    from tests.runs._tiny import write_shapes

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = write_shapes(tmp / "data", n=args.images, image_hw=(args.imgsz, args.imgsz), val=None)
        one, many, control = [], [], []
        for _ in range(args.rounds):
            one.append(_side(args, data, 1, tmp))
            many.append(_side(args, data, args.procs, tmp))
            control.append(_side(args, data, 1, tmp, threads=args.threads // args.procs))
    a, b, c = statistics.median(one), statistics.median(many), statistics.median(control)
    print(f"detector-n train, {args.images} images {args.imgsz}x{args.imgsz}, global batch {args.batch}, "
          f"{os.cpu_count()} CPU cores, median of {args.rounds} rounds")
    print(f"  1 process  x {args.threads} threads : {a:7.1f} images/s  {[round(v, 1) for v in one]}")
    print(f"  {args.procs} processes x {args.threads // args.procs} thread(s): {b:7.1f} images/s  "
          f"{[round(v, 1) for v in many]}")
    print(f"  1 process  x {args.threads // args.procs} thread(s) (control): {c:7.1f} images/s  "
          f"{[round(v, 1) for v in control]}")
    print(f"  ratio DDP / one process: {b / a:.2f}")


if __name__ == "__main__":
    main()
