"""Named model configurations, one per row of the paper's tables (:func:`make_config`);
:mod:`models.registry` builds them.

=========  =====================  ==================  =======  =================
name       encoder                pooling             decoder  default alpha
=========  =====================  ==================  =======  =================
gap        VGG-like (baseline)    global average      no       0
gmp        VGG-like (baseline)    global max          no       0
gwrp       VGG-like (baseline)    global weighted     no       0
                                  rank (d = 0.9998)
atrous_ap  dilated (atrous)       2-D attention       no       0
2ap        shared (proposed)      two-step attention  no       0
2ap_aux    shared (proposed)      two-step attention  yes      0.001
=========  =====================  ==================  =======  =================

and the eleven weak-label pooling operators of :mod:`models.mil` (``max_pool``, ``mean_pool``,
``linear_softmax``, ``exp_softmax``, ``autopool``, ``autopool_cap``, ``autopool_rap``,
``power_pool``, ``noisy_or``, ``attention_time``, ``attention_class``), each on the VGG-like
encoder of the baselines with one frequency reduction (:class:`models.mil.FramePoolingHead`),
no decoder. ``autopool_rap`` and ``power_pool`` take ``param_l2``, the weight of an L2 penalty
on their learned per-class parameter (default 1e-4 and 0).

Where the paper and the original code differ, the paper's reading is the default and
the code's a named option, with one exception: the 2AP attention defaults to the code's
``attention="code"`` (sigmoid on the class scores, softmax of the raw attention logits),
because that is what produced the paper's numbers; ``"sigmoid_in_softmax"`` and the
printed equations (``"as_printed"``) are named options. Others: ``decoder_output="relu"``
(ReLU on the reconstruction), ``atrous_activation="log_softmax"``
(the atrous head's class log-softmax followed by a sigmoid, which caps the outputs at 0.5;
the default is the multi-label sigmoid head). ``time_layer="conv"`` is an addition: a 2AP
time step that takes clips of any length instead of the dense layer over ``n_frames``.
``prior`` is another addition, for every name: a class-prior initialisation of the layers
whose sigmoid gives the class scores (default ``None``: the original initialisation).
``time_init="identity"`` (default) starts the 2AP time step as the identity on
probabilities with uniform attention; ``"default"`` is the original initialisation, under
which training idles for many epochs before it takes off.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from models.errors import ModelError
from models.mil import OPERATORS

GlobalKind = Literal["gap", "gmp", "gwrp"]
AtrousActivation = Literal["sigmoid", "log_softmax"]
AttentionMode = Literal["code", "sigmoid_in_softmax", "as_printed"]
TimeLayer = Literal["dense", "conv"]
TimeInit = Literal["identity", "default"]
DecoderOutput = Literal["linear", "relu"]


@dataclass(frozen=True)
class ModelSpec:
    """What a registry name stands for."""

    encoder: str  # "vgg" | "atrous" | "shared"
    pooling: str  # "gap" | "gmp" | "gwrp" | "atrous_ap" | "2ap"
    decoder: bool
    alpha: float
    options: tuple[str, ...]  # head options that apply to this name
    row: str  # the table row it reproduces


_2AP_OPTIONS = ("attention", "time_layer", "time_kernel", "time_init")

REGISTRY: dict[str, ModelSpec] = {
    "gap": ModelSpec("vgg", "gap", False, 0.0, (), "Table 1: VGGish + GAP"),
    "gmp": ModelSpec("vgg", "gmp", False, 0.0, (), "Table 1: VGGish + GMP"),
    "gwrp": ModelSpec("vgg", "gwrp", False, 0.0, ("gwrp_decay",), "Table 1: VGGish + GWRP"),
    "atrous_ap": ModelSpec("atrous", "atrous_ap", False, 0.0, ("atrous_activation",), "Table 1: VGGish (dil.) + AP"),
    "2ap": ModelSpec("shared", "2ap", False, 0.0, _2AP_OPTIONS, "Table 2: 2AP, alpha = 0"),
    "2ap_aux": ModelSpec(
        "shared",
        "2ap",
        True,
        0.001,
        (*_2AP_OPTIONS, "decoder_output"),
        "Table 1 / 2: 2AP + reconstruction task, alpha = 0.001",
    ),
    **{
        name: ModelSpec(
            "vgg",
            name,
            False,
            0.0,
            ("param_l2",) if op.param_l2 is not None else (),
            f"pooling benchmark: VGGish + {op.label} ({op.reference})",
        )
        for name, op in OPERATORS.items()
    },
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "atrous_activation": get_args(AtrousActivation),
    "attention": get_args(AttentionMode),
    "time_layer": get_args(TimeLayer),
    "time_init": get_args(TimeInit),
    "decoder_output": get_args(DecoderOutput),
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model's architecture and its loss weight.

    Attributes
    ----------
    name : str
        Registry name (see :func:`available`).
    encoder, pooling : str
        Parts, fixed by the name.
    decoder : bool
        Whether the auxiliary reconstruction decoder is built.
    alpha : float
        Weight of the reconstruction loss in :func:`models.sed_loss` (0 without decoder).
    n_classes, n_mels, n_frames : int
        Output classes, mel bins ``F``, frames ``T`` (``T`` only binds the 2AP dense time layer).
    width : float
        Channel multiplier of every hidden layer (1.0 = the paper's).
    gwrp_decay : float
        GWRP's rank decay ``d``.
    atrous_activation : {"sigmoid", "log_softmax"}
        Class activation of the atrous attention head (default multi-label sigmoid;
        ``"log_softmax"`` as the original code).
    attention : {"code", "sigmoid_in_softmax", "as_printed"}
        2AP attention (see :func:`models.pooling.attention_step`): sigmoid on the scores and
        softmax of the raw attention logits (``"code"``, default, as the original code);
        sigmoid on the scores and inside the softmax (``"sigmoid_in_softmax"``); or the
        equations as printed, sigmoid inside the softmax and none on the scores
        (``"as_printed"``). Configs saved with the former value ``"paper"`` (which computed
        ``"sigmoid_in_softmax"``) are read as that.
    time_layer : {"dense", "conv"}
        2AP time step: dense over ``n_frames`` frames, or a length-agnostic per-class conv.
    time_kernel : int
        Kernel size of the ``"conv"`` time layer (odd).
    time_init : {"identity", "default"}
        How the 2AP time step starts: as the identity on probabilities with uniform
        attention (default), or PyTorch's default initialisation of its layers (as the
        original code; see :class:`models.pooling.TwoStepAttentionPooling`).
    decoder_output : {"linear", "relu"}
        Decoder output: linear (default) or ReLU as the original code.
    param_l2 : float
        Weight of the L2 penalty on the learned per-class parameter of ``autopool_rap``
        (default 1e-4, as McFee et al.'s code) and ``power_pool`` (default 0); 0 elsewhere.
    prior : float or None
        Class-prior initialisation. ``None`` (default): the original initialisation, whose
        clip probabilities start near 0.5. A probability in ``(0, 1)``: every layer whose
        sigmoid gives a head's class scores starts with bias ``logit(prior)`` (GAP / GMP / GWRP
        and atrous class convolutions also with weights scaled by
        :data:`models.sed.PRIOR_WEIGHT_SCALE`), so the initial clip probabilities are close
        to ``prior``, and the frame probabilities on average. 3/41 is the share of positive
        labels when each clip holds 3 of the 41 events. See :meth:`models.SEDModel.score_layers`.
    """

    name: str
    encoder: str
    pooling: str
    decoder: bool
    alpha: float
    n_classes: int = 41
    n_mels: int = 64
    n_frames: int = 311
    width: float = 1.0
    gwrp_decay: float = 0.9998
    atrous_activation: AtrousActivation = "sigmoid"
    attention: AttentionMode = "code"
    time_layer: TimeLayer = "dense"
    time_kernel: int = 1
    time_init: TimeInit = "identity"
    decoder_output: DecoderOutput = "linear"
    param_l2: float = 0.0
    prior: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of all fields (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`, validated like :func:`make_config`."""
        data = dict(data)
        if data.get("attention") == "paper":  # the former name of "sigmoid_in_softmax"
            data["attention"] = "sigmoid_in_softmax"
        name = data.pop("name", None)
        if name is None:
            raise ModelError("a model config needs a 'name'; found none.")
        spec = _spec(name)
        for key in ("encoder", "pooling", "decoder"):
            if key in data and data.pop(key) != getattr(spec, key):
                raise ModelError(
                    f"config of model {name!r}: {key} is fixed by the name to "
                    f"{getattr(spec, key)!r}; found another value."
                )
        base = {k: data.pop(k) for k in ("n_classes", "n_mels", "n_frames", "width", "alpha", "prior") if k in data}
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        options = {k: v for k, v in data.items() if k in spec.options or k not in defaults or v != defaults[k]}
        return make_config(name, **base, **options)


def available() -> list[str]:
    """Names of the registered models, in table order."""
    return list(REGISTRY)


def _spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}.") from None


def make_config(
    name: str,
    *,
    n_classes: int = 41,
    n_mels: int = 64,
    n_frames: int = 311,
    width: float = 1.0,
    alpha: float | None = None,
    prior: float | None = None,
    **options: Any,
) -> ModelConfig:
    """Validated configuration of a registered model.

    Parameters
    ----------
    name : str
        One of :func:`available`.
    n_classes, n_mels, n_frames : int
        Classes, mel bins and frames per clip.
    width : float
        Channel multiplier (1.0 = the paper's widths).
    alpha : float, optional
        Reconstruction-loss weight; ``None`` takes the name's default (0.001 for ``2ap_aux``,
        0 otherwise). Models without decoder accept only 0.
    **options
        Head options that apply to the name (see :class:`ModelConfig`).

    Raises
    ------
    ModelError
        Unknown name, an option that does not apply or has a bad value.
    """
    spec = _spec(name)
    for key, value in (("n_classes", n_classes), ("n_mels", n_mels), ("n_frames", n_frames)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(f"{key} must be a positive integer, got {value!r}.")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not (width > 0 and math.isfinite(width)):
        raise ModelError(f"width must be a positive number, got {width!r}; e.g. 1.0 (the paper's) or 0.25.")
    if alpha is None:
        alpha = spec.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (alpha >= 0 and math.isfinite(alpha)):
        raise ModelError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    if alpha > 0 and not spec.decoder:
        with_decoder = [n for n, s in REGISTRY.items() if s.decoder]
        raise ModelError(
            f"model {name!r} has no reconstruction decoder, so alpha must be 0; got alpha={alpha}. "
            f"Use {', '.join(repr(n) for n in with_decoder)} for alpha > 0."
        )
    if prior is not None:
        if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not 0.0 < prior < 1.0:
            raise ModelError(
                f"prior must be a probability strictly between 0 and 1 (or None), got {prior!r}; "
                "e.g. 3/41 for clips holding 3 of 41 events."
            )
        prior = float(prior)
        if options.get("atrous_activation") == "log_softmax":
            raise ModelError(
                "prior does not apply to atrous_activation='log_softmax' (its classes share a "
                "softmax, so a per-class bias cannot set their level); use prior=None or the "
                "default 'sigmoid' activation."
            )
    unknown = [k for k in options if k not in spec.options]
    if unknown:
        applies = ", ".join(spec.options) if spec.options else "none"
        raise ModelError(f"option(s) {', '.join(unknown)} do not apply to model {name!r}; its options are: {applies}.")
    for key, value in options.items():
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ModelError(f"{key} must be one of {', '.join(repr(c) for c in _CHOICES[key])}; got {value!r}.")
    if "gwrp_decay" in options:
        d = options["gwrp_decay"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d <= 1.0:
            raise ModelError(f"gwrp_decay must be a number in [0, 1], got {d!r}; the paper uses 0.9998.")
        options["gwrp_decay"] = float(d)
    if "param_l2" in options:
        lam = options["param_l2"]
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not (lam >= 0 and math.isfinite(lam)):
            raise ModelError(f"param_l2 must be a finite number >= 0, got {lam!r}; e.g. 1e-4.")
        options["param_l2"] = float(lam)
    elif "param_l2" in spec.options:
        options["param_l2"] = OPERATORS[name].param_l2
    if "time_kernel" in options:
        k = options["time_kernel"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ModelError(f"time_kernel must be an odd positive integer, got {k!r}.")
    return ModelConfig(
        name=name,
        encoder=spec.encoder,
        pooling=spec.pooling,
        decoder=spec.decoder,
        alpha=float(alpha),
        n_classes=n_classes,
        n_mels=n_mels,
        n_frames=n_frames,
        width=float(width),
        prior=prior,
        **options,
    )
