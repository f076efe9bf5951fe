"""How the detector trains, step by step: AdamW steps under a warm-up + cosine schedule (fitted to the epochs
or to a time budget), gradient clipping, an EMA of the weights that validation and saving see, and the state
that ``BackupAndRestore`` keeps so an interrupted run resumes exactly. A mixin of
:class:`odkit.models._detector.Detector` (it expects the detector's ``config``, ``optimizer`` and the
counters its ``fit`` sets: ``_updates``, ``_total_steps``, ``_time_budget``, ``_t0``, ``_ema``,
``_train_state``)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.models._data import images_to_tensor


class DetectorSteps:
    """One optimisation step, the EMA, the learning-rate schedule and the resumable state of a detector."""

    # ---- resuming (BackupAndRestore) ----------------------------------------------------------
    def _resume_state(self) -> dict[str, Any]:
        """The EMA, the training weights (the model holds the EMA's between epochs), the step counter of the
        warm-up + cosine schedule and the time spent, so that a resumed run continues where it stopped."""
        def arrays(state: dict[str, torch.Tensor] | None) -> dict[str, np.ndarray] | None:
            return None if state is None else {k: v.detach().cpu().numpy() for k, v in state.items()}

        elapsed = None if self._t0 is None else time.monotonic() - self._t0
        return {"detector": {"updates": self._updates, "elapsed": elapsed, "ema": arrays(self._ema),
                             "train_state": arrays(self._train_state)}}

    def _restore_resume_state(self, extra: dict[str, Any]) -> None:
        saved = extra.get("detector")
        if not saved:
            return
        device = self.device

        def tensors(state: dict[str, Any] | None) -> dict[str, torch.Tensor] | None:
            return None if state is None else {k: torch.as_tensor(np.asarray(v)).to(device) for k, v in state.items()}

        self._updates = int(saved["updates"])
        self._ema, self._train_state = tensors(saved["ema"]), tensors(saved["train_state"])
        if saved.get("elapsed") is not None:
            self._t0 = time.monotonic() - float(saved["elapsed"])

    # ---- one step, EMA, schedule -------------------------------------------------------------
    def _schedule(self) -> float:
        """The learning-rate factor now: linear warm-up, then cosine to 0.05 at the end of steps or time."""
        step = self._updates
        warmup = max(1, min(self.config["warmup_iters"], self._total_steps // 5))
        if step < warmup:
            return 0.05 + 0.95 * step / warmup
        progress = (step - warmup) / max(1, self._total_steps - warmup)
        if self._time_budget and self._t0 is not None:
            progress = max(progress, (time.monotonic() - self._t0) / self._time_budget)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def train_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        """One AdamW step on a batch of letterboxed images and their targets; returns the logs and batch size."""
        if self._t0 is None:
            self._t0 = time.monotonic()
        factor = self._schedule()
        for group in self.optimizer.param_groups:  # type: ignore[union-attr]
            group["lr"] = group["initial_lr"] * factor
        images = images_to_tensor(xb, self.device)
        losses = self(images, yb)
        loss = losses["loss"]
        logs = {k: float(v.detach()) for k, v in losses.items()}
        if not torch.isfinite(loss):
            return logs, int(images.shape[0])
        self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        loss.backward()
        nn.utils.clip_grad_norm_(self.parameters(), 10.0)
        self.optimizer.step()  # type: ignore[union-attr]
        self._update_ema()
        return logs, int(images.shape[0])

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self._ema is None:
            self._ema = {k: v.detach().clone() for k, v in self.state_dict().items()}
        self._updates += 1
        d = min(self.config["ema_decay"], (1 + self._updates) / (10 + self._updates))
        for k, v in self.state_dict().items():
            ema = self._ema[k]
            if ema.device != v.device:
                ema = self._ema[k] = ema.to(v.device)
            if v.dtype.is_floating_point:
                ema.mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema.copy_(v)

    def _train_epoch(self, train: Any, epoch: int, epochs: int, cbs: Any, verbose: int) -> dict[str, float]:
        if self._train_state is not None:  # the training weights back (the model held the EMA's)
            self.load_state_dict(self._train_state)
            self._train_state = None
        logs = super()._train_epoch(train, epoch, epochs, cbs, verbose)
        self._train_state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        if self._ema is not None:
            self.load_state_dict(self._ema)
        return logs
