"""``odkit train``: train a detector (or a classifier on class folders) into a run folder.

A run folder (``runs/train-N`` unless ``out``) holds::

    args.yaml            the run's arguments (``--resume`` reads them back)
    weights/best.odk     the best epoch by ``monitor`` (val_map for detectors, val_loss for classifiers)
    weights/last.odk     the latest epoch
    backup/              the resumable training state (BackupAndRestore); removed when training ends normally
    results.csv          one row per epoch: epoch, time, lr, losses, metrics
    losses.png metrics.png lr.png                      the training curves
    metrics.json report.html pr_curve.png f1_curve.png confusion_matrix.png errors.png predictions.json
                         the final validation of best.odk (see ``odkit.runs._val``)

Ctrl-C leaves the run resumable: ``train_run(resume=out_dir)`` (``odkit train --resume DIR``) continues from the
last finished epoch with the same weights, optimizer, schedule, EMA and RNG state, so an epoch-bounded run
ends with the weights of an uninterrupted one. A run bounded by ``minutes`` resumes approximately (its
learning-rate schedule follows the clock).

Under ``torchrun --nproc_per_node N -m odkit train ...`` the N processes train one model together (see
``odkit.models._distributed``; ``batch`` is per process, the global batch N times it): rank 0 picks the run
folder and writes everything in it (args, checkpoints, backup, results, plots, the final validation); the
other ranks train and return a ``TrainRun`` without metrics.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from odkit.callbacks import Callback
from odkit.errors import OdkitError
from odkit.runs._data import detection_splits, is_class_folder_tree
from odkit.runs._folders import new_run_dir
from odkit.runs._results import RunLogger

DEFAULT_DETECTOR = "detector-s"
#: Input side of the classifier when ``imgsz`` is not given.
CLASSIFIER_IMGSZ = 96


@dataclass
class TrainRun:
    """What a training run left behind.

    Attributes:
        out_dir: the run folder.
        task: ``"detect"`` or ``"classify"``.
        best, last: the model files (``weights/best.odk``, ``weights/last.odk``).
        epochs: epochs completed (all sessions of a resumed run).
        best_epoch: 1-based epoch of ``best`` (None when no epoch was validated).
        metrics: the final validation's headline numbers (``map50``, ``map``... or ``accuracy``, ``loss``).
        report: ``report.html``.
        history: the rows of ``results.csv``.
    """

    out_dir: Path
    task: str
    best: Path
    last: Path
    epochs: int
    best_epoch: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    report: Path | None = None
    history: list[dict[str, float]] = field(default_factory=list)


class SaveLast(Callback):
    """Saves the model to ``path`` at each epoch end, with the epoch and its logs in the file's training
    summary (``weights/last.odk``)."""

    rank_zero_only = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(self.path, epoch=epoch + 1, logs={k: float(v) for k, v in (logs or {}).items()})


def _resume_args(resume: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(resume) / "args.yaml"
    if not path.exists():
        raise OdkitError(f"{resume}: not a training run folder (no args.yaml)")
    args = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not (Path(resume) / "backup" / "training_metadata.json").exists():
        raise OdkitError(f"{resume}: nothing to resume: the run has no backup (it finished, or was stopped before "
                         "its first epoch ended); start a new run, or fine-tune with --model "
                         f"{Path(resume) / 'weights' / 'best.odk'}")
    return args


def _build_model(task: str, model: str, class_names: list[str], imgsz: int | None, batch: int | None,
                 lr: float | None, seed: int, say: Any) -> Any:
    """A new model from a registered name, or one from a saved ``.odk`` to fine-tune (its weights loaded into
    a model for ``class_names``: all of them when the classes are the same, all but the class head's when not)."""
    import odkit
    from odkit.models import build

    config: dict[str, Any] = {"num_classes": len(class_names), "class_names": class_names}
    if str(model).endswith(".odk"):
        base = odkit.load_model(model)
        name, config = base.name, {**base.config, **config}
        if imgsz is not None and "image_hw" in config:
            config["image_hw"] = [imgsz, imgsz]
        if batch is not None and "batch_size" in config:
            config["batch_size"] = batch
        if lr is not None and "learning_rate" in config:
            config["learning_rate"] = lr
        net = build(name, seed=seed, **config)
        if task == "classify" and hasattr(net, "_ensure_built") and base.config.get("in_channels") is None:
            raise OdkitError(f"{model}: an unbuilt classifier cannot be fine-tuned")
        same = list(base.class_names or []) == class_names
        if same:
            net.load_weights(model)
            say(f"fine-tuning {model} ({name}, all weights)")
        else:
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                net.load_weights(model, skip_mismatch=True)
            say(f"fine-tuning {model} ({name}): its classes {base.class_names} differ from the data's "
                f"{class_names}; the weights that fit were loaded, "
                + ("the class head starts new" if caught else "all of them fit"))
        return net
    if task == "classify":
        if model not in ("classifier", DEFAULT_DETECTOR):
            raise OdkitError(f"DATA is a class-folder tree (a classification dataset): --model must be 'classifier' "
                             f"or a saved classifier .odk, not {model!r}")
        return build("classifier", seed=seed, **config)
    from odkit.models import list_models

    if model not in list_models():
        raise OdkitError(f"unknown model {model!r}: choose one of {list_models()} or a saved .odk file")
    if model == "classifier":
        raise OdkitError("--model classifier needs a class-folder tree (DATA/<class>/*.jpg); DATA is a detection "
                         "dataset: choose a detector (detector-n, detector-s)")
    if imgsz is not None:
        config["imgsz"] = imgsz
    if batch is not None:
        config["batch_size"] = batch
    if lr is not None:
        config["learning_rate"] = lr
    try:
        return build(model, seed=seed, **config)
    except ValueError as exc:  # a size the network cannot take...: the user's values, said as such
        raise OdkitError(f"{model}: {exc}") from exc


def _classification_data(data: Path, imgsz: int, batch: int, seed: int, color_mode: str = "rgb"
                         ) -> tuple[Any, Any, str]:
    from odkit.data import image_dataset_from_directory
    from odkit.runs._data import SPLIT_SEED, VAL_FRACTION

    kw = {"image_size": (imgsz, imgsz), "batch_size": batch, "label_mode": "int", "color_mode": color_mode,
          "verbose": False}
    val_dir = next((data / n for n in ("val", "valid", "validation") if (data / n).is_dir()), None)
    if (data / "train").is_dir() and val_dir is not None:
        train = image_dataset_from_directory(data / "train", seed=seed, **kw)
        val = image_dataset_from_directory(val_dir, class_names=train.class_names, shuffle=False, **kw)
        return train, val, ""
    train, val = image_dataset_from_directory(data, validation_split=VAL_FRACTION, subset="both", seed=SPLIT_SEED,
                                              **kw)
    return train, val, (f"{data}: no train/val folders; held out {VAL_FRACTION:.0%} of the images at random "
                        f"(seed {SPLIT_SEED}) as validation")


def train_run(data: str | os.PathLike[str] | None = None, *, model: str = DEFAULT_DETECTOR, epochs: int = 100,
              minutes: float | None = None, imgsz: int | None = None, batch: int | None = None,
              patience: int | None = None, device: str = "auto", seed: int = 0,
              out: str | os.PathLike[str] | None = None, resume: str | os.PathLike[str] | None = None,
              monitor: str | None = None, verbose: int = 1, amp: str = "off", workers: int = 0,
              lr: float | None = None) -> TrainRun:
    """Train into a run folder (module docstring) and validate the best model; returns what was written.

    Args:
        data: a detection dataset ``odkit.io`` reads (its train / val splits; module ``_data`` states the rule
            when it has no val split), or a class-folder tree (then a classifier is trained).
        model: a registered detector (``detector-n``, ``detector-s``), ``classifier``, or a saved ``.odk`` to
            fine-tune.
        epochs: most epochs.
        minutes: a time budget for training (``TimeLimit``); the learning-rate schedule is fitted to it.
        imgsz: input side in pixels (square); None: the model's default (detectors 288x384).
        batch: images per step; None: the model's default (detectors 8, classifier 32).
        lr: the peak learning rate; None: the model's default (detectors AdamW 2e-3, classifier Adam 1e-3).
        patience: epochs without improvement of ``monitor`` before stopping (None: 20 for detectors, 5 for
            the classifier).
        device: ``auto`` (cuda, mps, cpu), ``cpu``, ``cuda``, ``cuda:1``...
        seed: seeds the weights, data order and augmentation: same seed, same run (on the CPU).
        out: the run folder; None: a new ``runs/train-N``.
        resume: a run folder to continue (its ``args.yaml``; every other argument is ignored).
        monitor: the logged value that picks ``best.odk`` and drives early stopping (``val_map``, ``val_map50``,
            ``val_loss``, ``val_accuracy``...).
        verbose: 0 quiet, 1 progress bars, 2 one line per epoch.
        amp: detectors: ``off``, ``bf16`` or ``fp16`` autocast (see ``Detector.fit``).
        workers: detectors: data-loading worker processes (0: threads in the training process).
    """
    from odkit.models import _distributed as dist
    from odkit.models._base import resolve_device

    info, _, created = dist.init_from_env(resolve_device(device))
    try:
        return _train_run(data, model=model, epochs=epochs, minutes=minutes, imgsz=imgsz, batch=batch,
                          patience=patience, device=device, seed=seed, out=out, resume=resume, monitor=monitor,
                          verbose=verbose if info.is_main else 0, amp=amp, workers=workers, lr=lr, info=info)
    finally:
        if created:  # no barrier: rank 0 validates alone after training, the others need not wait for it
            dist.shutdown(barrier=False)


def _train_run(data: Any, *, model: str, epochs: int, minutes: float | None, imgsz: int | None, batch: int | None,
               patience: int | None, device: str, seed: int, out: Any, resume: Any, monitor: str | None,
               verbose: int, amp: str, workers: int, lr: float | None, info: Any) -> TrainRun:
    """:func:`train_run` in one process of ``info.world_size`` (rank 0 writes)."""
    from odkit.callbacks import BackupAndRestore, EarlyStopping, ModelCheckpoint, TimeLimit
    from odkit.models._distributed import broadcast_object

    say = print if verbose else (lambda *a, **k: None)
    if resume is not None:
        args = _resume_args(resume)
        out_dir = Path(resume)
        say(f"resuming {out_dir} (arguments from its args.yaml)")
    else:
        if data is None:
            raise OdkitError("train_run needs data (or resume=)")
        args = {"data": str(data), "model": str(model), "epochs": int(epochs), "minutes": minutes, "imgsz": imgsz,
                "batch": batch, "patience": patience, "device": device, "seed": int(seed), "monitor": monitor,
                "amp": amp, "workers": int(workers), "lr": lr}
        _check_args(args)
        # one run folder: rank 0 makes it, the others are told its path
        out_dir = Path(broadcast_object(str(new_run_dir("train", out)) if info.is_main else None))
    import odkit

    data_path = Path(args["data"])
    task = "classify" if is_class_folder_tree(data_path) else "detect"
    if resume is None and info.is_main:
        (out_dir / "args.yaml").write_text(yaml.safe_dump({**args, "task": task, "odkit": odkit.__version__},
                                                          sort_keys=False), encoding="utf-8")
    seed, imgsz, batch = int(args["seed"]), args["imgsz"], args["batch"]
    if task == "classify":
        train_data, val_data, note = _classification_data(data_path, imgsz or CLASSIFIER_IMGSZ, batch or 32, seed)
        class_names = list(train_data.class_names)
    else:
        splits = detection_splits(data_path)
        note, class_names = splits.note, splits.class_names
    if note:
        say(note)
    peak_lr = args.get("lr")
    net = _build_model(task, args["model"], class_names, imgsz, batch, peak_lr, seed, say)
    monitor = args["monitor"] or ("val_loss" if task == "classify" else "val_map")
    patience = args["patience"] if args["patience"] is not None else (5 if task == "classify" else 20)
    weights = out_dir / "weights"
    best_path, last_path = weights / "best.odk", weights / "last.odk"
    checkpoint = ModelCheckpoint(best_path, monitor=monitor, save_best_only=True)
    stopping = EarlyStopping(monitor=monitor, patience=patience, verbose=1 if verbose else 0)
    logger = RunLogger(out_dir, remember=[checkpoint, stopping])
    callbacks: list[Any] = [BackupAndRestore(out_dir / "backup"), checkpoint, SaveLast(last_path), stopping, logger]
    if args["minutes"]:
        callbacks.append(TimeLimit(float(args["minutes"]) * 60, verbose=1 if verbose else 0))
    say(f"training {net.name} on {data_path} ({len(class_names)} classes: {', '.join(class_names)}) -> {out_dir}")
    t0 = time.monotonic()
    try:
        if task == "classify":
            import torch

            adam = "adam" if peak_lr is None else (lambda params: torch.optim.Adam(params, lr=peak_lr))
            net.compile(optimizer=adam, metrics=["accuracy"])
            net.fit(train_data, validation_data=val_data, epochs=int(args["epochs"]), callbacks=callbacks,
                    seed=seed, device=args["device"], verbose=verbose)
        else:
            from odkit.data import detection_dataset

            train_ds = detection_dataset(splits.dataset, split=splits.train_split, drop_degenerate=True)
            val_ds = detection_dataset(splits.dataset, split=splits.val_split, drop_degenerate=True)
            net.fit(train_ds, validation_data=val_ds, epochs=int(args["epochs"]), callbacks=callbacks, seed=seed,
                    device=args["device"], verbose=verbose, batch_size=batch, amp=args.get("amp", "off"),
                    workers=int(args.get("workers", 0)))
    except KeyboardInterrupt:
        if not info.is_main:
            raise
        print(f"\ninterrupted: the last finished epoch is backed up; continue with: odkit train --resume {out_dir}",
              file=sys.stderr)
        raise
    if not info.is_main:  # rank 0 validates and reports
        return TrainRun(out_dir, task, best_path, last_path, 0, None)
    rows = logger.rows
    say(f"trained {len(rows)} epoch(s) in {time.monotonic() - t0:.0f}s; best {monitor} "
        f"{checkpoint.best if checkpoint.best is not None else float('nan'):.4f}")
    best_epoch = _best_epoch(rows, monitor, checkpoint)
    if best_path.exists():
        net.load_weights(best_path)
    facts = {"model": net.name, "data": str(data_path), "task": task, "epochs": len(rows),
            "best epoch": best_epoch, "monitor": monitor, "device": str(net.device),
            "train time": f"{rows[-1]['time']:.0f} s" if rows else "-", "run folder": str(out_dir)}
    from odkit.runs._val import validate_classifier, validate_detector

    if task == "classify":
        result = validate_classifier(net, val_data, out_dir, history=rows, info=facts, verbose=verbose)
    else:
        result = validate_detector(net, splits, out_dir, history=rows, info=facts, verbose=verbose)
    return TrainRun(out_dir, task, best_path, last_path, len(rows), best_epoch, result.metrics, result.report, rows)


def _best_epoch(rows: list[dict[str, float]], monitor: str, checkpoint: Any) -> int | None:
    if checkpoint.best is None:
        return None
    return next((int(r["epoch"]) for r in rows if r.get(monitor) == checkpoint.best), None)


def check_values(args: dict[str, Any]) -> None:
    """The bounds of :func:`train_run`'s values (``ValueError`` naming the value; ``odkit train`` turns it into a
    usage error). ``args`` holds ``epochs``, ``minutes``, ``imgsz``, ``lr``, ``batch``, ``patience``, ``amp``,
    ``workers``."""
    if args["epochs"] < 1:
        raise ValueError(f"epochs must be >= 1; got {args['epochs']}")
    if args["minutes"] is not None and not args["minutes"] > 0:
        raise ValueError(f"minutes must be > 0; got {args['minutes']}")
    if args["imgsz"] is not None and args["imgsz"] < 8:
        raise ValueError(f"imgsz must be >= 8 pixels; got {args['imgsz']}")
    if args.get("lr") is not None and not args["lr"] > 0:
        raise ValueError(f"lr must be > 0; got {args['lr']}")
    if args["batch"] is not None and args["batch"] < 1:
        raise ValueError(f"batch must be >= 1; got {args['batch']}")
    if args["patience"] is not None and args["patience"] < 0:
        raise ValueError(f"patience must be >= 0; got {args['patience']}")
    if args.get("amp", "off") not in ("off", "bf16", "fp16"):
        raise ValueError(f"amp must be 'off', 'bf16' or 'fp16'; got {args['amp']!r}")
    if int(args.get("workers", 0)) < 0:
        raise ValueError(f"workers must be >= 0; got {args['workers']}")


def _check_args(args: dict[str, Any]) -> None:
    """:func:`check_values`, and the data must exist (``OdkitError``)."""
    check_values(args)
    if not Path(args["data"]).exists():
        raise OdkitError(f"{args['data']}: no such file or folder")
