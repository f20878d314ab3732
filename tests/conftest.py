"""Settings of the whole test suite.

The build's default stand-in (``recorded``) fetches Debian and PyPI packages on first use. The
tests never fetch anything: a stand-in built here without an explicit kind falls back to its
procedural classes, as on a machine without those packages. Tests of the fetching itself clear
the variable with ``monkeypatch``.
"""

from __future__ import annotations

import os

os.environ["SEDREMIX_OFFLINE_PACKAGES"] = "1"
