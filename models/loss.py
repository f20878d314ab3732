"""The training objective: BCE on clip probabilities + alpha x MSE of the reconstruction (paper eq. 3),
plus the L2 penalty a pooling operator puts on its learned parameter (``"param_penalty"``, if any)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from models.errors import ModelError


def sed_loss(
    out: Mapping[str, torch.Tensor], *, target: torch.Tensor, features: torch.Tensor, alpha: float
) -> dict[str, torch.Tensor]:
    """Combined loss of the primary (SED) and the auxiliary (reconstruction) task.

    Both terms are mean-reduced and computed in float32 with autocast disabled, so the
    loss is the same under bf16/fp16 autocast.

    Parameters
    ----------
    out : mapping
        A model's output: ``"clip_probs"`` [shape=(B, C)] and, for models with a decoder,
        ``"reconstruction"`` [shape=(B, T, F)]; a model whose pooling parameter carries an L2
        penalty (``autopool_rap``, ``power_pool`` with ``param_l2``) also ``"param_penalty"``, a
        scalar added to the loss as it is.
    target : torch.Tensor [shape=(B, C)]
        Weak labels in ``{0, 1}`` (any float or bool dtype).
    features : torch.Tensor [shape=(B, T, F)]
        The model's input (standardised log-mel), the reconstruction target.
    alpha : float
        Weight of the reconstruction term (``model.config.alpha``).

    Returns
    -------
    dict
        ``"loss"`` = ``bce + alpha * mse (+ param_penalty)``, ``"bce"``, ``"mse"`` (0 without reconstruction),
        all float32 scalars. With ``alpha == 0`` the MSE is reported but detached, so no
        gradient (and no backward computation) reaches the decoder.

    Raises
    ------
    ModelError
        Shapes that do not match, or ``alpha > 0`` for an output without reconstruction.
    """
    probs = out["clip_probs"]
    if tuple(target.shape) != tuple(probs.shape):
        raise ModelError(
            f"target must have the clip probabilities' shape {tuple(probs.shape)} (batch, classes); "
            f"got {tuple(target.shape)}."
        )
    recon = out.get("reconstruction")
    if recon is None and alpha > 0:
        raise ModelError(
            f"alpha={alpha} weights a reconstruction loss, but the model output has no "
            "'reconstruction'; use a model with a decoder (e.g. '2ap_aux') or alpha=0."
        )
    if recon is not None and tuple(recon.shape) != tuple(features.shape):
        raise ModelError(
            f"reconstruction shape {tuple(recon.shape)} differs from the features' "
            f"{tuple(features.shape)}; pass the model's own input as features."
        )
    with torch.autocast(device_type=probs.device.type, enabled=False):
        bce = F.binary_cross_entropy(probs.float(), target.float())
        if recon is None:
            mse = torch.zeros((), dtype=torch.float32, device=probs.device)
        elif alpha > 0:
            mse = F.mse_loss(recon.float(), features.float())
        else:  # reported only: no backward pass through a decoder that does not count
            mse = F.mse_loss(recon.detach().float(), features.float())
        total = bce + alpha * mse if alpha > 0 else bce
        penalty = out.get("param_penalty")
        if penalty is not None:
            total = total + penalty.float()
    return {"loss": total, "bce": bce, "mse": mse}
