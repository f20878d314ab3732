"""The auxiliary reconstruction decoder (the paper's g_4).

Four blocks of the shared encoder's kind in reverse, 256 -> 128 -> 64 -> 32 -> 1 channels,
at full resolution, reading the shared encoder's last feature map and returning a
log-mel estimate.

The original code ends with a ReLU although the target (the standardised log-mel)
is partly negative, so it cannot reconstruct the negative half. The default here is a
linear output (the last block's final ReLU is left out; batch norm and the average pool
stay), which matches the paper's aim of reconstructing the input; ``output="relu"``
gives the original behaviour.
"""

from __future__ import annotations

import torch
from torch import nn

from models.blocks import ConvBlock, scaled_channels
from models.config import DecoderOutput

DECODER_CHANNELS: tuple[int, ...] = (128, 64, 32)


class ReconstructionDecoder(nn.Module):
    """Reconstruct the log-mel input from the shared encoder's features.

    Parameters
    ----------
    in_channels : int
        Channels of the encoder's feature map (256 at width 1).
    width : float
        Channel multiplier of the hidden blocks (1.0 = 128, 64, 32).
    output : {"linear", "relu"}
        ``"linear"`` (default): no ReLU on the output. ``"relu"``: as the original code.

    Shapes
    ------
    ``(B, in_channels, T, F) -> (B, T, F)``.
    """

    def __init__(self, in_channels: int, *, width: float = 1.0, output: DecoderOutput = "linear") -> None:
        super().__init__()
        hidden = [scaled_channels(c, width) for c in DECODER_CHANNELS]
        chans = [in_channels, *hidden, 1]
        blocks = [ConvBlock(chans[i], chans[i + 1], pool=True) for i in range(len(chans) - 2)]
        blocks.append(ConvBlock(chans[-2], 1, pool=True, final_relu=(output == "relu")))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.blocks(z)  # (B, 1, T, F)
        return x[:, 0]  # (B, T, F)
