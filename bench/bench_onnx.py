"""onnxruntime vs PyTorch eager on the CPU: latency per image of each detector size, batch 1 and 8.

Run from the repository root (needs the ``export`` extra: ``make install`` has it)::

    .venv/bin/python bench/bench_onnx.py                 # detector-n and detector-s, batch 1 and 8, 1 and 2 threads
    .venv/bin/python bench/bench_onnx.py --sizes n --repeats 10

What is timed is the same computation on both sides: a batch of letterboxed (B, 3, 288, 384) float32 images in
0..255 -> decoded boxes (B, P, 4) and scores (B, P, C), the graph ``odkit export`` writes (without ``--nms``).
PyTorch runs that module eagerly under ``torch.inference_mode``; onnxruntime runs the exported file (dynamic batch,
``ORT_ENABLE_ALL`` graph optimizations) with ``intra_op_num_threads`` = ``torch.set_num_threads`` = the thread count
(``--no-spin``: idle threads of both sleep rather than spin). Reading, letterboxing and NMS, the same Python for
both in ``predict``, are left out. Each case: warm-up runs, then ``--repeats`` runs alternating PyTorch and
onnxruntime; the table shows the median (and the best) per image, in ms, and the ratio onnxruntime / PyTorch of the
medians (under 1: onnxruntime is faster). The weights are untrained (seeded): latency does not depend on them. The
outputs of the two are compared too.
"""

from __future__ import annotations

import os
import sys

if "--no-spin" in sys.argv:  # before torch starts its OpenMP pool
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import odkit.models
from odkit.export import export_onnx
from odkit.export._onnx_export import _DetectorGraph

IMAGE_HW = (288, 384)


def _time(fn: object, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def bench_case(size: str, batch: int, threads: int, repeats: int, folder: Path, spin: bool = True
               ) -> dict[str, float]:
    """Medians and bests (ms per image) of PyTorch eager and onnxruntime for one size / batch / thread count."""
    import onnxruntime as ort

    model = odkit.models.build(f"detector-{size}", num_classes=3, imgsz=IMAGE_HW, seed=0).eval()
    path = folder / f"detector-{size}.onnx"
    if not path.exists():
        export_onnx(model, path, dynamic=True)
    graph = _DetectorGraph(model.net, IMAGE_HW).eval()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, 3, *IMAGE_HW)).astype(np.float32)
    tensor = torch.from_numpy(images.copy())
    torch.set_num_threads(threads)

    def run_torch() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            return graph(tensor)

    def run_ort() -> list[np.ndarray]:
        return session.run(["boxes", "scores"], {"images": images})

    (tb, ts), (ob, os_) = run_torch(), run_ort()
    diff_boxes = float(np.abs(tb.numpy() - ob).max())
    diff_scores = float(np.abs(ts.numpy() - os_).max())
    for _ in range(3):  # warm-up
        run_torch()
        run_ort()
    torch_s: list[float] = []
    ort_s: list[float] = []
    for _ in range(repeats):  # alternating, so that load changes hit both alike
        torch_s += _time(run_torch, 1)
        ort_s += _time(run_ort, 1)
    ms = 1000.0 / batch
    return {"torch_median": statistics.median(torch_s) * ms, "torch_best": min(torch_s) * ms,
            "ort_median": statistics.median(ort_s) * ms, "ort_best": min(ort_s) * ms,
            "diff_boxes": diff_boxes, "diff_scores": diff_scores}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["n", "s"], choices=["n", "s"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per side and case (default 30)")
    parser.add_argument("--no-spin", action="store_true",
                        help="idle threads sleep instead of spinning: OMP_WAIT_POLICY=PASSIVE for torch, "
                        "session.intra_op.allow_spinning=0 for onnxruntime (fairer on a machine other jobs load)")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, input {IMAGE_HW[0]}x{IMAGE_HW[1]}, "
          f"{args.repeats} alternating runs per case{', threads not spinning' if args.no_spin else ''}, load "
          f"average {os.getloadavg()[0]:.1f}")
    print("| model | batch | threads | PyTorch eager ms/img (best) | onnxruntime ms/img (best) | ORT / PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    diffs: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for batch in args.batches:
                for threads in args.threads:
                    r = bench_case(size, batch, threads, args.repeats, Path(tmp), spin=not args.no_spin)
                    print(f"| detector-{size} | {batch} | {threads} | {r['torch_median']:.2f} ({r['torch_best']:.2f}) "
                          f"| {r['ort_median']:.2f} ({r['ort_best']:.2f}) | "
                          f"**{r['ort_median'] / r['torch_median']:.2f}** |", flush=True)
                    b, sc = diffs.get(size, (0.0, 0.0))
                    diffs[size] = (max(b, r["diff_boxes"]), max(sc, r["diff_scores"]))
    print("max |onnxruntime - PyTorch| over the cases: " + "; ".join(
        f"detector-{k}: boxes {b:.1e} px, scores {sc:.1e}" for k, (b, sc) in diffs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
