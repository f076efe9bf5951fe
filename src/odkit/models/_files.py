"""The weights-and-files half of ``odkit.Model``: Keras' get / set_weights, summary, save / load and the
resumable training state. A mixin of :class:`odkit.models.Model` (it expects an ``nn.Module`` with the
model's ``name``, ``optimizer``, ``module``, ``config``, ``compile`` and fit's ``_train_source``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


class WeightsAndFiles:
    """Weights as numpy arrays, the summary table, ``.odk`` / ``.safetensors`` files and the training state."""

    def get_weights(self) -> list[np.ndarray]:
        """Every tensor of the state (parameters and buffers), as numpy copies, in ``state_dict`` order."""
        return [t.detach().cpu().numpy().copy() for t in self.state_dict().values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set every tensor of the state from :meth:`get_weights`-ordered arrays (shapes must match)."""
        state = self.state_dict()
        if len(weights) != len(state):
            raise ValueError(f"expected {len(state)} arrays (the model's state), got {len(weights)}")
        new = {}
        for (key, old), w in zip(state.items(), weights):
            arr = np.asarray(w)
            if tuple(arr.shape) != tuple(old.shape):
                raise ValueError(f"weight {key!r} has shape {tuple(old.shape)}; got {arr.shape}")
            new[key] = torch.as_tensor(arr, dtype=old.dtype)
        self.load_state_dict(new)

    def count_params(self) -> int:
        """Number of parameters (trainable and not)."""
        return sum(p.numel() for p in self.parameters())

    def summary(self, print_fn: Any = print) -> None:
        """A Keras-like table: each leaf layer, its output type and parameter count."""
        rows = [(name or type(self).__name__, type(m).__name__, sum(p.numel() for p in m.parameters(recurse=False)))
                for name, m in self.named_modules() if not list(m.children())]
        width = max([len(r[0]) for r in rows] + [10])
        print_fn(f'Model: "{self.name}"')
        print_fn(f"{'Layer':<{width}}  {'Type':<20} {'Param #':>10}")
        print_fn("-" * (width + 33))
        for name, kind, n in rows:
            print_fn(f"{name:<{width}}  {kind:<20} {n:>10,}")
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        print_fn("-" * (width + 33))
        print_fn(f"Total params: {self.count_params():,}\nTrainable params: {trainable:,}\n"
                 f"Non-trainable params: {self.count_params() - trainable:,}")

    def save(self, filepath: Any, **training: Any) -> None:
        """The whole model in one ``.odk`` file (config JSON + safetensors weights; no pickle)."""
        from odkit.saving import save_model

        if self.module is not None and self.config.get("module") is None:
            raise ValueError(f"cannot save a wrapped {type(self.module).__name__}: its class is not registered, so "
                             "odkit.load_model could not rebuild it; decorate the class with "
                             "@odkit.models.register('a-name') (or save_weights() and rebuild it yourself)")
        save_model(self, filepath, training=training or None)

    def save_weights(self, filepath: Any) -> None:
        """The weights alone, as ``.safetensors``."""
        from odkit.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False) -> None:
        """Weights from a ``.safetensors`` or ``.odk`` file; mismatched tensors are listed in the error."""
        from odkit.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save_training_state(self, filepath: Any) -> None:
        """Weights, optimizer, RNG states, the next epoch to run and, during ``fit``, its shuffling seed (drawn
        from torch's RNG when ``fit(seed=None)``), to resume exactly (``BackupAndRestore``)."""
        from odkit.saving import save_training_state

        seed = getattr(self._train_source, "seed", None)
        extra = {"shuffle_seed": int(seed)} if isinstance(seed, (int, np.integer)) else {}
        extra.update(self._resume_state())
        save_training_state(filepath, self, self.optimizer, epoch=self._next_epoch, extra=extra or None)

    def _resume_state(self) -> dict[str, Any]:
        """A subclass's own training state (EMA, step counters...) for :meth:`save_training_state`: plain values
        and numpy arrays."""
        return {}

    def _restore_resume_state(self, extra: dict[str, Any]) -> None:
        """Put back what :meth:`_resume_state` saved."""

    def load_training_state(self, filepath: Any) -> dict[str, Any]:
        """Restore :meth:`save_training_state`'s file into this model and its optimizer; called during ``fit``
        (``BackupAndRestore.on_train_begin``), it also gives fit's data the saved shuffling seed."""
        from odkit.saving import load_training_state

        if self._loss_fn is None:
            self.compile()
        self._make_optimizer()
        state = load_training_state(filepath, self, self.optimizer)
        seed = state["extra"].get("shuffle_seed")
        if isinstance(seed, int) and hasattr(self._train_source, "seed"):
            self._train_source.seed = seed  # type: ignore[union-attr]
        self._restore_resume_state(state["extra"])
        return state

