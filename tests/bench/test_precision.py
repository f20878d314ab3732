"""Training precision (`bench run --precision`): bf16 autocast where the device computes it natively,
recorded in each run, and the paired comparison of one system trained in two precisions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import bench.device
from bench.cli import app
from bench.device import cpu_has_native_bf16, use_bf16
from bench.errors import BenchError
from bench.evaluation.bootstrap import paired_difference
from bench.training.options import PRECISION_ENV, RunOptions

runner = CliRunner()

_FLAGS = "flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512bw"


@pytest.mark.parametrize(
    ("extra", "native"), [("", False), (" avx512_bf16 avx512_vnni", True), (" amx_bf16 amx_tile", True)]
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, monkeypatch, extra, native):
    monkeypatch.setattr(bench.device.platform, "system", lambda: "Linux")
    monkeypatch.setattr(bench.device.platform, "machine", lambda: "x86_64")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\n{_FLAGS}{extra}\n\nprocessor\t: 1\n")
    assert cpu_has_native_bf16(cpuinfo) is native
    assert cpu_has_native_bf16(tmp_path / "missing") is False
    monkeypatch.setattr(bench.device.platform, "machine", lambda: "aarch64")
    assert cpu_has_native_bf16(cpuinfo) is False


@pytest.mark.parametrize("native", [False, True])
def test_auto_uses_bf16_on_a_cpu_only_where_it_is_native(monkeypatch, native):
    monkeypatch.setattr(bench.device, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert use_bf16("auto", cpu) is native
    assert use_bf16("bf16", cpu) is True
    assert use_bf16("fp32", cpu) is False
    with pytest.raises(BenchError, match="--precision takes auto, bf16, fp32, found 'half'"):
        use_bf16("half", cpu)


def test_precision_travels_in_the_run_options(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert RunOptions.from_environment().precision == "auto"
    monkeypatch.setenv(PRECISION_ENV, "FP32")
    assert RunOptions.from_environment().precision == "fp32"
    assert RunOptions.from_environment(precision="bf16").precision == "bf16"
    with pytest.raises(BenchError, match="--precision takes"):
        RunOptions(precision="fp16")


def test_an_unknown_precision_is_one_line(tiny_corpus, tmp_path):
    result = runner.invoke(
        app,
        ["run", "--model", "gap", "--snr", "0", "--preset", "smoke", "--corpus", str(tiny_corpus)]
        + ["--results", str(tmp_path / "r"), "--precision", "fp8"],
    )
    assert result.exit_code == 2
    assert "--precision takes auto, bf16, fp32, found 'fp8'" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "r" / "runs").exists()


def _train(corpus, results, precision):
    return runner.invoke(
        app,
        ["run", "--model", "gap", "--snr", "0", "--seeds", "1", "--preset", "smoke", "--device", "cpu"]
        + ["--corpus", str(corpus), "--results", str(results), "--precision", precision, "--evaluate", "tagging"],
    )


def test_runs_train_in_the_precision_asked_and_compare_across_folders(tiny_corpus, tmp_path):
    for precision in ("fp32", "bf16"):
        result = _train(tiny_corpus, tmp_path / precision, precision)
        assert result.exit_code == 0, result.output
    configs = {p: json.loads(next((tmp_path / p / "runs").glob("*/config.json")).read_text()) for p in ("fp32", "bf16")}
    assert configs["fp32"]["run_id"] == configs["bf16"]["run_id"]  # how a run is computed, not what it is
    assert (configs["fp32"]["training"]["amp_bf16"], configs["bf16"]["training"]["amp_bf16"]) == (False, True)
    assert configs["bf16"]["training"]["precision"] == "bf16"
    probs = {
        p: np.load(next((tmp_path / p / "runs").glob("*/frame_probs_val.npy"))).astype(np.float64)
        for p in ("fp32", "bf16")
    }
    assert probs["fp32"].shape == probs["bf16"].shape
    assert not np.array_equal(probs["fp32"], probs["bf16"])  # autocast really ran the convolutions in bf16
    result = runner.invoke(
        app,
        ["compare", "gap", "gap", "--snr", "0", "--results", str(tmp_path / "bf16")]
        + ["--against", str(tmp_path / "fp32"), "--json"],
    )
    assert result.exit_code == 0, result.output
    rows = {row["metric"]: row for row in json.loads(result.output)}
    ap = rows["micro_ap"]
    assert ap["n_first"] == ap["n_second"] == 1
    assert ap["difference"] == pytest.approx(ap["first"] - ap["second"])
    assert ap["low"] <= ap["difference"] <= ap["high"]
    missing = runner.invoke(
        app,
        ["compare", "gap", "gap", "--snr", "0", "--results", str(tmp_path / "bf16")]
        + [
            "--against",
            str(tmp_path / "nothing"),
        ],
    )
    assert missing.exit_code == 2 and "no runs under --against" in missing.output


def test_seed_pairs_are_resampled_together_when_the_runs_correspond():
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 0.2, size=(3, 1)) + rng.normal(0.0, 0.01, size=(3, 400))  # seeds differ a lot
    shifted = base - 0.05  # the same seeds, each 0.05 lower
    paired = paired_difference(base, shifted, paired_runs=True)
    independent = paired_difference(base, shifted)
    assert paired["low"] == pytest.approx(0.05) and paired["high"] == pytest.approx(0.05)
    assert independent["high"] - independent["low"] > 0.2  # seed spread counted twice
    with pytest.raises(BenchError, match="as many runs"):
        paired_difference(base, shifted[:2], paired_runs=True)
