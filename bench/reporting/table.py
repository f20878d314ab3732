"""A results table as data (:class:`Table`) and the marks its cells and captions share.

Every table of this toolkit (the paper's Tables 1-3, the localisation, pooling and resolution
tables) is a :class:`Table`: a long DataFrame of numbers with its rows, column groups, caption
and notes, built by :mod:`bench.reporting.report` and its siblings and rendered by
:mod:`bench.reporting.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.evaluation.bootstrap import METHOD
from bench.presets import CHANCE_RULE, CONVERGENCE_RULE

SYNTHETIC_WARNING = "SYNTHETIC STAND-IN CORPUS — not comparable to the paper's numbers"
DASH = "—"
UNCONVERGED = "†"
AT_CHANCE = "‡"
AT_CHANCE_NOTE = (
    f"{AT_CHANCE}: at least one run of the cell did not learn ({CHANCE_RULE}); such a run is never "
    "counted as converged, and its number is no measure of the system"
)
UNCONVERGED_NOTE = (
    f"{UNCONVERGED}: at least one run of the cell had not converged (converged: {CONVERGENCE_RULE}): "
    "the number is set by the schedule and is not final"
)
INTERVAL_TEXT = "its 95 % interval [low, high] (" + METHOD.replace("95 % ", "", 1) + ")"
BEST_TEXT = (
    "bold: the best row of a column and every row whose paired difference from it (the same "
    "resamples) has a 95 % interval holding 0, so it cannot be told apart from the best"
)
EMPHASIS = "\x02"
"""Leading mark of a cell to set in bold (the best and its ties); each renderer turns it into its own."""


@dataclass
class Table:
    """One of the paper's tables as data.

    Attributes
    ----------
    name : str
        "table1", "table2" or "table3" (also the file stem).
    title : str
    caption : str
        Says the corpus, the split, what a cell holds, and how many runs failed.
    row_header : list of str
        Names of the row-describing columns ("Encoder", "Pooling", "Aux.").
    rows : list of tuple of str
        Row descriptions, in order.
    groups : list of (group title, list of (column key, column title))
        Column groups (e.g. one per SNR), each with its metric columns.
    data : pd.DataFrame
        Long form, one row per cell: row (index into ``rows``), column (key), model,
        alpha, snr_db, metric, mean, std, n, paper.
    notes : list of str
        Extra lines shown under the table.
    synthetic : bool
        True when any run used a synthetic stand-in corpus.
    """

    name: str
    title: str
    caption: str
    row_header: list[str]
    rows: list[tuple[str, ...]]
    groups: list[tuple[str, list[tuple[str, str]]]]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def cell(self, row: int, column: str) -> pd.Series:
        """The data row of one cell."""
        hit = self.data[(self.data["row"] == row) & (self.data["column"] == column)]
        if hit.empty:
            raise KeyError((row, column))
        return hit.iloc[0]
