"""Settings of the whole test suite.

The build's default stand-in (``recorded``) fetches Debian and PyPI packages on first use. The
tests never fetch anything: a stand-in built here without an explicit kind falls back to its
procedural classes, as on a machine without those packages. Tests of the fetching itself clear
the variable with ``monkeypatch``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["SEDREMIX_OFFLINE_PACKAGES"] = "1"

SLOW_MODULES = frozenset(
    {
        "tests/bench/test_cli.py",
        "tests/bench/test_cluster.py",
        "tests/bench/test_faults.py",
        "tests/bench/test_features.py",
        "tests/bench/test_grid.py",
        "tests/bench/test_intervals.py",
        "tests/bench/test_mixing.py",
        "tests/bench/test_pooling_benchmark.py",
        "tests/bench/test_probe.py",
        "tests/bench/test_schedule.py",
        "tests/bench/test_train.py",
        "tests/remix/test_cluster_loss.py",
        "tests/remix/test_standin_recorded.py",
    }
)
"""Modules whose tests train runs, start clusters or build stand-ins (most of the suite's time):
marked ``slow``, so that ``pytest -m "not slow"`` (``make test-quick``) runs the rest in minutes."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent
    for item in items:
        if Path(item.path).resolve().relative_to(root).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
