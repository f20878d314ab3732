"""The `bench` command line, end to end on the tiny corpus, and its user errors."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from bench.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    results = tmp_path_factory.mktemp("cli") / "results"
    result = invoke(
        "run",
        "--model",
        "gap",
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
    return results, result


def test_run_trains_and_report_writes_latex(trained):
    results, result = trained
    assert result.exit_code == 0, result.output
    assert "1 trained" in result.output
    runs = [p for p in (results / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1 and (runs[0] / "metrics.json").is_file()
    report = invoke("report", "--latex", "--results", results)
    assert report.exit_code == 0, report.output
    assert (results / "tables" / "table1.tex").is_file()
    assert "GAP" in report.output


def test_rerun_skips_finished_runs(trained, tiny_corpus):
    results, _ = trained
    again = invoke(
        "run",
        "--model",
        "gap",
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
    assert again.exit_code == 0 and "0 trained, 1 skipped" in again.output


def test_plot_writes_figure2_and_curves(trained):
    results, _ = trained
    run_id = next(p.name for p in (results / "runs").iterdir() if p.is_dir())
    result = invoke("plot", "--run", run_id, "--results", results)
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in (results / "plots").glob("*.png"))
    assert len(pngs) == 3 and pngs[0].startswith("curves_") and pngs[1].startswith("detections_")
    assert pngs[2].startswith("figure2_")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "known models: gap, gmp"),
        (["--model", "gap", "--seeds", 0], "--seeds must be at least 1"),
        (["--model", "gap", "--snr", 5], "it has 0, 20 dB"),
        (["--model", "gap", "--alpha", 0.1], "alpha must be 0"),
        (["--all", "--model", "gap"], "either --all"),
        ([], "either --all"),
        (["--model", "gap", "--preset", "huge"], "unknown preset"),
    ],
)
def test_run_option_errors(tiny_corpus, tmp_path, args, message):
    result = invoke("run", *args, "--corpus", tiny_corpus, "--results", tmp_path)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()


def test_missing_corpus_and_missing_manifest(tmp_path):
    result = invoke("run", "--all", "--corpus", tmp_path / "nowhere", "--results", tmp_path)
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = invoke("run", "--all", "--corpus", tmp_path / "empty", "--results", tmp_path)
    assert result.exit_code == 2 and "not a corpus built by remix" in " ".join(result.output.split())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu(tiny_corpus, tmp_path):
    result = invoke("run", "--model", "gap", "--device", "cuda", "--corpus", tiny_corpus, "--results", tmp_path)
    assert result.exit_code == 2 and "no CUDA GPU" in result.output


def test_report_and_plot_errors(tmp_path):
    result = invoke("report", "--results", tmp_path)
    assert result.exit_code == 2 and "no runs" in result.output
    result = invoke("plot", "--run", "abc", "--results", tmp_path)
    assert result.exit_code == 2 and "no run 'abc'" in result.output


def test_runs_are_pinned_to_their_corpus(tiny_corpus):
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips
    from bench.training.grid import plan_runs

    configs = plan_runs(
        corpus=tiny_corpus, all_runs=True, model=None, snrs=None, alpha=None, seeds=1, preset="smoke", folds=False
    )
    assert {cfg.corpus for cfg in configs} == {corpus_fingerprint(read_clips(tiny_corpus))}


def test_localise_redoes_a_runs_localisation_from_its_stored_outputs(trained_2ap, tmp_path):
    import json
    import shutil

    results, run_id = trained_2ap
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    run_dir = copy / "runs" / run_id
    (run_dir / "postprocess.json").unlink()
    shutil.rmtree(run_dir / "dcase")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("val", "test"):
        metrics.get(split, {}).pop("localisation", None)
    metrics.pop("postprocessing", None)
    (run_dir / "metrics.json").write_text(json.dumps(metrics))

    result = runner.invoke(app, ["localise", "--results", str(copy), "--run", run_id])
    assert result.exit_code == 0, result.output
    assert "1 run(s) localised, 0 failed" in result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "psds1" in metrics["val"]["localisation"] and "postprocessing" in metrics
    assert (run_dir / "postprocess.json").is_file() and (run_dir / "dcase" / "val" / "detections.tsv").is_file()

    result = runner.invoke(app, ["localise", "--results", str(copy), "--run", "0000000000"])
    assert result.exit_code == 2 and "no finished run 0000000000" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["localise", "--results", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "nowhere does not exist" in result.output


def test_snr_takes_several_values_as_remix_build_does(tiny_corpus, tmp_path):
    common = ["--model", "gap", "--seeds", 1, "--preset", "smoke", "--device", "cpu", "--corpus", tiny_corpus]
    result = invoke("run", "--snr", 0, 20, *common, "--results", tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 trained" in result.output
    again = invoke("run", "--snr", "0,20", *common, "--results", tmp_path)
    assert again.exit_code == 0 and "2 skipped" in again.output
    bad = invoke("run", "--snr", 0, "loud", *common, "--results", tmp_path)
    assert bad.exit_code == 2 and "expected SNR values in dB" in bad.output
    localised = invoke("localise", "--snr", 0, 20, "--results", tmp_path)
    assert localised.exit_code == 0 and "2 run(s) localised" in localised.output


def test_deterministic_runs_give_identical_numbers(tiny_corpus, tmp_path, monkeypatch):
    import json

    import torch

    from bench.store import RunStore

    monkeypatch.setenv("SEDREMIX_DETERMINISTIC", "0")  # restored (unset) after the test
    common = ["--model", "2ap_aux", "--snr", 0, "--seeds", 1, "--preset", "smoke", "--device", "cpu"]
    runs = []
    for name in ("a", "b"):
        result = invoke("run", *common, "--corpus", tiny_corpus, "--results", tmp_path / name, "--deterministic")
        assert result.exit_code == 0, result.output
        (run,) = [p for p in (tmp_path / name / "runs").iterdir() if p.is_dir()]
        runs.append(RunStore(tmp_path / name / "runs", run.name))
    torch.use_deterministic_algorithms(False)  # the switch is process-wide; leave the other tests as they were
    a, b = (json.loads((r.path / "metrics.json").read_text()) for r in runs)
    assert a["val"]["micro_ap"] == b["val"]["micro_ap"] and a["val"]["localisation"] == b["val"]["localisation"]
    assert runs[0].read_curves()["train_loss"].tolist() == runs[1].read_curves()["train_loss"].tolist()
    training = runs[0].read_config()["training"]
    assert training["deterministic"] is True and training["threads"] == 1
