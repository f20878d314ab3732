"""Every metric a table, an interval or a comparison can name, declared once (:data:`CATALOGUE`).

A :class:`Metric` says where a run's value lives (its column in the flattened ``metrics.json``
of :func:`bench.store.load_runs`, after the ``<split>_`` prefix), what it is called in a table,
which way is better, and how its replicates (its value on each canonical resample of the split's
clips, :mod:`bench.evaluation.bootstrap`) are made: ``"clip"`` metrics are recomputed from a
run's ``predictions.parquet`` (:func:`bench.reporting.intervals.run_replicates`), ``"dcase"``
metrics are stored by the run's localisation in ``dcase/<split>/bootstrap.parquet`` under the
metric's name.

Adding a metric: one row here, and the function that computes it (its value into
``metrics.json`` under :attr:`Metric.column`, its replicates where its kind says). Tables,
intervals, ``bench compare``/``bench table`` and the LaTeX writers then know it by name.
A class's AP, ``ap_<label>``, is a clip metric made on demand by :func:`get_metric`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.errors import BenchError

KINDS = ("clip", "dcase")
"""How a metric's replicates are made (see the module text)."""


@dataclass(frozen=True)
class Metric:
    """One metric.

    Attributes
    ----------
    name : str
        Its name: the key of its replicates (``bootstrap.parquet`` column for ``"dcase"`` ones).
    label : str
        Its title in tables (terminal, Markdown, LaTeX).
    column : str
        Its column in :func:`bench.store.load_runs` after the ``<split>_`` prefix.
    kind : {"clip", "dcase"}
        How its replicates are made.
    higher_is_better : bool
    compare : bool
        Whether ``bench compare`` compares it by default.
    description : str
        One line for documentation.
    """

    name: str
    label: str
    column: str
    kind: str
    higher_is_better: bool = True
    compare: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BenchError(f"metric {self.name!r}: kind must be one of {', '.join(KINDS)}, found {self.kind!r}")

    @property
    def key(self) -> str:
        """Its key in tables: the column without the ``localisation_`` prefix
        (``psds1``, ``tagging_only_psds1``, ``micro_ap``)."""
        return self.column.removeprefix("localisation_")


CATALOGUE: tuple[Metric, ...] = (
    Metric("micro_ap", "micro-AP", "micro_ap", "clip", description="average precision over every (clip, class) pair"),
    Metric("macro_ap", "macro-AP", "macro_ap", "clip", description="mean over classes of their average precision"),
    Metric("auc", "AUC", "auc", "clip", description="macro ROC AUC of the clip probabilities"),
    Metric("psds1", "PSDS1", "localisation_psds1", "dcase", description="DCASE PSDS, scenario 1 (tight onsets)"),
    Metric(
        "psds1_non_oracle",
        "n.o. PSDS1",
        "localisation_psds1_non_oracle",
        "dcase",
        description="PSDS1 over the operating points a real threshold reaches (non-oracle, SEBB paper)",
    ),
    Metric(
        "psds1_mfi",
        "m.f.i. PSDS1",
        "localisation_psds1_mfi",
        "dcase",
        description="PSDS1 over every median filter of the search grid at once (median-filter-independent PSDS)",
    ),
    Metric("psds2", "PSDS2", "localisation_psds2", "dcase", description="DCASE PSDS, scenario 2 (loose onsets)"),
    Metric("event_f1", "event F1", "localisation_event_f1", "dcase", description="collar-based F1 (200 ms onsets)"),
    Metric("segment_f1", "segment F1", "localisation_segment_f1", "dcase", description="F1 over 1 s segments"),
    Metric("frame_f1", "frame F1", "localisation_frame_f1", "dcase", description="F1 over frames x classes"),
    Metric(
        "segment_pauc",
        "seg. pAUC",
        "localisation_segment_pauc",
        "dcase",
        description="mean over classes of the 1 s segment ROC's area up to FPR 0.1, divided by 0.1",
    ),
    Metric(
        "segment_pauc_mcclish",
        "seg. pAUC (McC.)",
        "localisation_segment_pauc_mcclish",
        "dcase",
        description="the segment pAUC with McClish's correction (a chance ROC scores 0.5), DCASE 2024's MAESTRO score",
    ),
    Metric(
        "tagging_psds1",
        "tag-only PSDS1",
        "localisation_tagging_only_psds1",
        "dcase",
        compare=False,
        description="PSDS1 of the clip probabilities broadcast over every frame (the tagging-only control)",
    ),
    Metric(
        "tagging_psds1_non_oracle",
        "tag-only n.o. PSDS1",
        "localisation_tagging_only_psds1_non_oracle",
        "dcase",
        compare=False,
        description="non-oracle PSDS1 of the tagging-only control",
    ),
    Metric(
        "tagging_psds2",
        "tag-only PSDS2",
        "localisation_tagging_only_psds2",
        "dcase",
        compare=False,
        description="PSDS2 of the tagging-only control",
    ),
)
"""The metrics, in the order tables show them by default."""

_BY_NAME = {m.name: m for m in CATALOGUE}
_BY_KEY = {m.key: m for m in CATALOGUE}
_BY_COLUMN = {m.column: m for m in CATALOGUE}


def get_metric(name: str) -> Metric:
    """The metric of a name (``psds1``), a table key (``tagging_only_psds1``) or ``ap_<label>``;
    BenchError naming the known ones otherwise."""
    found = _BY_NAME.get(name) or _BY_KEY.get(name)
    if found is not None:
        return found
    if name.startswith("ap_") and len(name) > 3:
        label = name[3:]
        return Metric(name, f"AP {label}", name, "clip", compare=False, description=f"average precision of {label}")
    raise BenchError(f"unknown metric {name!r}; known: {', '.join(_BY_NAME)} and ap_<class label>")


def metric_names(kind: str | None = None, *, compare: bool | None = None) -> tuple[str, ...]:
    """Names of the catalogue's metrics, in order, of one ``kind`` and/or compared by default."""
    return tuple(
        m.name for m in CATALOGUE if (kind is None or m.kind == kind) and (compare is None or m.compare == compare)
    )


def titled(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(table key, label) of each metric named: the columns of a table."""
    return tuple((get_metric(n).key, get_metric(n).label) for n in names)


def replicate_name(column: str, *, split: str) -> str:
    """The metric name of a flattened metrics column: ``val_micro_ap`` -> ``micro_ap``,
    ``val_ap_Bus`` -> ``ap_Bus``, ``val_localisation_psds1`` -> ``psds1``,
    ``val_localisation_tagging_only_psds2`` -> ``tagging_psds2``."""
    prefix = f"{split}_"
    if not column.startswith(prefix):
        raise BenchError(f"metric column {column!r} is not of the {split!r} split")
    rest = column[len(prefix) :]
    found = _BY_COLUMN.get(rest)
    if found is not None:
        return found.name
    for head, replacement in (("localisation_tagging_only_", "tagging_"), ("localisation_", "")):
        if rest.startswith(head):  # a localisation number outside the catalogue (e.g. event_precision)
            return replacement + rest[len(head) :]
    return rest


def column_of(name: str, *, split: str) -> str:
    """The flattened metrics column of a metric on a split: ``psds1`` -> ``val_localisation_psds1``."""
    return f"{split}_{get_metric(name).column}"
