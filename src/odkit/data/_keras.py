"""Keras 3 adapter: an ``ImageFolderDataset`` as a ``keras.utils.PyDataset`` for ``model.fit``.

Keras 3's ``fit`` accepts arrays, ``tf.data``, a ``PyDataset``, a torch ``DataLoader`` or a generator; its
data adapters reject any other iterable (``ValueError: Unrecognized data type``), and an ``iter(ds)``
generator is spent after one epoch. ``ds.as_keras()`` wraps the dataset in a ``PyDataset`` (keras is
imported only then), so ``model.fit(train.as_keras(), validation_data=val.as_keras(), epochs=10)`` runs
every epoch. With ``shuffle=True`` the files are reshuffled at every Keras ``on_epoch_end``: the wrapper's
epoch ``k`` (``.epoch``, counting those calls; Keras also makes one when a fit starts) serves the files in
``ds.epoch_order(k)`` order, batch ``i`` being positions ``[i * B, (i + 1) * B)`` of it. Keras' own
``shuffle`` then reorders whole batches.

Batches are numpy whatever ``output`` says (every Keras backend takes numpy). ``on_error="skip"`` holds:
a batch with an unreadable image is shorter (a batch with only unreadable images takes the next readable
ones of the epoch instead), each file is warned about once and listed in ``ds.skipped_files``, and the
count is warned at the end of each epoch that served every batch (not after Keras' peek at the first
batches, which it makes to learn the shapes).
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

from odkit.errors import DatasetError

if TYPE_CHECKING:
    from odkit.data._folder import ImageFolderDataset

__all__ = ["as_keras_dataset"]


def as_keras_dataset(ds: ImageFolderDataset, **pydataset_kwargs: Any) -> Any:
    """A ``keras.utils.PyDataset`` over the batches of ``ds``, epoch by epoch.

    Args:
        ds: a batched dataset (``batch_size`` not None).
        **pydataset_kwargs: passed to ``keras.utils.PyDataset`` (``workers``, ``use_multiprocessing``,
            ``max_queue_size``).

    Returns:
        The ``PyDataset``: ``len`` = ``len(ds)`` batches; item ``i`` = batch ``i`` of the current epoch,
        ``(images, labels)`` (or images alone when there are no labels) as numpy arrays.

    Raises:
        ImportError: keras 3 is not installed.
        ValueError: ``ds.batch_size`` is None (Keras needs batches).
    """
    if ds.batch_size is None:
        raise ValueError("as_keras() needs a batched dataset; got batch_size=None (pass batch_size=32, ...)")
    try:
        import keras
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("as_keras() needs keras 3: pip install keras (and a backend)") from exc

    class OdkitPyDataset(keras.utils.PyDataset):  # type: ignore[misc, name-defined]
        """Batches of an odkit ``ImageFolderDataset`` for ``model.fit``; see ``odkit.data._keras``."""

        def __init__(self, dataset: ImageFolderDataset, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.dataset = dataset
            self.epoch = 0
            self._order = dataset.epoch_order(0)
            self._served: set[int] = set()
            self._skipped: set[int] = set()
            self._lock = threading.Lock()

        def __len__(self) -> int:
            return len(self.dataset)

        def __getitem__(self, index: int) -> Any:
            ds, order = self.dataset, self._order
            n_batches = len(self)
            if not 0 <= index < n_batches:
                raise IndexError(f"batch {index} out of range for {n_batches} batches")
            size = ds.batch_size
            assert size is not None  # checked in as_keras_dataset
            skip = ds.on_error == "skip"
            start = index * size
            for _ in range(n_batches):  # a batch of only unreadable images: take the next ones of the epoch
                positions = order[start : start + size]
                images, kept = ds._load(positions, skip)
                with self._lock:
                    self._served.add(index)
                    self._skipped.update(set(positions.tolist()) - set(kept.tolist()))
                if len(kept):
                    parts = ds._batch(images, kept)
                    return parts[0] if len(parts) == 1 else parts
                start = (start + size) % len(order)
            raise DatasetError(f"none of the {len(order)} images can be decoded; see ds.skipped_files")

        def on_epoch_end(self) -> None:
            if self._skipped and len(self._served) == len(self):
                warnings.warn(
                    f"skipped {len(self._skipped)} unreadable image(s) of {len(self._order)} this epoch; "
                    "see ds.skipped_files",
                    RuntimeWarning,
                    stacklevel=2,
                )
            self._served, self._skipped = set(), set()
            self.epoch += 1
            self._order = self.dataset.epoch_order(self.epoch)

    return OdkitPyDataset(ds, **pydataset_kwargs)
