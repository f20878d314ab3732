"""`bench list`: one row per run, filters, table and JSON output."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.reporting.listing import DETAIL_COLUMNS, LIST_COLUMNS, format_duration, list_runs, runs_to_rich
from bench.store import RunStore

runner = CliRunner()


def _run(
    root, run_id, *, model, snr, seed=0, preset="cpu", status="done", ap=None, epochs=(), corpus="corpus", **config
):
    store = RunStore(root / "runs", run_id)
    store.write_config(
        {
            "model": model,
            "alpha": 0.001 if model == "2ap_aux" else 0.0,
            "snr_db": snr,
            "seed": seed,
            "preset": preset,
            "val_fold": 4,
            "corpus_dir": f"/data/{corpus}",
            "corpus_synthetic": True,
            "corpus_fingerprint": "abc123",
            **config,
        }
    )
    store.write_status(status, "non-finite training loss" if status == "failed" else None)
    if ap is not None:
        store.write_metrics({"best_epoch": 3, "best_val_micro_ap": ap, "val": {"micro_ap": ap}})
    if epochs:
        store.write_curves(
            [{"epoch": e + 1, "train_loss": 1.0, "val_micro_ap": v, "seconds": 10.0} for e, v in enumerate(epochs)]
        )
    return store


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    _run(root, "a1", model="gap", snr=0.0, ap=0.25, epochs=(0.1, 0.2, 0.25, 0.2))
    _run(root, "a2", model="gap", snr=20.0, seed=1, ap=0.4, epochs=(0.3, 0.4))
    _run(root, "b1", model="2ap_aux", snr=0.0, status="running", epochs=(0.1, 0.3, 0.2))
    _run(root, "c1", model="gmp", snr=10.0, preset="smoke", status="failed")
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "config.json").write_text("{not json")
    return root


def test_every_run_is_listed_with_best_epoch_ap_and_wall_time(results):
    frame = list_runs(results)
    assert sorted(frame["run_id"]) == ["a1", "a2", "b1", "broken", "c1"]
    row = frame.set_index("run_id")
    assert row.loc["a1", "best_epoch"] == 3 and row.loc["a1", "val_micro_ap"] == pytest.approx(0.25)
    assert row.loc["a1", "wall_s"] == pytest.approx(40.0) and row.loc["a1", "corpus"] == "corpus (stand-in)"
    assert row.loc["b1", "status"] == "running"
    assert row.loc["b1", "best_epoch"] == 2 and row.loc["b1", "val_micro_ap"] == pytest.approx(0.3)  # from curves
    assert row.loc["c1", "status"] == "failed" and row.loc["c1", "reason"] == "non-finite training loss"
    assert row.loc["broken", "status"] == "failed" and "not valid JSON" in row.loc["broken", "reason"]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"model": "gap"}, ["a1", "a2"]),
        ({"snr_db": 0}, ["b1", "a1"]),
        ({"preset": "smoke"}, ["c1"]),
        ({"model": "gap", "snr_db": 20.0}, ["a2"]),
        ({"status": "done"}, ["a1", "a2"]),
        ({"model": "nope"}, []),
    ],
)
def test_filters(results, filters, expected):
    assert list_runs(results, **filters)["run_id"].tolist() == expected


def test_missing_results_folder(tmp_path):
    with pytest.raises(BenchError, match="no results folder"):
        list_runs(tmp_path / "nowhere")
    assert list_runs(tmp_path).empty  # a folder without runs: an empty list


def test_rich_table_fits_a_terminal(results):
    console = Console(record=True, width=100)
    console.print(runs_to_rich(list_runs(results).query("run_id != 'broken'"), title="runs"))
    text = console.export_text()
    for expected in ("a1", "2ap_aux", "20 dB", "running", "failed", "0.2500", "40.0s", "corpus: corpus (stand-in)"):
        assert expected in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert format_duration(75.2) == "1m15s" and format_duration(3725) == "1h02m" and format_duration(None) == "—"


def test_cli_table_json_and_errors(results, tmp_path):
    table = runner.invoke(app, ["list", "--results", str(results)])
    assert table.exit_code == 0, table.output
    assert all(run_id in table.output for run_id in ("a1", "a2", "b1", "c1", "broken"))
    # piped (as here): tab-separated, every column whole
    lines = table.output.splitlines()
    assert lines[0].split("\t") == list(LIST_COLUMNS)
    assert all(len(line.split("\t")) == len(LIST_COLUMNS) for line in lines[1:])
    assert "corpus (stand-in)" in table.output and "…" not in table.output
    as_json = runner.invoke(app, ["list", "--results", str(results), "--json", "--model", "gap", "--snr", "0"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.output)
    assert [r["run_id"] for r in records] == ["a1"]
    assert records[0]["val_micro_ap"] == pytest.approx(0.25) and records[0]["corpus_dir"] == "/data/corpus"
    none = runner.invoke(app, ["list", "--results", str(results), "--preset", "paper"])
    assert none.exit_code == 0 and "no runs" in none.output
    missing = runner.invoke(app, ["list", "--results", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output and "no results folder" in missing.output


def test_detail_says_how_each_run_was_trained(results):
    store = _run(
        results,
        "d1",
        model="2ap_aux",
        snr=20.0,
        epochs=(0.5, 0.6, 0.55, 0.58),
        options={"time_layer": "conv"},
        mixing="online",
        augment="shift",
    )
    store.write_metrics(
        {"best_epoch": 2, "best_val_micro_ap": 0.6, "convergence": {"epochs_run": 4, "cycles": 2, "converged": False}}
    )
    row = list_runs(results).set_index("run_id")
    assert row.loc["d1", "options"] == "time_layer=conv" and row.loc["a1", "options"] == ""
    assert (row.loc["d1", "mixing"], row.loc["d1", "augment"]) == ("online", "shift")
    assert row.loc["d1", "epochs_run"] == 4 and row.loc["d1", "cycles"] == 2 and row.loc["d1", "converged"] is False
    assert row.loc["d1", "median_epoch_s"] == pytest.approx(10.0)
    assert row.loc["b1", "epochs_run"] == 3 and row.loc["b1", "converged"] is None  # not evaluated yet: its curves

    piped = runner.invoke(app, ["list", "--results", str(results), "--detail", "--model", "2ap_aux", "--snr", "20"])
    header, line = piped.output.splitlines()
    assert header.split("\t") == [*LIST_COLUMNS, *DETAIL_COLUMNS]
    assert line.split("\t")[len(LIST_COLUMNS) :] == ["time_layer=conv", "online", "shift", "4", "2", "False", "10"]
    console = Console(record=True, width=200)
    console.print(runs_to_rich(list_runs(results, model="2ap_aux"), detail=True))
    text = console.export_text()
    assert "time_layer=conv" in text and "s/epoch" in text and "10.00" in text


def test_training_columns_that_differ_are_shown_without_detail(results):
    _run(results, "f1", model="gap", snr=20.0, seed=1, ap=0.5, mixing="online")
    plain = runner.invoke(app, ["list", "--results", str(results), "--model", "gap", "--snr", "20"])
    header, *lines = plain.output.splitlines()
    assert header.split("\t") == [*LIST_COLUMNS, "mixing"]  # options and augment are the same for both
    assert sorted(line.split("\t")[-1] for line in lines) == ["fixed", "online"]
    console = Console(record=True, width=120)
    console.print(runs_to_rich(list_runs(results, model="gap", snr_db=20.0)))
    text = console.export_text()
    assert "mixing" in text and "online" in text
    same = runner.invoke(app, ["list", "--results", str(results), "--model", "gap", "--snr", "0"])
    assert same.output.splitlines()[0].split("\t") == list(LIST_COLUMNS)  # nothing differs: nothing added


def test_detail_never_crops_a_number_on_an_80_column_terminal(results):
    _run(results, "e1", model="2ap_aux", snr=20.0, ap=0.0795, epochs=(0.05, 0.0795), options={"time_layer": "conv"})
    console = Console(record=True, width=80)
    console.print(runs_to_rich(list_runs(results).query("run_id != 'broken'"), detail=True))
    text = console.export_text()
    assert "0.0795" in text and "10.00" in text  # the AP and the seconds per epoch, whole
    assert "e1" in text and "a1" in text
