"""The built-in stand-in source corpora, for builds without TAU 2019 and FSDKaggle2018.

Procedurally generated acoustic scenes (:mod:`remix.standin.scene_synth`) and
sound events (:mod:`remix.standin.event_synth`), written once in the on-disk
layouts of the two real corpora (:mod:`remix.standin.writer`) so that
:mod:`remix.sources` reads them like the real ones. The entry point is
:func:`ensure_sources`. The corpus builder itself (:mod:`remix.recipe`,
:mod:`remix.render`, :mod:`remix.manifest`) does not depend on this package.
"""

from remix.standin.writer import STANDIN_NOTICE, SyntheticSources, ensure_sources

__all__ = ["STANDIN_NOTICE", "SyntheticSources", "ensure_sources"]
