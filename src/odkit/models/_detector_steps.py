"""How the detector trains, step by step: AdamW steps under a warm-up + cosine schedule (fitted to the epochs
or to a time budget), gradient clipping, an EMA of the weights that validation and saving see, and the state
that ``BackupAndRestore`` keeps so an interrupted run resumes exactly. A mixin of
:class:`odkit.models._detector.Detector` (it expects the detector's ``config``, ``optimizer`` and the
counters its ``fit`` sets: ``_updates``, ``_total_steps``, ``_time_budget``, ``_t0``, ``_ema``,
``_train_state``; during ``fit`` also ``_dist``, ``_amp``, ``_scaler`` and ``_channels_last``).

Under torchrun (``_dist.active``) every rank steps on its share of the global batch: the loss normalizers
(positives, centerness-target sum) and the loss parts are summed across ranks and each rank's loss is scaled
by its share of them, so that the gradients summed across ranks (and the logged losses) are those of one
process on the whole global batch; with :class:`~odkit.models._distributed.GlobalBatchNorm` the BatchNorm
statistics are the global batch's too. Every rank then takes the same step and updates the same EMA."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.models import _distributed as dist
from odkit.models._data import images_to_tensor

#: ``amp`` values of ``fit``: autocast dtype (None: float32 throughout).
AMP_DTYPES: dict[str, torch.dtype | None] = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def loss_normalizers(targets: Any, image_hw: tuple[int, int], radius: float, device: torch.device
                     ) -> tuple[float, float]:
    """``(positives, centerness-target sum)`` of a batch: the normalizers ``fcos_loss`` divides by (before its
    clamps), recomputed from the targets alone so that ranks can sum them (the assignment and centerness target
    of :func:`odkit.models._fcos.fcos_loss`; ``tests/distributed`` checks they agree)."""
    from odkit.models._fcos import assign_targets, centerness_targets, make_points

    points, strides, levels = make_points(image_hw, device)
    num_pos, ctr_sum = 0.0, 0.0
    with torch.no_grad():
        for t in targets:
            boxes = torch.as_tensor(np.asarray(t["boxes"], np.float32).reshape(-1, 4)).to(device)
            labels = torch.as_tensor(np.asarray(t["labels"], np.int64)).to(device)
            assigned, tgt = assign_targets(points, strides, levels, boxes, labels, radius)
            pos = assigned >= 0
            if not bool(pos.any()):
                continue
            ctr_t = centerness_targets(points[pos], tgt[pos])
            num_pos += float(pos.sum())
            ctr_sum += float(ctr_t.sum())
    return num_pos, ctr_sum


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
    def _schedule(self, elapsed: float | None = None) -> float:
        """The learning-rate factor now: linear warm-up, then cosine to 0.05 at the end of steps or time
        (``elapsed``: the seconds of training to use instead of this process's clock)."""
        step = self._updates
        warmup = max(1, min(self.config["warmup_iters"], self._total_steps // 5))
        if step < warmup:
            return 0.05 + 0.95 * step / warmup
        progress = (step - warmup) / max(1, self._total_steps - warmup)
        if self._time_budget and self._t0 is not None:
            seconds = time.monotonic() - self._t0 if elapsed is None else elapsed
            progress = max(progress, seconds / self._time_budget)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def _set_lr(self, factor: float) -> None:
        for group in self.optimizer.param_groups:  # type: ignore[union-attr]
            group["lr"] = group["initial_lr"] * factor

    def _input_images(self, xb: Any) -> torch.Tensor:
        """``(B, 3, H, W)`` float32 on the model's device from ``(B, H, W, 3)`` uint8 (numpy or tensor); copied
        to the device as uint8 first (a quarter of the bytes), channels-last in memory when asked."""
        t = xb if isinstance(xb, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(xb))
        images = images_to_tensor(t.to(self.device, non_blocking=True))
        if getattr(self, "_channels_last", False):
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _autocast(self) -> Any:
        """Autocast to fit's ``amp`` dtype on the model's device (a no-op context when off)."""
        import contextlib

        dtype = AMP_DTYPES[getattr(self, "_amp", "off")]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def _forward_losses(self, images: torch.Tensor, targets: Any) -> dict[str, torch.Tensor]:
        """The loss parts of a batch: the network under autocast, the loss in float32."""
        if getattr(self, "_amp", "off") == "off":
            return self(images, targets)
        with self._autocast():
            outputs = self.net(images)
        outputs = tuple(o.float() for o in outputs)
        return self.compute_loss(outputs, targets, (int(images.shape[2]), int(images.shape[3])))

    def train_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        """One AdamW step on a batch of letterboxed images and their targets; returns the logs and batch size
        (under torchrun: the global batch's logs and size, the same on every rank)."""
        if self._t0 is None:
            self._t0 = time.monotonic()
        info = getattr(self, "_dist", dist.SINGLE)
        if info.active:
            return self._distributed_step(xb, yb)
        self._set_lr(self._schedule())
        images = self._input_images(xb)
        losses = self._forward_losses(images, yb)
        loss = losses["loss"]
        logs = {k: float(v.detach()) for k, v in losses.items()}
        if not torch.isfinite(loss):
            return logs, int(images.shape[0])
        self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        self._backward_and_step(loss)
        return logs, int(images.shape[0])

    def _backward_and_step(self, loss: torch.Tensor) -> None:
        """Backward (through the grad scaler under fp16), gradients summed across ranks, clipping at norm 10,
        the optimizer step and the EMA update."""
        scaler = getattr(self, "_scaler", None)
        if scaler is not None:
            scaler.scale(loss).backward()
            dist.all_reduce_gradients(self.parameters())
            scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.parameters(), 10.0)
            scaler.step(self.optimizer)
            scaler.update()
        else:
            loss.backward()
            dist.all_reduce_gradients(self.parameters())
            nn.utils.clip_grad_norm_(self.parameters(), 10.0)
            self.optimizer.step()  # type: ignore[union-attr]
        self._update_ema()

    def _distributed_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        """:meth:`train_step` on this rank's share of a global batch (module docstring)."""
        images = self._input_images(xb)
        hw = (int(images.shape[2]), int(images.shape[3]))
        losses = self._forward_losses(images, yb)
        num_pos, ctr_sum = loss_normalizers(yb, hw, self.config["center_radius"], self.device)
        bad = 0.0 if bool(torch.isfinite(losses["loss"])) else 1.0
        elapsed = time.monotonic() - self._t0
        all_pos, all_ctr, all_bad, all_n, all_elapsed = dist.all_reduce_sum(
            [num_pos, ctr_sum, bad, float(images.shape[0]), elapsed], self.device)
        n = round(all_n)
        if all_bad:
            return {k: math.nan for k in losses}, n
        a = max(num_pos, 1.0) / max(all_pos, 1.0)
        b = max(ctr_sum, 1e-6) / max(all_ctr, 1e-6)
        parts = {"cls_loss": losses["cls_loss"] * a, "box_loss": losses["box_loss"] * b,
                 "ctr_loss": losses["ctr_loss"] * a}
        loss = parts["cls_loss"] + parts["box_loss"] + parts["ctr_loss"]
        cls_, box_, ctr_ = dist.all_reduce_sum([float(v.detach()) for v in parts.values()], self.device)
        logs = {"loss": cls_ + box_ + ctr_, "cls_loss": cls_, "box_loss": box_, "ctr_loss": ctr_}
        self._set_lr(self._schedule(all_elapsed / self._dist.world_size))
        self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        self._backward_and_step(loss)
        return logs, n

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
