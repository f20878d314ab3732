"""The SED model: encoder -> per-class time-frequency maps -> pooling head (+ optional decoder)."""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from models.blocks import init_parameters
from models.config import GlobalKind, ModelConfig
from models.decoder import ReconstructionDecoder
from models.encoders import AtrousEncoder, SharedEncoder, VggEncoder
from models.errors import ModelError
from models.mil import OPERATORS, FramePoolingHead
from models.pooling import AtrousAttentionHead, GlobalPooling, ScoreLayer, TwoStepAttentionPooling

PRIOR_WEIGHT_SCALE = 0.05
"""Factor on the (original-initialisation) weights of the class-score convolution of the
GAP / GMP / GWRP and atrous heads under a class prior: it keeps the spread of the initial
logits small, so that pooled outputs (a maximum over ``T * F`` bins included) also start
near the prior. The 2AP score layers keep their weights: both 2AP steps output convex
combinations of their probabilities, which start near the prior anyway, and shrinking two
stacked dense layers would only shrink the signal that reaches the encoder."""


def init_prior(layer: ScoreLayer, *, prior: float, weight_scale: float = PRIOR_WEIGHT_SCALE, raw: bool = False) -> None:
    """Set a class-score layer's bias to ``logit(prior)`` and scale its weights, in place.

    Parameters
    ----------
    layer : nn.Linear, nn.Conv1d or nn.Conv2d
        A convolution or dense layer with a bias, whose output goes through a sigmoid.
    prior : float
        Target initial probability, in ``(0, 1)``.
    weight_scale : float
        Factor applied to the layer's current weights.
    raw : bool
        The layer's output is used as a score without a sigmoid (2AP ``"as_printed"``):
        the bias is set to ``prior`` itself.
    """
    if layer.bias is None:
        raise ModelError(f"class-prior initialisation needs a layer with a bias; {layer!r} has none.")
    with torch.no_grad():
        layer.weight.mul_(weight_scale)
        layer.bias.fill_(prior if raw else math.log(prior / (1.0 - prior)))


class SEDModel(nn.Module):
    """Weakly supervised sound event detection network of one of the paper's table rows.

    Build it with :func:`models.build`. The encoder keeps the full ``T x F`` resolution;
    the pooling heads run in float32 with autocast disabled (they are cheap next to the
    convolutions, and sums over ``T * F`` need the precision), as does :func:`models.sed_loss`,
    so the model can run under bf16/fp16 autocast and in channels-last memory format.
    ``forward`` never reads tensor values on the host, so it does not force a device
    synchronisation and compiles with ``torch.compile``.

    Parameters
    ----------
    config : ModelConfig
    seed : int, optional
        Seed of the parameter initialisation (``None``: torch's global generator).

    Notes
    -----
    Frame probabilities, per head: GAP / GMP / GWRP pool each class's probability map
    over frequency with the same operator; the operators of :mod:`models.mil` take the
    sigmoid of the class logits averaged over frequency, the ``y`` their clip output pools;
    the atrous attention head normalises its attention over the frequency bins of each frame;
    2AP gives its first step's output (a presence probability per class and frame, the
    paper's Figure 2, subplot 6).
    """

    def __init__(self, config: ModelConfig, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        if c.encoder == "vgg":
            self.encoder: nn.Module = VggEncoder(width=c.width)
        elif c.encoder == "atrous":
            self.encoder = AtrousEncoder(width=c.width)
        elif c.encoder == "shared":
            self.encoder = SharedEncoder(width=c.width)
        else:
            raise ModelError(f"unknown encoder {c.encoder!r} in the config; expected 'vgg', 'atrous' or 'shared'.")
        k = self.encoder.out_channels
        self.class_conv: nn.Conv2d | None = None
        self.head: GlobalPooling | AtrousAttentionHead | TwoStepAttentionPooling | FramePoolingHead
        if c.pooling in ("gap", "gmp", "gwrp"):
            self.class_conv = nn.Conv2d(k, c.n_classes, kernel_size=1)
            self.head = GlobalPooling(cast(GlobalKind, c.pooling), decay=c.gwrp_decay)
        elif c.pooling == "atrous_ap":
            self.head = AtrousAttentionHead(k, c.n_classes, activation=c.atrous_activation)
        elif c.pooling in OPERATORS:
            self.head = FramePoolingHead(k, c.n_classes, operator=c.pooling, param_l2=c.param_l2)
        elif c.pooling == "2ap":
            self.class_conv = nn.Conv2d(k, c.n_classes, kernel_size=1)
            self.head = TwoStepAttentionPooling(
                c.n_classes,
                n_mels=c.n_mels,
                n_frames=c.n_frames,
                attention=c.attention,
                time_layer=c.time_layer,
                time_kernel=c.time_kernel,
                time_init=c.time_init,
            )
        else:
            raise ModelError(f"unknown pooling {c.pooling!r} in the config.")
        self.decoder = ReconstructionDecoder(k, width=c.width, output=c.decoder_output) if c.decoder else None
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        init_parameters(self, generator=generator)
        if c.prior is not None:
            scale = 1.0 if c.pooling == "2ap" else PRIOR_WEIGHT_SCALE
            raw = c.pooling == "2ap" and c.attention == "as_printed"
            for layer in self.score_layers():
                init_prior(layer, prior=c.prior, weight_scale=scale, raw=raw)
        if isinstance(self.head, TwoStepAttentionPooling):
            self.head.init_time_step(prior=c.prior)

    def score_layers(self) -> list[ScoreLayer]:
        """The layers whose sigmoid gives class scores, the ones a class prior initialises.

        GAP / GMP / GWRP: the 1x1 class convolution before the probability map. Atrous
        attention and the pooling operators of :mod:`models.mil`: their class convolution.
        2AP: the frequency-score and time-score layers
        (the class convolution before them gives raw maps, not probabilities).
        """
        layers = list(self.head.score_layers())
        if self.class_conv is not None and self.config.pooling != "2ap":
            layers.insert(0, self.class_conv)
        return layers

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the model.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, T, F)]
            Standardised log-mel features, ``F == config.n_mels``.

        Returns
        -------
        dict
            ``"clip_probs"`` (B, C) and ``"frame_probs"`` (B, T, C) in [0, 1], float32;
            ``"tf_map"`` (B, C, T, F): the per-class map the pooling reads (probabilities for
            GAP/GMP/GWRP and the atrous head, the class convolution's raw output for 2AP);
            ``"attention"`` (B, C, T, F) for the atrous head; ``"freq_attention"`` (B, C, T, F),
            ``"freq_output"`` (B, C, T), ``"time_attention"`` (B, C, T) for 2AP;
            ``"reconstruction"`` (B, T, F) with a decoder; for the operators of :mod:`models.mil`
            also ``"time_attention"`` (B, C, T) for the attention ones and ``"param_penalty"``
            (a scalar the loss adds) where their parameter carries an L2 penalty.
        """
        if x.dim() != 3:
            raise ModelError(f"expected log-mel input of shape (batch, frames, mel bins), got shape {tuple(x.shape)}.")
        if x.shape[-1] != self.config.n_mels:
            raise ModelError(
                f"model {self.config.name!r} was built for {self.config.n_mels} mel bins; got input "
                f"with {x.shape[-1]} (shape {tuple(x.shape)}). Build it with n_mels={x.shape[-1]}."
            )
        h = self.encoder(x.unsqueeze(1))  # (B, K, T, F)
        if self.class_conv is not None:
            z = self.class_conv(h)  # (B, C, T, F)
            if self.config.pooling != "2ap":
                z = torch.sigmoid(z.float())  # per-class probability map of the baseline, float32
        else:
            z = h  # the atrous head holds its own 1x1 convolutions
        out = dict(self.head(z))  # float32: heads pool with autocast off
        if self.class_conv is not None:
            out["tf_map"] = z
        out["frame_probs"] = out["frame_probs"].transpose(1, 2)  # (B, C, T) -> (B, T, C)
        if self.decoder is not None:
            out["reconstruction"] = self.decoder(h)  # (B, T, F)
        return out

    def extra_repr(self) -> str:
        return f"name={self.config.name!r}, alpha={self.config.alpha}"
