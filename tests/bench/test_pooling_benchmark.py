"""The pooling benchmark: --zoo and several --model names, the pooling table, the learned-parameter figure."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.store import load_runs
from models.mil import OPERATORS

runner = CliRunner()
TRAINED = ("gap", "autopool", "power_pool", "attention_class")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def zoo_results(tiny_corpus, tmp_path_factory):
    results = tmp_path_factory.mktemp("zoo") / "results"
    result = invoke(
        "run",
        "--model",
        ",".join(TRAINED),
        "--snr",
        20,
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
    assert f"{len(TRAINED)} trained" in result.output
    return results


def test_zoo_plans_every_operator_and_combines_with_all(tiny_corpus):
    from bench.training.grid import plan_runs

    common = dict(corpus=tiny_corpus, model=None, snrs=[20.0], alpha=None, seeds=2, preset="smoke", folds=False)
    zoo = plan_runs(all_runs=False, zoo=True, **common)
    assert [c.model for c in zoo] == list(OPERATORS) * 2  # seed 0 first, then seed 1
    assert {c.alpha for c in zoo} == {0.0} and all(not c.options for c in zoo)
    both = plan_runs(all_runs=True, zoo=True, **common)
    assert len(both) == len(zoo) + 2 * 7 and len({c.run_id for c in both}) == len(both)
    several = plan_runs(all_runs=False, **{**common, "model": "gap, power_pool", "seeds": 1})
    assert [c.model for c in several] == ["gap", "power_pool"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--zoo", "--model", "gap"], "either --all"),
        (["--zoo", "--option", "param_l2=1"], "--option apply to --model only"),
        (["--zoo", "--ablations"], "give --all too"),
        (["--model", "gap,gap"], "each once"),
        (["--model", "gap,autopool", "--option", "param_l2=0.1"], "do not apply to model 'gap'"),
    ],
)
def test_zoo_option_errors(tiny_corpus, tmp_path, args, message):
    result = invoke("run", *args, "--preset", "smoke", "--corpus", tiny_corpus, "--results", tmp_path)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()


def test_operator_runs_record_their_parameters_and_converge_by_the_same_rule(zoo_results):
    runs = load_runs(zoo_results).set_index("model")
    assert set(runs.index) == set(TRAINED)
    assert (runs["status"] == "done").all()
    assert runs["val_micro_ap"].notna().all()
    assert "options.param_l2" not in runs.columns  # a default option stays out of the run id and options


def test_pooling_table_rows_columns_intervals_and_files(zoo_results):
    from bench.reporting.pooling import POOLING_METRICS, build_pooling_table, pooling_latex, pooling_markdown

    table = build_pooling_table(load_runs(zoo_results))
    assert [label for label, _ in table.rows] == ["GAP", "AutoPool", "power", "attention (class)"]
    assert {snr for _, snr in table.rows} == {"20 dB"}
    data = table.data.set_index(["row", "column"])
    for r in range(len(table.rows)):
        for key, _ in POOLING_METRICS:
            cell = data.loc[(r, key)]
            assert cell["n"] == 1, (r, key)
            assert cell["low"] is not None and cell["low"] <= cell["high"] + 1e-12, (r, key)
    kept = data.xs("kept", level="column")
    assert np.isfinite(kept["mean"].astype(float)).all() and (kept["mean"] > 0).all()
    assert table.data.groupby("column")["best"].sum().eq(1).all()  # one best per column
    md = pooling_markdown(table)
    assert "SYNTHETIC" in md and "kept at 1.5 s" in md and "**" in md
    tex = pooling_latex(table)
    assert tex.count(r"\begin{table}") == 2 and tex.count(r"\end{tabular}") == 2  # tagging and PSDS, one SNR


def test_kept_share_is_the_probe_ratio_on_the_same_resamples(zoo_results):
    from bench.inference.probe import kept_replicates, probe_run
    from bench.reporting.intervals import run_replicates

    runs = load_runs(zoo_results)
    run_dir = runs.loc[runs["model"] == "attention_class", "run_dir"].iloc[0]
    kept, reps = kept_replicates(run_dir)
    rows = {round(r["shift_s"], 2): r["micro_ap"] for r in probe_run(run_dir, shifts_s=(0.0, 1.5))}
    assert kept == pytest.approx(list(rows.values())[1] / list(rows.values())[0])
    assert reps.shape == run_replicates(run_dir, split="val")["micro_ap"].shape  # the same resamples


def test_pooling_latex_floats_fit_a_single_column_page(zoo_results):
    from bench.reporting import latex as lx
    from bench.reporting.pooling import build_pooling_table, pooling_floats, pooling_rows

    table = build_pooling_table(load_runs(zoo_results), probe=False)
    # every system at its widest: all sixteen rows at two SNRs, ten runs, intervals, bold, a dagger
    rows = [(label, snr) for snr in ("20 dB", "0 dB") for _, _, label in pooling_rows()]
    cells = [
        dict(row=r, column=key, mean=0.8888, std=None, n=10, low=0.8888, high=0.9999, best=True, unconverged=1)
        for r in range(len(rows))
        for key in table.data["column"].unique()
    ]
    table.rows, table.data = rows, pd.DataFrame(cells)
    floats = pooling_floats(table)
    assert len(floats) == 4
    for f in floats:
        assert lx.width_pt(f) <= lx.TEXT_WIDTH_PT, (f.label, lx.width_pt(f))
        assert len(f.rows) == 16


def test_terminal_pooling_table_fits_100_columns(zoo_results):
    from rich.console import Console

    from bench.reporting.pooling import build_pooling_table, print_pooling_table

    console = Console(width=100, record=True)
    print_pooling_table(build_pooling_table(load_runs(zoo_results), probe=False), console=console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text and "attention (class)" in text


def test_report_writes_the_pooling_table_and_plot_the_parameters(zoo_results):
    result = invoke("report", "--latex", "--markdown", "--results", zoo_results)
    assert result.exit_code == 0, result.output
    assert (zoo_results / "tables" / "pooling.md").is_file() and (zoo_results / "tables" / "pooling.tex").is_file()
    result = invoke("plot", "--pool-params", "--results", zoo_results)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert re.search(r"autopool 20 dB rho [+-]\d\.\d{3} p", text) and "power_pool 20 dB" in text
    for name in ("pool_params.png", "pool_params.pdf"):
        path = zoo_results / "plots" / name
        assert path.stat().st_size > 5000
    params = pd.read_csv(zoo_results / "plots" / "pool_params.csv")
    assert set(params["model"]) == {"autopool", "power_pool"} and len(params) == 2 * 41
    known = params["mean_duration_s"].dropna()  # classes with no event in the tiny training folds: NaN
    assert len(known) >= 2 * 10 and known.between(0.1, 10).all()
    from PIL import Image

    image = np.asarray(Image.open(zoo_results / "plots" / "pool_params.png").convert("L"))
    assert image.std() > 5  # not blank


def test_pool_params_without_operator_runs_is_one_line(tmp_path, zoo_results):
    result = invoke("plot", "--pool-params", "--results", tmp_path)
    assert result.exit_code == 2
    assert "no finished run of autopool" in " ".join(result.output.split())


def test_class_durations_come_from_the_training_folds(tiny_corpus):
    from bench.corpus import read_events
    from bench.data import make_split, read_clips
    from bench.reporting.poolparams import class_durations

    durations = class_durations(tiny_corpus, snr_db=20.0, val_fold=4)
    events = read_events(tiny_corpus)
    train = set(make_split(read_clips(tiny_corpus), snr_db=20.0, val_fold=4).train)
    events = events[(events["snr_db"] == 20.0) & events["clip_id"].isin(train)]
    label = events["event_label"].iloc[0]
    at = events[events["event_label"] == label]
    assert durations[label] == pytest.approx(float((at["offset_s"] - at["onset_s"]).mean()))


def test_a_piped_run_logs_one_line_per_finished_run(zoo_results, tiny_corpus):
    from bench.store import load_runs as load

    result = invoke(
        "run",
        "--model",
        "mean_pool",
        "--snr",
        20,
        "--seeds",
        1,
        "--preset",
        "smoke",
        "--corpus",
        tiny_corpus,
        "--results",
        zoo_results,
    )
    assert result.exit_code == 0, result.output
    runs = load(zoo_results)
    run_id = runs.loc[runs["model"] == "mean_pool", "run_id"].iloc[0]
    lines = [line for line in result.output.splitlines() if line.startswith("run 1/1 ")]
    assert len(lines) == 1, result.output
    assert re.fullmatch(
        rf"run 1/1 {run_id} mean_pool 20 dB seed 0: 1 epochs, best val micro-AP \d\.\d{{3}} \(epoch 1\), \d+ s",
        lines[0],
    )


@pytest.fixture(scope="module")
def ladder_results(zoo_results, tmp_path_factory):
    """The zoo's smoke runs relabelled as runs at the resolution rungs (a fixture of the table's
    structure: the numbers are the smoke runs')."""
    import json
    import shutil

    root = tmp_path_factory.mktemp("ladder") / "results"
    runs = load_runs(zoo_results).set_index("model")
    plan = {  # (source run's model) -> (model, preset) it stands for
        "gap": ("gap", "cpu-full"),
        "autopool": ("gap", "cpu-full-32"),
        "power_pool": ("power_pool", "cpu-full"),
        "attention_class": ("power_pool", "cpu-full-64"),
    }
    for source, (model, preset) in plan.items():
        src = Path(runs.loc[source, "run_dir"])
        dst = root / "runs" / f"{model}-{preset}"
        shutil.copytree(src, dst)
        config = json.loads((dst / "config.json").read_text())
        config.update(model=model, preset=preset, run_id=dst.name)
        (dst / "config.json").write_text(json.dumps(config))
    return root


def test_resolution_table_rows_rungs_and_paired_differences(ladder_results):
    from bench.reporting.ladder import DIFF, build_resolution_table, resolution_latex, resolution_markdown

    table = build_resolution_table(load_runs(ladder_results), snr_db=20.0)
    assert [row[0] for row in table.rows] == ["GAP", "power"]
    gap_128, gap_32 = table.cell(0, "micro_ap:cpu-full"), table.cell(0, "micro_ap:cpu-full-32")
    assert gap_128["n"] == 1 and gap_32["n"] == 1 and table.cell(0, "micro_ap:cpu-full-64")["n"] == 0
    diff = table.cell(0, f"micro_ap:{DIFF}")
    assert diff["mean"] == pytest.approx(gap_32["mean"] - gap_128["mean"])
    assert diff["low"] <= diff["high"] and 0 <= diff["p"] <= 1
    power = table.cell(1, f"micro_ap:{DIFF}")  # power: 128 and 64 ms, so finest = 64 ms
    assert power["mean"] == pytest.approx(
        table.cell(1, "micro_ap:cpu-full-64")["mean"] - table.cell(1, "micro_ap:cpu-full")["mean"]
    )
    md = resolution_markdown(table)
    assert "128 ms" in md and "32 ms" in md and "finest - coarsest" in md and "SYNTHETIC" in md
    assert resolution_latex(table).count(r"\begin{table}") == 3
    from bench.reporting import latex as lx
    from bench.reporting.ladder import resolution_floats

    widest = table.data.copy()  # every cell at its widest: ten runs, bold, both marks, a long difference
    cells = ~widest["column"].str.endswith(DIFF)
    widest.loc[cells, ["mean", "low", "high", "n", "best", "unconverged", "at_chance"]] = [
        0.8888,
        0.8,
        0.9999,
        10,
        True,
        1,
        1,
    ]
    widest.loc[~cells, ["mean", "low", "high", "p", "n"]] = [-0.888, -0.999, -0.777, 0.001, 1]
    table.data = widest
    for f in resolution_floats(table):
        assert lx.width_pt(f) <= lx.TEXT_WIDTH_PT, (f.label, lx.width_pt(f))


def test_resolution_table_from_the_command_line(ladder_results, tmp_path):
    result = invoke("table", "--resolution", "--snr", 20, "--results", ladder_results)
    assert result.exit_code == 0, result.output
    assert (ladder_results / "tables" / "resolution.md").is_file()
    assert (ladder_results / "tables" / "resolution.tex").is_file()
    bad = invoke("table", "--resolution", "gap", "--results", ladder_results)
    assert bad.exit_code == 2 and "takes no systems" in bad.output
    empty = invoke("table", "--resolution", "--results", tmp_path)
    assert empty.exit_code == 2 and "no runs of the presets" in " ".join(empty.output.split())
    (ladder_results / "tables" / "resolution.md").unlink()
    elsewhere = invoke("table", "--resolution", "--snr", 5, "--results", ladder_results)
    said = " ".join(elsewhere.output.split())
    assert elsewhere.exit_code == 2 and "no finished runs of these presets at 5 dB" in said
    assert not (ladder_results / "tables" / "resolution.md").exists()  # no empty table written
    two = invoke("table", "--resolution", "--snr", 0, 20, "--results", ladder_results)
    assert two.exit_code == 2 and "takes one --snr, found 2" in " ".join(two.output.split())
    bare = invoke("table", "--resolution", 20, "--results", ladder_results)
    assert bare.exit_code == 2 and "SNRs go after --snr" in " ".join(bare.output.split())
    word = invoke("table", "--resolution", "--snr", "x", "--results", ladder_results)
    assert word.exit_code == 2 and "see bench table --help" in " ".join(word.output.split())


def test_compare_by_class_lists_every_class_with_holm_corrected_p(zoo_results):
    result = invoke("compare", "autopool", "power_pool", "--snr", 20, "--by-class", "--results", zoo_results)
    assert result.exit_code == 0, result.output
    assert "classes differ (Holm-corrected p ≤ 0.05" in " ".join(result.output.split())
    table = pd.read_csv(zoo_results / "tables" / "compare_by_class.csv")
    assert {"class", "difference", "low", "high", "p", "p_holm", "differs"} <= set(table.columns)
    assert 1 <= len(table) <= 41
    scored = table.dropna(subset=["p"])
    assert (scored["p_holm"] >= scored["p"] - 1e-12).all() and (scored["p_holm"] <= 1).all()


def test_cost_counts_parameters_and_macs_of_a_clip_at_the_presets_resolution():
    import models
    from bench.reporting.cost import model_cost

    cost = model_cost("gap", preset="cpu-full")
    assert (cost["frames"], cost["mel_bands"]) == (77, 16)
    net = models.build("gap", n_mels=16, n_frames=77, width=0.25)
    assert cost["params"] == sum(p.numel() for p in net.parameters())
    positions = 77 * 16  # every 3x3 convolution keeps the full map; widths 8-8, 16-16, 32-32, 32-32 at 1/4
    pairs = [(1, 8), (8, 8), (8, 16), (16, 16), (16, 32), (32, 32), (32, 32), (32, 32)]
    expected = sum(positions * cin * cout * 9 for cin, cout in pairs) + positions * 32 * 41  # + the class 1x1
    assert cost["macs"] == expected
    assert model_cost("gap", preset="cpu-full-32")["macs"] == expected * 311 * 16 // positions
    assert model_cost("attention_time", preset="cpu-full")["macs"] == expected + positions * 32 * 41


def test_cost_command_writes_its_table(zoo_results):
    result = invoke("cost", "--preset", "smoke", "--results", zoo_results)
    assert result.exit_code == 0, result.output
    text = (zoo_results / "tables" / "cost.md").read_text()
    assert "| autopool | " in text and "| gap | " in text and "SYNTHETIC" in text
    bad = invoke("cost", "--model", "vgg", "--results", zoo_results)
    assert bad.exit_code == 2 and "unknown model 'vgg'" in bad.output


def test_no_interval_of_the_pooling_table_excludes_its_estimate(zoo_results):
    from bench.reporting.pooling import build_pooling_table

    data = build_pooling_table(load_runs(zoo_results)).data
    cells = data[data["low"].notna() & data["mean"].notna()]
    assert len(cells) > 20
    assert ((cells["low"] <= cells["mean"] + 1e-12) & (cells["mean"] <= cells["high"] + 1e-12)).all()


def test_evaluate_tagging_defers_localisation_to_bench_localise(tiny_corpus, tmp_path):
    import json

    args = ["run", "--model", "gap", "--snr", 20, "--seeds", 1, "--preset", "smoke", "--device", "cpu"]
    args += ["--corpus", tiny_corpus, "--results", tmp_path, "--evaluate", "tagging"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in (tmp_path / "runs").iterdir() if (p / "config.json").is_file())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["val"]["micro_ap"] > 0 and "localisation" not in metrics["val"]
    assert not (run_dir / "postprocess.json").exists() and (run_dir / "frame_probs_val.npy").is_file()
    again = invoke(*args[:-2], "--evaluate", "full")
    assert again.exit_code == 0 and "0 trained, 1 skipped" in again.output  # done is done
    localised = invoke("localise", "--results", tmp_path)
    assert localised.exit_code == 0, localised.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "psds1" in metrics["val"]["localisation"] and (run_dir / "postprocess.json").is_file()
    bad = invoke(*args[:-2], "--evaluate", "some")
    assert bad.exit_code == 2 and "--evaluate takes full or tagging" in bad.output
