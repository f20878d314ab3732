"""The committed reference tables: no interval excludes the number it is printed beside."""

from __future__ import annotations

import re
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference"
CELL = re.compile(r"([-+]?\d+\.\d+) \[([-+]?\d+\.\d+), ([-+]?\d+\.\d+)\]")


def _cells(path: Path) -> list[tuple[int, str, float, float, float]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in CELL.finditer(line):
            value, low, high = (float(g) for g in match.groups())
            out.append((number, match.group(0), value, low, high))
    return out


def test_no_interval_of_a_committed_table_excludes_its_estimate():
    tables = sorted(REFERENCE.rglob("*.md"))
    assert tables, "no reference tables found"
    wrong = []
    for path in tables:
        for number, text, value, low, high in _cells(path):
            if not low - 0.0006 <= value <= high + 0.0006:  # printed to three decimals
                wrong.append(f"{path.relative_to(REFERENCE)}:{number}: {text}")
    assert not wrong, wrong
    assert sum(len(_cells(p)) for p in tables) > 500  # the pattern does find the cells
