"""Data-parallel training across processes (``torchrun``): the process group, gradient and log reductions,
global-batch BatchNorm and the ranks' shares of a batch.

``torchrun --nproc_per_node N -m odkit train ...`` (or a script calling ``fit``) starts N processes with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set; :func:`init_from_env` joins them in a process group (gloo on
the CPU, nccl on CUDA, device ``cuda:LOCAL_RANK``). Every rank holds the same model and takes a disjoint share
of each global batch; gradients are summed across ranks so every rank takes the same optimizer step, as one
process would on the whole global batch. A single process (no ``WORLD_SIZE``, or 1) never touches
``torch.distributed``.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """True when several processes train together (a process group is up)."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0: the process that writes files and prints."""
        return self.rank == 0


SINGLE = DistInfo()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer (torchrun sets it); got {value!r}") from None


def env_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it; 1 when not set."""
    return _env_int("WORLD_SIZE", 1)


def process_device(device: torch.device) -> torch.device:
    """``device``, or ``cuda:LOCAL_RANK`` for a CUDA device when torchrun started several processes."""
    if device.type == "cuda" and env_world_size() > 1:
        return torch.device("cuda", _env_int("LOCAL_RANK", 0))
    return device


def current() -> DistInfo:
    """This process's rank and world size: from the process group when one is up, else :data:`SINGLE`."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    return SINGLE


def init_from_env(device: torch.device) -> tuple[DistInfo, torch.device, bool]:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 and none is up yet.

    Args:
        device: the device asked for; a CUDA device becomes ``cuda:LOCAL_RANK`` (one GPU per process).

    Returns:
        ``(info, device, created)``: ``created`` is True when this call started the group (the caller then
        ends it with :func:`shutdown`).

    Raises:
        RuntimeError: ``WORLD_SIZE`` > 1 but this torch has no ``torch.distributed``, or ``RANK`` /
            ``MASTER_ADDR`` are missing (not started by torchrun).
    """
    import torch.distributed as dist

    world = env_world_size()
    created = False
    if world > 1 or (dist.is_available() and dist.is_initialized()):
        if not dist.is_available():
            raise RuntimeError(f"WORLD_SIZE={world} asks for distributed training, but this torch build has no "
                               "torch.distributed")
        if not dist.is_initialized():
            missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
            if missing:
                raise RuntimeError(f"WORLD_SIZE={world} but {', '.join(missing)} not set: start the processes with "
                                   "torchrun (python -m torch.distributed.run)")
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(_env_int("LOCAL_RANK", 0))
            dist.init_process_group(backend=backend)
            created = True
    info = current()
    if info.active and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    return info, device, created


def shutdown(barrier: bool = True) -> None:
    """End the process group; with ``barrier`` first wait for every rank (no rank leaves while another still
    needs it; not after an error, when another rank may never come)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if barrier:
            dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Elementwise sums of ``values`` over all ranks (float64 on the wire); the values themselves alone."""
    if not current().active:
        return [float(v) for v in values]
    import torch.distributed as dist

    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_wire(device))
    dist.all_reduce(t)
    return [float(v) for v in t.cpu()]


def _wire(device: torch.device) -> torch.device:
    """The device collectives run on: the model's under nccl, the CPU under gloo."""
    import torch.distributed as dist

    return device if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_gradients(parameters: Iterable[nn.Parameter]) -> None:
    """Sum every parameter's gradient over the ranks, in place, in one flat buffer (a missing gradient counts as
    zero; after this every rank holds the same gradients)."""
    if not current().active:
        return
    import torch.distributed as dist

    params = [p for p in parameters if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not params:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params])  # type: ignore[union-attr]
    wire = _wire(flat.device)
    buf = flat.to(wire)
    dist.all_reduce(buf)
    flat = buf.to(flat.device)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p))  # type: ignore[union-attr]
        offset += n


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` from rank ``src`` on every rank (plain Python values: a path, a stop flag)."""
    if not current().active:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (pickled through the process group)."""
    info = current()
    if not info.active:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, pickle.loads(pickle.dumps(obj)))
    return out


# ---- the ranks' shares -----------------------------------------------------------------------------------
def shard_batches(order: Sequence[int], batch_size: int, info: DistInfo) -> list[list[int]]:
    """This rank's share of each global batch: ``order`` cut into global batches of ``batch_size x world_size``
    indices, each split into ``world_size`` contiguous parts (equal, or as equal as a short last batch allows).

    One process with batch ``batch_size x world_size`` sees the same global batches in the same order. A last
    global batch with fewer indices than ranks is left out on every rank (a rank with no image would have
    nothing to step on); with one process nothing is left out.
    """
    if not info.active:
        return [list(order[i:i + batch_size]) for i in range(0, len(order), batch_size)]
    size = batch_size * info.world_size
    out = []
    for i in range(0, len(order), size):
        chunk = list(order[i:i + size])
        if len(chunk) < info.world_size:
            break
        base, extra = divmod(len(chunk), info.world_size)
        start = info.rank * base + min(info.rank, extra)
        out.append(chunk[start:start + base + (1 if info.rank < extra else 0)])
    return out


# ---- BatchNorm over the global batch ---------------------------------------------------------------------
class GlobalBatchNorm(nn.BatchNorm2d):
    """A BatchNorm (1d, 2d or 3d input) whose training statistics are those of the global batch: per-channel
    mean, then variance, summed across ranks with a differentiable all-reduce (two collectives per layer), so
    the output and its gradients equal one process's BatchNorm on the whole global batch (up to float
    rounding). Without a process group, in eval mode or with ``track_running_stats=False`` semantics
    unchanged, it is the plain ``BatchNorm`` it replaced. Statistics in float32 (also under autocast)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected a (N, C, ...) input; got shape {tuple(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and current().active):
            return super().forward(input)
        x = input.float()
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        n_local = torch.tensor([x.numel() / max(1, x.shape[1])], dtype=torch.float32, device=x.device)
        stats = all_reduce(torch.cat([x.sum(dims), n_local]))
        count = stats[-1].detach()
        mean = stats[:-1] / count
        centred = x - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / count
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1  # type: ignore[operator]
                m = (1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum)
                unbiased = var.detach() * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(unbiased, alpha=m)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)


class _SumAcrossRanks(torch.autograd.Function):
    """Differentiable all-reduce (sum): the backward sums the output gradients across ranks too (every rank's
    loss depends on every rank's sum)."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        import torch.distributed as dist

        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        import torch.distributed as dist

        out = grad.contiguous().clone()
        dist.all_reduce(out)
        return out


def all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over the ranks, differentiable (gloo: on the CPU; nccl: on the GPU)."""
    return _SumAcrossRanks.apply(tensor)


_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def convert_batchnorm(module: nn.Module) -> list[tuple[nn.Module, type]]:
    """Make every plain BatchNorm of ``module`` a :class:`GlobalBatchNorm`, in place (same parameters, buffers
    and ``state_dict`` keys); returns what :func:`restore_batchnorm` needs to undo it."""
    changed = []
    for m in module.modules():
        if type(m) in _BN_TYPES:
            changed.append((m, type(m)))
            m.__class__ = GlobalBatchNorm
    return changed


def restore_batchnorm(changed: list[tuple[nn.Module, type]]) -> None:
    """Give the layers :func:`convert_batchnorm` changed their classes back."""
    for m, cls in changed:
        m.__class__ = cls
