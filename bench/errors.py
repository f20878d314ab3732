"""Domain errors of the benchmark."""

from __future__ import annotations


class BenchError(Exception):
    """A problem with the user's corpus, runs or options, explained in the message."""
