"""The position probe: shifted validation clips scored with a run's best checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.config import RunConfig
from bench.inference.probe import probe_run, probe_runs, shift_frames, summarise, to_markdown
from bench.store import RunStore, load_runs
from bench.training.loop import train_run


def test_shift_frames_moves_content_later_and_wraps():
    x = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    y = shift_frames(x, 2)
    np.testing.assert_array_equal(y[:, 2:], x[:, :3])
    np.testing.assert_array_equal(y[:, :2], x[:, 3:])
    np.testing.assert_array_equal(shift_frames(x, 0), x)


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    results = tmp_path_factory.mktemp("probe")
    for model in ("gap", "2ap"):
        cfg = RunConfig(model=model, alpha=0.0, snr_db=20.0, seed=0, preset="smoke")
        train_run(cfg, corpus_dir=tiny_corpus, results_dir=results, device="cpu")
    return results


def test_unshifted_probe_reproduces_the_runs_validation_score(trained, tiny_corpus):
    runs = load_runs(trained)
    for _, run in runs.iterrows():
        rows = probe_run(run["run_dir"], shifts_s=(0.0, 1.0), random_corpus=tiny_corpus)
        metrics = RunStore(trained / "runs", run["run_id"]).read_metrics()
        assert rows[0]["frames"] == 0 and rows[0]["micro_ap"] == pytest.approx(metrics["val"]["micro_ap"], abs=1e-6)
        assert rows[1]["frames"] == round(1.0 / 0.032) and 0.0 < rows[1]["micro_ap"] <= 1.0
        assert rows[2]["probe"] == "random recipe"  # here the same corpus: the same score as no shift
        assert rows[2]["micro_ap"] == pytest.approx(rows[0]["micro_ap"], abs=1e-6)


def test_summary_and_table(trained):
    raw = probe_runs(load_runs(trained), shifts_s=(0.0, 0.5))
    summary = summarise(raw)
    assert set(summary["model"]) == {"gap", "2ap"}
    assert (summary.loc[summary["shift_s"] == 0.0, "retained"] == 1.0).all()
    md = to_markdown(summary, synthetic=True)
    assert "SYNTHETIC" in md and "| gap | 20 dB |" in md and "shift 0.51 s" in md  # 16 frames of 32 ms


def test_probe_command_writes_its_table(trained):
    result = CliRunner().invoke(
        app, ["probe", "--results", str(trained), "--model", "gap", "--shift", "0", "--shift", "2.5"]
    )
    assert result.exit_code == 0, result.output
    assert (trained / "tables" / "probe.md").is_file() and "shift 2.50 s" in result.output
    bad = CliRunner().invoke(app, ["probe", "--results", str(trained), "--model", "gmp"])
    assert bad.exit_code == 2 and "no runs" in bad.output and "Traceback" not in bad.output


def test_plot_curves_overlays_every_run(trained):
    result = CliRunner().invoke(app, ["plot", "--curves", "--results", str(trained)])
    assert result.exit_code == 0, result.output
    assert (trained / "plots" / "curves_all.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["plot", "--results", str(trained)])
    assert bad.exit_code == 2 and "--run" in bad.output


@pytest.fixture(scope="module")
def reverberant_twin(tiny_corpus, tmp_path_factory):
    """The tiny corpus's clips built again with every event in a small simulated room."""
    import json

    from remix.build import RunOptions, SourceFolders, build_corpus
    from remix.recipe import RecipeOptions
    from remix.render import RenderSettings
    from remix.reverb import ReverbOptions

    info = json.loads((tiny_corpus / "manifest" / "corpus.json").read_text())
    if "sources" not in info:
        pytest.fail("the tiny corpus was not built by remix (it cannot be built again with rooms)")
    out = tmp_path_factory.mktemp("twin") / "corpus"
    build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=6, test_clips=4),
        render=RenderSettings(snrs=tuple(info["snrs"])),
        seed=int(info["seed"]),
        sources=SourceFolders(Path(info["sources"]["scenes_dir"]), Path(info["sources"]["events_dir"])),
        run=RunOptions(workers=1, progress=False),
        reverb=ReverbOptions(source="simulated", rt60_s=(0.4, 0.6), room_floor_m=(3.0, 5.0), room_height_m=(2.5, 3.0)),
    )
    return out


def test_probe_scores_other_corpora_by_name(trained, tiny_corpus, reverberant_twin):
    result = CliRunner().invoke(
        app,
        ["probe", "--results", str(trained), "--shift", "0", "--table", "reverb"]
        + ["--on", f"reverberant={reverberant_twin}", "--on", f"same={tiny_corpus}"],
    )
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(trained / "tables" / "reverb.csv")
    for _, run in raw.groupby("run_id"):
        score = run.set_index("probe")["micro_ap"]
        assert score["same"] == pytest.approx(score["shift"], abs=1e-6)  # the run's own clips again
        assert 0.0 < score["reverberant"] <= 1.0 and score["reverberant"] != pytest.approx(score["shift"], abs=1e-6)
    assert "| reverberant | same |" in (trained / "tables" / "reverb.md").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--on", "reverberant"], "NAME=DIR"),
        (["--on", "x=/no/such/corpus"], "no manifest"),
        (["--on", "shift=."], "is taken"),
        (["--table", "../elsewhere"], "plain file name"),
    ],
)
def test_probe_refuses_bad_corpora_and_names(trained, args, expected):
    result = CliRunner().invoke(app, ["probe", "--results", str(trained), *args])
    assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output
