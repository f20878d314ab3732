"""Readers of the two source corpora and their checks.

The built-in stand-ins that take their place when the real corpora are not at
hand live in :mod:`remix.standin`.
"""

from remix.sources.check import check_audio, check_sources
from remix.sources.fsd2018 import read_fsd2018
from remix.sources.tau2019 import read_tau2019

__all__ = ["check_audio", "check_sources", "read_fsd2018", "read_tau2019"]
