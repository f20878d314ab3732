"""Which torch device a command uses: ``auto``, ``cpu`` or ``cuda[:N]``, resolved in one place."""

from __future__ import annotations

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
