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


ROOT = REFERENCE.parents[1]
DEMO_SYSTEMS = {"GAP": "GAP", "GMP": "GMP", "GWRP": "GWRP", "atrous AP": "AP", "2AP+aux": "2AP"}
"""How the demo's expectation names each Table 1 system -> its Pooling cell in table1.md."""


def _table1_micro_ap_at_20_db() -> dict[str, tuple[float, float, float]]:
    text = (REFERENCE / "cpu-full" / "table1.md").read_text(encoding="utf-8")
    block = text.split("*SNR 20 dB*", 1)[1].split("*SNR", 1)[0]
    out = {}
    for line in block.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) > 3 and (match := CELL.search(cells[3])):
            out[cells[1]] = tuple(float(g) for g in match.groups())
    return out


def test_the_demos_stated_expectation_is_the_reference_table():
    """`make demo` and the README say what the demo should print: Table 1's 20 dB micro-AP of the
    committed cpu-full reference, to two decimals, with its interval."""
    reference = _table1_micro_ap_at_20_db()
    assert set(DEMO_SYSTEMS.values()) <= set(reference), reference
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stated = re.search(r"^DEMO_EXPECT\s*:?=\s*(.+)$", makefile, re.MULTILINE)
    assert stated, "the Makefile states no DEMO_EXPECT"
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for text in (stated.group(1), readme):
        for name, row in DEMO_SYSTEMS.items():
            value, low, high = reference[row]
            expected = f"{name} {value:.2f} [{low:.2f}, {high:.2f}]"
            assert expected in text, f"{expected!r} not stated"


def test_the_resolution_tables_are_made_from_the_committed_run_records():
    """results/reference/resolution/ holds each ladder run's record (no weights): the committed
    resolution tables are what `bench table --resolution` makes from them."""
    from bench.reporting.ladder import build_resolution_table, resolution_markdown
    from bench.store import load_runs

    folder = REFERENCE / "resolution"
    runs = load_runs(folder)
    assert len(runs) >= 21 and set(runs["preset"]) == {"cpu-full", "cpu-full-64", "cpu-full-32"}
    for snr, name in ((20.0, "resolution.md"), (0.0, "resolution_0db.md")):
        made = resolution_markdown(build_resolution_table(runs, snr_db=snr))
        assert made == (folder / name).read_text(encoding="utf-8"), name
