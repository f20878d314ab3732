"""Small sizes shared by the model tests (tiny tensors keep the suite fast)."""

from __future__ import annotations

import pytest
import torch

SMALL = {"n_classes": 5, "n_mels": 16, "n_frames": 32, "width": 0.125}


@pytest.fixture
def small() -> dict:
    return dict(SMALL)


@pytest.fixture
def features() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, SMALL["n_frames"], SMALL["n_mels"], generator=g)


@pytest.fixture
def target() -> torch.Tensor:
    return torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0]])
