"""Typed errors. Each subclasses the matching builtin so ``except ValueError`` still works."""

from __future__ import annotations

import os


class OdkitError(Exception):
    """Base class of every error odkit raises on purpose."""


class BoxFormatError(OdkitError, ValueError):
    """Boxes of the wrong shape, dtype, format name, or with invalid values."""


class AnnotationError(OdkitError, ValueError):
    """A malformed annotation file; the message names the file and, where known, the line or index.

    Args:
        path: file the problem is in.
        where: line number (int, 1-based), a json path / object index (str), or None.
        message: what was expected and what was found.
    """

    def __init__(self, path: str | os.PathLike[str], where: int | str | None, message: str) -> None:
        self.path = os.fspath(path)
        self.where = where
        self.message = message
        loc = self.path if where is None else f"{self.path}:{where}"
        super().__init__(f"{loc}: {message}")


class DatasetError(OdkitError, ValueError):
    """A dataset that cannot be used as asked (missing images, unknown classes, empty split...)."""


class EvaluationError(OdkitError, ValueError):
    """Predictions or ground truth that cannot be evaluated (unknown image ids, NaN scores...)."""


class CheckpointError(OdkitError, ValueError):
    """A model file that cannot be loaded (wrong schema version, missing tensors...)."""
