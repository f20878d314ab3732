"""How a grid's runs are executed, as one object that travels with every task (:class:`RunOptions`).

What a run computes is its :class:`bench.config.RunConfig` (and its preset); how this
machine executes it (deterministic kernels, loader processes, where the feature cache lies,
torch threads, how much is evaluated afterwards) is a :class:`RunOptions`. ``bench run`` makes
one from its flags and hands it, pickled with the task, to whichever process trains the run:
this one, a ``--jobs`` pool, ``--cluster local:N`` or a remote Dask scheduler's workers, none of
which needs an environment variable set.

Four user-level defaults are read, by :meth:`RunOptions.from_environment`, from the
environment of the process that *makes* the options: ``SEDREMIX_DETERMINISTIC``,
``SEDREMIX_LOADER_WORKERS``, ``SEDREMIX_FEATURE_CACHE`` and ``SEDREMIX_PRECISION``
(docs/operations.md lists them).
What the options then say is what every worker does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.device import check_precision
from bench.errors import BenchError
from bench.feature_cache import FEATURE_CACHE_ENV

EVALUATIONS = ("full", "tagging")
"""What ``bench run --evaluate`` takes (see :func:`bench.training.loop.train_run`)."""

DETERMINISTIC_ENV = "SEDREMIX_DETERMINISTIC"
"""User-level default of :attr:`RunOptions.deterministic` (``1``, ``true``, ``yes`` or ``on``)."""

LOADER_WORKERS_ENV = "SEDREMIX_LOADER_WORKERS"
"""User-level default of :attr:`RunOptions.loader_workers` (a whole number, default 1)."""

PRECISION_ENV = "SEDREMIX_PRECISION"
"""User-level default of :attr:`RunOptions.precision` (``auto``, ``bf16`` or ``fp32``)."""


@dataclass(frozen=True)
class RunOptions:
    """How runs are executed; none of it enters a run id.

    Attributes
    ----------
    evaluate : {"full", "tagging"}
        After training: every metric with the localisation (``"full"``) or the clip and frame
        metrics only (``"tagging"``).
    deterministic : bool
        Deterministic kernels on one thread (:func:`bench.training.loop.use_deterministic_kernels`).
    loader_workers : int
        Loader processes of a run with fresh mixtures (0: in the training process).
    feature_cache : str or None
        Folder for the feature caches (None: inside the corpus folder); an absolute path, so
        that a worker elsewhere reads the same folder.
    threads : int or None
        Torch threads of a training task (None: whatever the executing process has).
    precision : {"auto", "bf16", "fp32"}
        bf16 autocast for training and validation (:func:`bench.device.use_bf16`): ``"auto"``
        where the executing device computes bf16 natively (a GPU with bf16, a CPU with
        AVX512-BF16 or AMX), float32 elsewhere. What a run used is in its config.json
        (``training.amp_bf16``).
    """

    evaluate: str = "full"
    deterministic: bool = False
    loader_workers: int = 1
    feature_cache: str | None = None
    threads: int | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        check_precision(self.precision)
        if self.evaluate not in EVALUATIONS:
            raise BenchError(f"--evaluate takes {' or '.join(EVALUATIONS)}, found {self.evaluate!r}")
        if isinstance(self.loader_workers, bool) or not isinstance(self.loader_workers, int) or self.loader_workers < 0:
            raise BenchError(f"--loader-workers must be 0 or more, found {self.loader_workers!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise BenchError(f"--threads must be at least 1, found {self.threads!r}")
        if self.deterministic and self.threads not in (None, 1):
            raise BenchError(f"--deterministic trains on one thread; found threads={self.threads}")
        if self.feature_cache is not None:
            object.__setattr__(self, "feature_cache", str(Path(self.feature_cache).expanduser().resolve()))
        object.__setattr__(self, "deterministic", bool(self.deterministic))

    @classmethod
    def from_environment(cls, **given: Any) -> RunOptions:
        """Options whose unset fields (those not in ``given``, or given as None) take the user-level
        defaults of this process's environment (:data:`DETERMINISTIC_ENV`, :data:`LOADER_WORKERS_ENV`,
        :data:`FEATURE_CACHE_ENV`, :data:`PRECISION_ENV`), then the class defaults."""
        from remix.environment import env_flag

        values = {k: v for k, v in given.items() if v is not None}
        if "deterministic" not in values and env_flag(DETERMINISTIC_ENV):
            values["deterministic"] = True
        if "loader_workers" not in values and os.environ.get(LOADER_WORKERS_ENV, "").strip():
            text = os.environ[LOADER_WORKERS_ENV].strip()
            try:
                values["loader_workers"] = int(text)
            except ValueError:
                raise BenchError(f"{LOADER_WORKERS_ENV} must be a whole number of processes, found {text!r}") from None
        if "feature_cache" not in values and os.environ.get(FEATURE_CACHE_ENV, "").strip():
            values["feature_cache"] = os.environ[FEATURE_CACHE_ENV].strip()
        if "precision" not in values and os.environ.get(PRECISION_ENV, "").strip():
            values["precision"] = os.environ[PRECISION_ENV].strip().lower()
        if values.get("deterministic") and "threads" not in values:
            values["threads"] = 1
        return cls(**values)

    def with_threads(self, threads: int | None) -> RunOptions:
        """The same options with ``threads`` (kept at 1 when deterministic)."""
        return self if self.deterministic else replace(self, threads=threads)

    @property
    def cache_dir(self) -> Path | None:
        """:attr:`feature_cache` as a path (None: the corpus's own folder)."""
        return None if self.feature_cache is None else Path(self.feature_cache)
