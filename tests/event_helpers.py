"""Random reference events for tests of the evaluation code."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def random_events(
    rng: np.random.Generator,
    ids: Sequence[str],
    labels: Sequence[str],
    *,
    draw: Callable[[int], Sequence[int]],
    length_s: tuple[float, float] = (0.5, 2.5),
) -> pd.DataFrame:
    """``events.parquet`` rows at 20 dB for the clips ``ids``: ``draw(i)`` gives the label indices of
    clip ``i``'s events (none: a clip without events), each with an onset in [0, 7) s and a length
    in ``length_s``, rounded to the millisecond."""
    rows = []
    for i, cid in enumerate(ids):
        for j in draw(i):
            onset = round(float(rng.uniform(0.0, 7.0)), 3)
            rows.append(
                dict(
                    clip_id=cid,
                    snr_db=20.0,
                    event_label=labels[j],
                    onset_s=onset,
                    offset_s=round(onset + float(rng.uniform(*length_s)), 3),
                )
            )
    return pd.DataFrame(rows)
