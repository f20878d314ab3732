"""Readers of the two source corpora, their checks, and the built-in stand-ins."""

from remix.sources.check import check_audio, check_sources
from remix.sources.fsd2018 import read_fsd2018
from remix.sources.synthetic import (
    STANDIN_NOTICE,
    SyntheticSources,
    default_synthetic_sources,
    write_synthetic_sources,
)
from remix.sources.tau2019 import read_tau2019

__all__ = [
    "STANDIN_NOTICE", "SyntheticSources", "check_audio", "check_sources", "default_synthetic_sources",
    "read_fsd2018", "read_tau2019", "write_synthetic_sources",
]
