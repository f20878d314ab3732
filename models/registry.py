"""Build the registered models (:mod:`models.config` names and validates them).

:func:`build` makes a model from a registered name and options; :func:`from_config`
rebuilds one from a stored :class:`models.config.ModelConfig` (a run's ``config.json``).
"""

from __future__ import annotations

from typing import Any

from models.config import REGISTRY, ModelConfig, ModelSpec, available, make_config
from models.sed import SEDModel

__all__ = ["REGISTRY", "ModelConfig", "ModelSpec", "available", "build", "from_config", "make_config"]


def build(
    name: str,
    *,
    n_classes: int = 41,
    n_mels: int = 64,
    n_frames: int = 311,
    width: float = 1.0,
    alpha: float | None = None,
    prior: float | None = None,
    seed: int | None = None,
    **options: Any,
) -> SEDModel:
    """Build a registered model.

    Parameters
    ----------
    name : str
        One of :func:`available`: ``gap``, ``gmp``, ``gwrp``, ``atrous_ap``, ``2ap``, ``2ap_aux``.
    n_classes, n_mels, n_frames, width, alpha, prior, **options
        See :func:`make_config`.
    seed : int, optional
        Seed of the parameter initialisation; ``None`` draws from torch's global generator.

    Returns
    -------
    models.SEDModel
        In training mode, on the CPU, float32. ``model.config`` holds the configuration.

    Raises
    ------
    ModelError
        Unknown name (the message lists the known ones) or a bad option.
    """
    config = make_config(
        name, n_classes=n_classes, n_mels=n_mels, n_frames=n_frames, width=width, alpha=alpha, prior=prior, **options
    )
    return SEDModel(config, seed=seed)


def from_config(config: ModelConfig | dict[str, Any], *, seed: int | None = None) -> SEDModel:
    """Build a model from a :class:`ModelConfig` or its :meth:`ModelConfig.to_dict` (e.g. read
    back from a run's ``config.json``), validated like :func:`build`."""
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    return SEDModel(config, seed=seed)
