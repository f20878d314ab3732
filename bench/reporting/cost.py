"""What each system costs: parameters, multiply-accumulates per 10 s clip at a preset's resolution,
and the training seconds its runs took (the DCASE reporting convention asks for the first two).

:func:`model_cost` counts a model built as a run of the preset builds it (width, frames, mel bands),
with :class:`torch.utils.flop_counter.FlopCounterMode` over one forward pass of one clip
(MACs = counted FLOPs / 2: convolutions and matrix products; element-wise work is not counted).
:func:`cost_table` adds the runs' summed and median training seconds per system and SNR.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

import models
from bench.presets import get_preset
from bench.resolution import resolution_constants

CLIP_SECONDS = 10.0
"""The clip length the MACs are counted for (the corpus's clips)."""


def model_cost(name: str, *, preset: str, alpha: float | None = None, clip_s: float = CLIP_SECONDS) -> dict:
    """``params`` (trainable parameters) and ``macs`` (multiply-accumulates of one forward pass of one
    ``clip_s`` clip) of model ``name`` as built under ``preset``; ``frames`` and ``mel_bands`` of its input."""
    from torch.utils.flop_counter import FlopCounterMode

    p = get_preset(preset)
    n_frames = p.features.n_frames(int(round(clip_s * p.features.sample_rate)))
    n_mels = p.features.n_mels
    net = models.build(
        name,
        n_mels=n_mels,
        n_frames=n_frames,
        width=p.width,
        alpha=alpha,
        prior=p.prior,
        seed=0,
        **resolution_constants(name, {}, n_frames=n_frames, n_mels=n_mels),
    ).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.zeros(1, n_frames, n_mels))
    return {
        "params": int(sum(t.numel() for t in net.parameters() if t.requires_grad)),
        "macs": int(counter.get_total_flops() // 2),
        "frames": n_frames,
        "mel_bands": n_mels,
    }


def cost_table(runs: pd.DataFrame, *, preset: str, names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per model of ``names`` (default: every model with a finished run of ``preset`` in
    ``runs``, else every registered one): parameters, MACs per 10 s clip, and the number of finished
    runs with their summed and median training seconds (``runs`` is
    :func:`bench.reporting.listing.list_runs`, whose ``wall_s`` sums a run's epoch times)."""
    done = runs[(runs["status"] == "done") & (runs["preset"] == preset)] if not runs.empty else runs
    if names is None:
        names = [n for n in models.available() if not done.empty and n in set(done["model"])] or models.available()
    rows = []
    for name in names:
        cost = model_cost(name, preset=preset)
        row = {"model": name, **cost}
        mine = done[done["model"] == name] if not done.empty else done
        row["runs"] = len(mine)
        seconds = pd.to_numeric(mine["wall_s"], errors="coerce") if "wall_s" in mine.columns else pd.Series(dtype=float)
        row["train_s_total"] = float(seconds.sum()) if seconds.notna().any() else None
        row["train_s_median"] = float(seconds.median()) if seconds.notna().any() else None
        rows.append(row)
    return pd.DataFrame(rows)


def cost_markdown(table: pd.DataFrame, *, preset: str, synthetic: bool) -> str:
    """The cost table as markdown."""
    from bench.reporting.table import SYNTHETIC_WARNING

    lines = [f"**Cost per system, preset {preset}**", ""]
    if synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}** (training seconds measured on it)", ""]
    lines += [
        "Parameters; multiply-accumulates (MACs) of one forward pass of one 10 s clip at the preset's "
        "resolution (convolutions and matrix products, torch.utils.flop_counter); finished runs of the "
        "preset and their training seconds (summed, and the median run), on the machine that trained them.",
        "",
        "| model | parameters | MACs per clip | input | runs | training s (total) | training s (median run) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in table.to_dict("records"):
        total = "—" if row["train_s_total"] is None else f"{row['train_s_total']:,.0f}"
        median = "—" if row["train_s_median"] is None else f"{row['train_s_median']:,.0f}"
        lines.append(
            f"| {row['model']} | {row['params']:,} | {row['macs'] / 1e6:,.1f} M | {row['frames']} x "
            f"{row['mel_bands']} | {row['runs']} | {total} | {median} |"
        )
    return "\n".join(lines) + "\n"
