"""sed_scores_eval, made to work here, and the DCASE scenarios it scores.

PSDS1 and PSDS2 are the DCASE 2021-2023 task 4 scenarios; event F1 is collar-based (200 ms
onset collar, offset collar max(200 ms, 20 % of the event)) and segment F1 uses 1 s segments.
"""

from __future__ import annotations

import warnings

import numpy as np

from bench.errors import BenchError

PSDS1 = {
    "dtc_threshold": 0.7,
    "gtc_threshold": 0.7,
    "cttc_threshold": None,
    "alpha_ct": 0.0,
    "alpha_st": 1.0,
    "max_efpr": 100.0,
    "unit_of_time": "hour",
}
"""PSDS scenario 1 of DCASE 2021-2023 task 4 (tight localisation)."""

PSDS2 = {
    "dtc_threshold": 0.1,
    "gtc_threshold": 0.1,
    "cttc_threshold": 0.3,
    "alpha_ct": 0.5,
    "alpha_st": 1.0,
    "max_efpr": 100.0,
    "unit_of_time": "hour",
}
"""PSDS scenario 2 of DCASE 2021-2023 task 4 (classification, cross-triggers penalised)."""

COLLAR = {"onset_collar": 0.2, "offset_collar": 0.2, "offset_collar_rate": 0.2}
"""Collar-based event F1: sed_eval's and DCASE's collars."""

SEGMENT_LENGTH_S = 1.0
"""Segment length of the segment-based F1 and pAUC (s)."""

PAUC_MAX_FPR = 0.1
"""Largest false-positive rate of the segment-based partial AUROC (DCASE 2024 Task 4's MAESTRO score)."""

# --------------------------------------------------------------------------- sed_scores_eval


def import_sed_scores_eval():
    """Import sed_scores_eval, made to work with the project's pandas.

    The project depends on ``sed-scores-eval-np2`` 0.0.4, a NumPy-2 build of sed_scores_eval's
    development version (it installs the module ``sed_scores_eval``), for non-oracle PSDS and
    the McClish-corrected partial AUROC, which the PyPI ``sed_scores_eval`` 0.0.4 (May 2024)
    lacks; :func:`check_features` refuses an install without them. It imports sed_eval ->
    dcase_util -> ``pkg_resources``, which setuptools 81 removed (hence ``setuptools<81`` in
    the project's dependencies). Under pandas 3 (copy-on-write) a release of 0.0.4 passed the
    read-only array that ``DataFrame.to_numpy()`` returns to its Cython onset/offset routine,
    which failed with "buffer source array is read-only"; the wrapper made here copies such
    arrays (as upstream commit 113a7ce does) and changes nothing where they are writeable.

    Returns
    -------
    module
        ``sed_scores_eval``.
    """
    try:
        with warnings.catch_warnings():  # dcase_util's "pkg_resources is deprecated"
            warnings.filterwarnings("ignore", message=".*pkg_resources.*")
            import sed_scores_eval
            from sed_scores_eval.base_modules import statistics
    except ImportError as exc:
        raise BenchError(
            f"sed_scores_eval cannot be imported ({exc}); install the project's dependencies "
            "(pip install -e .), which pin setuptools<81 for its pkg_resources import"
        ) from None
    original = statistics.onset_offset_curves
    if not getattr(original, "_writeable_copy", False):

        def onset_offset_curves(scores, timestamps, change_point_candidates=None):
            return original(np.require(scores, requirements="W"), timestamps, change_point_candidates)

        onset_offset_curves._writeable_copy = True
        statistics.onset_offset_curves = onset_offset_curves
    return sed_scores_eval


def check_features() -> None:
    """BenchError unless the installed sed_scores_eval has non-oracle PSDS and the McClish-corrected
    partial AUROC (``sed-scores-eval-np2`` 0.0.4 or a later sed_scores_eval)."""
    import inspect

    sse = import_sed_scores_eval()
    psds = inspect.signature(sse.intersection_based.psds).parameters
    auroc = getattr(getattr(sse, "segment_based", None), "auroc", None)
    if "non_oracle" not in psds or auroc is None or "mcclish_correction" not in inspect.signature(auroc).parameters:
        raise BenchError(
            f"the installed sed_scores_eval ({getattr(sse, '__file__', '?')}) lacks non-oracle PSDS or the "
            "McClish-corrected partial AUROC; pip uninstall sed_scores_eval, then pip install "
            "sed-scores-eval-np2==0.0.4 (the project's dependency)"
        )


def segment_pauc(deltas: dict, ground_truth: dict, durations: dict, *, mcclish: bool) -> float:
    """Mean over classes of the 1 s segment-based ROC's partial area up to FPR :data:`PAUC_MAX_FPR`
    (sed_scores_eval's ``segment_based.auroc``), from its segment deltas; ``mcclish``: McClish-corrected."""
    sse = import_sed_scores_eval()
    value = sse.segment_based.auroc(
        None,
        ground_truth,
        durations,
        deltas=deltas,
        segment_length=SEGMENT_LENGTH_S,
        max_fpr=PAUC_MAX_FPR,
        mcclish_correction=mcclish,
    )
    return float(value[0]["mean"])
