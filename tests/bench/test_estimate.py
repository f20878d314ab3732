"""The CPU estimate of a GPU schedule: step timing, the grid's total, and the --yes gate."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.config import RunConfig
from bench.presets import get_preset
from bench.training import estimate


def test_step_seconds_times_a_real_step_and_the_grid_multiplies_by_the_schedule():
    preset = get_preset("smoke")
    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, preset="smoke")
    seconds = estimate.step_seconds(config, preset, n_frames=20)
    assert 0 < seconds < 60
    configs = [config, RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="smoke")]
    result = estimate.estimate_grid(configs, preset, n_train=480, n_frames=20, jobs=2)
    steps = -(-48 // preset.batch_size) * preset.epochs  # smoke draws 48 training clips
    assert set(result.per_step) == {"gap"}
    assert result.seconds == pytest.approx(result.per_step["gap"] * steps * 2 / 2)
    assert "of training" in result.text()


def test_paper_preset_on_a_cpu_needs_yes_beyond_an_hour(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(estimate, "step_seconds", lambda *a, **k: 300.0)  # 50 epochs of one step: over 4 h
    args = ["run", "--model", "gap", "--snr", "20", "--seeds", "1", "--preset", "paper", "--device", "cpu"]
    args += ["--corpus", str(tiny_corpus), "--results", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "--preset paper is a GPU schedule" in text and "pass --yes" in text and "Traceback" not in text
    assert not (tmp_path / "runs").exists()


def test_a_short_estimate_starts_without_yes(tiny_corpus, monkeypatch):
    monkeypatch.setattr(estimate, "step_seconds", lambda *a, **k: 1e-4)
    printed: list[str] = []
    configs = [RunConfig(model="gap", alpha=0.0, snr_db=20.0, preset="paper")]
    estimate.check_cpu_estimate(configs, get_preset("paper"), corpus=tiny_corpus, jobs=1, yes=False, say=printed.append)
    assert any("1 run(s) on this CPU: about 0 min" in line for line in printed)
