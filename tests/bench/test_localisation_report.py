"""The localisation table from fabricated runs, and the detection figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from bench.errors import BenchError
from bench.reporting.localisation import (
    build_localisation_table,
    localisation_latex,
    localisation_markdown,
    print_localisation_table,
    write_localisation_table,
)
from bench.reporting.plots import plot_detections
from bench.reporting.table import SYNTHETIC_WARNING
from bench.store import RunStore, load_runs

METRICS = ("psds1", "psds2", "event_f1", "segment_f1", "frame_f1")


def loc_value(model: str, snr: float, seed: int, k: int) -> float:
    base = {"gap": 0.10, "atrous_ap": 0.20, "2ap_aux": 0.30}[model]
    return round(base + snr / 1000 + seed / 100 + k / 10, 6)


@pytest.fixture
def results(tmp_path):
    """3 seeds of three systems at 20 and 0 dB with localisation metrics; one failed run; one
    run of an older version (no localisation metrics)."""
    root = tmp_path / "results"
    for seed in range(3):
        for snr in (20.0, 0.0):
            for model, alpha in (("gap", 0.0), ("atrous_ap", 0.0), ("2ap_aux", 0.001)):
                store = RunStore(root / "runs", f"{model}-{snr:g}-{seed}")
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
                if (model, snr, seed) == ("gap", 0.0, 2):
                    store.write_status("failed", "diverged")
                    continue
                store.write_status("done")
                loc = {m: loc_value(model, snr, seed, k) for k, m in enumerate(METRICS)}
                loc.update(n_classes_scored=35 + seed, classes_left_out=["Bus"] * (6 - seed))
                metrics = {"val": {"micro_ap": 0.5, "localisation": loc}, "best_epoch": 1}
                if (model, snr, seed) == ("atrous_ap", 20.0, 1):
                    metrics["val"].pop("localisation")
                store.write_metrics(metrics)
    return root


def test_cells_are_means_over_seeds_and_the_caption_says_what(results):
    table = build_localisation_table(load_runs(results))
    assert table.rows[0] == ("VGGish GAP", "20 dB") and ("VGGish GAP", "0 dB") in table.rows
    assert len(table.rows) == 6  # rows only for systems with finished runs
    r = table.rows.index(("VGGish 2AP +aux, α = 0.001", "0 dB"))
    cell = table.cell(r, "psds2")
    values = [loc_value("2ap_aux", 0.0, s, 1) for s in range(3)]
    assert cell["n"] == 3 and cell["mean"] == pytest.approx(np.mean(values))
    assert cell["std"] == pytest.approx(np.std(values, ddof=1))
    assert table.cell(table.rows.index(("VGGish GAP", "0 dB")), "frame_f1")["n"] == 2  # the failed run is out
    assert table.cell(table.rows.index(("VGGish (dil.) AP", "20 dB")), "psds1")["n"] == 2  # one has no metrics
    assert table.synthetic and "4-6 of 41 classes had no reference event" in table.caption
    assert "optimistic" in table.caption and "PSDS1 and PSDS2" in table.caption
    assert "tag-only" in table.caption and "broadcast over every frame" in table.caption


def test_markdown_latex_and_terminal(results, tmp_path):
    table = build_localisation_table(load_runs(results))
    md = localisation_markdown(table)
    headers = (  # one Markdown table per part, none wider than the row cells and five values
        "| System | SNR | PSDS1 | PSDS2 | tag-only PSDS1 | tag-only PSDS2 |",
        "| System | SNR | n.o. PSDS1 | tag-only n.o. PSDS1 | m.f.i. PSDS1 |",
        "| System | SNR | seg. pAUC | seg. pAUC (McC.) |",
        "| System | SNR | event F1 | segment F1 | frame F1 |",
    )
    assert SYNTHETIC_WARNING in md and all(header in md for header in headers)
    mean = np.mean([loc_value("gap", 20.0, s, 0) for s in range(3)])
    assert f"{mean:.3f} ± " in md
    tex = localisation_latex(table)
    psds, variants, pauc, f1 = tex.split(r"\end{table}")[:4]  # PSDS and its control, PSDS1 variants, pAUC, F1
    for part, n_values in ((psds, 4), (variants, 3), (pauc, 2), (f1, 3)):
        for command in (r"\begin{tabular}{l" + "r" * n_values + "}", r"\toprule", r"\midrule", r"\bottomrule"):
            assert command in part
        body = part.split(r"\midrule")[1].split(r"\bottomrule")[0]
        rows = [line for line in body.strip().splitlines() if "&" in line]
        assert rows and all(line.count("&") == n_values for line in rows)
        assert r"\multicolumn{" + str(n_values + 1) + r"}{l}{\textit{20 dB}}" in part  # rows grouped by SNR
    assert "clip tags alone" in psds and r"$\alpha$" in tex and r"\textbf{SYNTHETIC" in tex
    console = Console(record=True, width=160)
    print_localisation_table(table, console=console)
    text = console.export_text()
    assert "PSDS1" in text and SYNTHETIC_WARNING in text
    paths = write_localisation_table(load_runs(results), out_dir=tmp_path / "tables")
    assert sorted(p.name for p in paths) == ["localisation.md", "localisation.tex"]


def test_test_split_and_no_runs(results, tmp_path):
    with pytest.raises(BenchError, match="test-split metrics"):
        build_localisation_table(load_runs(results), split="test")
    empty = build_localisation_table(load_runs(tmp_path / "none"))
    assert empty.rows == [] and "—" in localisation_markdown(empty)


def test_detection_figure(tmp_path):
    features = np.random.default_rng(0).normal(size=(78, 16))
    reference = pd.DataFrame(
        {"filename": "a.flac", "onset": [0.5, 3.0], "offset": [2.0, 4.0], "event_label": ["Bus", "Meow"]}
    )
    detected = pd.DataFrame(
        {"filename": "a.flac", "onset": [0.6, 6.0], "offset": [1.9, 7.0], "event_label": ["Bus", "Gong"]}
    )
    path = plot_detections(
        features=features,
        reference=reference,
        detected=detected,
        path=tmp_path / "d.png",
        hop_s=0.128,
        frame_start_s=-0.032,
        scores={"Bus": np.linspace(0, 1, 78)},
        title="t",
    )
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    none = plot_detections(
        features=features,
        reference=reference.iloc[:0],
        detected=detected.iloc[:0],
        path=tmp_path / "e.png",
        hop_s=0.128,
    )
    assert none.is_file()
    with pytest.raises(BenchError, match="lack the columns"):
        plot_detections(
            features=features,
            reference=reference.drop(columns="onset"),
            detected=detected,
            path=tmp_path / "f.png",
            hop_s=0.128,
        )
