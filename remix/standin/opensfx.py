"""OpenSFX, the OpenTTD base sound set (Debian ``openttd-opensfx``), as one WAV file per sound.

OpenSFX ships its sounds in one bank, ``opensfx.cat``: a table of ``(offset, size)`` pairs
(little-endian uint32; the high bit of each offset is a format flag), whose first offset is
also the table's length in bytes (8 per sound); at each offset, one length byte, the sound's
title (NUL-terminated, Latin-1), then a RIFF WAVE file. Each title names the sound, where it
came from, who edited it and its own licence, e.g. ``"Applause". Original "Approx 850 -
Enthusiast Audience.wav" by "lonemonk". Edited by "Wuzzy". License: Creative Commons
Attribution 3.0 Unported.``

:func:`extract` writes the sounds whose titles grant CC0 or CC-BY (never ShareAlike, nor a
licence it cannot read) as ``<slug>.wav`` under :data:`EXTRACTED`, with ``sounds.csv`` listing
every sound of the bank, its licence and whether it was taken. The recorded stand-in then reads
them like any package file (:mod:`remix.standin.recorded`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from remix.atomic import write_bytes

BANK = "usr/share/games/openttd/baseset/opensfx/opensfx.cat"
"""Where ``openttd-opensfx`` unpacks its sound bank."""

EXTRACTED = "opensfx-wav"
"""Folder (in the unpacked package) of the extracted sounds."""

TAKEN_LICENCES = ("CC0-1.0", "CC-BY-3.0")
"""Licences of the sounds :func:`extract` writes out."""

_LICENCES = (  # how the titles spell them, most specific first
    ("attribution-sharealike 3.0", "CC-BY-SA-3.0"),
    ("attribution 3.0", "CC-BY-3.0"),
    ("zero 1.0", "CC0-1.0"),
)
_FLAG = 0x8000_0000


class BankError(ValueError):
    """A bank that is not laid out as OpenSFX's (the message says where)."""


@dataclass(frozen=True)
class BankSound:
    """One sound of the bank.

    Attributes
    ----------
    index : int
        Its position in the bank (OpenTTD's sound number).
    title : str
        The bank's text for it (name, source, editors, licence).
    licence : str
        SPDX identifier read from the title ("" when the title names none it knows).
    wav : bytes
        The RIFF WAVE file.
    """

    index: int
    title: str
    licence: str
    wav: bytes

    @property
    def name(self) -> str:
        """The quoted name that opens the title ("Applause"), or the title itself."""
        match = re.match(r'\s*"([^"]+)"', self.title)
        return match.group(1) if match else self.title

    @property
    def slug(self) -> str:
        """The name in lower case, runs of other characters as one hyphen ("truck-old-bus-start-pull-away")."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or f"sound-{self.index}"


def licence_of(title: str) -> str:
    """The SPDX identifier of the licence a title grants ("" when it names none of :data:`_LICENCES`)."""
    text = title.lower().split("license:")[-1]
    return next((spdx for words, spdx in _LICENCES if words in text), "")


def read_bank(path: Path) -> list[BankSound]:
    """Every sound of the bank at ``path``, in bank order.

    Raises
    ------
    BankError
        When the table or a sound does not fit the file, or a sound is not a RIFF WAVE file.
    """
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise BankError(f"{path}: {len(data)} bytes, too short for a sound table")
    table_bytes = struct.unpack_from("<I", data, 0)[0] & ~_FLAG
    if table_bytes % 8 or not 8 <= table_bytes <= len(data):
        raise BankError(f"{path}: the first offset ({table_bytes}) is not the length of a table of 8-byte entries")
    sounds = []
    for index in range(table_bytes // 8):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= ~_FLAG
        if offset + 1 > len(data):
            raise BankError(f"{path}: sound {index} starts at {offset}, past the end ({len(data)} bytes)")
        title_len = data[offset]
        title = data[offset + 1 : offset + 1 + title_len].split(b"\0")[0].decode("latin-1")
        start = offset + 1 + title_len
        if data[start : start + 4] != b"RIFF" or data[start + 8 : start + 12] != b"WAVE":
            raise BankError(f"{path}: sound {index} ({title[:40]!r}) is not a RIFF WAVE file")
        riff_size = struct.unpack_from("<I", data, start + 4)[0] + 8
        if start + riff_size > len(data):
            raise BankError(f"{path}: sound {index} ({title[:40]!r}) runs past the end of the bank")
        sounds.append(BankSound(index, title, licence_of(title), data[start : start + riff_size]))
    return sounds


def extract(root: Path) -> Path:
    """Write the CC0 and CC-BY sounds of the bank unpacked under ``root`` to ``root/EXTRACTED``.

    Sounds without audio (OpenTTD's empty placeholders) are skipped, and two sounds of one
    name get ``-<index>`` after the second's slug. ``sounds.csv`` lists every sound: ``index``,
    ``file`` ("" when not taken), ``licence``, ``title``.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    BankError
        When the bank is missing or malformed.
    """
    bank = Path(root) / BANK
    if not bank.is_file():
        raise BankError(f"{bank} is missing")
    out = Path(root) / EXTRACTED
    out.mkdir(parents=True, exist_ok=True)
    rows, seen = [], set()
    for sound in read_bank(bank):
        name = ""
        if sound.licence in TAKEN_LICENCES and len(sound.wav) > 44:  # 44 bytes: a header without samples
            name = f"{sound.slug}.wav" if sound.slug not in seen else f"{sound.slug}-{sound.index}.wav"
            seen.add(sound.slug)
            write_bytes(out / name, sound.wav)
        rows.append({"index": sound.index, "file": name, "licence": sound.licence, "title": sound.title})
    pd.DataFrame(rows).to_csv(out / "sounds.csv", index=False)
    return out


__all__ = ["BANK", "EXTRACTED", "TAKEN_LICENCES", "BankError", "BankSound", "extract", "licence_of", "read_bank"]
