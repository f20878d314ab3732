"""Intervals from real run folders: every evaluated run stores its resamples, the tables
carry intervals, the localisation has its tagging-only control, and `bench compare` pairs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.reporting.intervals import System, compare_systems, run_replicates
from bench.reporting.localisation import build_localisation_table
from bench.reporting.report import build_table1
from bench.store import load_runs

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def two_systems(tiny_corpus, tmp_path_factory):
    """Smoke runs of GAP and GMP at 0 dB on the tiny corpus."""
    results = tmp_path_factory.mktemp("intervals") / "results"
    for model in ("gap", "gmp"):
        result = invoke(
            "run",
            "--model",
            model,
            "--snr",
            0,
            "--seeds",
            1,
            "--preset",
            "smoke",
            "--device",
            "cpu",
            "--corpus",
            tiny_corpus,
            "--results",
            results,
        )
        assert result.exit_code == 0, result.output
    return results


def test_runs_store_resamples_and_the_tagging_control(two_systems):
    runs = load_runs(two_systems)
    assert len(runs) == 2
    for run_dir in runs["run_dir"]:
        with open(f"{run_dir}/metrics.json") as f:
            metrics = json.load(f)
        loc = metrics["val"]["localisation"]
        control = loc["tagging_only"]
        assert set(control) >= {"psds1", "psds2"}
        stored = pd.read_parquet(f"{run_dir}/dcase/val/bootstrap.parquet")
        assert {"psds1", "psds2", "event_f1", "segment_f1", "frame_f1", "tagging_psds1", "tagging_psds2"} <= set(
            stored.columns
        )
        assert len(stored) == loc["n_boot"] == 100
        for name in ("event_f1", "frame_f1"):
            low, high = loc["intervals"][name]
            assert low <= high
        reps = run_replicates(run_dir, split="val")
        assert len(reps["micro_ap"]) == 1000 and len(reps["psds1"]) == 100


def test_tables_carry_intervals(two_systems):
    runs = load_runs(two_systems)
    table = build_table1(runs)
    row = [r for r, spec in enumerate(table.rows) if spec[1] == "GAP"][0]
    cell = table.cell(row, "0:micro_ap")
    assert cell["n"] == 1 and cell["low"] is not None and cell["low"] <= cell["high"]
    assert "95 % interval" in table.caption and "bold" in table.caption
    best = table.data[(table.data["column"] == "0:micro_ap") & (table.data["n"] > 0)]
    assert best["best"].sum() == 1  # the higher of GAP and GMP
    loc = build_localisation_table(runs)
    assert "tag-only" in loc.caption
    assert any(loc.cell(r, "tagging_only_psds2")["n"] == 1 for r in range(len(loc.rows)))


def test_compare_pairs_two_systems_and_itself(two_systems):
    runs = load_runs(two_systems)
    same = compare_systems(runs, System("gap", 0.0), System("gap", 0.0))
    assert (same["difference"] == 0).all() and (same["low"] == 0).all() and (same["p"] == 1).all()
    diff = compare_systems(runs, System("gap", 0.0), System("gmp", 0.0))
    micro = diff.set_index("metric").loc["micro_ap"]
    assert micro["low"] <= micro["high"] and 0 < micro["p"] <= 1
    assert micro["difference"] == pytest.approx(micro["first"] - micro["second"])
    result = invoke("compare", "gap", "gmp", "--snr", 0, "--results", two_systems)
    assert result.exit_code == 0, result.output
    assert "micro_ap" in result.output and "95 % interval" in result.output
    as_json = invoke("compare", "gap", "gmp,snr=0", "--snr", 0, "--results", two_systems, "--json")
    rows = json.loads(as_json.output)
    assert {r["metric"] for r in rows} >= {"micro_ap", "macro_ap", "psds1", "psds2"}


def test_compare_refuses_what_cannot_be_paired(two_systems):
    result = invoke("compare", "gap", "gwrp", "--snr", 0, "--results", two_systems)
    assert result.exit_code == 2 and "no finished run of gwrp" in result.output
    result = invoke("compare", "gap", "gmp", "--results", two_systems)
    assert result.exit_code == 2 and "no SNR" in result.output
    with pytest.raises(BenchError, match="MODEL"):
        System.parse(",alpha=1", snr_db=0, preset=None)


def test_system_parse_reads_alpha_snr_and_options():
    s = System.parse("2ap_aux,alpha=0.1,time_layer=conv,snr=10", snr_db=20, preset="cpu-full")
    assert (s.model, s.alpha, s.snr_db, s.options, s.preset) == (
        "2ap_aux",
        0.1,
        10.0,
        (("time_layer", "conv"),),
        "cpu-full",
    )
    assert "α=0.1" in s.label and "10 dB" in s.label
    assert np.isclose(System.parse("gap", snr_db=0, preset=None).snr_db, 0.0)


def test_tables_keep_runs_on_fresh_mixtures_apart(two_systems, tmp_path):
    import shutil

    runs_dir = tmp_path / "results" / "runs"
    shutil.copytree(two_systems / "runs", runs_dir)
    gap = [
        p for p in runs_dir.iterdir() if p.is_dir() and json.loads((p / "config.json").read_text())["model"] == "gap"
    ][0]
    online = runs_dir / "online-copy"
    shutil.copytree(gap, online)
    config = json.loads((online / "config.json").read_text())
    config.update(run_id="online-copy", mixing="online")
    (online / "config.json").write_text(json.dumps(config))
    runs = load_runs(tmp_path / "results")
    table = build_table1(runs)
    row = [r for r, spec in enumerate(table.rows) if spec[1] == "GAP"][0]
    assert table.cell(row, "0:micro_ap")["n"] == 1  # the run on fresh mixtures is not a GAP run of the table
    assert len(System.parse("gap,mixing=online", snr_db=0, preset=None).runs(runs)) == 1


def test_systems_table_sets_variants_against_the_fixed_corpus(two_systems, tmp_path):
    import shutil

    runs_dir = tmp_path / "results" / "runs"
    shutil.copytree(two_systems / "runs", runs_dir)
    gap = [
        p for p in runs_dir.iterdir() if p.is_dir() and json.loads((p / "config.json").read_text())["model"] == "gap"
    ][0]
    online = runs_dir / "online-copy"
    shutil.copytree(gap, online)
    config = json.loads((online / "config.json").read_text())
    config.update(run_id="online-copy", mixing="online")
    (online / "config.json").write_text(json.dumps(config))
    result = invoke("table", "gap", "gap,mixing=online", "gmp", "--snr", 0, "--results", tmp_path / "results")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "results" / "tables" / "systems.csv")
    gap_row = frame[frame["system"] == "gap"].iloc[0]
    online_row = frame[frame["system"] == "gap mixing=online"].iloc[0]
    assert online_row["mean"] == pytest.approx(gap_row["mean"]) and gap_row["low"] <= gap_row["mean"] <= gap_row["high"]
    assert online_row["difference"] == pytest.approx(0.0) and online_row["p"] == pytest.approx(1.0)  # itself
    assert pd.isna(frame[frame["system"] == "gmp"].iloc[0].get("difference"))
    text = (tmp_path / "results" / "tables" / "systems.md").read_text()
    assert "| gap mixing=online |" in text and "Δ 0 dB" in text and "+0.000 [" in text
    for args, expected in (
        (("20",), "SNRs go after --snr"),
        (("gap", "--name", "../x"), "plain file name"),
        (("gap", "--split", "train"), "val or test"),
        (("nosuch", "--snr", "0"), "unknown model 'nosuch'"),
        (("2ap", "--snr", "0"), "no finished run"),
    ):
        bad = invoke("table", *args, "--results", tmp_path / "results")
        assert bad.exit_code == 2 and expected in " ".join(bad.output.split()), bad.output


def test_system_figures_psd_roc_classes_and_metric_against_snr(two_systems):
    import pandas as pd
    from PIL import Image

    from bench.reporting.figures import system_curves

    args = ["plot", "--system", "gap", "--system", "gmp", "--results", two_systems]
    result = invoke(*args, "--psd-roc", "--classes", "--vs-snr", "--metric", "micro_ap", "--snr", 0)
    assert result.exit_code == 0, result.output
    plots = two_systems / "plots"
    for stem in ("psd_roc_0dB", "classes_0dB", "vs_snr_micro_ap"):
        png, pdf = plots / f"{stem}.png", plots / f"{stem}.pdf"
        assert png.stat().st_size > 5000 and pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5000, stem
        assert np.asarray(Image.open(png).convert("L")).std() > 5, stem  # not blank
    roc = pd.read_csv(plots / "psd_roc_0dB.csv")
    assert set(roc["system"]) == {"gap 0 dB", "gmp 0 dB"}
    assert (roc["band_low"] <= roc["band_high"] + 1e-12).all() and roc["etpr"].between(0, 1).all()
    classes = pd.read_csv(plots / "classes_0dB.csv")
    assert len(classes) == 2 * 41 and (classes["ap_low"].dropna() <= classes["ap_high"].dropna()).all()
    # the curve's own PSDS is the runs' PSDS1, and the class figure's AP the runs' class AP
    runs = load_runs(two_systems)
    curves = system_curves(runs, ["gap"], snr_db=0.0)
    gap = runs[runs["model"] == "gap"]
    assert curves["gap 0 dB"]["psds"] == pytest.approx(float(gap["val_localisation_psds1"].mean()), abs=1e-9)
    bus = classes[(classes["system"] == "gap 0 dB") & (classes["class"] == "Bus")]["ap"].iloc[0]
    assert bus == pytest.approx(float(gap["val_ap_Bus"].mean()), nan_ok=True)
    one = invoke(*args, "--psd-roc")
    assert one.exit_code == 2 and "drawn at one SNR" in one.output
    unknown = invoke("plot", "--psd-roc", "--system", "nope", "--snr", 0, "--results", two_systems)
    assert unknown.exit_code == 2 and "unknown model 'nope'" in unknown.output
    absent = invoke("plot", "--psd-roc", "--system", "gwrp", "--snr", 0, "--results", two_systems)
    assert absent.exit_code == 2 and "no finished run of gwrp 0 dB" in absent.output


def _copied_run(two_systems, dest, *, model: str, new_id: str, **changes):
    """A copy of one of the two systems' runs under ``dest/runs/new_id``, its config.json changed."""
    import shutil

    runs = load_runs(two_systems)
    source = runs[runs["model"] == model]["run_dir"].iloc[0]
    target = dest / "runs" / new_id
    shutil.copytree(source, target)
    record = json.loads((target / "config.json").read_text())
    record.update(run_id=new_id, **changes)
    (target / "config.json").write_text(json.dumps(record))
    return target


def test_runs_of_two_corpora_are_refused_or_chosen_in_every_aggregate(two_systems, tmp_path):
    """E1: table, compare, the figures and probe group by corpus in one place (bench.corpus.one_corpus)."""
    import shutil

    results = tmp_path / "mixed"
    runs = load_runs(two_systems)
    own = str(runs["corpus_fingerprint"].iloc[0])
    for _, run in runs.iterrows():
        shutil.copytree(run["run_dir"], results / "runs" / run["run_id"])
    _copied_run(two_systems, results, model="gap", new_id="othercorpus", corpus_fingerprint="0123456789ab")
    for args in (
        ["table", "gap", "--snr", 0],
        ["compare", "gap", "gmp", "--snr", 0],
        ["plot", "--vs-snr", "--system", "gap"],
        ["probe"],
    ):
        result = invoke(*args, "--results", results)
        assert result.exit_code == 2, (args, result.output)
        assert "trained on 2 corpora" in " ".join(result.output.split()), args
    chosen = invoke("table", f"gap,corpus={own[:6]}", "--snr", 0, "--results", results)
    assert chosen.exit_code == 0, chosen.output
    assert "(1)" in chosen.output  # one run: the copy on the other corpus is not averaged in


def test_probe_and_plot_refuse_a_corpus_that_changed_since_training(two_systems, tmp_path):
    """E5: bench probe and bench plot --run check the corpus as evaluation does."""
    results = tmp_path / "changed"
    _copied_run(two_systems, results, model="gap", new_id="changedrun", corpus_manifest_digest="0" * 16)
    for args in (["probe"], ["plot", "--run", "changedrun"]):
        result = invoke(*args, "--results", results)
        assert result.exit_code == 2, (args, result.output)
        assert "changed since run changedrun was trained" in " ".join(result.output.split()), args


def test_probe_on_another_corpus_must_hold_the_same_clips(two_systems, fabricated_corpus):
    """E6: --on NAME=DIR is a paired comparison; a corpus of other clips is refused."""
    result = invoke("probe", "--on", f"other={fabricated_corpus}", "--model", "gap", "--results", two_systems)
    assert result.exit_code == 2, result.output
    assert "does not hold the run's validation clips" in " ".join(result.output.split())
