from __future__ import annotations

import pytest
import torch

import models
from models.blocks import BoxPool2d, scaled_channels
from models.encoders import AtrousEncoder, SharedEncoder, VggEncoder

N_CLASSES, N_MELS, N_FRAMES = 41, 64, 311


def conv(k: int, cin: int, cout: int, *, bias: bool = False) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def bn(c: int) -> int:
    return 2 * c  # weight and bias; running statistics are buffers


def block(cin: int, cout: int) -> int:
    return conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + bn(cout)


def blocks(chans: list[int]) -> int:
    return sum(block(a, b) for a, b in zip(chans[:-1], chans[1:]))


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


EXPECTED = {
    "gap": blocks([1, 32, 64, 128, 128]) + conv(1, 128, N_CLASSES, bias=True),
    "atrous_ap": (
        conv(5, 1, 64)
        + bn(64)
        + conv(5, 64, 128)
        + bn(128)
        + conv(5, 128, 256)
        + bn(256)
        + 2 * conv(1, 256, N_CLASSES, bias=True)
    ),
    "2ap": (
        blocks([1, 32, 64, 128, 256])
        + conv(1, 256, N_CLASSES, bias=True)
        + 2 * dense(N_MELS, N_MELS)
        + 2 * dense(N_FRAMES, N_FRAMES)
    ),
}
EXPECTED["gmp"] = EXPECTED["gwrp"] = EXPECTED["gap"]
EXPECTED["2ap_aux"] = EXPECTED["2ap"] + blocks([256, 128, 64, 32, 1])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_parameter_count_at_width_one(name: str) -> None:
    model = models.build(name)
    assert sum(p.numel() for p in model.parameters()) == EXPECTED[name]


def test_hand_counts_are_the_expected_magnitudes() -> None:
    # guards the formulas themselves, against sums worked out by hand:
    # baseline blocks 9_632 + 55_552 + 221_696 + 295_424, class conv 128 * 41 + 41
    assert EXPECTED["gap"] == 587_593
    # decoder blocks 442_880 + 110_848 + 27_776 + 301
    assert EXPECTED["2ap_aux"] - EXPECTED["2ap"] == 581_805


@pytest.mark.parametrize("cls,last", [(VggEncoder, 128), (SharedEncoder, 256), (AtrousEncoder, 256)])
def test_encoders_keep_full_resolution(cls: type, last: int) -> None:
    enc = cls(width=0.125)
    x = torch.randn(2, 1, 12, 10)
    h = enc(x)
    assert h.shape == (2, scaled_channels(last, 0.125), 12, 10)
    assert enc.out_channels == h.shape[1]


def test_scaled_channels() -> None:
    assert scaled_channels(256, 1.0) == 256
    assert scaled_channels(256, 0.25) == 64
    assert scaled_channels(32, 0.01) == 4
    with pytest.raises(models.ModelError, match="width must be"):
        scaled_channels(32, -1.0)


def test_atrous_dilations_and_padding() -> None:
    convs = [m for m in AtrousEncoder().modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.dilation for c in convs] == [(1, 1), (2, 2), (4, 4)]
    assert [c.padding for c in convs] == [(2, 2), (4, 4), (8, 8)]
    assert [c.kernel_size for c in convs] == [(5, 5)] * 3
    assert all(c.bias is None for c in convs)


def test_shared_encoder_average_pools_after_each_block() -> None:
    pools = [m for m in SharedEncoder().modules() if isinstance(m, BoxPool2d)]
    assert len(pools) == 4
    assert not any(isinstance(m, BoxPool2d) for m in VggEncoder().modules())


@pytest.mark.parametrize("channels_last", [False, True])
def test_box_pool_equals_a_3x3_stride_1_average_pool(channels_last: bool) -> None:
    x = torch.randn(3, 5, 11, 7, generator=torch.Generator().manual_seed(0), requires_grad=True)
    box = BoxPool2d(5)
    ref = torch.nn.AvgPool2d(3, stride=1, padding=1)
    xb = x.to(memory_format=torch.channels_last) if channels_last else x
    out = box(xb)
    torch.testing.assert_close(out, ref(x), rtol=0, atol=1e-6)
    (g_box,) = torch.autograd.grad(out.square().sum(), x)
    (g_ref,) = torch.autograd.grad(ref(x).square().sum(), x)
    torch.testing.assert_close(g_box, g_ref, rtol=0, atol=1e-5)
    assert dict(box.state_dict()) == {}  # nothing new in checkpoints
