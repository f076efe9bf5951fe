"""What the subcommands share."""

from __future__ import annotations


class UsageError(Exception):
    """A malformed command line: ``odkit`` prints ``error: <message>`` and exits 2, like argparse's own errors."""
