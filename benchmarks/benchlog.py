"""Append benchmark figures to ``benchmarks/log.tsv`` with the git hash.

Every benchmark script prints its figure and calls :func:`append` so that the
history of a figure can be followed across commits and machines.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from pathlib import Path

LOG = Path(__file__).with_name("log.tsv")
COLUMNS = ("date", "git", "version", "benchmark", "figure", "value", "unit", "machine", "settings")


def git_hash() -> str:
    """Short hash of HEAD, with ``+dirty`` when the tree has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", f":!{LOG.relative_to(root)}"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def machine() -> str:
    """A short description of the machine: processor count, and the GPU when torch sees one."""
    import os

    desc = f"{platform.machine()} {os.cpu_count()} cpu"
    try:
        import torch

        if torch.cuda.is_available():
            desc += f", {torch.cuda.get_device_name(0)}"
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return desc


def append(*, benchmark: str, figure: str, value: float, unit: str, settings: dict) -> None:
    """Append one row to the log (created with a header when missing)."""
    from remix import __version__

    row = (
        _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        git_hash(),
        __version__,
        benchmark,
        figure,
        f"{value:.6g}",
        unit,
        machine(),
        json.dumps(settings, sort_keys=True),
    )
    new = not LOG.exists()
    with LOG.open("a", encoding="utf-8") as fh:
        if new:
            fh.write("\t".join(COLUMNS) + "\n")
        fh.write("\t".join(row) + "\n")
