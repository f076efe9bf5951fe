"""Command-line interface (sits on top of everything; nothing in the library imports it)."""
