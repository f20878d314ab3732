"""The built-in stand-in source corpora, for builds without TAU 2019 and FSDKaggle2018.

Procedurally generated acoustic scenes and sound events, written once in the
on-disk layouts of the two real corpora so that :mod:`remix.sources` reads them
like the real ones. The corpus builder itself (:mod:`remix.recipe`,
:mod:`remix.render`, :mod:`remix.manifest`) does not depend on this package.
"""

from remix.standin.writer import (
    STANDIN_NOTICE,
    SyntheticSources,
    default_synthetic_sources,
    write_synthetic_sources,
)

__all__ = ["STANDIN_NOTICE", "SyntheticSources", "default_synthetic_sources", "write_synthetic_sources"]
