"""The errors of ``odkit label``; each carries the HTTP status the server answers with."""

from __future__ import annotations


class LabelError(Exception):
    """A request the store refuses; ``status`` is the HTTP status to answer with."""

    status = 422


class Conflict(LabelError):
    """The annotation file changed on disk since the page loaded it."""

    status = 409


class NotFound(LabelError):
    status = 404


class Forbidden(LabelError):
    status = 403
