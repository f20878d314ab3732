"""The built-in stand-in source corpora, for builds without TAU 2019 and FSDKaggle2018.

Procedurally generated acoustic scenes (:mod:`remix.standin.scene_synth`) and
sound events (:mod:`remix.standin.event_synth`), written once in the on-disk
layouts of the two real corpora (:mod:`remix.standin.writer`) so that
:mod:`remix.sources` reads them like the real ones. The entry point is
:func:`ensure_sources`. The corpus builder itself (:mod:`remix.recipe`,
:mod:`remix.render`, :mod:`remix.manifest`) does not depend on this package.

The writer (and with it the synthesisers and SciPy) is imported on first use of
:func:`ensure_sources` or :class:`SyntheticSources`: a build that only quotes
:data:`STANDIN_NOTICE` in its corpus card does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remix.standin.notice import STANDIN_NOTICE

if TYPE_CHECKING:
    from remix.standin.writer import SyntheticSources, ensure_sources

__all__ = ["STANDIN_NOTICE", "SyntheticSources", "ensure_sources"]


def __getattr__(name: str) -> Any:
    if name in ("SyntheticSources", "ensure_sources"):
        from remix.standin import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
