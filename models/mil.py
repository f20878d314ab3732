"""Weak-label pooling over time: from frame probabilities to clip probabilities.

The multiple-instance-learning operators the weak-label SED literature compares, each on
per-class frame probabilities ``y`` of shape ``(B, T, C)`` pooled over time into clip
probabilities ``(B, C)``:

================  ==========================================  ==========================================
name              clip output                                 reference
================  ==========================================  ==========================================
max_pool          ``max_t y``                                 Wang, Li, Metze, ICASSP 2019
mean_pool         ``mean_t y``                                Wang, Li, Metze, ICASSP 2019
linear_softmax    ``sum y^2 / sum y``                         Wang, Li, Metze, ICASSP 2019
exp_softmax       ``sum y e^y / sum e^y``                     Wang, Li, Metze, ICASSP 2019
autopool          ``sum y softmax_t(alpha_c y)``              McFee, Salamon, Bello, TASLP 2018
autopool_cap      the same, ``alpha_c >= 0`` (constrained)    McFee, Salamon, Bello, TASLP 2018
autopool_rap      the same, L2 penalty on ``alpha``           McFee, Salamon, Bello, TASLP 2018
power_pool        ``sum y^(n_c+1) / sum y^n_c``, ``n_c >= 0``   Liu et al., 2020 (power pooling)
noisy_or          ``1 - prod_t (1 - y)``                      Wang, Li, Metze, 2018 (negative control)
attention_time    ``sum_t w y``, ``w = softmax_t(a)`` per class Kong et al., 2019 (class-wise attention)
attention_class   ``sum_t y s / sum_t s``, ``s = softmax_c(a)``  the DCASE/DESED baseline's weak head
================  ==========================================  ==========================================

Two heads are called "attention" in the literature and differ in the axis of the softmax:
``attention_time`` normalises each class's attention over the frames (Kong et al.'s
class-wise attention: the weights of one class sum to one over time), ``attention_class``
normalises at each frame over the classes and divides by the time sum of those weights (the
DESED baseline's ``weak = sum_t strong * sof / sum_t sof``). Both are carried, under their own
names, so a table never mixes them up.

The pure functions hold the maths and are tested against their closed forms; the module
:class:`FramePoolingHead` holds the parameters. Every function takes ``y`` in ``[0, 1]``
(the head's frame probabilities, a sigmoid's output) and is written so that its gradient is
finite at ``y = 0`` and ``y = 1``: logarithms and powers read a clamped ``y``
(:data:`EPS`), the linear softmax divides by a clamped sum. Nothing here reads tensor values
on the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from models.errors import ModelError

EPS = 1e-7
"""Clamp of the probabilities that enter a logarithm or a power, and of a linear-softmax sum."""

TIME = 1
"""The time axis of ``y`` (B, T, C)."""


# ---------------------------------------------------------------------------
# pure functions: (B, T, C) -> (B, C)
# ---------------------------------------------------------------------------


def max_pool(y: torch.Tensor) -> torch.Tensor:
    """``max_t y``: the clip is as present as its most present frame."""
    return y.amax(dim=TIME)


def mean_pool(y: torch.Tensor) -> torch.Tensor:
    """``mean_t y``: every frame counts the same."""
    return y.mean(dim=TIME)


def linear_softmax(y: torch.Tensor) -> torch.Tensor:
    """``sum_t y^2 / sum_t y``: each frame weighted by its own probability.

    The denominator is clamped at :data:`EPS`, so a clip whose frames are all 0 pools to 0
    with a finite gradient."""
    return (y * y).sum(dim=TIME) / y.sum(dim=TIME).clamp_min(EPS)


def exp_softmax(y: torch.Tensor) -> torch.Tensor:
    """``sum_t y e^y / sum_t e^y``: each frame weighted by ``e^y`` (at most ``e`` times another's)."""
    return (y * torch.softmax(y, dim=TIME)).sum(dim=TIME)


def autopool(y: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``sum_t y softmax_t(alpha_c y)``: AutoPool's soft maximum with a per-class temperature.

    ``alpha_c = 0`` is the mean over time, ``alpha_c -> +inf`` the maximum, ``alpha_c -> -inf``
    the minimum.

    Parameters
    ----------
    y : torch.Tensor [shape=(B, T, C)]
    alpha : torch.Tensor [shape=(C,)]
    """
    return (y * torch.softmax(alpha * y, dim=TIME)).sum(dim=TIME)


def power_pool(y: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """``sum_t y^(n_c+1) / sum_t y^(n_c)``: each frame weighted by ``y^n_c``.

    ``n_c = 0`` is the mean, ``n_c = 1`` the linear softmax, ``n_c -> inf`` the maximum. The
    weights are computed as ``softmax_t(n_c log y)`` with ``y`` clamped at :data:`EPS` inside the
    logarithm, which is the same ratio (the normaliser cancels) and stays finite at ``y = 0``.

    Parameters
    ----------
    y : torch.Tensor [shape=(B, T, C)]
    n : torch.Tensor [shape=(C,)]
        Exponents, ``>= 0``.
    """
    weights = torch.softmax(n * torch.log(y.clamp_min(EPS)), dim=TIME)  # (B, T, C)
    return (y * weights).sum(dim=TIME)


def noisy_or(y: torch.Tensor) -> torch.Tensor:
    """``1 - prod_t (1 - y)``: the clip holds the event if any frame does, frames independent.

    Computed in log space, ``-expm1(sum_t log1p(-y))``, with ``y`` clamped to ``1 - EPS`` (its
    gradient ``-1 / (1 - y)`` stays finite). It is never below ``max_t y`` and saturates at 1
    when many frames are moderately likely: a negative control for localisation (Wang, Li and
    Metze, 2018)."""
    log_none = torch.log1p(-y.clamp_max(1.0 - EPS)).sum(dim=TIME)  # (B, C): log prod (1 - y)
    return -torch.expm1(log_none)


def attention_time(y: torch.Tensor, attention_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-wise attention over time (Kong et al., 2019): ``w = softmax_t(a)``, clip ``sum_t w y``.

    Parameters
    ----------
    y, attention_logits : torch.Tensor [shape=(B, T, C)]

    Returns
    -------
    clip : torch.Tensor [shape=(B, C)]
    weights : torch.Tensor [shape=(B, T, C)]
        Sum to one over time for every class.
    """
    weights = torch.softmax(attention_logits, dim=TIME)
    return (y * weights).sum(dim=TIME), weights


def attention_class(y: torch.Tensor, attention_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The DESED baseline's weak head: ``s = softmax_c(a)`` at each frame, clip ``sum_t y s / sum_t s``.

    The softmax runs over the **classes** of a frame (not over time); the division by the time
    sum of ``s`` makes each class's output a weighted mean of its frame probabilities. ``s`` is
    clamped at :data:`EPS` as in that baseline, so the division is always defined.

    Parameters
    ----------
    y, attention_logits : torch.Tensor [shape=(B, T, C)]

    Returns
    -------
    clip : torch.Tensor [shape=(B, C)]
    weights : torch.Tensor [shape=(B, T, C)]
        ``s``: sums to one over the classes of every frame (before the clamp).
    """
    s = torch.softmax(attention_logits, dim=-1).clamp_min(EPS)
    return (y * s).sum(dim=TIME) / s.sum(dim=TIME), s


def nonneg(parameter: torch.Tensor) -> torch.Tensor:
    """``max(parameter, 0)`` in the forward pass with the identity's gradient in the backward.

    This is how the constrained operators keep ``alpha >= 0`` / ``n >= 0``. Their papers
    project the parameter back to 0 after each optimiser step; inside a model the nearest
    equivalent is this straight-through clamp: the value used is the projection, and a
    parameter pushed below 0 still receives the gradient that can bring it back (a plain
    ``clamp`` would stop its gradient for good)."""
    return parameter + (parameter.clamp_min(0.0) - parameter).detach()


# ---------------------------------------------------------------------------
# the catalogue
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """One pooling operator of the catalogue.

    Attributes
    ----------
    name : str
        Registry name (``models.available()``).
    formula : str
        Its clip output, in one line.
    reference : str
        The paper it comes from.
    parameter : str or None
        Its learned per-class parameter (``"alpha"``, ``"n"``) or None.
    start : float
        The parameter's starting value.
    constrained : bool
        The parameter is kept ``>= 0`` (:func:`nonneg`).
    param_l2 : float or None
        Default weight of the L2 penalty on the parameter, for the operators that take the
        ``param_l2`` model option (None: no such option).
    attention : bool
        Has a learned attention (a second 1x1 convolution on the encoder's features).
    label : str
        Short label for tables.
    """

    name: str
    formula: str
    reference: str
    parameter: str | None = None
    start: float = 0.0
    constrained: bool = False
    param_l2: float | None = None
    attention: bool = False
    label: str = ""


_WLM = "Wang, Li, Metze, ICASSP 2019"
_MSB = "McFee, Salamon, Bello, TASLP 2018"

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("max_pool", "max_t y", _WLM, label="max"),
        Operator("mean_pool", "mean_t y", _WLM, label="mean"),
        Operator("linear_softmax", "Σ y² / Σ y", _WLM, label="linear softmax"),
        Operator("exp_softmax", "Σ y e^y / Σ e^y", _WLM, label="exp. softmax"),
        Operator("autopool", "Σ y softmax_t(α_c y)", _MSB, parameter="alpha", start=0.0, label="AutoPool"),
        Operator(
            "autopool_cap",
            "Σ y softmax_t(α_c y), α_c ≥ 0",
            _MSB,
            parameter="alpha",
            start=0.0,
            constrained=True,
            label="AutoPool (CAP)",
        ),
        Operator(
            "autopool_rap",
            "Σ y softmax_t(α_c y), + λ Σ α²",
            _MSB,
            parameter="alpha",
            start=0.0,
            param_l2=1e-4,
            label="AutoPool (RAP)",
        ),
        Operator(
            "power_pool",
            "Σ y^(n_c+1) / Σ y^n_c, n_c ≥ 0",
            "Liu et al., 2020",
            parameter="n",
            start=1.0,
            constrained=True,
            param_l2=0.0,
            label="power",
        ),
        Operator("noisy_or", "1 − Π_t (1 − y)", "Wang, Li, Metze, 2018", label="noisy-or"),
        Operator("attention_time", "Σ_t softmax_t(a) y", "Kong et al., 2019", attention=True, label="attention (time)"),
        Operator(
            "attention_class",
            "Σ_t y softmax_c(a) / Σ_t softmax_c(a)",
            "DCASE/DESED baseline",
            attention=True,
            label="attention (class)",
        ),
    )
}
"""The operators, in table order."""


def get_operator(name: str) -> Operator:
    """The operator called ``name``; ModelError listing the known ones otherwise."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise ModelError(f"unknown pooling operator {name!r}; known: {', '.join(OPERATORS)}.") from None


def pool(
    name: str, y: torch.Tensor, *, parameter: torch.Tensor | None = None, attention_logits: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Apply the operator ``name`` to frame probabilities ``y`` (B, T, C).

    ``parameter`` is the operator's per-class parameter as used (after any constraint),
    ``attention_logits`` (B, T, C) its attention. Returns the clip output (B, C) and, for the
    attention operators, their weights (B, T, C).
    """
    op = get_operator(name)
    if op.parameter is not None and parameter is None:
        raise ModelError(f"pooling {name!r} needs its per-class parameter {op.parameter}.")
    if op.attention and attention_logits is None:
        raise ModelError(f"pooling {name!r} needs attention logits of the frame probabilities' shape.")
    if name == "max_pool":
        return max_pool(y), None
    if name == "mean_pool":
        return mean_pool(y), None
    if name == "linear_softmax":
        return linear_softmax(y), None
    if name == "exp_softmax":
        return exp_softmax(y), None
    if name in ("autopool", "autopool_cap", "autopool_rap"):
        assert parameter is not None
        return autopool(y, parameter), None
    if name == "power_pool":
        assert parameter is not None
        return power_pool(y, parameter), None
    if name == "noisy_or":
        return noisy_or(y), None
    assert attention_logits is not None
    if name == "attention_time":
        clip, weights = attention_time(y, attention_logits)
    else:
        clip, weights = attention_class(y, attention_logits)
    # A weighted mean of probabilities that saturate at 1.0 can round a few ulps above 1
    # (softmax weights sum to 1 +- 1e-7), which the BCE refuses: keep the clip in [0, 1].
    return clip.clamp(0.0, 1.0), weights


# ---------------------------------------------------------------------------
# the head
# ---------------------------------------------------------------------------


class FramePoolingHead(nn.Module):
    """Frame probabilities from an encoder's maps, pooled over time by one :data:`OPERATORS` entry.

    One frequency reduction for every operator: a 1x1 convolution gives per-class logits
    ``(B, C, T, F)``, their **mean over the F mel bins** is the frame logit, and its sigmoid
    is the frame probability ``y`` (B, T, C). (A linear classifier of the frequency-averaged
    features, as the CRNN/DESED baselines have it; it leaves the time axis, the only one the
    operators differ on, untouched.) The attention operators get a second 1x1 convolution,
    reduced the same way, started at zero so that they start as mean pooling, as the atrous
    head's attention. The learned parameters (``alpha`` of AutoPool, ``n`` of power pooling)
    are one per class and start at the operator's ``start``.

    The ``frame_probs`` returned are exactly the ``y`` that the clip output pools.

    Parameters
    ----------
    in_channels : int
        Channels ``K`` of the encoder's maps.
    n_classes : int
    operator : str
        A key of :data:`OPERATORS`.
    param_l2 : float
        Weight of the L2 penalty on the learned parameter, added to the loss as
        ``"param_penalty"`` (operators without a parameter ignore it).

    Shapes
    ------
    ``(B, K, T, F) -> {"clip_probs": (B, C), "frame_probs": (B, C, T), "tf_map": (B, C, T, F)
    per-bin probabilities, ["time_attention": (B, C, T)], ["param_penalty": ()]}``.
    """

    def __init__(self, in_channels: int, n_classes: int, *, operator: str, param_l2: float = 0.0) -> None:
        super().__init__()
        self.op = get_operator(operator)
        if not (param_l2 >= 0 and math.isfinite(param_l2)):
            raise ModelError(f"param_l2 must be a finite number >= 0, got {param_l2!r}.")
        self.param_l2 = float(param_l2)
        self.classifier = nn.Conv2d(in_channels, n_classes, kernel_size=1)
        self.attention: nn.Conv2d | None = None
        if self.op.attention:
            self.attention = nn.Conv2d(in_channels, n_classes, kernel_size=1)
            setattr(self.attention, "zero_init", True)  # noqa: B010 (read by init_parameters)
        self.pool_param: nn.Parameter | None = None
        if self.op.parameter is not None:
            self.pool_param = nn.Parameter(torch.full((n_classes,), float(self.op.start)))  # init_parameters skips it

    def pool_parameter(self) -> torch.Tensor | None:
        """The per-class parameter as the operator uses it (constrained ones ``>= 0``), or None."""
        if self.pool_param is None:
            return None
        return nonneg(self.pool_param) if self.op.constrained else self.pool_param

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.classifier(h)  # (B, C, T, F), autocast dtype
        att_logits = None if self.attention is None else self.attention(h)
        with torch.autocast(device_type=h.device.type, enabled=False):
            logits = logits.float()
            frame = torch.sigmoid(logits.mean(dim=-1))  # (B, C, T): mean over F, then sigmoid
            y = frame.transpose(1, 2)  # (B, T, C)
            a = None if att_logits is None else att_logits.float().mean(dim=-1).transpose(1, 2)  # (B, T, C)
            param = self.pool_parameter()
            clip, weights = pool(self.op.name, y, parameter=param, attention_logits=a)
        out = {"clip_probs": clip, "frame_probs": frame, "tf_map": torch.sigmoid(logits)}
        if weights is not None:
            out["time_attention"] = weights.transpose(1, 2)  # (B, C, T)
        if param is not None and self.param_l2 > 0:
            out["param_penalty"] = self.param_l2 * (param * param).sum()
        return out

    def score_layers(self) -> list[nn.Conv2d]:
        """The layer whose sigmoid gives the class scores (the class convolution)."""
        return [self.classifier]

    def extra_repr(self) -> str:
        return f"operator={self.op.name!r}" + (f", param_l2={self.param_l2:g}" if self.op.parameter else "")
