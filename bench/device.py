"""Which torch device a command uses (``auto``, ``cpu`` or ``cuda[:N]``) and in which precision
it trains (``auto``, ``bf16`` or ``fp32``), each resolved in one place."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from bench.errors import BenchError


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when present, else CPU; ``"cuda"`` without a GPU -> BenchError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BenchError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise BenchError(f"unknown device {device!r}; use auto, cpu or cuda")


PRECISIONS = ("auto", "bf16", "fp32")
"""What ``bench run --precision`` takes."""

_CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""x86 CPU flags (``/proc/cpuinfo``) of native bf16 arithmetic, which oneDNN's bf16 convolutions use."""


def check_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`PRECISIONS`; BenchError naming them otherwise."""
    if precision not in PRECISIONS:
        raise BenchError(f"--precision takes {', '.join(PRECISIONS)}, found {precision!r}")
    return precision


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when this CPU computes bf16 natively (AVX512-BF16 or AMX on x86 Linux).

    Elsewhere (other systems, ARM, x86 without those flags) bf16 is emulated and slower than
    float32 on a CPU, so ``--precision auto`` keeps float32 there.
    """
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_CPU_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether a run on ``device`` trains and validates under bf16 autocast.

    ``"auto"``: where the device computes bf16 natively (a CUDA GPU with bf16, a CPU with
    AVX512-BF16 or AMX); ``"bf16"``: always (BenchError on a CUDA GPU without bf16);
    ``"fp32"``: never. Under autocast the convolutions run in bf16 while every pooling head,
    the loss and the optimiser's weights stay float32 (:mod:`models.pooling`, :mod:`models.loss`).
    """
    check_precision(precision)
    if precision == "fp32":
        return False
    cuda = device.type == "cuda"
    native = torch.cuda.is_bf16_supported() if cuda else device.type == "cpu" and cpu_has_native_bf16()
    if precision == "bf16" and cuda and not native:
        raise BenchError("--precision bf16 was asked for but this GPU has no bf16; use --precision fp32 or auto")
    return native or precision == "bf16"
