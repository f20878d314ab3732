"""The three encoders of the paper's tables.

Each maps a standardised log-mel batch ``(B, 1, T, F)`` to a feature map
``(B, K, T, F)`` at full time-frequency resolution (no down-sampling), from which
the models derive one ``T x F`` map per class.

- :class:`VggEncoder`: the baseline "VGG-like" network of the GAP / GMP / GWRP rows
  (Kong et al., 2019): 4 blocks of [3x3 conv -> BN -> ReLU] x 2, channels 32, 64, 128, 128.
- :class:`AtrousEncoder`: the dilated network of the "VGGish (dil.) AP" row (Ren et al.,
  ICASSP 2019): three 5x5 convolutions with dilation 1, 2, 4, channels 64, 128, 256.
- :class:`SharedEncoder`: the proposed shared encoder: 4 blocks of [3x3 conv -> BN -> ReLU] x 2
  each followed by a 3x3 average pool of stride 1, channels 32, 64, 128, 256
  (the paper's "8 blocks, an average pool after every 2").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.blocks import ConvBlock, scaled_channels

VGG_CHANNELS: tuple[int, ...] = (32, 64, 128, 128)
ATROUS_CHANNELS: tuple[int, ...] = (64, 128, 256)
ATROUS_DILATIONS: tuple[int, ...] = (1, 2, 4)
SHARED_CHANNELS: tuple[int, ...] = (32, 64, 128, 256)


class _BlockStack(nn.Module):
    def __init__(self, channels: Sequence[int], *, pool: bool) -> None:
        super().__init__()
        ins = (1, *channels[:-1])
        self.blocks = nn.Sequential(*(ConvBlock(i, o, pool=pool) for i, o in zip(ins, channels)))
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)  # (B, 1, T, F) -> (B, K, T, F)


class VggEncoder(_BlockStack):
    """Baseline VGG-like encoder, no pooling.

    Parameters
    ----------
    width : float
        Channel multiplier (1.0 = 32, 64, 128, 128).

    Shapes
    ------
    ``(B, 1, T, F) -> (B, K, T, F)`` with ``K = 128 * width``.
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__([scaled_channels(c, width) for c in VGG_CHANNELS], pool=False)


class SharedEncoder(_BlockStack):
    """The proposed shared encoder: blocks with a stride-1 3x3 average pool after each.

    Parameters
    ----------
    width : float
        Channel multiplier (1.0 = 32, 64, 128, 256).

    Shapes
    ------
    ``(B, 1, T, F) -> (B, K, T, F)`` with ``K = 256 * width``.
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__([scaled_channels(c, width) for c in SHARED_CHANNELS], pool=True)


class AtrousEncoder(nn.Module):
    """Dilated (atrous) encoder: three [5x5 conv (no bias, dilation d, padding 2d) -> BN -> ReLU].

    Parameters
    ----------
    width : float
        Channel multiplier (1.0 = 64, 128, 256).

    Shapes
    ------
    ``(B, 1, T, F) -> (B, K, T, F)`` with ``K = 256 * width``.
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__()
        channels = [scaled_channels(c, width) for c in ATROUS_CHANNELS]
        layers: list[nn.Module] = []
        for cin, cout, d in zip((1, *channels[:-1]), channels, ATROUS_DILATIONS):
            layers += [
                nn.Conv2d(cin, cout, kernel_size=5, dilation=d, padding=2 * d, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, 1, T, F) -> (B, K, T, F)
