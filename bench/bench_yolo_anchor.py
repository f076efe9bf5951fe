"""The anchor for bench_detector.py's BCCD number: Ultralytics YOLOv8n trained FROM SCRATCH on the CPU for the
same time budget, scored by ``odkit eval`` on BCCD's val split (issue 9, deliverable 7).

Run it with the torch virtual environment that has ``ultralytics`` installed (not odkit's own ``.venv``)::

    nice .venv-tv/bin/python bench/bench_yolo_anchor.py --seconds 600 --threads 2

What it does, all under a temporary folder (``--workdir``, default a fresh ``/tmp/yolo_anchor_*``):

1. converts BCCD (VOC) to YOLO with ``odkit convert --to yolo`` (its data.yaml keeps the train / val / test
   splits), and writes the val split's ground truth as a COCO JSON with odkit's Python API;
2. trains ``YOLO("yolov8n.yaml")`` (random init, ``pretrained=False``) on the train split (205 images) with
   ``time=seconds/3600`` (Ultralytics stops on time and re-fits its LR schedule to it), ``imgsz=384``,
   ``batch=16``, no per-epoch validation, no plots, no AMP, ``torch.set_num_threads(threads)``;
3. predicts the val images (``conf=0.001``, ``iou=--nms-iou``, ``max_det=100``) as YOLO txt files with a
   confidence column, and scores them with ``odkit eval VAL.json PRED_DIR --json``.

Nothing is downloaded: ``YOLO_OFFLINE=1`` and Ultralytics' settings ``sync=False``. Ultralytics' own
``NUM_THREADS`` is ``min(8, cpu_count - 1)`` (1 on a 2-core machine) and ``select_device`` resets torch's
threads to it, so it is patched to ``--threads``. On the CPU Ultralytics loads data in the main process
(``workers=0``), as odkit's ``fit`` does. Prints one JSON object at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BCCD = ROOT.parent / "shared" / "datasets" / "bccd" / "BCCD"
ODKIT = ROOT / ".venv" / "bin" / "odkit"
ODKIT_PYTHON = ROOT / ".venv" / "bin" / "python"


def prepare(data: Path, work: Path) -> tuple[Path, Path, list[str]]:
    """BCCD as a YOLO dataset (``work/bccd_yolo/data.yaml``) and its val split as COCO (``work/val.json``)."""
    yolo = work / "bccd_yolo"
    subprocess.run([str(ODKIT), "convert", str(data), str(yolo), "--to", "yolo", "--copy-images", "copy"],
                   check=True, stdout=subprocess.DEVNULL)
    val_json = work / "val.json"
    # odkit lives in its own venv; its Python API writes the val split's ground truth
    code = ("import sys; from odkit import read_annotations, write_annotations; "
            "write_annotations(read_annotations(sys.argv[1], 'voc').split('val'), sys.argv[2], 'coco')")
    subprocess.run([str(ODKIT_PYTHON), "-c", code, str(data), str(val_json)], check=True)
    import yaml

    spec = yaml.safe_load((yolo / "data.yaml").read_text())
    for split in ("train", "val"):
        if split not in spec:
            raise SystemExit(f"{yolo / 'data.yaml'} has no {split!r} split: {spec}")
    names = spec["names"]
    names = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
    return yolo / "data.yaml", val_json, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="training time budget (default 600)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--imgsz", type=int, default=384)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--nms-iou", type=float, default=0.5, help="NMS IoU at prediction (default 0.5, "
                        "as bench_detector.py; Ultralytics' own default is 0.7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BCCD, help="BCCD's VOC folder")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a new /tmp one)")
    args = parser.parse_args()

    try:
        import ultralytics
    except ImportError:
        print("bench_yolo_anchor: ultralytics not installed here: skipped (run it with .venv-tv, see bench/README.md)")
        return
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="yolo_anchor_"))
    work.mkdir(parents=True, exist_ok=True)
    data_yaml, val_json, names = prepare(args.data, work)

    import torch
    import ultralytics
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS

    SETTINGS.update({"sync": False})
    torch_utils.NUM_THREADS = args.threads  # select_device() calls torch.set_num_threads(NUM_THREADS)
    torch.set_num_threads(args.threads)

    model = YOLO("yolov8n.yaml")  # architecture only: random weights
    seen = {"images": 0, "start": None, "last": None, "in_epoch": 0}

    def on_train_start(trainer) -> None:
        seen["start"] = time.monotonic()
        seen["cpu_start"] = time.process_time()

    def on_train_epoch_start(trainer) -> None:
        seen["in_epoch"] = 0

    def on_train_batch_end(trainer) -> None:  # the loader keeps the last, short batch (205 = 12 x 16 + 13)
        size, total = trainer.batch_size, len(trainer.train_loader.dataset)
        seen["images"] += max(0, min(size, total - seen["in_epoch"] * size))
        seen["in_epoch"] += 1
        seen["last"] = time.monotonic()
        seen["cpu_last"] = time.process_time()

    model.add_callback("on_train_start", on_train_start)
    model.add_callback("on_train_epoch_start", on_train_epoch_start)
    model.add_callback("on_train_batch_end", on_train_batch_end)
    start = time.monotonic()
    model.train(data=str(data_yaml), epochs=1000, time=args.seconds / 3600, imgsz=args.imgsz, batch=args.batch,
                device="cpu", workers=2, pretrained=False, amp=False, plots=False, val=False,
                project=str(work / "runs"), name="train", exist_ok=True, seed=args.seed, deterministic=False,
                verbose=False)
    wall_seconds = time.monotonic() - start
    trainer = model.trainer
    train_seconds = seen["last"] - seen["start"]
    epochs_float = seen["images"] / len(trainer.train_loader.dataset)

    # last.pt holds the EMA weights at the end of training (best.pt is picked by a fitness we never computed)
    weights = Path(trainer.last)
    predictor = YOLO(str(weights))
    pred_dir = work / "runs" / "pred"
    start = time.monotonic()
    for _ in predictor.predict(source=str(data_yaml.parent / "images" / "val"), imgsz=args.imgsz, conf=0.001,
                               iou=args.nms_iou, max_det=100, device="cpu", save=False, save_txt=True,
                               save_conf=True, project=str(work / "runs"), name="pred", exist_ok=True,
                               stream=True, verbose=False):
        pass
    predict_seconds = time.monotonic() - start
    labels = pred_dir / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    (labels / "classes.txt").write_text("\n".join(names) + "\n")

    out = work / "eval.json"
    proc = subprocess.run([str(ODKIT), "eval", str(val_json), str(labels), "--pred-format", "yolo",
                           "--per-class", "--json", str(out)], capture_output=True, text=True)
    print(proc.stdout, proc.stderr, sep="\n", flush=True)
    proc.check_returncode()
    stats = json.loads(out.read_text())
    flat = stats.get("stats", stats)
    print(json.dumps({
        "bench": "yolo_anchor", "model": "yolov8n.yaml (from scratch)", "ultralytics": ultralytics.__version__,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "imgsz": args.imgsz, "batch": args.batch,
        "seconds_budget": args.seconds, "train_seconds": round(train_seconds, 1),
        "train_wall_seconds_incl_setup_and_final_val": round(wall_seconds, 1),
        "epochs_started": trainer.epoch + 1, "epochs_completed_float": round(epochs_float, 2),
        "train_images_per_s": round(seen["images"] / train_seconds, 2),
        # CPU seconds this process got per wall second of training (ideal: --threads); low means a shared, busy machine
        "train_cpu_per_wall": round((seen["cpu_last"] - seen["cpu_start"]) / train_seconds, 2), "nms_iou": args.nms_iou,
        "predict_seconds_val": round(predict_seconds, 1),
        "val_map50": flat.get("map50", flat.get("AP50")), "val_map": flat.get("map", flat.get("AP")),
        "odkit_eval_json": str(out), "workdir": str(work)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
