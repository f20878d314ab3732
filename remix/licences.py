"""Licences of event sources: one short key per licence, a filter, and what a corpus inherits.

FSDKaggle2018 names its licences in words ("Creative Commons 0", "Attribution", "Attribution
Noncommercial"); the recorded stand-in uses SPDX identifiers ("CC0-1.0", "MIT",
"GPL-2.0-only"). Both map to the same short keys, which ``remix build --licences`` takes
(``--licences cc0,mit``). A corpus mixes its sources' audio, so whoever redistributes it
honours every licence among its placed events; :func:`inherited` names the most restrictive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from remix.errors import RemixError

if TYPE_CHECKING:  # only for annotations: the command line imports this module and starts fast
    import pandas as pd

LICENCE_KEYS: dict[str, str] = {
    "creative commons 0": "cc0",
    "cc0-1.0": "cc0",
    "cc0": "cc0",
    "mit": "mit",
    "attribution": "cc-by",
    "cc-by-3.0": "cc-by",
    "cc-by-4.0": "cc-by",
    "cc-by": "cc-by",
    "attribution noncommercial": "cc-by-nc",
    "cc-by-nc-3.0": "cc-by-nc",
    "cc-by-nc-4.0": "cc-by-nc",
    "cc-by-nc": "cc-by-nc",
    "cc-by-sa-3.0": "cc-by-sa",
    "cc-by-sa-4.0": "cc-by-sa",
    "cc-by-sa": "cc-by-sa",
    "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0",
    "gpl-2.0": "gpl-2.0",
}
"""Licence names as sources spell them (lower case) -> their short key."""

RESTRICTIVENESS: tuple[str, ...] = ("cc0", "mit", "cc-by", "cc-by-sa", "cc-by-nc", "gpl-2.0")
"""Short keys from the least to the most demanding of whoever redistributes the audio."""

_WHAT_IT_ASKS = {
    "cc0": "nothing",
    "mit": "the copyright and permission notice kept",
    "cc-by": "attribution",
    "cc-by-sa": "attribution, and the corpus shared under the same licence",
    "cc-by-nc": "attribution, and no commercial use",
    "gpl-2.0": "the corpus distributed under the GPL-2.0 terms",
}


def licence_key(name: object) -> str:
    """The short key of a licence name (an unknown name: itself, lower case and trimmed)."""
    text = str(name).strip().lower()
    return LICENCE_KEYS.get(text, text)


def parse_licences(text: str | Iterable[str]) -> frozenset[str]:
    """The keys of ``--licences cc0,mit`` (or a list of names).

    Raises
    ------
    RemixError
        For an empty list or a name no source spells.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    keys = [licence_key(item) for item in items if str(item).strip()]
    unknown = [k for k in keys if k not in RESTRICTIVENESS]
    if not keys or unknown:
        found = ", ".join(repr(k) for k in unknown) if unknown else "nothing"
        raise RemixError(
            f"--licences takes a comma-separated list of {', '.join(RESTRICTIVENESS)} "
            f"(e.g. --licences cc0,mit); found {found}."
        )
    return frozenset(keys)


def by_restrictiveness(names: Iterable[object]) -> list[str]:
    """The distinct keys of ``names`` from the least to the most demanding (unknown keys last)."""
    return sorted({licence_key(n) for n in names}, key=lambda k: (RESTRICTIVENESS + (k,)).index(k))


def inherited(names: Iterable[object]) -> str:
    """One sentence: the licences among ``names`` (the placed events' own) and what they ask."""
    keys = by_restrictiveness(names)
    if not keys:
        return "The corpus places no events, so it inherits no event licence."
    strictest = keys[-1]
    if strictest not in _WHAT_IT_ASKS:
        return (
            f"Its events carry the licences {', '.join(keys)}; {strictest} is not one this toolkit "
            "knows, so read it before redistributing the corpus."
        )
    return (
        f"Its events carry the licences {', '.join(keys)}: redistributing the corpus honours all of them, "
        f"the most demanding being {strictest} ({_WHAT_IT_ASKS[strictest]})."
    )


__all__ = ["LICENCE_KEYS", "RESTRICTIVENESS", "by_restrictiveness", "inherited", "licence_key", "parse_licences"]


def excluded_by_licence(events: pd.DataFrame, licences: Sequence[str]) -> pd.DataFrame:
    """``path`` and ``reason`` of the event sources whose licence is not among ``licences`` (keys)."""
    keys = events["license"].map(licence_key)
    out = events.loc[~keys.isin(set(licences)), ["path", "license"]]
    wanted = ",".join(sorted(licences))
    reasons = [f"licence {lic!r} is not among --licences {wanted}" for lic in out["license"]]
    return type(events)({"path": out["path"].to_numpy(), "reason": reasons})


def check_licence_pool(events: pd.DataFrame, usable: set, *, licences: Sequence[str], needed: int) -> None:
    """Refuse, in one line naming the filter, a ``--licences`` that leaves event sources of fewer labels
    than a clip needs (the planner would otherwise ask for more event files)."""
    kept = events[events["path"].isin(usable)]
    if kept["label"].nunique() >= needed:
        return
    allowed = ",".join(sorted(licences))
    found = ", ".join(sorted({licence_key(lic) or str(lic) for lic in events["license"].dropna()})) or "none"
    raise RemixError(
        f"--licences {allowed} leaves usable event sources of {kept['label'].nunique()} label(s), but each clip "
        f"needs {needed} distinct labels; the sources carry the licences {found}: allow more of them, or drop "
        "--licences."
    )
