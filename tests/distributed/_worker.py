"""What each process of the distributed tests runs: ``python -m tests.distributed._worker OUT DATA ...``, under
torchrun (several ranks) or alone; rank 0 writes the final weights and the history to ``OUT``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument("--amp", default="off")
    parser.add_argument("--optimizer", default="adamw")
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--backup", type=Path, default=None)
    parser.add_argument("--stop-rank0-after", type=int, default=None,
                        help="rank 0 alone sets stop_training after this epoch ends")
    parser.add_argument("--crash-after", type=int, default=None, help="raise after this epoch ends (resume tests)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    import odkit
    from odkit.callbacks import BackupAndRestore, Callback, EarlyStopping, ModelCheckpoint
    from odkit.data import detection_dataset
    from odkit.io import read_annotations

    class Crash(Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if args.crash_after is not None and epoch + 1 == args.crash_after:
                raise KeyboardInterrupt

    class StopOnRank0(Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.model.is_main_process and epoch + 1 == args.stop_rank0_after:
                self.model.stop_training = True

    dataset = read_annotations(args.data)
    train = detection_dataset(dataset, split="train", drop_degenerate=True)
    val = detection_dataset(dataset, split="val", drop_degenerate=True)
    model = odkit.models.build("detector-n", num_classes=len(train.class_names), class_names=train.class_names,
                               imgsz=64, warmup_iters=2, seed=args.model_seed)
    model.compile(optimizer=args.optimizer)
    callbacks: list = [ModelCheckpoint(args.out / "best.odk", monitor="val_map", save_best_only=False)]
    if args.patience is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=args.patience, min_delta=1e9))
    if args.backup is not None:
        callbacks.insert(0, BackupAndRestore(args.backup))
    callbacks += [Crash(), StopOnRank0()]
    try:
        history = model.fit(train, validation_data=val, epochs=args.epochs, batch_size=args.batch, seed=args.seed,
                            device="cpu", verbose=0, callbacks=callbacks, amp=args.amp)
    except KeyboardInterrupt:
        return
    rank = int(os.environ.get("RANK", "0"))
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / f"weights-{rank}.npz", *model.get_weights())
    (args.out / f"history-{rank}.json").write_text(json.dumps({"history": history.history,
                                                               "epoch": history.epoch}))


if __name__ == "__main__":
    main()
