"""What the ``bench`` commands share: their option parsers (SNRs, GPU lists, the feature cache)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from bench.errors import BenchError
from bench.feature_cache import FEATURE_CACHE_ENV
from remix.cli import parse_snrs
from remix.errors import RemixError


def _gpu_list(gpus: str | None) -> list[int] | None:
    if not gpus:
        return None
    try:
        return [int(g) for g in gpus.split(",") if g.strip()]
    except ValueError:
        raise BenchError(f"--gpus takes comma-separated GPU indices such as 0,1; found {gpus!r}") from None


_MANY_VALUES = {"allow_extra_args": True, "ignore_unknown_options": True}
"""Context of commands whose ``--snr`` takes several values (``--snr 0 10 20``), as ``remix build``'s."""


def _snrs(values: list[str] | None, ctx: typer.Context) -> list[float] | None:
    """SNRs of ``--snr 0 10 20``, ``--snr 0 --snr 10`` or ``--snr 0,10,20``; None when not given."""
    extra = list(ctx.args)
    if not values:
        if extra:
            raise BenchError(f"unexpected argument {extra[0]!r}; see the command's --help for its options")
        return None
    try:
        return parse_snrs(values, extra, command=f"bench {ctx.info_name}")
    except RemixError as exc:
        raise BenchError(str(exc)) from None


def _use_cache(cache: Path | None) -> None:
    """``--cache DIR``: every feature cache of this command (and its workers) goes there."""
    if cache is not None:
        os.environ[FEATURE_CACHE_ENV] = str(Path(cache).expanduser().resolve())
