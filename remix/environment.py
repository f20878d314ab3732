"""The user-level settings read from the environment (``SEDREMIX_*``), parsed in one place.

Flags take ``1``, ``true``, ``yes`` or ``on`` for yes and ``0``, ``false``, ``no``, ``off`` or an
empty value for no (any case); anything else is an error naming the variable. Folders are made
absolute (``~`` expanded) when read, so a relative value means the same folder to every process
whatever its working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from remix.errors import RemixError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def env_flag(name: str) -> bool:
    """The flag ``$name`` (unset: False); RemixError for a value that is neither yes nor no."""
    text = os.environ.get(name)
    if text is None:
        return False
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise RemixError(f"{name} must be 1, true or yes (on) or 0, false or no (off); found {text!r}")


def env_path(name: str) -> Path | None:
    """The folder ``$name``, absolute (``~`` expanded, resolved against the working directory); None
    when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    return Path(text).expanduser().resolve()
