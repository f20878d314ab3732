from __future__ import annotations

import math

import pytest
import torch

from models.errors import ModelError
from models.pooling import (
    AtrousAttentionHead,
    GlobalPooling,
    TwoStepAttentionPooling,
    attention_pool_2d,
    attention_step,
    global_pool,
    rank_pool,
    rank_weights,
)


def _maps(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_rank_weights_are_powers_of_the_decay() -> None:
    w = rank_weights(5, decay=0.5)
    assert w.dtype == torch.float32
    assert torch.allclose(w, torch.tensor([1.0, 0.5, 0.25, 0.125, 0.0625]))
    long = rank_weights(311 * 64, decay=0.9998)
    assert math.isclose(float(long[-1]), 0.9998 ** (311 * 64 - 1), rel_tol=1e-6)


def test_rank_pool_matches_direct_formula() -> None:
    x = _maps(2, 3, 7)
    d = 0.8
    got = rank_pool(x, decay=d)
    for b in range(2):
        for c in range(3):
            values = sorted(x[b, c].tolist(), reverse=True)
            num = sum(v * d**i for i, v in enumerate(values))
            den = sum(d**i for i in range(len(values)))
            assert math.isclose(float(got[b, c]), num / den, rel_tol=1e-5)


def test_rank_pool_limits_are_mean_and_max() -> None:
    x = _maps(3, 10)
    assert torch.allclose(rank_pool(x, decay=1.0), x.mean(-1), atol=1e-6)
    assert torch.allclose(rank_pool(x, decay=0.0), x.amax(-1), atol=1e-6)


@pytest.mark.parametrize("kind", ["gap", "gmp", "gwrp"])
def test_global_pool_clip_and_frame(kind: str) -> None:
    maps = _maps(2, 3, 4, 5)
    clip, frame = global_pool(maps, kind=kind, decay=0.9)
    assert clip.shape == (2, 3) and frame.shape == (2, 3, 4)
    for b in range(2):
        for c in range(3):
            flat = maps[b, c].flatten()
            if kind == "gap":
                ref_clip, ref_frame = flat.mean(), maps[b, c].mean(-1)
            elif kind == "gmp":
                ref_clip, ref_frame = flat.max(), maps[b, c].max(-1).values
            else:
                s = flat.sort(descending=True).values
                w = torch.tensor([0.9**i for i in range(flat.numel())])
                ref_clip = (s * w).sum() / w.sum()
                sf = maps[b, c].sort(-1, descending=True).values
                wf = torch.tensor([0.9**i for i in range(5)])
                ref_frame = (sf * wf).sum(-1) / wf.sum()
            assert torch.allclose(clip[b, c], ref_clip, atol=1e-6)
            assert torch.allclose(frame[b, c], ref_frame, atol=1e-6)


def test_global_pooling_module_returns_probabilities() -> None:
    out = GlobalPooling("gwrp")(_maps(2, 3, 6, 4))
    assert set(out) == {"clip_probs", "frame_probs"}
    assert out["clip_probs"].min() >= 0 and out["clip_probs"].max() <= 1


def test_unknown_global_pool_kind() -> None:
    with pytest.raises(ModelError, match="gap"):
        global_pool(_maps(1, 1, 2, 2), kind="median")  # type: ignore[arg-type]


def test_attention_pool_2d_matches_direct_formula() -> None:
    att = _maps(2, 3, 4, 5, seed=1)  # values outside [0.1, 0.9] get clamped
    scores = _maps(2, 3, 4, 5, seed=2)
    clip, frame, norm = attention_pool_2d(att, scores)
    a = att.clamp(0.1, 0.9)
    assert torch.allclose(norm.sum(dim=(-2, -1)), torch.ones(2, 3), atol=1e-6)
    for b in range(2):
        for c in range(3):
            ref = (a[b, c] * scores[b, c]).sum() / a[b, c].sum()
            assert torch.allclose(clip[b, c], ref, atol=1e-6)
            for t in range(4):
                ref_t = (a[b, c, t] * scores[b, c, t]).sum() / a[b, c, t].sum()
                assert torch.allclose(frame[b, c, t], ref_t, atol=1e-6)


@pytest.mark.parametrize("mode", ["code", "sigmoid_in_softmax", "as_printed"])
@pytest.mark.parametrize("dim", [-1, -2])
def test_attention_step_matches_equations(mode: str, dim: int) -> None:
    g = torch.Generator().manual_seed(3)
    s, a = torch.randn(2, 3, 4, 5, generator=g) * 3, torch.randn(2, 3, 4, 5, generator=g) * 3
    out, weights, probs = attention_step(s, a, dim=dim, attention=mode)  # type: ignore[arg-type]
    inner = a if mode == "code" else torch.sigmoid(a)
    e = inner.exp()
    ref_w = e / e.sum(dim=dim, keepdim=True)
    ref_p = s if mode == "as_printed" else torch.sigmoid(s)
    assert torch.allclose(weights, ref_w, atol=1e-6)
    assert torch.allclose(weights.sum(dim=dim), torch.ones_like(out), atol=1e-6)
    assert torch.allclose(out, (ref_p * ref_w).sum(dim=dim), atol=1e-6)
    assert torch.allclose(probs, ref_p)


def test_sigmoid_in_softmax_attention_is_flatter_than_code_attention() -> None:
    # sigmoid inside the softmax bounds the logits to (0, 1): weights stay within a factor e
    a = torch.tensor([[-10.0, 0.0, 10.0]])
    for mode in ("sigmoid_in_softmax", "as_printed"):
        _, w_flat, _ = attention_step(torch.zeros_like(a), a, dim=-1, attention=mode)
        assert float(w_flat.max() / w_flat.min()) <= math.e + 1e-5
    _, w_code, _ = attention_step(torch.zeros_like(a), a, dim=-1, attention="code")
    assert float(w_code.max()) > 0.99


def _two_step_reference(head: TwoStepAttentionPooling, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Direct computation of the original code's two steps with the head's weights: sigmoid scores,
    softmax of the raw attention logits, loop-free but explicit."""
    fs = torch.sigmoid(z @ head.freq_scores.weight.T + head.freq_scores.bias)
    fa = (z @ head.freq_attention.weight.T + head.freq_attention.bias).exp()
    fa = fa / fa.sum(-1, keepdim=True)
    zp1 = (fs * fa).sum(-1)  # (B, C, T)
    ts = torch.sigmoid(zp1 @ head.time_scores.weight.T + head.time_scores.bias)
    ta = (zp1 @ head.time_attention.weight.T + head.time_attention.bias).exp()
    ta = ta / ta.sum(-1, keepdim=True)
    return (ts * ta).sum(-1), zp1


@pytest.mark.parametrize("time_init", ["identity", "default"])
def test_two_step_attention_matches_reference_and_is_bounded(time_init: str) -> None:
    torch.manual_seed(0)
    head = TwoStepAttentionPooling(3, n_mels=5, n_frames=6, time_init=time_init)  # type: ignore[arg-type]
    head.init_time_step(prior=None)
    z = torch.randn(2, 3, 6, 5) * 4
    out = head(z)
    ref_clip, ref_freq = _two_step_reference(head, z)
    assert torch.allclose(out["clip_probs"], ref_clip, atol=1e-6)
    assert torch.allclose(out["freq_output"], ref_freq, atol=1e-6)
    assert torch.equal(out["frame_probs"], out["freq_output"])
    assert out["freq_attention"].shape == (2, 3, 6, 5) and out["time_attention"].shape == (2, 3, 6)
    assert torch.allclose(out["freq_attention"].sum(-1), torch.ones(2, 3, 6), atol=1e-6)
    assert torch.allclose(out["time_attention"].sum(-1), torch.ones(2, 3), atol=1e-6)
    for key in ("clip_probs", "freq_output"):
        assert out[key].min() >= 0 and out[key].max() <= 1


def test_two_step_dense_time_layer_rejects_other_lengths() -> None:
    head = TwoStepAttentionPooling(3, n_mels=5, n_frames=6)
    with pytest.raises(ModelError, match="exactly 6 frames.*time_layer='conv'"):
        head(torch.randn(1, 3, 7, 5))
    with pytest.raises(ModelError, match="exactly 5 mel bins"):
        head(torch.randn(1, 3, 6, 4))


def test_two_step_conv_time_layer_takes_any_length() -> None:
    head = TwoStepAttentionPooling(3, n_mels=5, n_frames=6, time_layer="conv", time_kernel=3)
    for t in (4, 6, 9):
        out = head(torch.randn(2, 3, t, 5))
        assert out["clip_probs"].shape == (2, 3)
        assert out["time_attention"].shape == (2, 3, t)
        assert out["clip_probs"].min() >= 0 and out["clip_probs"].max() <= 1


def test_atrous_head_sigmoid_matches_formula() -> None:
    torch.manual_seed(0)
    head = AtrousAttentionHead(4, 3)
    z = torch.randn(2, 4, 5, 6)
    out = head(z)
    att = torch.sigmoid(
        torch.einsum("bkft,ck->bcft", z, head.attention.weight[:, :, 0, 0]) + head.attention.bias[None, :, None, None]
    ).clamp(0.1, 0.9)
    cla = torch.sigmoid(
        torch.einsum("bkft,ck->bcft", z, head.classifier.weight[:, :, 0, 0]) + head.classifier.bias[None, :, None, None]
    )
    ref = (att * cla).sum((-2, -1)) / att.sum((-2, -1))
    assert torch.allclose(out["clip_probs"], ref, atol=1e-5)
    assert torch.allclose(out["attention"].sum((-2, -1)), torch.ones(2, 3), atol=1e-5)
    assert torch.allclose(out["tf_map"], cla, atol=1e-6)
    assert out["frame_probs"].shape == (2, 3, 5)


def test_atrous_head_log_softmax_as_coded() -> None:
    torch.manual_seed(0)
    head = AtrousAttentionHead(4, 3, activation="log_softmax")
    with torch.no_grad():
        head.attention.weight.zero_()  # the original's initialisation: uniform attention
        head.attention.bias.zero_()
    z = torch.randn(2, 4, 5, 6)
    with torch.no_grad():
        out = head(z)
    logp = torch.log_softmax(head.classifier(z), dim=1)
    assert torch.allclose(out["clip_probs"], torch.sigmoid(logp.mean((-2, -1))), atol=1e-5)
    assert float(out["clip_probs"].max()) <= 0.5  # the as-coded head never exceeds 0.5
    assert torch.allclose(out["tf_map"].sum(1), torch.ones(2, 5, 6), atol=1e-5)


@pytest.mark.parametrize("prior", [None, 3 / 41])
@pytest.mark.parametrize("time_layer", ["dense", "conv"])
def test_identity_time_start_passes_frame_scores_through(prior: float | None, time_layer: str) -> None:
    # at the start the clip output is the time average of the frequency step's output, to first order
    head = TwoStepAttentionPooling(2, n_mels=4, n_frames=8, time_layer=time_layer, time_kernel=3)  # type: ignore[arg-type]
    head.init_time_step(prior=prior)
    level = 0.5 if prior is None else prior
    z = torch.randn(3, 2, 8, 4) * 0.05
    with torch.no_grad():
        head.freq_scores.weight.copy_(torch.eye(4) * 0.1)
        head.freq_scores.bias.fill_(math.log(level / (1 - level)))
    out = head(z)
    assert torch.allclose(out["time_attention"], torch.full((3, 2, 8), 1 / 8))
    assert torch.allclose(out["clip_probs"], out["freq_output"].mean(-1), atol=2e-3)
    # and every frame gets the gradient it would get under average pooling
    freq = out["freq_output"].detach().requires_grad_(True)
    clip, _, _ = attention_step(head.time_scores(freq), head.time_attention(freq), dim=-1)
    clip.sum().backward()
    assert torch.allclose(freq.grad, torch.full_like(freq, 1 / 8), rtol=0.05)


def test_default_time_start_starves_the_frames_of_gradient() -> None:
    # the root cause of the late take-off: small random dense weights between frames and clip
    torch.manual_seed(0)
    head = TwoStepAttentionPooling(2, n_mels=4, n_frames=311, time_init="default")
    freq = torch.full((1, 2, 311), 3 / 41, requires_grad=True)
    clip, _, _ = attention_step(head.time_scores(freq), head.time_attention(freq), dim=-1)
    clip.sum().backward()
    assert float(freq.grad.abs().mean()) < 0.2 / 311  # against 1/311 under average pooling


def test_rank_pool_fast_cpu_path_matches_torch_sort_and_traces_faithfully():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 4, 50, generator=g, requires_grad=True)
    w = 0.9 ** torch.arange(50.0)
    ref = (torch.sort(x, dim=-1, descending=True).values @ w) / w.sum()
    out = rank_pool(x, decay=0.9)
    torch.testing.assert_close(out, ref)
    (g_out,) = torch.autograd.grad(out.sum(), x)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(g_out, g_ref)
    traced = torch.jit.trace(lambda t: rank_pool(t, decay=0.9), torch.zeros(3, 4, 50))
    other = torch.rand(3, 4, 50, generator=g)
    torch.testing.assert_close(traced(other), rank_pool(other, decay=0.9))
