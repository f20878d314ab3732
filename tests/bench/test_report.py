"""Tables 1-3 from fabricated runs: numbers, paper values, labels, file formats."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from bench.errors import BenchError
from bench.reporting.localisation import build_localisation_table, localisation_latex
from bench.reporting.render import format_cell, latex_escape, print_tables, to_latex, to_markdown
from bench.reporting.report import build_table1, build_table2, build_table3, write_tables
from bench.reporting.table import SYNTHETIC_WARNING
from bench.store import RunStore, load_runs
from remix.labels import EVENT_LABELS

GRID = [
    ("gap", 0.0),
    ("gmp", 0.0),
    ("gwrp", 0.0),
    ("atrous_ap", 0.0),
    ("2ap_aux", 0.001),
    ("2ap", 0.0),
    ("2ap_aux", 0.1),
]


def value(model: str, alpha: float, snr: float, seed: int, offset: float = 0.0) -> float:
    """A distinct, known metric value per run."""
    base = {"gap": 0.30, "gmp": 0.35, "gwrp": 0.40, "atrous_ap": 0.45, "2ap_aux": 0.55, "2ap": 0.50}[model]
    return round(base + alpha + snr / 1000 + seed / 100 + offset, 6)


@pytest.fixture
def results(tmp_path):
    """3 seeds of the grid at 20 and 0 dB (none at 10 dB), one failed run, synthetic corpus."""
    root = tmp_path / "results"
    for seed in range(3):
        for snr in (20.0, 0.0):
            for model, alpha in GRID:
                store = RunStore(root / "runs", f"{model}-{alpha}-{snr:g}-{seed}")
                store.write_config(
                    {
                        "model": model,
                        "alpha": alpha,
                        "snr_db": snr,
                        "seed": seed,
                        "preset": "cpu",
                        "corpus_dir": str(tmp_path / "corpus"),
                        "corpus_synthetic": True,
                    }
                )
                if (model, snr, seed) == ("gmp", 20.0, 2):
                    store.write_status("failed", "diverged")
                    continue
                store.write_status("done")
                per_class = {lab: value(model, alpha, snr, seed, 0.01 * i) for i, lab in enumerate(EVENT_LABELS)}
                store.write_metrics(
                    {
                        "val": {
                            "micro_ap": value(model, alpha, snr, seed),
                            "macro_ap": value(model, alpha, snr, seed, 0.1),
                            "auc": value(model, alpha, snr, seed, 0.3),
                            "per_class_ap": per_class,
                        },
                        "best_epoch": 3,
                    }
                )
    return root


def expected(model, alpha, snr, seeds=(0, 1, 2), offset=0.0):
    vals = np.array([value(model, alpha, snr, s, offset) for s in seeds])
    return vals.mean(), vals.std(ddof=1), len(vals)


def test_table1_cells(results):
    table = build_table1(load_runs(results))
    assert [row for row in table.rows][4] == ("VGGish", "2AP", "yes")
    cell = table.cell(4, "20:micro_ap")  # 2ap_aux alpha 0.001 at 20 dB
    mean, std, n = expected("2ap_aux", 0.001, 20.0)
    assert cell["mean"] == pytest.approx(mean) and cell["std"] == pytest.approx(std) and cell["n"] == n
    assert cell["paper"] == pytest.approx(0.7829)
    assert table.cell(0, "0:auc")["paper"] == pytest.approx(0.8694)
    gmp = table.cell(1, "20:macro_ap")  # one failed seed: 2 runs
    assert gmp["n"] == 2 and gmp["mean"] == pytest.approx(expected("gmp", 0.0, 20.0, (0, 1), 0.1)[0])
    missing = table.cell(2, "10:micro_ap")
    assert missing["n"] == 0 and pd.isna(missing["mean"]) and missing["paper"] == pytest.approx(0.6538)
    assert "1 failed run not included" in table.caption
    assert table.synthetic and SYNTHETIC_WARNING in table.caption and "validation fold" in table.caption


def test_table2_and_table3_cells(results):
    runs = load_runs(results)
    t2 = build_table2(runs)
    assert t2.cell(0, "0:micro_ap")["mean"] == pytest.approx(expected("2ap", 0.0, 0.0)[0])
    assert t2.cell(2, "20:micro_ap")["mean"] == pytest.approx(expected("2ap_aux", 0.1, 20.0)[0])
    assert t2.cell(2, "20:micro_ap")["paper"] == pytest.approx(0.7637)
    t3 = build_table3(runs)
    gong = EVENT_LABELS.index("Gong")
    cell = t3.cell(1, "Gong")  # 2ap alpha 0 at 0 dB
    assert cell["mean"] == pytest.approx(expected("2ap", 0.0, 0.0, offset=0.01 * gong)[0])
    assert cell["paper"] == pytest.approx(0.643)
    assert t3.cell(0, "Bus")["paper"] == pytest.approx(0.2)


def test_written_files(results, tmp_path):
    out = tmp_path / "tables"
    paths = write_tables(load_runs(results), out_dir=out, latex=True, markdown=True)
    assert sorted(p.name for p in paths) == sorted(f"table{i}.{ext}" for i in (1, 2, 3) for ext in ("tex", "md"))
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]
    tex = (out / "table1.tex").read_text()
    for command in (r"\begin{tabular}", r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}", r"\caption{"):
        assert command in tex
    mean, std, n = expected("2ap_aux", 0.001, 20.0)
    assert f"{mean:.3f} ({n})" in tex and f"$\\pm$ {std:.3f}" in tex  # without resamples: the std below
    assert "0.783" in tex and "0.934" in tex  # paper values beside ours
    assert r"\textbf{SYNTHETIC STAND-IN CORPUS" in tex
    assert "---" in tex  # the missing 10 dB cells
    # nothing unescaped: no bare underscore, percent or ampersand inside text
    first = tex.split(r"\end{table}")[0]  # Table 1 at 20 dB: a System column and three (ours, paper) pairs
    body = first.split(r"\midrule")[1].split(r"\bottomrule")[0]
    assert not re.search(r"(?<!\\)[_%#]", body)
    assert all(line.count("&") == 6 for line in body.strip().splitlines())
    md = (out / "table2.md").read_text()
    assert SYNTHETIC_WARNING in md and re.search(r"^\| α = 0\.001 +\|", md, re.M) and "0.760" in md
    assert f"{expected('2ap', 0.0, 0.0)[0]:.3f} ± " in md
    assert "—" in md
    only_md = write_tables(load_runs(results), out_dir=tmp_path / "md", latex=False, markdown=True)
    assert {p.suffix for p in only_md} == {".md"}


def test_real_corpus_is_not_flagged_and_test_split(results):
    runs = load_runs(results).assign(corpus_synthetic=False)
    table = build_table1(runs)
    assert not table.synthetic and SYNTHETIC_WARNING not in to_markdown(table)
    with pytest.raises(BenchError, match="test-split metrics"):
        build_table1(runs, split="test")
    with pytest.raises(BenchError, match="unknown split"):
        build_table1(runs, split="train")
    runs.loc[0, "preset"] = "gpu"
    with pytest.raises(BenchError, match="mix the presets"):
        build_table1(runs)
    assert build_table1(runs, preset="gpu").cell(0, "20:micro_ap")["n"] <= 1


def test_no_runs_gives_dashes(tmp_path):
    table = build_table2(load_runs(tmp_path))
    assert (table.data["n"] == 0).all() and table.data["paper"].notna().all()
    assert "—" in to_markdown(table)


def test_helpers_and_terminal(results):
    assert format_cell(0.5, 0.01, 3) == "0.5000 ± 0.0100 (3)"
    assert format_cell(0.5, None, 1) == "0.5000 (1)"
    assert format_cell(None, None, 0) == "—"
    assert latex_escape("2ap_aux 5% a&b") == r"2ap\_aux 5\% a\&b"
    console = Console(record=True, width=120)
    print_tables([build_table1(load_runs(results))], console=console)
    text = console.export_text()
    assert "SNR 20 dB" in text and "VGGish 2AP +aux" in text and SYNTHETIC_WARNING in text


def _run(root, run_id, *, model, alpha, snr, seed, micro, options=None, convergence=None, best_epoch=3):
    store = RunStore(root / "runs", run_id)
    config = {
        "model": model,
        "alpha": alpha,
        "snr_db": snr,
        "seed": seed,
        "preset": "cpu-full",
        "corpus_dir": "/c",
        "corpus_synthetic": True,
        "training": {"epochs": 60},
    }
    if options:
        config["options"] = options
    store.write_config(config)
    store.write_status("done")
    metrics = {"val": {"micro_ap": micro, "macro_ap": micro, "auc": micro}, "best_epoch": best_epoch}
    if convergence is not None:
        metrics["convergence"] = convergence
    store.write_metrics(metrics)


def test_unconverged_cells_are_marked_and_explained(tmp_path):
    root = tmp_path / "r"
    _run(
        root,
        "a",
        model="gap",
        alpha=0.0,
        snr=20.0,
        seed=0,
        micro=0.5,
        convergence={"converged": True, "best_epoch": 30, "epochs_run": 42, "epochs": 60, "stopped_early": True},
    )
    _run(
        root,
        "b",
        model="gap",
        alpha=0.0,
        snr=20.0,
        seed=1,
        micro=0.6,
        convergence={"converged": False, "best_epoch": 59, "epochs_run": 60, "epochs": 60, "stopped_early": False},
    )
    _run(
        root,
        "c",
        model="gmp",
        alpha=0.0,
        snr=20.0,
        seed=0,
        micro=0.4,
        convergence={"converged": True, "best_epoch": 20, "epochs_run": 32, "epochs": 60, "stopped_early": True},
    )
    _run(root, "d", model="gwrp", alpha=0.0, snr=20.0, seed=0, micro=0.3, best_epoch=58)  # recorded before the flag
    table = build_table1(load_runs(root))
    assert table.cell(0, "20:micro_ap")["unconverged"] == 1  # gap: one of two runs
    assert table.cell(1, "20:micro_ap")["unconverged"] == 0  # gmp
    assert table.cell(2, "20:micro_ap")["unconverged"] == 1  # gwrp: best epoch 58 of 60
    md = to_markdown(table)
    assert "0.550 ± 0.071 (2)†" in md and "0.400 (1) " in md
    assert "not converged" in table.caption and "†" in table.caption
    assert r"\textsuperscript{\dag}" in latex_escape(format_cell(0.5, None, 1, unconverged=1))


def test_table2_shows_ablation_rows_only_when_they_ran(tmp_path):
    root = tmp_path / "r"
    _run(root, "a", model="2ap_aux", alpha=0.001, snr=20.0, seed=0, micro=0.6)
    assert len(build_table2(load_runs(root)).rows) == 3
    _run(root, "b", model="2ap_aux", alpha=0.001, snr=20.0, seed=0, micro=0.2, options={"attention": "as_printed"})
    table = build_table2(load_runs(root))
    assert len(table.rows) == 4 and "equations as printed" in table.rows[3][0]
    assert table.cell(1, "20:micro_ap")["mean"] == pytest.approx(0.6)  # the paper's row keeps its own run
    assert table.cell(3, "20:micro_ap")["mean"] == pytest.approx(0.2)
    assert pd.isna(table.cell(3, "20:micro_ap")["paper"])  # the paper has no such row
    assert "ablation" in table.caption


# --------------------------------------------------------------------------- readable markdown, LaTeX that compiles


@pytest.fixture(scope="module")
def ten_seeds(tmp_path_factory):
    """10 seeds of the whole grid at 20, 10 and 0 dB: the widest cells ("(10)")."""
    tmp_path = tmp_path_factory.mktemp("ten")
    root = tmp_path / "results10"
    for seed in range(10):
        for snr in (20.0, 10.0, 0.0):
            for model, alpha in GRID:
                store = RunStore(root / "runs", f"{model}-{alpha}-{snr:g}-{seed}")
                store.write_config(
                    {
                        "model": model,
                        "alpha": alpha,
                        "snr_db": snr,
                        "seed": seed,
                        "preset": "cpu",
                        "corpus_dir": str(tmp_path / "a_corpus_with_a_long_name"),
                        "corpus_synthetic": True,
                    }
                )
                store.write_status("done")
                per_class = {lab: value(model, alpha, snr, seed, 0.01 * i) for i, lab in enumerate(EVENT_LABELS)}
                store.write_metrics(
                    {
                        "val": {
                            "micro_ap": value(model, alpha, snr, seed),
                            "macro_ap": value(model, alpha, snr, seed, 0.1),
                            "auc": value(model, alpha, snr, seed, 0.3),
                            "per_class_ap": per_class,
                        }
                    }
                )
    return root


def _markdown_tables(md: str) -> list[list[list[str]]]:
    """Each markdown table of a document as rows of stripped cells (header, rule, body)."""
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            assert line.endswith("|"), line
            sep = "|" if set(line) <= set("|-:") else " | "
            current.append([cell.strip() for cell in line[1:-1].split(sep)])
        elif current:
            tables.append(current)
            current = []
    return tables


@pytest.mark.parametrize("build", [build_table1, build_table2, build_table3])
def test_markdown_fits_120_columns_and_keeps_every_number(ten_seeds, build):
    table = build(load_runs(ten_seeds))
    md = to_markdown(table)
    assert max(len(line) for line in md.splitlines()) <= 120
    blocks = _markdown_tables(md)
    assert blocks
    digits = 4 if "0.0303 (10)" in md else 3
    for rows in blocks:
        assert len({len(r) for r in rows}) == 1  # every row has the header's cells
        assert all(set(cell) <= set("-:") for cell in rows[1])  # the rule row
        assert len(rows) == 2 + len(table.rows)
    cells = [cell for rows in blocks for row in rows[2:] for cell in row]
    for _, c in table.data.iterrows():  # every mean +/- std (n) and every paper value is shown
        assert format_cell(c["mean"], c["std"], int(c["n"]), digits=digits) in cells
        assert f"{c['paper']:.{digits}f}" in cells
    n_values = sum(len(columns) for _, columns in table.groups)
    shown = sum((len(rows[0]) - rows[0].index("paper") + 1) // 2 for rows in blocks)
    assert shown == n_values  # each value column once
    if build is build_table1:
        assert len(blocks) == 3 and all(f"*SNR {s} dB*" in md for s in (20, 10, 0))  # one table per SNR


def test_markdown_width_is_a_setting(ten_seeds):
    table = build_table1(load_runs(ten_seeds))
    narrow = to_markdown(table, width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert len(_markdown_tables(narrow)) > 3 and "(continued)" in narrow
    wide = to_markdown(table, width=400)
    assert len(_markdown_tables(wide)) == 1


def _latex_structure(tex: str) -> None:
    """A parser's check of a table float: balanced braces and environments, booktabs rules,
    and every tabular row with as many cells as the column spec (\\multicolumn spans counted)."""
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            assert depth >= 0, f"unbalanced }} at {i}"
    assert depth == 0, "unbalanced {"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes another environment"
    assert not stack
    assert r"\hline" not in tex
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1, rule
    spec = re.search(r"\\begin\{tabular\}\{([lcr]+)\}", tex).group(1)
    body = tex.split(r"\toprule")[1].split(r"\bottomrule")[0]
    rows = [r.strip() for r in re.split(r"\\\\", body) if r.strip() and not r.strip().startswith(r"\midrule")]
    rows = [re.sub(r"^(\\cmidrule\(lr\)\{\d+-\d+\}\s*)+", "", r).replace(r"\midrule", "").strip() for r in rows]
    for row in rows:
        if not row:
            continue
        cells = re.split(r"(?<!\\)&", row)
        spans = sum(int(m.group(1)) if (m := re.match(r"\s*\\multicolumn\{(\d+)\}", c)) else 1 for c in cells)
        assert spans == len(spec), f"{spans} cells for {len(spec)} columns: {row[:80]}"
    text_only = re.sub(r"\$[^$]*\$", "", tex)
    assert all(ord(ch) < 128 for ch in text_only), "non-ASCII outside math: needs a unicode engine"


def _floats(tex: str) -> list[str]:
    return [part + r"\end{table}" for part in tex.split(r"\end{table}") if part.strip()]


@pytest.mark.parametrize("build", [build_table1, build_table2, build_table3])
def test_latex_parses_as_booktabs_tables(results, build):
    tex = to_latex(build(load_runs(results)))
    floats = _floats(tex)
    assert len(floats) == (3 if build is build_table1 else 1)  # Table 1: one float per SNR
    for part in floats:
        _latex_structure(part)
        caption = re.search(r"\\caption\{(.*)\}\n", part).group(1)
        assert not caption.startswith("Table")  # LaTeX numbers the float itself


def _worst_case(table):
    """Every cell at its widest: ten runs, an interval, bold, not converged."""
    data = table.data.copy()
    data["mean"], data["n"], data["low"], data["high"] = 0.8888, 10, 0.8888, 0.9999
    data["best"], data["unconverged"], data["paper"] = True, 1, 0.8888
    table.data = data
    return table


@pytest.mark.parametrize("build", [build_table1, build_table2, build_table3, build_localisation_table])
def test_every_latex_float_fits_a_single_column_page(results, build):
    from bench.reporting import latex as lx
    from bench.reporting.localisation import localisation_floats
    from bench.reporting.render import latex_floats

    table = _worst_case(build(load_runs(results)))
    floats = localisation_floats(table) if build is build_localisation_table else latex_floats(table)
    for f in floats:
        assert lx.width_pt(f) <= lx.TEXT_WIDTH_PT, (f.label, lx.width_pt(f))


def test_width_model_measures_computer_modern():
    from bench.reporting import latex as lx

    assert lx.text_width_pt("0.819", size_pt=10) == pytest.approx(4 * 5.0 + 2.78, abs=0.05)  # cmr10 digits, period
    # widths pdflatex sets in an article's \\footnotesize (cmr8) and \\scriptsize (cmr7), bold extended (cmbx8)
    assert lx.text_width_pt("VGGish (dil.) AP") == pytest.approx(67.06, rel=0.015)
    assert lx.text_width_pt("0.866 (3)", bold=True) == pytest.approx(38.10, rel=0.015)
    assert lx.text_width_pt("[0.829, 0.897]", size_pt=lx.SMALL_FONT_PT) == pytest.approx(45.89, rel=0.015)


LATEX_ENGINE = shutil.which("pdflatex")


@pytest.mark.skipif(
    LATEX_ENGINE is None,
    reason="no pdflatex on this machine (Debian: apt-get install "
    "texlive-latex-base texlive-latex-recommended); the parser check ran",
)
def test_latex_compiles_and_fits_a_single_column_page(results, tmp_path):
    runs = load_runs(results)
    write_tables(runs, out_dir=tmp_path, latex=True, markdown=False)
    (tmp_path / "localisation.tex").write_text(localisation_latex(_worst_case(build_localisation_table(runs))))
    (tmp_path / "worst1.tex").write_text(to_latex(_worst_case(build_table1(runs))))
    (tmp_path / "worst3.tex").write_text(to_latex(_worst_case(build_table3(runs))))
    names = ["table1", "table2", "table3", "localisation", "worst1", "worst3"]
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n\\begin{document}\n"
        + "".join(f"\\input{{{name}.tex}}\n\\clearpage\n" for name in names)
        + "\\end{document}\n"
    )
    proc = subprocess.run(
        [LATEX_ENGINE, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing" not in log
    assert "Overfull \\hbox" not in log  # every float fits the article's single column


def test_terminal_tables_read_at_80_columns(results):
    from rich.console import Console

    from bench.reporting.localisation import print_localisation_table

    runs = load_runs(results)
    console = Console(width=80, record=True)
    print_tables([_worst_case(build(runs)) for build in (build_table1, build_table2, build_table3)], console=console)
    print_localisation_table(_worst_case(build_localisation_table(runs)), console=console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing cut short
    assert "0.889 (10)†" in text and "[0.889, 1.000]" in text


def test_cells_stuck_at_chance_get_their_own_mark_and_never_read_as_converged(tmp_path):
    root = tmp_path / "r"
    stuck = {"converged": False, "at_chance": True, "chance": 0.073, "best_epoch": 2, "epochs_run": 38}
    _run(root, "a", model="gap", alpha=0.0, snr=20.0, seed=0, micro=0.09, convergence=stuck)
    learned = {"converged": True, "at_chance": False, "chance": 0.073, "best_epoch": 40, "epochs_run": 76}
    _run(root, "b", model="gmp", alpha=0.0, snr=20.0, seed=0, micro=0.6, convergence=learned)
    table = build_table1(load_runs(root))
    gap, gmp = table.cell(0, "20:micro_ap"), table.cell(1, "20:micro_ap")
    assert gap["at_chance"] == 1 and gap["unconverged"] == 0  # its own mark, not the dagger
    assert gmp["at_chance"] == 0 and gmp["unconverged"] == 0
    md = to_markdown(table)
    assert "0.090 (1)‡" in md and "0.600 (1)" in md and "†" not in md
    assert (
        "‡ marks 3 cells" in table.caption
    )  # micro-AP, macro-AP, AUC of GAP and any("did not learn" in note for note in table.notes)
    assert r"\textsuperscript{\ddag}" in latex_escape(format_cell(0.09, None, 1, chance=1))


def test_runs_recorded_before_the_chance_rule_are_judged_from_their_predictions(tmp_path):
    from bench.reporting.report import _at_chance
    from remix.labels import EVENT_LABELS

    root = tmp_path / "r"
    for run_id, micro in (("old", 0.1), ("good", 0.5)):
        _run(root, run_id, model="gap", alpha=0.0, snr=20.0, seed=0 if run_id == "old" else 1, micro=micro)
        y = np.zeros((10, len(EVENT_LABELS)), dtype=int)
        y[:, :3] = 1  # prior 3/41
        RunStore(root / "runs", run_id).write_predictions(
            [f"c{i}" for i in range(10)], split="val", y_true=y, y_score=np.full(y.shape, 0.1), labels=EVENT_LABELS
        )
    runs = load_runs(root).set_index("run_id")
    flags = _at_chance(runs)
    assert bool(flags["old"]) and not bool(flags["good"])  # 0.1 - 0.073 < 0.1 x (1 - 0.073)


def test_report_names_the_command_for_snrs_the_papers_tables_lack(tmp_path):
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.reporting.report import other_snrs

    root = tmp_path / "r"
    _run(root, "a", model="gap", alpha=0.0, snr=20.0, seed=0, micro=0.5)
    _run(root, "b", model="gap", alpha=0.0, snr=5.0, seed=0, micro=0.3)
    _run(root, "c", model="gmp", alpha=0.0, snr=15.0, seed=0, micro=0.4)
    assert other_snrs(load_runs(root)) == [15.0, 5.0]
    result = CliRunner().invoke(app, ["report", "--results", str(root)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "runs at 15 5 dB are in the localisation table" in text
    assert "bench table gap gmp gwrp atrous_ap 2ap_aux --snr 15 5" in text


def test_latex_captions_are_short_and_the_method_goes_to_a_note(results):
    from bench.reporting import latex as lx
    from bench.reporting.render import latex_floats

    for f in latex_floats(build_table1(load_runs(results))):
        tex = lx.render(f)
        caption = re.search(r"\\caption\{(.*)\}\n", tex).group(1)
        assert len(caption.split()) <= lx.CAPTION_WORDS + 5  # LaTeX escapes add a few tokens
        assert "percentile-bootstrap" not in caption and "percentile-bootstrap" in tex  # in the note
        assert tex.index(r"\end{tabular}") < tex.index(r"{\scriptsize\raggedright") < tex.index(r"\end{table}")
    head, rest = lx.split_caption("One two. Three four five. Word " + "word " * 50 + "end.", words=5)
    assert head == "One two. Three four five." and rest.startswith("Word word")


def test_standalone_report_needs_latex_and_inputs_every_table(results):
    from typer.testing import CliRunner

    from bench.cli import app

    bad = CliRunner().invoke(app, ["report", "--standalone", "--results", str(results)])
    assert bad.exit_code == 2 and "give --latex too" in bad.output
    good = CliRunner().invoke(app, ["report", "--latex", "--standalone", "--results", str(results)])
    assert good.exit_code == 0, good.output
    doc = (results / "tables" / "report.tex").read_text()
    assert doc.startswith("%") and r"\documentclass{article}" in doc and r"\usepackage{booktabs}" in doc
    for name in ("table1", "table2", "table3", "localisation"):
        assert f"\\input{{{name}}}" in doc and (results / "tables" / f"{name}.tex").is_file()
    if LATEX_ENGINE is not None:
        proc = subprocess.run(
            [LATEX_ENGINE, "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=results / "tables",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-2000:]


def test_the_terminal_leaves_out_snrs_without_a_run_and_the_files_keep_them(tmp_path):
    """A demo trained at 20 dB only: the printed Table 1 has the 20 dB column and one line for the
    paper's other SNRs; Table 3 (0 dB only) is one line; the written tables keep every column."""
    root = tmp_path / "r"
    for model, alpha in GRID[:5]:
        _run(root, model, model=model, alpha=alpha, snr=20.0, seed=0, micro=0.7)
    runs = load_runs(root)
    console = Console(record=True, width=80)
    print_tables([build_table1(runs), build_table3(runs)], console=console)
    text = " ".join(console.export_text().split())
    assert "SNR 20 dB" in text and "0.700 (1)" in text
    assert "Table 1: weakly supervised SED across SNRs — SNR 10 dB, SNR 0 dB: no finished run (" in text
    assert "Table 3: per-class average precision at 0 dB — SNR 0 dB: no finished run; no other column" in text
    assert "┃ Bus" not in text  # no empty Table 3 drawn
    markdown = to_markdown(build_table1(runs))
    assert "SNR 10 dB" in markdown and "SNR 0 dB" in markdown  # the files keep the paper's columns
