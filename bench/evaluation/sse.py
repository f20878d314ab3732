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

# --------------------------------------------------------------------------- sed_scores_eval


def import_sed_scores_eval():
    """Import sed_scores_eval, made to work with the project's pandas.

    sed_scores_eval 0.0.4 (its latest release) imports sed_eval -> dcase_util ->
    ``pkg_resources``, which setuptools 81 removed (hence ``setuptools<81`` in the
    project's dependencies), and under pandas 3 (copy-on-write) it passes the read-only
    array that ``DataFrame.to_numpy()`` returns to its Cython onset/offset routine, which
    fails with "buffer source array is read-only". Its development version copies such
    arrays (upstream commit 113a7ce); until a release has that, the same copy is made
    here by wrapping the routine it calls. The wrapper changes nothing under pandas 2.

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
