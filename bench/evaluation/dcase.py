"""The DCASE localisation metrics of a split with sed_scores_eval: PSDS1 (oracle and non-oracle),
PSDS2, collar-based event F1, segment F1 and segment-based partial AUROC.

Non-oracle PSDS (Ebbers et al., the SEBB paper; ``psds(..., non_oracle=True)``) keeps only the
operating points a real threshold reaches: a threshold whose TPR is below that of a higher
threshold with the same or lower eFPR is not pruned with the ground truth's help. The segment
pAUC is DCASE 2024 Task 4's MAESTRO score: per class, the area under the 1 s segment ROC up to
a false-positive rate of 0.1, averaged over the classes (``segment_pauc``: the area divided by
0.1; ``segment_pauc_mcclish``: McClish's correction, which maps a chance ROC to 0.5).

sed_scores_eval refuses classes without a reference event, so every metric is taken over the
classes present in the split's ground truth; the others are listed in ``classes_left_out``.
PSDS needs at least two classes present (None otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.formats import with_classes
from bench.evaluation.parallel import run_calls as _run_calls
from bench.evaluation.sse import (
    COLLAR,
    PSDS1,
    PSDS2,
    SEGMENT_LENGTH_S,
    check_features,
    import_sed_scores_eval,
    segment_pauc,
)
from bench.evaluation.statistics import Statistic, joined_deltas, joined_from_owned, statistic_key


def psds_values(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    scenarios: Sequence[Mapping[str, Any]] = (PSDS1, PSDS2),
    non_oracle: Sequence[Mapping[str, Any]] = (),
    num_jobs: int = 1,
    owned: Mapping[tuple, Mapping[str, tuple]] | None = None,
) -> list[float]:
    """PSDS of several scenarios with sed_scores_eval, from :func:`joined_deltas`
    (identical to ``sed_scores_eval.intersection_based.psds``, in bounded memory and over
    ``num_jobs`` processes).

    Parameters
    ----------
    scores, ground_truth, durations : dict
        As :func:`joined_deltas`.
    scenarios : sequence of dict
        ``psds`` keyword arguments (:data:`PSDS1`, :data:`PSDS2`).
    non_oracle : sequence of dict
        Scenarios of ``scenarios`` whose non-oracle PSDS is also computed (from the same statistics).
    num_jobs : int
    owned : dict, optional
        :func:`bench.evaluation.statistics.owned_statistics` of these scores, already computed.

    Returns
    -------
    list of float
        One PSDS per scenario, then one non-oracle PSDS per scenario of ``non_oracle``.
    """
    unknown = [scenario for scenario in non_oracle if scenario not in scenarios]
    if unknown:
        raise BenchError(f"non-oracle PSDS asked for {len(unknown)} scenario(s) not among the scenarios scored")
    statistics: list[Statistic] = [("intersection", scenario) for scenario in scenarios]
    deltas = _joined(scores, ground_truth, durations, statistics=statistics, num_jobs=num_jobs, owned=owned)
    truth, seconds = dict(ground_truth), dict(durations)
    calls = [partial(_psds, d, truth, seconds, scenario) for scenario, d in zip(scenarios, deltas)]
    calls += [
        partial(_psds, d, truth, seconds, scenario, True)
        for scenario, d in zip(scenarios, deltas)
        if scenario in non_oracle
    ]
    return _run_calls(calls, num_jobs=num_jobs)


def _joined(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    statistics: Sequence[Statistic],
    num_jobs: int,
    owned: Mapping[tuple, Mapping[str, tuple]] | None,
) -> list[dict]:
    """:func:`joined_deltas` of ``statistics``, taken from ``owned`` where it holds them all."""
    if owned is not None and all(statistic_key(s) in owned for s in statistics):
        ids = list(scores)
        return [joined_from_owned(owned[statistic_key(s)], ids) for s in statistics]
    return joined_deltas(scores, ground_truth, durations, statistics=statistics, num_jobs=num_jobs)


def _psds(
    deltas: dict, ground_truth: dict, durations: dict, scenario: Mapping[str, Any], non_oracle: bool = False
) -> float:
    sse = import_sed_scores_eval()
    value = sse.intersection_based.psds(None, ground_truth, durations, deltas=deltas, non_oracle=non_oracle, **scenario)
    return float(value[0])


def _paucs(deltas: dict, ground_truth: dict, durations: dict) -> dict[str, float]:
    return {
        "segment_pauc": segment_pauc(deltas, ground_truth, durations, mcclish=False),
        "segment_pauc_mcclish": segment_pauc(deltas, ground_truth, durations, mcclish=True),
    }


def _fscores(kind: str, deltas: dict, ground_truth: dict, durations: dict, threshold: dict) -> dict[str, float]:
    """``<name>_f1``, ``_precision``, ``_recall`` (micro) and ``_macro_f1`` of sed_scores_eval's
    collar-based (``kind="collar"``, named ``event``) or segment-based (``"segment"``)
    ``fscore`` from joined deltas."""
    sse = import_sed_scores_eval()
    if kind == "collar":
        f, p, r, _ = sse.collar_based.fscore(None, ground_truth, threshold, deltas=deltas, **COLLAR)
    else:
        f, p, r, _ = sse.segment_based.fscore(
            None, ground_truth, durations, threshold, deltas=deltas, segment_length=SEGMENT_LENGTH_S
        )
    name = "event" if kind == "collar" else kind
    return {
        f"{name}_f1": f["micro_average"],
        f"{name}_precision": p["micro_average"],
        f"{name}_recall": r["micro_average"],
        f"{name}_macro_f1": f["macro_average"],
    }


# --------------------------------------------------------------------------- metrics


def dcase_metrics(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    thresholds: Mapping[str, float],
    num_jobs: int = 1,
    owned: Mapping[tuple, Mapping[str, tuple]] | None = None,
) -> dict[str, Any]:
    """PSDS1 (oracle and non-oracle), PSDS2, collar-based event F1, 1 s segment F1 and segment pAUC
    with sed_scores_eval.

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class).
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    durations : dict
        Clip id -> seconds.
    thresholds : dict
        Label -> decision threshold (for the F1 scores).
    num_jobs : int
        Processes for the statistics (:func:`joined_deltas`; their cost grows with clips x
        classes: see ``benchmarks/psds_speed.py``).
    owned : dict, optional
        :func:`bench.evaluation.statistics.owned_statistics` of the scores of the classes scored
        (those with a reference event), already computed for the resamples: used, not recomputed.

    Returns
    -------
    dict
        ``psds1``, ``psds1_non_oracle``, ``psds2``, ``event_f1`` / ``event_precision`` /
        ``event_recall`` (micro), ``event_macro_f1``, ``segment_f1`` / ``segment_precision`` /
        ``segment_recall`` (micro), ``segment_macro_f1``, ``segment_pauc``,
        ``segment_pauc_mcclish``, ``n_classes_scored``,
        ``classes_left_out`` (labels without a reference event, not scored). Undefined
        values are None.
    """
    check_features()  # a missing, broken or too old install fails here, with advice
    if not scores:
        raise BenchError("no clips to score")
    labels = [c for c in next(iter(scores.values())).columns if c not in ("onset", "offset")]
    present = sorted({ev[2] for events in ground_truth.values() for ev in events})
    unknown = sorted(set(present) - set(labels))
    if unknown:
        raise BenchError(f"the ground truth holds labels the scores lack: {unknown[:5]}")
    keep = [lab for lab in labels if lab in present]
    out: dict[str, Any] = dict.fromkeys(
        [
            "psds1",
            "psds1_non_oracle",
            "psds2",
            "event_f1",
            "event_precision",
            "event_recall",
            "event_macro_f1",
            "segment_f1",
            "segment_precision",
            "segment_recall",
            "segment_macro_f1",
            "segment_pauc",
            "segment_pauc_mcclish",
        ]
    )
    out.update(n_classes_scored=len(keep), classes_left_out=[lab for lab in labels if lab not in present])
    if not keep:
        return out
    scores = with_classes(scores, keep)
    ground_truth = {cid: list(events) for cid, events in ground_truth.items()}
    durations = dict(durations)
    threshold = {lab: float(thresholds[lab]) for lab in keep}
    statistics: list[Statistic] = [("collar", COLLAR), ("segment", {"segment_length": SEGMENT_LENGTH_S})]
    if len(keep) >= 2:  # sed_scores_eval 0.0.4 fails on its empty cross-trigger statistics
        statistics += [("intersection", PSDS2), ("intersection", PSDS1)]
    collar, segment, *intersection = _joined(
        scores, ground_truth, durations, statistics=statistics, num_jobs=num_jobs, owned=owned
    )
    calls: list[Callable[[], Any]] = [
        partial(_psds, deltas, ground_truth, durations, scenario)
        for scenario, deltas in zip((PSDS2, PSDS1), intersection)
    ]  # the longest first
    if intersection:
        calls.append(partial(_psds, intersection[1], ground_truth, durations, PSDS1, True))
    calls += [
        partial(_fscores, "collar", collar, ground_truth, durations, threshold),
        partial(_fscores, "segment", segment, ground_truth, durations, threshold),
        partial(_paucs, segment, ground_truth, durations),
    ]
    *psds, event, segment, paucs = _run_calls(calls, num_jobs=num_jobs)
    out.update(zip(("psds2", "psds1", "psds1_non_oracle"), psds), **event, **segment, **paucs)
    return {
        k: (
            float(v)
            if isinstance(v, (float, np.floating)) and np.isfinite(v)
            else (None if isinstance(v, (float, np.floating)) else v)
        )
        for k, v in out.items()
    }
