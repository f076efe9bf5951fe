"""``python -m odkit`` runs the command-line interface."""

from odkit.cli.main import main

raise SystemExit(main())
