"""Pooling heads: from per-class time-frequency maps to clip- and frame-level probabilities.

Every head returns clip probabilities ``(B, C)`` and frame probabilities ``(B, C, T)``;
the frame-level output is what each head yields for localisation:

- global average / max / weighted-rank pooling (GAP, GMP, GWRP) pool the ``T x F``
  probability map of each class; for frames they apply the same operator over
  frequency only (GWRP with the same decay over the ``F`` ranks of a frame).
- the 2-D attention pooling of the atrous model (Ren et al., 2019) normalises its
  attention over ``T * F`` for the clip; for a frame it normalises the same attention
  over the ``F`` bins of that frame and takes the weighted class score there.
- the two-step attention pooling (2AP) of the paper gives its first (frequency) step's
  output, a presence probability per class and frame, as the frame probabilities.

Every head pools in float32 with autocast off (see :func:`full_precision`), so its outputs
are float32 under bf16/fp16 autocast too.
The pure functions (:func:`rank_pool`, :func:`attention_pool_2d`, :func:`attention_step`)
hold the maths and are tested alone; the modules hold the parameters.
Nothing here reads tensor values on the host (no ``.item()``, no value-dependent branches).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from models.config import AtrousActivation, AttentionMode, GlobalKind, TimeInit, TimeLayer
from models.errors import ModelError

ScoreLayer = nn.Linear | nn.Conv1d | nn.Conv2d
"""A layer whose sigmoid gives class scores (what a class prior initialises)."""

DEFAULT_GWRP_DECAY = 0.9998
ATTENTION_CLAMP = 0.1


def full_precision(x: torch.Tensor) -> torch.autocast:
    """Context in which autocast is off for ``x``'s device: heads pool in float32.

    Sums over ``T * F`` bins and softmax normalisations lose too much in bf16, and these
    steps cost little next to the convolutions.
    """
    return torch.autocast(device_type=x.device.type, enabled=False)


# ---------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------


def rank_weights(n: int, *, decay: float, device: torch.device | None = None) -> torch.Tensor:
    """Weights of global weighted rank pooling: ``decay ** i`` for ranks ``i = 0 .. n-1``, float32, shape (n,).

    Made on ``device`` from a Python scalar (no host-to-device copy, hence no synchronisation).
    """
    return torch.pow(float(decay), torch.arange(n, dtype=torch.float64, device=device)).to(torch.float32)


def rank_pool(x: torch.Tensor, *, decay: float = DEFAULT_GWRP_DECAY) -> torch.Tensor:
    """Global weighted rank pooling over the last axis.

    The values are sorted in descending order, the ``i``-th is weighted by ``decay ** i``
    and the weighted sum is divided by the sum of the weights. ``decay = 1`` is the mean,
    ``decay = 0`` the maximum.

    Parameters
    ----------
    x : torch.Tensor [shape=(..., N)]
    decay : float
        In ``[0, 1]``.

    Returns
    -------
    torch.Tensor [shape=(...)]
    """
    w = rank_weights(x.shape[-1], decay=decay, device=x.device).to(x.dtype)  # (N,)
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not torch.jit.is_tracing():
        # NumPy's argsort is about 3x faster than torch.sort on a CPU (36 -> 12 ms for 24 x 41 x 608);
        # gather keeps the gradient. A trace must see torch.sort (NumPy's order would become a constant).
        order = np.argsort(-x.detach().numpy(), axis=-1)  # (..., N), descending
        ranked = torch.gather(x, -1, torch.from_numpy(order))  # (..., N)
    else:
        ranked = torch.sort(x, dim=-1, descending=True).values  # (..., N)
    return (ranked @ w) / w.sum()


def global_pool(
    maps: torch.Tensor, *, kind: GlobalKind, decay: float = DEFAULT_GWRP_DECAY
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAP, GMP or GWRP of per-class probability maps, for the clip and for each frame.

    Parameters
    ----------
    maps : torch.Tensor [shape=(B, C, T, F)]
        Per-class probabilities.
    kind : {"gap", "gmp", "gwrp"}
    decay : float
        GWRP decay (ignored by the others).

    Returns
    -------
    clip : torch.Tensor [shape=(B, C)]
        Pooled over ``T x F``.
    frame : torch.Tensor [shape=(B, C, T)]
        Pooled over ``F`` with the same operator.
    """
    if kind == "gap":
        return maps.mean(dim=(-2, -1)), maps.mean(dim=-1)
    if kind == "gmp":
        return maps.amax(dim=(-2, -1)), maps.amax(dim=-1)
    if kind == "gwrp":
        return rank_pool(maps.flatten(-2), decay=decay), rank_pool(maps, decay=decay)
    raise ModelError(f"unknown global pooling {kind!r}; expected one of 'gap', 'gmp', 'gwrp'.")


def attention_pool_2d(
    attention: torch.Tensor, scores: torch.Tensor, *, clamp: float = ATTENTION_CLAMP
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """2-D attention pooling (Ren et al., 2019; Kong et al., 2019).

    The attention is clamped to ``[clamp, 1 - clamp]`` and normalised to sum to one over
    the ``T * F`` bins of each class; the clip output is the attention-weighted sum of the
    scores. For frames the clamped attention is normalised over the ``F`` bins of each frame.

    Parameters
    ----------
    attention : torch.Tensor [shape=(B, C, T, F)]
        Attention in ``[0, 1]`` (after its sigmoid).
    scores : torch.Tensor [shape=(B, C, T, F)]
        Class scores (probabilities, or log-probabilities in the as-coded variant).
    clamp : float
        Lower clamp of the attention (the upper one is ``1 - clamp``).

    Returns
    -------
    clip : torch.Tensor [shape=(B, C)]
    frame : torch.Tensor [shape=(B, C, T)]
    norm_attention : torch.Tensor [shape=(B, C, T, F)]
        Normalised over ``T * F``.
    """
    att = attention.clamp(clamp, 1.0 - clamp)  # (B, C, T, F)
    norm_att = att / att.sum(dim=(-2, -1), keepdim=True)  # (B, C, T, F), sums to 1 over T*F
    clip = (norm_att * scores).sum(dim=(-2, -1))  # (B, C)
    frame = (att * scores).sum(dim=-1) / att.sum(dim=-1)  # (B, C, T)
    return clip, frame, norm_att


def attention_step(
    score_logits: torch.Tensor, attention_logits: torch.Tensor, *, dim: int, attention: AttentionMode = "code"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of the two-step attention pooling along one axis.

    Three readings of the step, named by ``attention``:

    - ``"code"`` (default, what the original code computes and what produced the paper's
      numbers): ``probs = sigmoid(score_logits)``, ``weights = softmax(attention_logits)``.
    - ``"sigmoid_in_softmax"``: ``probs = sigmoid(score_logits)``,
      ``weights = softmax(sigmoid(attention_logits))``. The sigmoid bounds the softmax's
      inputs to ``(0, 1)``, so no two weights differ by more than a factor ``e``: the
      attention can hardly move away from plain averaging.
    - ``"as_printed"``: the paper's equations 4 and 6 as printed, a sigmoid inside the
      softmax and none on the scores: ``probs = score_logits``,
      ``weights = softmax(sigmoid(attention_logits))``. The output is then not bounded.

    The output is ``sum(probs * weights, dim)``; with a sigmoid on the scores it is a convex
    combination of probabilities, so in ``[0, 1]``.

    Parameters
    ----------
    score_logits, attention_logits : torch.Tensor [shape=(..., N, ...)]
        Same shape; ``N`` along ``dim``.
    dim : int
        Axis that is attended over and summed out.
    attention : {"code", "sigmoid_in_softmax", "as_printed"}

    Returns
    -------
    output : torch.Tensor
        ``score_logits`` shape without ``dim``.
    weights : torch.Tensor
        Attention weights, same shape as the inputs, summing to 1 along ``dim``.
    probs : torch.Tensor
        Class scores (probabilities unless ``"as_printed"``), same shape as the inputs.
    """
    probs = score_logits if attention == "as_printed" else torch.sigmoid(score_logits)
    a = attention_logits if attention == "code" else torch.sigmoid(attention_logits)
    weights = torch.softmax(a, dim=dim)
    return (probs * weights).sum(dim=dim), weights, probs


def identity_gain(level: float) -> float:
    """Gain ``g`` of a score layer started as the identity on probabilities around ``level``.

    ``sigmoid(g * (x - level) + logit(level))`` equals ``x`` to first order at ``x = level``
    when ``g = 1 / (level * (1 - level))`` (the inverse of the sigmoid's slope there).
    """
    if not 0.0 < level < 1.0:
        raise ModelError(f"the identity start of a score layer needs a level in (0, 1), got {level!r}.")
    return 1.0 / (level * (1.0 - level))


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------


class GlobalPooling(nn.Module):
    """GAP, GMP or GWRP head over per-class probability maps (no parameters).

    Shapes
    ------
    ``(B, C, T, F) -> {"clip_probs": (B, C), "frame_probs": (B, C, T)}``.
    """

    def __init__(self, kind: GlobalKind, *, decay: float = DEFAULT_GWRP_DECAY) -> None:
        super().__init__()
        self.kind = kind
        self.decay = decay

    def forward(self, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        with full_precision(maps):
            clip, frame = global_pool(maps.float(), kind=self.kind, decay=self.decay)
        return {"clip_probs": clip, "frame_probs": frame}

    def score_layers(self) -> list[ScoreLayer]:
        """None: the head pools probability maps made before it (the model's class convolution)."""
        return []

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}" + (f", decay={self.decay}" if self.kind == "gwrp" else "")


class AtrousAttentionHead(nn.Module):
    """The atrous model's 2-D attention head: two 1x1 convolutions and attention pooling.

    The attention convolution starts with zero weights (uniform attention), followed by a
    sigmoid. The class convolution is followed by

    - ``activation="sigmoid"`` (default): per-class probabilities; the pooled value is a
      convex combination of probabilities and is the clip probability. This is the
      multi-label reading that matches the paper's task (independent events, BCE loss).
    - ``activation="log_softmax"``: as coded, a log-softmax over classes, pooled, then a
      final sigmoid. Its outputs never exceed 0.5 and the classes compete, so thresholds
      at 0.5 never fire; rankings (AP, AUC) stay usable.

    Parameters
    ----------
    in_channels : int
    n_classes : int
    activation : {"sigmoid", "log_softmax"}

    Shapes
    ------
    ``(B, K, T, F) -> {"clip_probs": (B, C), "frame_probs": (B, C, T),
    "attention": (B, C, T, F) normalised over T*F, "tf_map": (B, C, T, F) class probabilities}``.
    """

    def __init__(self, in_channels: int, n_classes: int, *, activation: AtrousActivation = "sigmoid") -> None:
        super().__init__()
        self.attention = nn.Conv2d(in_channels, n_classes, kernel_size=1)
        setattr(self.attention, "zero_init", True)  # noqa: B010 (read by init_parameters; mypy refuses the attribute)
        self.classifier = nn.Conv2d(in_channels, n_classes, kernel_size=1)
        self.activation = activation

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        att_logits, logits = self.attention(z), self.classifier(z)  # (B, C, T, F) each, autocast dtype
        with full_precision(z):
            att = torch.sigmoid(att_logits.float())
            logits = logits.float()
            if self.activation == "sigmoid":
                scores = torch.sigmoid(logits)
                clip, frame, norm_att = attention_pool_2d(att, scores)
                tf_map = scores
            else:
                scores = torch.log_softmax(logits, dim=1)  # over classes, as coded
                clip, frame, norm_att = attention_pool_2d(att, scores)
                clip, frame = torch.sigmoid(clip), torch.sigmoid(frame)
                tf_map = scores.exp()
        return {"clip_probs": clip, "frame_probs": frame, "attention": norm_att, "tf_map": tf_map}

    def score_layers(self) -> list[ScoreLayer]:
        """The layer whose sigmoid gives the class scores (the class convolution)."""
        return [self.classifier]

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


class TwoStepAttentionPooling(nn.Module):
    """The paper's two-step attention pooling (2AP): frequency first, then time.

    Frequency step: two dense layers across the ``F`` mel bins (shared by classes and
    frames) give class scores and attention logits; the attended sum over frequency is a
    presence score per class and frame, ``(B, C, T)``. Time step: the same across the
    time axis; the attended sum over time, clamped to ``[0, 1]``, is the clip probability.

    ``attention`` names the reading of each step (see :func:`attention_step`): ``"code"``
    (default: sigmoid on the class scores, softmax of the raw attention logits, as the
    original code that produced the paper's numbers), ``"sigmoid_in_softmax"`` (sigmoid on
    the scores and inside the softmax) or ``"as_printed"`` (equations 4 and 6 as printed:
    sigmoid inside the softmax, none on the scores).

    ``time_layer="dense"`` (default, as both the paper and the code have it) is a dense
    layer over exactly ``n_frames`` frames, so clips of another length raise
    :class:`ModelError`; ``time_layer="conv"`` replaces it by a per-class 1-D convolution
    over time of ``time_kernel`` taps, which takes clips of any length.

    ``time_init`` sets how the time step starts. ``"identity"`` (default): the time-score
    layer starts as the identity on probabilities (each frame scores itself with gain
    :func:`identity_gain`, to first order ``sigmoid(score) = frame score``) and the
    time-attention layer at zero (uniform attention), so at the start the clip output is
    the average over time of the frequency step's output and every frame passes gradient
    to the encoder as under average pooling. ``"default"``: PyTorch's default initialisation
    of the dense layers (as the original code), under which the time-score layer's small
    random weights (``+-1/sqrt(T)``) nearly cut the encoder off from the loss at the start;
    training then idles for many epochs before it takes off. Call :meth:`init_time_step`
    after any global re-initialisation of the parameters.

    Parameters
    ----------
    n_classes : int
    n_mels : int
        Mel bins ``F`` (the frequency dense layers are ``F x F``).
    n_frames : int
        Frames ``T`` of the dense time layer (311 for 10 s at the paper's hop).
    attention : {"code", "sigmoid_in_softmax", "as_printed"}
    time_layer : {"dense", "conv"}
    time_kernel : int
        Odd kernel size of the ``"conv"`` time layer.
    time_init : {"identity", "default"}

    Shapes
    ------
    ``(B, C, T, F) -> {"clip_probs": (B, C), "frame_probs": (B, C, T),
    "freq_attention": (B, C, T, F), "freq_output": (B, C, T), "time_attention": (B, C, T)}``.
    """

    def __init__(
        self,
        n_classes: int,
        *,
        n_mels: int,
        n_frames: int,
        attention: AttentionMode = "code",
        time_layer: TimeLayer = "dense",
        time_kernel: int = 1,
        time_init: TimeInit = "identity",
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.n_frames = n_frames
        self.attention_mode = attention
        self.time_layer = time_layer
        self.time_init = time_init
        self.freq_scores = nn.Linear(n_mels, n_mels)
        self.freq_attention = nn.Linear(n_mels, n_mels)
        if time_layer == "dense":
            self.time_scores: nn.Linear | nn.Conv1d = nn.Linear(n_frames, n_frames)
            self.time_attention: nn.Linear | nn.Conv1d = nn.Linear(n_frames, n_frames)
        else:
            pad = time_kernel // 2
            self.time_scores = nn.Conv1d(n_classes, n_classes, time_kernel, padding=pad, groups=n_classes)
            self.time_attention = nn.Conv1d(n_classes, n_classes, time_kernel, padding=pad, groups=n_classes)

    def init_time_step(self, *, prior: float | None) -> None:
        """Start the time step as ``time_init`` says (in place; no-op for ``"default"``).

        Parameters
        ----------
        prior : float or None
            Level around which the time-score layer is the identity on probabilities
            (the class prior; 0.5 when None). Under ``"as_printed"`` the scores carry no
            sigmoid, so the layer starts as the plain identity.
        """
        if self.time_init == "default":
            return
        level = 0.5 if prior is None else float(prior)
        raw = self.attention_mode == "as_printed"
        gain = 1.0 if raw else identity_gain(level)
        bias = 0.0 if raw else math.log(level / (1.0 - level)) - gain * level
        with torch.no_grad():
            for layer in (self.time_scores, self.time_attention):
                layer.weight.zero_()
                if layer.bias is not None:
                    layer.bias.zero_()
            w = self.time_scores.weight
            if self.time_layer == "dense":
                w.copy_(torch.eye(self.n_frames, dtype=w.dtype) * gain)  # (T, T): frame t scores itself
            else:
                w[:, 0, w.shape[-1] // 2] = gain  # (C, 1, K): centre tap
            if self.time_scores.bias is not None:
                self.time_scores.bias.fill_(bias)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        t, f = z.shape[-2], z.shape[-1]
        if f != self.n_mels:
            raise ModelError(
                f"the 2AP frequency step is a dense layer over exactly {self.n_mels} mel bins; "
                f"got maps with {f}. Build the model with n_mels={f}."
            )
        if self.time_layer == "dense" and t != self.n_frames:
            raise ModelError(
                f"the 2AP time step is a dense layer over exactly {self.n_frames} frames "
                f"(time_layer='dense'); got clips of {t} frames. Build the model with "
                f"n_frames={t}, cut or pad the clips to {self.n_frames} frames, or use "
                "time_layer='conv' for a step that takes any length."
            )
        with full_precision(z):
            z = z.float()
            # frequency step: attend over F
            freq_out, freq_att, _ = attention_step(
                self.freq_scores(z), self.freq_attention(z), dim=-1, attention=self.attention_mode
            )  # (B, C, T), (B, C, T, F)
            # time step: attend over T
            clip, time_att, _ = attention_step(
                self.time_scores(freq_out), self.time_attention(freq_out), dim=-1, attention=self.attention_mode
            )  # (B, C), (B, C, T)
        frame = freq_out.clamp(0.0, 1.0) if self.attention_mode == "as_printed" else freq_out  # (B, C, T)
        return {
            "clip_probs": clip.clamp(0.0, 1.0),
            "frame_probs": frame,
            "freq_attention": freq_att,
            "freq_output": freq_out,
            "time_attention": time_att,
        }

    def score_layers(self) -> list[ScoreLayer]:
        """The layers whose outputs give the class scores and that a class prior initialises:
        the frequency step's (frame presence) and, under ``time_init="default"``, the time
        step's (clip presence; the identity start sets its level itself)."""
        layers: list[ScoreLayer] = [self.freq_scores]
        return layers + ([self.time_scores] if self.time_init == "default" else [])

    def extra_repr(self) -> str:
        return (
            f"n_mels={self.n_mels}, n_frames={self.n_frames}, attention={self.attention_mode!r}, "
            f"time_layer={self.time_layer!r}, time_init={self.time_init!r}"
        )
