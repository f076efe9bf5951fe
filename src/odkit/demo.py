"""The demo behind ``make demo`` / ``odkit demo``: the whole workflow, for real, on a generated dataset.

1. generate a detection dataset of shapes (four classes, sizes from small to large, overlaps, textured
   backgrounds) with a held-out validation split, written as COCO; check it and convert it to YOLO, as a
   user would with ``odkit check`` / ``odkit convert``;
2. train the default detector from scratch (``odkit train``: checkpoints, early stopping, a time budget),
   which validates the best checkpoint on the held-out split at the end (``odkit val``): COCO mAP equal to
   pycocotools', per-class AP, PR / F1 curves, confusion matrix, error breakdown, ``report.html``;
3. predict on held-out images (``odkit predict``): annotated images, YOLO txt and COCO results;
4. print the headline (``mAP50 0.xyz``) and where everything is.

Nothing is downloaded: everything is generated and trained here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

#: What the demo generates and trains (bench/README.md "shapes" has the runs behind these numbers): four
#: shape classes with sides of 20-80 px, up to 6 per image, overlapping up to IoU 0.3 on textured
#: backgrounds, 160x160; detector-n, batch 4, AdamW peak lr 6e-3.
DEMO_CLASSES = ("circle", "square", "triangle", "cross")
DEMO_SIZE_RANGE = (20, 80)
DEMO_MAX_OBJECTS = 6
DEMO_MODEL = "detector-n"
DEMO_IMGSZ = 160
DEMO_BATCH = 4
DEMO_LR = 6e-3
DEMO_TRAIN_IMAGES = 400
DEMO_VAL_IMAGES = 100
DEMO_MINUTES = 6.0
DEMO_EPOCHS = 30
DEMO_PATIENCE = 8


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs, and the headline numbers of the held-out split."""

    out_dir: Path
    report_path: Path
    metrics: dict[str, float]
    model_path: Path


def run_demo(out_dir: str | Path = "demo_out", minutes: float = DEMO_MINUTES, seed: int = 0, *,
             n_train: int = DEMO_TRAIN_IMAGES, n_val: int = DEMO_VAL_IMAGES, epochs: int = DEMO_EPOCHS,
             imgsz: int = DEMO_IMGSZ, verbose: bool = True) -> DemoResult:
    """Run the demo (module docstring) into ``out_dir``; returns where things are and the val numbers.

    Args:
        out_dir: the folder for everything (dataset, run folders); created.
        minutes: the training budget (``TimeLimit``); training also stops early when val mAP stops improving.
        seed: seeds the generated data and the training.
        n_train, n_val: generated images in the train and the held-out val split.
        epochs: most epochs.
        imgsz: side of the generated images and of the detector's input, in pixels.
        verbose: print the steps and the training progress.
    """
    from odkit.io import check_dataset, read_annotations, write_annotations
    from odkit.runs import predict_run, train_run
    from odkit.synthetic import write_scenes_dataset

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    t0 = time.monotonic()

    data = out / "dataset"
    say(f"[1/4] generating {n_train} + {n_val} held-out images of {', '.join(DEMO_CLASSES)} -> {data}")
    write_scenes_dataset(data, n_train, n_val, image_hw=(imgsz, imgsz), seed=seed, classes=DEMO_CLASSES,
                         size_range=(min(DEMO_SIZE_RANGE[0], imgsz // 4), min(DEMO_SIZE_RANGE[1], imgsz // 2)),
                         max_objects=DEMO_MAX_OBJECTS)
    dataset = read_annotations(data)
    say(f"      {len(dataset)} images, {dataset.num_boxes} boxes, splits "
        f"{ {k: len(v) for k, v in dataset.splits.items()} }, COCO: {data / 'annotations'}")
    check = check_dataset(dataset)
    say(f"      odkit check: {len(check.errors)} errors, {len(check.warnings)} warnings")
    report = write_annotations(dataset, out / "dataset_yolo", "yolo", copy_images="symlink")
    say(f"      odkit convert -> YOLO: {report.summary()}")

    say(f"[2/4] training {DEMO_MODEL} from scratch for up to {minutes:g} min (odkit train {data} --model "
        f"{DEMO_MODEL} --imgsz {imgsz} --batch {DEMO_BATCH} --lr {DEMO_LR:g} --time {minutes:g})")
    run = train_run(data, model=DEMO_MODEL, epochs=epochs, minutes=minutes, imgsz=imgsz, batch=DEMO_BATCH,
                    lr=DEMO_LR, patience=DEMO_PATIENCE, seed=seed, out=out / "train", verbose=2 if verbose else 0)

    say(f"[3/4] predicting on the held-out images (odkit predict {run.best} {data / 'images' / 'val'})")
    import odkit

    predicted = predict_run(odkit.load_model(run.best), data / "images" / "val", out / "predict", conf=0.25,
                            save_txt=True, save_json=True, verbose=False)
    say(f"      {predicted.images} images, {predicted.detections} boxes -> {out / 'predict'}")

    minutes_used = (time.monotonic() - t0) / 60
    say(f"[4/4] done in {minutes_used:.1f} min")
    say(f"mAP50 {run.metrics['map50']:.3f}  mAP {run.metrics['map']:.3f}  (held-out split, {n_val} images)")
    say(f"report:      {run.report}")
    say(f"model:       {run.best}")
    say(f"predictions: {out / 'predict'}")
    return DemoResult(out, run.report or out / "train" / "report.html", dict(run.metrics), run.best)
