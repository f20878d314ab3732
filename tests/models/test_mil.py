"""The weak-label pooling operators against their closed forms, limits and gradients."""

from __future__ import annotations

import math

import pytest
import torch

import models
from models import ModelError, mil
from models.mil import OPERATORS, FramePoolingHead

B, T, C = 3, 20, 5


@pytest.fixture
def y() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(B, T, C, generator=g, dtype=torch.float64)


@pytest.fixture
def logits() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return 3 * torch.randn(B, T, C, generator=g, dtype=torch.float64)


def _loop(y: torch.Tensor, clip_of) -> torch.Tensor:
    """Reference: the clip value of every (clip, class) computed from its T frame values alone."""
    out = torch.empty(y.shape[0], y.shape[2], dtype=y.dtype)
    for b in range(y.shape[0]):
        for c in range(y.shape[2]):
            out[b, c] = clip_of([float(v) for v in y[b, :, c]], b, c)
    return out


def test_the_catalogue_has_the_eleven_names_each_registered() -> None:
    assert list(OPERATORS) == [
        "max_pool",
        "mean_pool",
        "linear_softmax",
        "exp_softmax",
        "autopool",
        "autopool_cap",
        "autopool_rap",
        "power_pool",
        "noisy_or",
        "attention_time",
        "attention_class",
    ]
    for name in OPERATORS:
        assert name in models.available()
        assert models.REGISTRY[name].encoder == "vgg" and not models.REGISTRY[name].decoder


def test_fixed_operators_match_their_closed_forms(y: torch.Tensor) -> None:
    closed = {
        "max_pool": lambda v, b, c: max(v),
        "mean_pool": lambda v, b, c: sum(v) / len(v),
        "linear_softmax": lambda v, b, c: sum(x * x for x in v) / sum(v),
        "exp_softmax": lambda v, b, c: sum(x * math.exp(x) for x in v) / sum(math.exp(x) for x in v),
        "noisy_or": lambda v, b, c: 1 - math.prod(1 - x for x in v),
    }
    for name, form in closed.items():
        got, _ = mil.pool(name, y)
        torch.testing.assert_close(got, _loop(y, form), atol=1e-5, rtol=0, msg=name)


def test_autopool_and_power_pool_match_their_closed_forms(y: torch.Tensor) -> None:
    alpha = torch.tensor([-2.0, 0.0, 0.5, 3.0, 10.0], dtype=torch.float64)
    n = torch.tensor([0.0, 0.5, 1.0, 2.0, 7.0], dtype=torch.float64)

    def auto(v, b, c):
        w = [math.exp(float(alpha[c]) * x) for x in v]
        return sum(x * wi for x, wi in zip(v, w)) / sum(w)

    def power(v, b, c):
        k = float(n[c])
        return sum(x ** (k + 1) for x in v) / sum(x**k for x in v)

    for name in ("autopool", "autopool_cap", "autopool_rap"):
        torch.testing.assert_close(mil.pool(name, y, parameter=alpha)[0], _loop(y, auto), atol=1e-5, rtol=0)
    torch.testing.assert_close(mil.power_pool(y, n), _loop(y, power), atol=1e-5, rtol=0)


def test_attention_operators_match_their_closed_forms(y: torch.Tensor, logits: torch.Tensor) -> None:
    def over_time(v, b, c):
        a = [float(x) for x in logits[b, :, c]]
        w = [math.exp(x) for x in a]
        return sum(x * wi for x, wi in zip(v, w)) / sum(w)

    def over_classes(v, b, c):
        s = []
        for t in range(T):
            row = [math.exp(float(x)) for x in logits[b, t]]
            s.append(row[c] / sum(row))
        return sum(x * si for x, si in zip(v, s)) / sum(s)

    clip, w = mil.attention_time(y, logits)
    torch.testing.assert_close(clip, _loop(y, over_time), atol=1e-5, rtol=0)
    torch.testing.assert_close(w.sum(dim=1), torch.ones(B, C, dtype=y.dtype))  # over time
    clip, s = mil.attention_class(y, logits)
    torch.testing.assert_close(clip, _loop(y, over_classes), atol=1e-5, rtol=0)
    torch.testing.assert_close(s.sum(dim=2), torch.ones(B, T, dtype=y.dtype), atol=1e-6, rtol=0)  # over classes


def test_limits(y: torch.Tensor) -> None:
    zeros = torch.zeros(C, dtype=y.dtype)
    torch.testing.assert_close(mil.autopool(y, zeros), mil.mean_pool(y))
    big = mil.autopool(y, torch.full((C,), 2000.0, dtype=y.dtype))
    torch.testing.assert_close(big, mil.max_pool(y), atol=1e-3, rtol=0)
    torch.testing.assert_close(mil.power_pool(y, torch.ones(C, dtype=y.dtype)), mil.linear_softmax(y))
    torch.testing.assert_close(mil.power_pool(y, zeros), mil.mean_pool(y))
    assert (mil.noisy_or(y) >= mil.max_pool(y) - 1e-12).all()


def test_every_weighted_operator_lies_between_the_frames_min_and_max(y: torch.Tensor, logits: torch.Tensor) -> None:
    lo, hi = y.amin(dim=1) - 1e-9, y.amax(dim=1) + 1e-9
    params = {"alpha": torch.linspace(-5, 20, C, dtype=y.dtype), "n": torch.linspace(0, 9, C, dtype=y.dtype)}
    for name, op in OPERATORS.items():
        if name == "noisy_or":
            continue
        param = params[op.parameter] if op.parameter else None
        clip, _ = mil.pool(name, y, parameter=param, attention_logits=logits)
        assert ((clip >= lo) & (clip <= hi)).all(), name


def test_saturated_frames_pool_to_a_probability_bce_accepts() -> None:
    # float32 frames at exactly 1.0 under softmax weights that sum to 1 + a few ulps: the clip
    # must still lie in [0, 1] (a training run at lr 1e-2 met this and BCE refused the batch)
    torch.manual_seed(0)
    y = torch.ones(64, 77, 41)
    logits = 5 * torch.randn(64, 77, 41)
    params = {"alpha": torch.full((41,), 3.0), "n": torch.full((41,), 3.0)}
    for name, op in OPERATORS.items():
        param = params[op.parameter] if op.parameter else None
        clip, _ = mil.pool(name, y, parameter=param, attention_logits=logits)
        assert ((clip >= 0) & (clip <= 1)).all(), name
        torch.nn.functional.binary_cross_entropy(clip, torch.ones_like(clip))


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_gradients_are_finite_at_zero_and_one(value: float, logits: torch.Tensor) -> None:
    for name, op in OPERATORS.items():
        y = torch.full((B, T, C), value, dtype=torch.float64)
        y[:, 0] = 0.5  # one frame elsewhere, so every case meets a boundary frame
        y.requires_grad_(True)
        param = torch.full((C,), 2.0, dtype=torch.float64, requires_grad=True) if op.parameter else None
        att = logits.clone().requires_grad_(True) if op.attention else None
        clip, _ = mil.pool(name, y, parameter=param, attention_logits=att)
        clip.sum().backward()
        grads = [y.grad] + ([param.grad] if param is not None else []) + ([att.grad] if att is not None else [])
        for g in grads:
            assert g is not None and torch.isfinite(g).all(), name
    all_zero = torch.zeros(B, T, C, dtype=torch.float64, requires_grad=True)
    for name in ("linear_softmax", "power_pool"):
        out = mil.pool(name, all_zero, parameter=torch.ones(C, dtype=torch.float64))[0]
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(all_zero.grad).all()


def test_nonneg_projects_forward_and_passes_gradient_back() -> None:
    p = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = mil.nonneg(p)
    assert out.tolist() == [0.0, 0.0, 2.0]
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert p.grad.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("name", list(OPERATORS))
def test_head_pools_exactly_the_frame_probabilities_it_returns(name: str) -> None:
    torch.manual_seed(0)
    model = models.build(name, n_mels=8, n_frames=12, width=0.125, seed=0, prior=3 / 41)
    for p in model.head.parameters():  # move attention and parameters off their starts
        p.data.add_(0.3 * torch.randn_like(p))
    x = torch.randn(2, 12, 8)
    out = model(x)
    y = out["frame_probs"]  # (B, T, C)
    assert y.shape == (2, 12, 41) and out["clip_probs"].shape == (2, 41)
    head = model.head
    assert isinstance(head, FramePoolingHead)
    a = None
    if head.attention is not None:
        a = head.attention(model.encoder(x.unsqueeze(1))).mean(dim=-1).transpose(1, 2)
    expected, _ = mil.pool(name, y, parameter=head.pool_parameter(), attention_logits=a)
    torch.testing.assert_close(out["clip_probs"], expected)
    torch.testing.assert_close(y, torch.sigmoid(out["tf_map"].logit().mean(dim=-1)).transpose(1, 2), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["autopool", "autopool_cap", "autopool_rap", "power_pool"])
def test_learned_parameters_start_where_their_papers_start_and_receive_gradients(name: str) -> None:
    model = models.build(name, n_mels=8, n_frames=12, width=0.125, seed=0)
    head = model.head
    assert isinstance(head, FramePoolingHead) and head.pool_param is not None
    assert head.pool_param.detach().tolist() == [OPERATORS[name].start] * 41
    x = torch.randn(4, 12, 8)
    target = (torch.rand(4, 41) < 0.1).float()
    out = model(x)
    models.sed_loss(out, target=target, features=x, alpha=0.0)["loss"].backward()
    assert head.pool_param.grad is not None and head.pool_param.grad.abs().sum() > 0


def test_rap_penalty_enters_the_loss_with_its_weight() -> None:
    model = models.build("autopool_rap", n_mels=8, n_frames=12, width=0.125, seed=0)
    assert model.config.param_l2 == 1e-4
    head = model.head
    assert isinstance(head, FramePoolingHead) and head.pool_param is not None
    head.pool_param.data.fill_(3.0)
    x, target = torch.randn(2, 12, 8), torch.zeros(2, 41)
    out = model(x)
    losses = models.sed_loss(out, target=target, features=x, alpha=0.0)
    torch.testing.assert_close(out["param_penalty"], torch.tensor(1e-4 * 41 * 9.0))
    torch.testing.assert_close(losses["loss"], losses["bce"] + out["param_penalty"])
    plain = models.build("autopool", n_mels=8, n_frames=12, width=0.125, seed=0)
    assert "param_penalty" not in plain(x) and plain.config.param_l2 == 0.0


def test_param_l2_is_an_option_of_rap_and_power_only() -> None:
    assert models.make_config("power_pool").param_l2 == 0.0
    assert models.make_config("power_pool", param_l2=1e-3).param_l2 == 1e-3
    with pytest.raises(ModelError, match="do not apply to model 'autopool'"):
        models.make_config("autopool", param_l2=1e-3)
    with pytest.raises(ModelError, match="param_l2 must be a finite number >= 0"):
        models.make_config("autopool_rap", param_l2=-1.0)
    cfg = models.make_config("power_pool", param_l2=1e-3)
    assert models.ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_constrained_parameters_are_used_nonnegative() -> None:
    model = models.build("autopool_cap", n_mels=8, n_frames=12, width=0.125, seed=0)
    head = model.head
    assert isinstance(head, FramePoolingHead) and head.pool_param is not None
    head.pool_param.data.fill_(-4.0)
    used = head.pool_parameter()
    assert used is not None and (used == 0).all()
    x = torch.randn(2, 12, 8)
    torch.testing.assert_close(model(x)["clip_probs"], model(x)["frame_probs"].mean(dim=1))  # alpha 0: the mean


def test_unknown_operator_names_the_known_ones() -> None:
    with pytest.raises(ModelError, match="unknown pooling operator 'softmax'.*linear_softmax"):
        mil.get_operator("softmax")
    with pytest.raises(ModelError, match="needs its per-class parameter"):
        mil.pool("autopool", torch.rand(1, 3, 2))
