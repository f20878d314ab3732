"""Constants the paper fixed at its own map size, carried to a preset's resolution.

The paper's models see log-mels of 311 frames x 64 mel bands (hop 32 ms). A preset with a
coarser log-mel (the CPU presets: 77 x 16 or 38 x 16) must run the *same operator* on its
smaller maps, or a table row measures something else under the paper's name. Each constant
that depends on the number of positions is listed here with what it is tied to; the ones
that must move with the map are computed from the run's real frame and band counts.

=================================  ===============================  ======================================
constant                           tied to                          what a preset gets
=================================  ===============================  ======================================
GWRP rank decay ``d = 0.9998``     the ``T x F`` positions ranked   ``d ** (19904 / (T * F))``: the same
                                   (19,904 in the paper: the last   weight at the same fraction of the
                                   rank weighs 0.019 of the first)  ranks (:func:`gwrp_decay`)
raw-output median filter           frames (5 = 160 ms at 32 ms)     0.16 s, as the nearest odd number of
(``metrics.json`` ``event``)                                        frames (:func:`raw_median_frames`)
chosen median filter               seconds already                  unchanged (0-2 s grid)
2AP dense time layer               ``n_frames``                     built for the preset's frames
2-D attention clamp 0.1            a fraction of each bin's weight  unchanged: an event covering a share
                                                                    of the map gets the same share of
                                                                    attention at any resolution
conv kernels, dilations, pools     frames and bands                 unchanged (see below)
=================================  ===============================  ======================================

The encoders' kernels (3 x 3 VGG and shared encoders, 5 x 5 atrous with dilations 1-2-4,
the stride-1 3 x 3 average pools of the shared encoder and the decoder) count frames and
bands, so at a coarser hop they span more seconds and a larger share of the bands: the
atrous encoder's receptive field is 29 frames x 29 bands, 0.93 s x 45 % of the bands in the
paper and 3.7 s x all 16 bands at ``cpu-full``. They cannot shrink with the map (a 3 x 3
kernel is the smallest that still mixes neighbours, and a dilation below 1 does not exist),
so they are left as the paper built them and every encoder sees a wider context on the CPU
presets alike; ``docs/resolution.md`` says so beside the tables.
"""

from __future__ import annotations

import math

import numpy as np

from bench.errors import BenchError

PAPER_FRAMES = 311
"""Frames of a 10 s clip under the paper's log-mel (hop 1024 at 32 kHz, no centre padding)."""
PAPER_MELS = 64
"""Mel bands of the paper's log-mel."""
PAPER_POSITIONS = PAPER_FRAMES * PAPER_MELS
"""Time-frequency positions GWRP ranks in the paper: 19,904."""
PAPER_GWRP_DECAY = 0.9998
"""GWRP's rank decay in the paper, for :data:`PAPER_POSITIONS` positions."""
RAW_MEDIAN_S = 5 * 1024 / 32000
"""Median filter of the raw-output event metrics: 5 frames of the paper's hop, 0.16 s."""


def gwrp_decay(*, n_frames: int, n_mels: int, paper_decay: float = PAPER_GWRP_DECAY) -> float:
    """GWRP rank decay for maps of ``n_frames x n_mels`` positions that weighs the same fraction
    of the ranks as ``paper_decay`` does over the paper's 311 x 64.

    Rank ``i`` of ``N`` weighs ``d ** i``; at the fraction ``q = i / N`` of the ranks that is
    ``d ** (q N)``, so ``d_N = d_paper ** (N_paper / N)`` gives every fraction the paper's
    weight: the last rank weighs ``0.9998 ** 19903 = 0.019`` in the paper and
    ``0.99677 ** 1231 = 0.019`` at 77 x 16.

    Parameters
    ----------
    n_frames, n_mels : int
        The map GWRP pools (the VGG encoder keeps the input's resolution).
    paper_decay : float
        The paper's decay (0.9998).

    Returns
    -------
    float
        ``paper_decay`` itself at the paper's size.
    """
    if n_frames < 1 or n_mels < 1:
        raise BenchError(f"a map needs at least one frame and one band, found {n_frames} x {n_mels}")
    n = n_frames * n_mels
    if n == PAPER_POSITIONS:
        return float(paper_decay)
    return float(math.exp(math.log(paper_decay) * PAPER_POSITIONS / n))


def last_rank_weight(decay: float, *, n: int) -> float:
    """Weight of the last of ``n`` ranks relative to the first: ``decay ** (n - 1)``."""
    return float(decay ** (n - 1))


def raw_median_frames(hop_s: float) -> int:
    """Frames of the raw-output median filter at ``hop_s``: the odd count nearest 0.16 s
    (5 at the paper's 32 ms hop, 1 (no filter) at 128 ms and coarser)."""
    if not hop_s > 0:
        raise BenchError(f"the frame hop must be positive, found {hop_s}")
    frames = RAW_MEDIAN_S / hop_s
    return int(max(1, 2 * np.floor((frames - 1) / 2 + 0.5) + 1))


def resolution_constants(model: str, options: dict, *, n_frames: int, n_mels: int) -> dict[str, float]:
    """The model options a run gets from its resolution: ``{"gwrp_decay": ...}`` for GWRP
    unless ``options`` sets it (``--option gwrp_decay=``, which always wins); else empty."""
    if model == "gwrp" and "gwrp_decay" not in options:
        return {"gwrp_decay": gwrp_decay(n_frames=n_frames, n_mels=n_mels)}
    return {}
