from __future__ import annotations

import math

import pytest
import torch

from models import ModelError, sed_loss


def _manual_bce(p: torch.Tensor, y: torch.Tensor) -> float:
    terms = [
        -(yi * math.log(pi) + (1 - yi) * math.log(1 - pi)) for pi, yi in zip(p.flatten().tolist(), y.flatten().tolist())
    ]
    return sum(terms) / len(terms)


def test_values_against_manual_formulas() -> None:
    p = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.7, 0.3]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    x = torch.tensor([[[1.0, -1.0], [0.5, 2.0]], [[0.0, 0.0], [1.0, 1.0]]])
    rec = torch.tensor([[[0.0, -1.0], [0.5, 1.0]], [[1.0, 0.0], [1.0, 3.0]]])
    mse = (1 + 0 + 0 + 1 + 1 + 0 + 0 + 4) / 8
    out = sed_loss({"clip_probs": p, "reconstruction": rec}, target=y, features=x, alpha=0.1)
    assert math.isclose(float(out["bce"]), _manual_bce(p, y), rel_tol=1e-6)
    assert math.isclose(float(out["mse"]), mse, rel_tol=1e-6)
    assert math.isclose(float(out["loss"]), _manual_bce(p, y) + 0.1 * mse, rel_tol=1e-6)
    assert all(v.dtype == torch.float32 and v.dim() == 0 for v in out.values())


def test_without_reconstruction_mse_is_zero() -> None:
    p = torch.tensor([[0.9, 0.2]])
    y = torch.tensor([[1, 0]], dtype=torch.bool)
    out = sed_loss({"clip_probs": p}, target=y, features=torch.zeros(1, 3, 2), alpha=0.0)
    assert float(out["mse"]) == 0.0
    assert math.isclose(float(out["loss"]), _manual_bce(p, y.float()), rel_tol=1e-6)


def test_alpha_zero_reports_mse_without_gradient_to_the_decoder() -> None:
    rec = torch.randn(1, 3, 2, requires_grad=True)
    p = torch.tensor([[0.6, 0.3]], requires_grad=True)
    out = sed_loss(
        {"clip_probs": p, "reconstruction": rec},
        target=torch.tensor([[1.0, 0.0]]),
        features=torch.zeros(1, 3, 2),
        alpha=0.0,
    )
    assert float(out["mse"]) > 0
    out["loss"].backward()
    assert rec.grad is None and p.grad is not None


def test_bf16_inputs_give_float32_loss() -> None:
    p = torch.tensor([[0.9, 0.2]], dtype=torch.bfloat16)
    rec = torch.ones(1, 2, 2, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = sed_loss(
            {"clip_probs": p, "reconstruction": rec},
            target=torch.tensor([[1.0, 0.0]]),
            features=torch.zeros(1, 2, 2),
            alpha=1.0,
        )
    assert out["loss"].dtype == torch.float32
    assert math.isclose(float(out["mse"]), 1.0)


def test_shape_and_alpha_errors() -> None:
    p = torch.full((2, 3), 0.5)
    with pytest.raises(ModelError, match="target must have"):
        sed_loss({"clip_probs": p}, target=torch.zeros(2, 4), features=torch.zeros(2, 5, 6), alpha=0.0)
    with pytest.raises(ModelError, match="no 'reconstruction'"):
        sed_loss({"clip_probs": p}, target=torch.zeros(2, 3), features=torch.zeros(2, 5, 6), alpha=0.1)
    with pytest.raises(ModelError, match="reconstruction shape"):
        sed_loss(
            {"clip_probs": p, "reconstruction": torch.zeros(2, 5, 5)},
            target=torch.zeros(2, 3),
            features=torch.zeros(2, 5, 6),
            alpha=0.1,
        )


def test_saturated_probabilities_give_finite_loss_and_gradient() -> None:
    p = torch.tensor([[1.0, 0.0]], requires_grad=True)
    loss = sed_loss({"clip_probs": p}, target=torch.tensor([[0.0, 1.0]]), features=torch.zeros(1, 1, 1), alpha=0.0)[
        "loss"
    ]
    loss.backward()
    assert math.isclose(float(loss.detach()), 100.0)  # binary_cross_entropy clamps the log at -100
    assert torch.isfinite(p.grad).all()
