"""benchmarks/gpu_check.py: its peak table, and a clean skip without a GPU."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name, peak",
    [
        ("NVIDIA H200", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA L40S", 362.0),
        ("NVIDIA L4", 121.0),
        ("NVIDIA A10G", 70.0),
        ("Tesla T4", None),
    ],
)
def test_peak_rates(name, peak):
    gpu_check = _module()
    assert gpu_check.peak_tflops(name, None) == peak
    assert gpu_check.peak_tflops(name, 100.0) == 100.0  # --peak-tflops wins


def test_without_a_gpu_it_says_so_and_exits_0(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the check itself would run (about 5 minutes)")
    log = SCRIPT.with_name("log.tsv")
    before = log.read_bytes() if log.exists() else b""
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU" in done.stdout and "skipped" in done.stdout
    assert (log.read_bytes() if log.exists() else b"") == before  # nothing logged
