"""``odkit.Model``: a ``torch.nn.Module`` with Keras' compile / fit / evaluate / predict / save.

Built-in models subclass it; ``Model(my_module)`` wraps a user-written ``nn.Module`` (registered with
``@odkit.models.register(name)`` so that ``odkit.load_model`` can rebuild it). Images are given the Keras
way, channels last: numpy ``(N, H, W, C)`` (or ``(N, H, W)`` for grayscale) in whatever scale the user
chose; the model sees ``(N, C, H, W)`` float32 tensors on its device.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.models._compile import LossFn, make_loss, make_metrics, make_optimizer
from odkit.models._data import ArraySource, Source, as_source, images_to_tensor
from odkit.models._distributed import SINGLE, DistInfo
from odkit.models._files import WeightsAndFiles


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda, else mps, else cpu; anything else as torch reads it."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


class Model(WeightsAndFiles, nn.Module):
    """Base of odkit's models, and a wrapper for a user-written module: ``Model(module)``.

    Attributes:
        name: the registry name (``"classifier"``, ``"module"`` for a wrapped module...).
        config: JSON-able constructor arguments; ``odkit.models.build(name, **config)`` rebuilds the model.
        class_names: class name per output index, or None.
        input_info: what the model expects (``image_hw``, ``channels``, ``color_mode``), filled by the
            first ``fit`` / ``build`` when not given.
        stop_training: set by callbacks (EarlyStopping...) to stop after the current epoch.
        optimizer: the torch optimizer after :meth:`compile`.
    """

    name = "module"
    #: what the outputs are: "classify" (class probabilities per image), "detect" (boxes), "localize" (one box)
    task = "classify"

    def __init__(self, module: nn.Module | None = None, *, class_names: Sequence[str] | None = None,
                 outputs: str = "logits") -> None:
        super().__init__()
        if outputs not in ("logits", "probabilities"):
            raise ValueError(f"outputs must be 'logits' or 'probabilities'; got {outputs!r}")
        self.config: dict[str, Any] = {}
        self.class_names = list(class_names) if class_names is not None else None
        self.input_info: dict[str, Any] = {}
        self.outputs = outputs
        self.stop_training = False
        self.optimizer: torch.optim.Optimizer | None = None
        self.loss_name = ""
        self._loss_fn: LossFn | None = None
        self._metrics: list[tuple[str, LossFn, str | None]] = []
        self._initial_epoch = 0
        self._next_epoch = 0  # the epoch a resume starts at: the one in progress, or the next after its end
        self._train_source: Source | None = None  # during fit: its shuffling seed goes in the training state
        self._epoch_bar: Any = None
        self._optimizer_spec: Any = "adam"
        self._dist: DistInfo = SINGLE  # during fit under torchrun: this process's rank and the world size
        self.history: Any = None
        self.module = module
        if module is not None:
            reg = getattr(module, "_odkit_name", None)
            self.config = {"module": reg, "module_config": getattr(module, "_odkit_config", {}),
                           "class_names": self.class_names, "outputs": outputs}

    # ---- the network -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.module is None:
            raise NotImplementedError(f"{type(self).__name__} must define forward()")
        return self.module(x)

    @property
    def is_main_process(self) -> bool:
        """False on the ranks other than 0 of a distributed ``fit`` (callbacks that write files skip them)."""
        return self._dist.is_main

    @property
    def device(self) -> torch.device:
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def metric_direction(self, name: str) -> str | None:
        """``"max"`` / ``"min"`` for a logged metric (without ``val_``), None when unknown (callbacks ask)."""
        if name == "loss":
            return "min"
        return next((d for n, _, d in self._metrics if n == name), None)

    @property
    def learning_rate(self) -> float:
        """The first parameter group's learning rate; setting it sets every group's."""
        if self.optimizer is None:
            raise RuntimeError("the model has no optimizer yet: call compile() first")
        return float(self.optimizer.param_groups[0]["lr"])

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self.optimizer is None:
            raise RuntimeError("the model has no optimizer yet: call compile() first")
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    # ---- Keras' methods ----------------------------------------------------------------------
    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Sequence[Any] | None = None) -> Model:
        """Choose the optimizer, loss and metrics by Keras name or as torch objects; returns self.

        Args:
            optimizer: ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``, a ``torch.optim.Optimizer``, or a
                callable taking the parameters.
            loss: ``"categorical_crossentropy"`` (one-hot targets), ``"sparse_categorical_crossentropy"``
                (integer labels), ``"binary_crossentropy"``, ``"mse"``, ``"mae"`` or ``fn(outputs, targets)``;
                None: the model's default.
            metrics: ``["accuracy"]`` and/or callables ``fn(outputs, targets) -> tensor``.
        """
        self._optimizer_spec = optimizer
        self.optimizer = None
        if self._is_built():
            self._make_optimizer()
        self.loss_name, self._loss_fn = make_loss(loss if loss is not None else self.default_loss(),
                                                  self.outputs == "probabilities")
        self._metrics = make_metrics(metrics)
        return self

    def _is_built(self) -> bool:
        """False while lazily sized layers wait for a first batch."""
        return True

    def _make_optimizer(self) -> None:
        if self.optimizer is None:
            self.optimizer = make_optimizer(self._optimizer_spec, [p for p in self.parameters() if p.requires_grad])

    def default_loss(self) -> str:
        """The loss ``compile()`` uses when none is given."""
        return "sparse_categorical_crossentropy"

    def _ensure_built(self, sample: torch.Tensor | None = None) -> None:
        """Create lazily sized layers from a sample batch (built-in models override)."""

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: int = 1,
            callbacks: Sequence[Any] | None = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: bool = True, initial_epoch: int = 0, *, seed: int | None = None, device: str = "auto",
            validation_freq: int = 1) -> Any:
        """Train as Keras does; returns a ``History`` (``history.history["val_loss"]``, ``history.epoch``).

        Args:
            x: images ``(N, H, W[, C])`` with ``y``, or an ``image_dataset_from_directory`` dataset.
            y: targets for array ``x``: one-hot rows or integer labels, as the loss expects.
            batch_size: batch size for arrays (datasets keep theirs).
            epochs: the index of the last epoch (Keras: with ``initial_epoch=2, epochs=5`` three epochs run).
            verbose: 0 silent; 1 a progress bar per epoch (stderr), left with the epoch's logs (``val_*``
                too) at its end; 2 one line per epoch (stdout): ``Epoch 1/5 - 3s - loss: ... - accuracy: ...``.
            callbacks: ``odkit.callbacks`` objects.
            validation_split: share of array samples held out, taken from the end before shuffling (Keras).
            validation_data: ``(x_val, y_val)`` or a dataset.
            shuffle: reshuffle array samples each epoch.
            initial_epoch: epoch to start at (resuming).
            seed: seeds weights' updates order: shuffling, dropout (``torch.manual_seed``).
            device: ``"auto"`` (cuda, mps, cpu), ``"cpu"``, ``"cuda:0"``...
            validation_freq: validate after every N-th epoch only (Keras' int form; epochs N, 2N, ...).
        """
        from odkit.models import _distributed as dist

        if not isinstance(validation_freq, int) or validation_freq < 1:
            raise ValueError(f"validation_freq must be a positive integer; received: "
                             f"validation_freq={validation_freq!r}")
        if seed is not None:
            torch.manual_seed(seed)
        info, dev, created = dist.init_from_env(resolve_device(device))
        if info.active and not self._supports_distributed():
            if created:
                dist.shutdown(barrier=False)
            raise RuntimeError(f"{type(self).__name__}.fit does not support distributed training (WORLD_SIZE="
                               f"{info.world_size}); run it in one process, or train a detector")
        self._dist = info
        bn: list[Any] = []
        finished = False
        try:
            train, val = self._sources(x, y, batch_size, validation_split, validation_data, shuffle, seed)
            sample = images_to_tensor(train.peek_images())
            self._ensure_built(sample)
            self.to(dev)
            if info.active:
                self._broadcast_state()
                if getattr(self, "_sync_bn", True):
                    bn = dist.convert_batchnorm(self)
            history = self._fit_loop(train, val, epochs, verbose if info.is_main else 0, callbacks, initial_epoch,
                                     validation_freq)
            finished = True
            self._train_source = None
        finally:
            dist.restore_batchnorm(bn)
            self._dist = SINGLE
            if created:
                dist.shutdown(barrier=finished)
        return history

    def _supports_distributed(self) -> bool:
        """Whether ``fit`` can train across processes (its data shards and its step reduces gradients)."""
        return False

    def _broadcast_state(self) -> None:
        """Rank 0's weights and buffers on every rank (models built with different seeds start the same)."""
        import torch.distributed as torch_dist

        with torch.no_grad():
            for t in self.state_dict().values():
                buf = t.detach().cpu() if torch_dist.get_backend() == "gloo" else t.detach()
                torch_dist.broadcast(buf, src=0)
                if buf is not t:
                    t.copy_(buf)

    def _fit_loop(self, train: Source, val: Source | None, epochs: int, verbose: int, callbacks: Any,
                  initial_epoch: int, validation_freq: int) -> Any:
        """The epochs of :meth:`fit`: callbacks, training, validation; under torchrun the stop decision of rank 0
        (``EarlyStopping``, ``TimeLimit``...) is sent to every rank at each epoch end."""
        from odkit.callbacks import CallbackList, History
        from odkit.models._distributed import broadcast_object

        if self._loss_fn is None:
            self.compile()
        self._make_optimizer()
        history = History()
        cbs = CallbackList([*(callbacks or []), history], model=self,
                           params={"epochs": epochs, "steps": train.steps(), "verbose": verbose})
        self.stop_training = False
        self._initial_epoch = self._next_epoch = initial_epoch
        self._train_source = train
        cbs.on_train_begin({})
        epoch_logs: dict[str, float] = {}
        for epoch in range(self._initial_epoch, epochs):
            self._next_epoch = epoch
            cbs.on_epoch_begin(epoch, {})
            t0 = time.monotonic()
            epoch_logs = self._train_epoch(train, epoch, epochs, cbs, verbose)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_source(val)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            self._next_epoch = epoch + 1
            self._report_epoch(epoch, epochs, epoch_logs, time.monotonic() - t0, verbose)
            cbs.on_epoch_end(epoch, epoch_logs)
            if self._dist.active:
                self.stop_training = bool(broadcast_object(bool(self.stop_training)))
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        self.history = history
        return history

    def _report_epoch(self, epoch: int, epochs: int, logs: dict[str, float], seconds: float, verbose: int) -> None:
        """verbose 1: the epoch's logs on its progress bar, then the bar closed; 2: its one line on stdout."""
        bar, self._epoch_bar = self._epoch_bar, None
        if bar is not None:
            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            bar.close()
        elif verbose == 2:
            took = f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"
            line = " - ".join([f"Epoch {epoch + 1}/{epochs}", took, *(f"{k}: {v:.4f}" for k, v in logs.items())])
            print(line, file=sys.stdout, flush=True)

    def _train_epoch(self, train: Source, epoch: int, epochs: int, cbs: Any, verbose: int) -> dict[str, float]:
        self.train()
        totals: dict[str, float] = {}
        count = 0
        bar = None
        if verbose == 1:
            from tqdm.auto import tqdm

            # left open: fit adds the validation logs and closes it (_report_epoch)
            bar = self._epoch_bar = tqdm(total=train.steps(), desc=f"Epoch {epoch + 1}/{epochs}", unit="batch")
        t0 = time.monotonic()
        for step, (xb, yb) in enumerate(train.iter_epoch(epoch)):
            cbs.on_train_batch_begin(step, {})
            logs, n = self.train_step(xb, yb)
            count += n
            for k, v in logs.items():
                totals[k] = totals.get(k, 0.0) + v * n
            running = {k: v / count for k, v in totals.items()}
            cbs.on_train_batch_end(step, running)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in running.items()})
        if count == 0:
            if bar is not None:
                bar.close()
            raise ValueError("the training data gave no batch")
        self._last_epoch_seconds = time.monotonic() - t0
        return {k: v / count for k, v in totals.items()}

    def train_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        """One optimisation step on a batch; returns the batch's logs and its size."""
        inputs = images_to_tensor(xb, self.device)
        targets = torch.as_tensor(np.asarray(yb), device=self.device)
        self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        outputs = self(inputs)
        loss = self._loss_fn(outputs, targets)  # type: ignore[misc]
        if not torch.isfinite(loss):
            logs = {"loss": float(loss.detach())}
            return logs, int(inputs.shape[0])
        loss.backward()
        self.optimizer.step()  # type: ignore[union-attr]
        logs = {"loss": float(loss.detach())}
        with torch.no_grad():
            logs.update({name: float(fn(outputs.detach(), targets)) for name, fn, _ in self._metrics})
        return logs, int(inputs.shape[0])

    def test_step(self, xb: Any, yb: Any) -> tuple[dict[str, float], int]:
        """Loss and metrics of one batch, without updating anything; returns the logs and the batch size."""
        inputs = images_to_tensor(xb, self.device)
        targets = torch.as_tensor(np.asarray(yb), device=self.device)
        outputs = self(inputs)
        logs = {"loss": float(self._loss_fn(outputs, targets))}  # type: ignore[misc]
        logs.update({name: float(fn(outputs, targets)) for name, fn, _ in self._metrics})
        return logs, int(inputs.shape[0])

    @torch.no_grad()
    def _evaluate_source(self, source: Source) -> dict[str, float]:
        """Sample-weighted means of :meth:`test_step`'s logs over one pass of ``source``."""
        self.eval()
        totals: dict[str, float] = {}
        count = 0
        for xb, yb in source.iter_epoch(0):
            logs, n = self.test_step(xb, yb)
            count += n
            for k, v in logs.items():
                totals[k] = totals.get(k, 0.0) + v * n
        if count == 0:
            raise ValueError("the evaluation data gave no batch")
        return {k: v / count for k, v in totals.items()}

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = 32, verbose: int = 0,
                 return_dict: bool = False, *, device: str | None = None) -> Any:
        """Loss and metrics on data: ``[loss, *metrics]`` like Keras (the loss alone without metrics)."""
        if self._loss_fn is None:
            raise RuntimeError("call compile() before evaluate()")
        if device is not None:
            self.to(resolve_device(device))
        logs = self._evaluate_source(as_source(x, y, batch_size, shuffle=False, seed=None))
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = 32, verbose: int = 0, *, device: str | None = None,
                stream: bool = False) -> np.ndarray | Iterator[np.ndarray]:
        """Class probabilities ``(N, C)`` float32 for images (softmax / sigmoid of the logits), like Keras.

        Args:
            x: arrays ``(N, H, W[, C])`` or an ``image_dataset_from_directory`` dataset, fed as they are; or
                image files and videos (a path, a folder, a glob, a list file, a list of paths, a dataset:
                anything ``odkit.models._sources`` reads), each image loaded as the model was trained
                (``input_info``: size and color mode; files as Keras' ``load_img`` reads them, bilinear).
            batch_size: images run through the network at a time.
            device: ``"auto"``, ``"cpu"``, ``"cuda:0"``...; None: where the model is.
            stream: return a generator yielding each image's ``(C,)`` probabilities as its batch is done
                instead of the ``(N, C)`` array.
        """
        if device is not None:
            self.to(resolve_device(device))
        batches = self._load_files(x, int(batch_size or 32))

        def probabilities() -> Iterator[np.ndarray]:
            for xb in batches:
                with torch.no_grad():
                    self.eval()
                    inputs = images_to_tensor(xb, self.device)
                    self._ensure_built(inputs)
                    outputs = self(inputs)
                    if self.outputs == "logits":
                        outputs = torch.sigmoid(outputs) if outputs.shape[1] == 1 else torch.softmax(outputs, dim=1)
                yield outputs.float().cpu().numpy()

        if stream:
            return (row for batch in probabilities() for row in batch)
        out = list(probabilities())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def _load_files(self, x: Any, batch_size: int) -> Iterator[Any]:
        """Batches of ``x`` for :meth:`predict`: arrays and datasets as they are; image files, videos and
        :class:`~odkit.models._sources.SourceItem` s as (B, H, W, C) float32 arrays in the model's input size and
        color mode (files as Keras' ``load_img`` + ``img_to_array`` read them, bilinear; video frames and arrays
        in lists resized the same way with Pillow). Looks at the source now (a missing file raises here)."""
        from odkit.models._sources import SourceItem, chunks, resolve_source

        if hasattr(x, "iter_epoch") or isinstance(x, (np.ndarray, torch.Tensor)) or (
                isinstance(x, list) and x and not any(isinstance(v, (str, os.PathLike, SourceItem)) for v in x)):
            source = as_source(x, None, batch_size, shuffle=False, seed=None)
            return (xb for xb, _ in source.iter_epoch(0))
        resolved = resolve_source(x)
        hw = self.input_info.get("image_hw")
        size = tuple(hw) if hw else None
        mode = self.input_info.get("color_mode", "rgb")
        mode = mode if mode in ("grayscale", "rgb", "rgba") else "rgb"

        def load(item: Any) -> np.ndarray:
            from PIL import Image

            from odkit.data import img_to_array, load_img

            if item.path is not None and item.frame is None:
                return img_to_array(load_img(item.path, color_mode=mode, target_size=size, interpolation="bilinear"))
            img = Image.fromarray(item.image).convert({"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}[mode])
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return img_to_array(img)

        return (np.stack([load(item) for item in chunk]) for chunk in chunks(iter(resolved), batch_size))

    def _sources(self, x: Any, y: Any, batch_size: int | None, validation_split: float, validation_data: Any,
                 shuffle: bool, seed: int | None) -> tuple[Source, Source | None]:
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1); got {validation_split}")
        train = as_source(x, y, batch_size, shuffle=shuffle, seed=seed)
        val = None
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) == 2:
                val = as_source(validation_data[0], validation_data[1], batch_size, shuffle=False, seed=None)
            else:
                val = as_source(validation_data, None, batch_size, shuffle=False, seed=None)
        elif validation_split:
            if not isinstance(train, ArraySource):
                raise ValueError("validation_split needs arrays; for a dataset pass validation_data")
            train, val = train.split_last(validation_split)
        return train, val
