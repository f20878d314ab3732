"""models: the encoders, pooling heads and auxiliary decoder of the paper, in plain PyTorch.

>>> import models
>>> model = models.build("2ap_aux", width=0.25)          # doctest: +SKIP
>>> out = model(x)                                        # x: (B, T, F) standardised log-mel
>>> losses = models.sed_loss(out, target=y, features=x, alpha=model.config.alpha)

Imports nothing from ``remix`` or ``bench``.
"""

from models.errors import ModelError
from models.loss import sed_loss
from models.registry import REGISTRY, ModelConfig, available, build, from_config, make_config
from models.sed import SEDModel

__all__ = [
    "ModelError",
    "ModelConfig",
    "REGISTRY",
    "SEDModel",
    "available",
    "build",
    "from_config",
    "make_config",
    "sed_loss",
]
