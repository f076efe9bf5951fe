"""The workflow a person runs: ``train``, ``val`` and ``predict`` runs, each writing a run folder.

Run folders are ``runs/<kind>-<N>`` (``runs/train-1``, ``runs/val-3``...) unless the user names one; what each
run writes is listed in its function's docstring. The CLI commands ``odkit train / val / predict`` call these.
"""

from odkit.runs._folders import new_run_dir as new_run_dir

__all__ = ["new_run_dir"]
