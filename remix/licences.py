"""Licences of event sources: one short key per licence, a filter, and what a corpus inherits.

FSDKaggle2018 names its licences in words ("Creative Commons 0", "Attribution", "Attribution
Noncommercial"); the recorded stand-in uses SPDX identifiers ("CC0-1.0", "MIT",
"GPL-2.0-only"). Both map to the same short keys, which ``remix build --licences`` takes
(``--licences cc0,mit``). A corpus mixes its sources' audio, so whoever redistributes it
honours every licence among its placed events; :func:`inherited` names the most restrictive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
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


# --------------------------------------------------------------------------- what a real-data corpus carries

TAU_TITLE = "TAU Urban Acoustic Scenes 2019"
TAU_TERMS = (
    f"{TAU_TITLE} (Audio Research Group, Tampere University; Zenodo record 2589280) may be used for "
    "non-commercial research only, and its copyright notice must appear in full in every copy of the "
    "work, derived results included."
)
FSD_TERMS = (
    "FSDKaggle2018 (Fonseca et al., 2018; Zenodo record 2552860) is released under CC-BY 4.0 as a whole; "
    "each clip keeps its own Freesound licence (CC0, CC-BY or CC-BY-NC), listed per placed event in "
    "manifest/events.parquet (columns license and freesound_id)."
)
NOTICE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "LICENCE.md")
"""File names the TAU notice is looked for under (in the scenes folder, then its parent)."""


def tau_notice(scenes_dir: Path) -> tuple[str | None, Path | None]:
    """The copyright notice of a TAU 2019 folder, verbatim, and the file it came from: the first of
    :data:`NOTICE_FILES` in the folder (where the dataset's ``doc`` archive unpacks) or its parent;
    (None, None) when there is none."""
    for folder in (Path(scenes_dir), Path(scenes_dir).parent):
        for name in NOTICE_FILES:
            path = folder / name
            if path.is_file():
                try:
                    return path.read_text(encoding="utf-8", errors="replace"), path
                except OSError:
                    continue
    return None, None


def non_commercial_reasons(*, synthetic: bool, licences: Iterable[object]) -> list[str]:
    """Why a corpus may not be used commercially (empty: nothing known forbids it): TAU audio
    (every build on real scenes), and CC-BY-NC event clips among the placed events' licences (the
    build passes none for the procedural stand-in, whose FSDKaggle2018-like licence labels only
    let ``--licences`` be tried: its sounds are the project's own)."""
    reasons = []
    if not synthetic:
        reasons.append(f"its scenes are {TAU_TITLE} audio, for non-commercial research only")
    n_nc = sum(licence_key(name) == "cc-by-nc" for name in licences)
    if n_nc:
        reasons.append(f"{n_nc} placed event(s) are CC-BY-NC clips (--licences cc0,cc-by,mit leaves them out)")
    return reasons


def licences_markdown(*, scenes_dir: Path, placed: pd.DataFrame, reasons: Sequence[str]) -> str:
    """``LICENCES.md`` of a corpus built from the real sources: the TAU notice in full (or where to
    find it), FSDKaggle2018's terms with the placed events' licences, and the non-commercial flag."""
    notice, source = tau_notice(scenes_dir)
    lines = ["# Licences of this corpus", "", "## " + TAU_TITLE, "", TAU_TERMS, ""]
    if notice is not None:
        lines += [f"Its copyright notice, in full, as {source} holds it:", "", "```", notice.rstrip("\n"), "```", ""]
    else:
        lines += [
            f"The scenes folder {scenes_dir} holds no copyright notice ({', '.join(NOTICE_FILES[:2])}...): copy "
            "the notice in full from the dataset's documentation archive "
            "(TAU-urban-acoustic-scenes-2019-development.doc.zip, `remix fetch tau2019` unpacks it) into "
            "every copy of this corpus.",
            "",
        ]
    per_event = placed.drop_duplicates(["clip_id", "event_index"]) if "event_index" in placed else placed
    counts = per_event["license"].map(licence_key).value_counts().sort_index()
    lines += ["## FSDKaggle2018", "", FSD_TERMS, "", "| licence | placed events |", "|---|---:|"]
    lines += [f"| {key} | {int(n)} |" for key, n in counts.items()]
    lines += ["", inherited(per_event["license"]), "", "## Commercial use", ""]
    if reasons:
        lines.append("Not allowed (`non_commercial: true` in manifest/corpus.json): " + "; ".join(reasons) + ".")
    else:
        lines.append("Nothing known here forbids it (`non_commercial: false` in manifest/corpus.json).")
    return "\n".join(lines) + "\n"


__all__ = [
    "LICENCE_KEYS",
    "RESTRICTIVENESS",
    "by_restrictiveness",
    "check_licence_pool",
    "excluded_by_licence",
    "inherited",
    "licence_key",
    "licences_markdown",
    "non_commercial_reasons",
    "parse_licences",
    "tau_notice",
]
