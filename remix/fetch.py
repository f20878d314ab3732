"""Download, verify and unpack the source corpora.

For every archive of the chosen datasets (see :mod:`remix.catalogue`):

1. skip it when the fetch record (``<to>/.fetch/<dataset>.json``) says it was
   verified and unpacked and its folder is still there;
2. download it to ``<name>.part``, resuming with an HTTP ``Range`` request from
   what is already on disk; network failures (reset, timeout, HTTP 5xx) are
   retried with exponential backoff, resuming each time;
3. check its size and md5; a mismatch moves the file aside to
   ``<name>.corrupt`` and stops with the expected and actual figures;
4. unpack it into a temporary folder inside ``<to>`` (refusing any member that
   would land outside it), then move the files into place;
5. write the record, and delete the archive unless asked to keep it.

Only the standard library talks HTTP. The free disk space is checked against
what the remaining work needs before anything is downloaded.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import get_console
from rich.console import Console
from rich.progress import Progress, TaskID

from remix.atomic import read_json, write_json
from remix.catalogue import CATALOGUE, Archive, Dataset, archive_url
from remix.errors import RemixError
from remix.extract import RECORD_DIR, safe_extract
from remix.progress import progress_bar

CHUNK = 1 << 20
USER_AGENT = "remix-fetch/0.1 (+urllib)"
MAX_BACKOFF_S = 60.0

__all__ = [
    "ArchiveOutcome",
    "FetchResult",
    "check_disk_space",
    "disk_need",
    "download",
    "fetch",
    "md5sum",
    "resolve_datasets",
    "safe_extract",
]


@dataclass(frozen=True)
class ArchiveOutcome:
    """What happened to one archive.

    ``status`` is ``"fetched"`` (downloaded or taken from a complete file on
    disk, verified and unpacked) or ``"already verified"`` (nothing done).
    """

    dataset: str
    name: str
    status: str
    downloaded_bytes: int


@dataclass(frozen=True)
class FetchResult:
    """Outcome of :func:`fetch`."""

    root: Path
    outcomes: tuple[ArchiveOutcome, ...]

    @property
    def downloaded_bytes(self) -> int:
        """Bytes received over the network in this call."""
        return sum(o.downloaded_bytes for o in self.outcomes)

    @property
    def fetched(self) -> tuple[ArchiveOutcome, ...]:
        """Archives verified and unpacked in this call."""
        return tuple(o for o in self.outcomes if o.status == "fetched")


class _Transient(Exception):
    """A network failure worth retrying."""


# --------------------------------------------------------------------- datasets


def resolve_datasets(names: Iterable[str], *, catalogue: Mapping[str, Dataset] = CATALOGUE) -> list[Dataset]:
    """Map command-line names to datasets, in the order given, without repeats.

    Raises
    ------
    RemixError
        When no name is given or a name is unknown (the message lists the known ones).
    """
    names = list(names)
    known = ", ".join(sorted(catalogue))
    if not names:
        raise RemixError(f"no dataset named; name one or more of: {known}")
    chosen: list[Dataset] = []
    for raw in names:
        key = raw.strip().lower()
        if key not in catalogue:
            raise RemixError(f"unknown dataset {raw!r}; known datasets: {known}")
        if catalogue[key] not in chosen:
            chosen.append(catalogue[key])
    return chosen


# ---------------------------------------------------------------------- records


def _record_path(root: Path, dataset: Dataset) -> Path:
    return root / RECORD_DIR / f"{dataset.key}.json"


def _load_record(root: Path, dataset: Dataset) -> dict[str, Any]:
    data = read_json(_record_path(root, dataset))  # an unreadable record only costs a re-check
    if isinstance(data, dict) and isinstance(data.get("archives"), dict):
        return data
    return {"dataset": dataset.key, "title": dataset.title, "record_id": dataset.record_id, "archives": {}}


def _save_record(root: Path, dataset: Dataset, record: dict[str, Any]) -> None:
    write_json(_record_path(root, dataset), record)


def _is_done(root: Path, dataset: Dataset, archive: Archive, record: Mapping[str, Any]) -> bool:
    entry = record["archives"].get(archive.name)
    return bool(entry and entry.get("extracted") is True and (root / dataset.root_of(archive)).is_dir())


# ------------------------------------------------------------------- disk space


def _bytes_on_disk(root: Path, archive: Archive) -> int:
    for path in (root / archive.name, root / f"{archive.name}.part"):
        if path.is_file():
            return path.stat().st_size
    return 0


def disk_need(root: Path, pending: Sequence[tuple[Dataset, Archive]], *, keep_archives: bool) -> int:
    """Bytes of free space the remaining downloads and unpacking need.

    Unpacking goes through a temporary folder on the same disk and is moved
    into place by renaming, so it costs the unpacked size once. Without
    ``keep_archives`` each archive is deleted once unpacked, so at worst every
    unpacked tree plus the largest remaining download lie on disk together.
    """
    downloads = [max(a.planning_size - _bytes_on_disk(root, a), 0) for _, a in pending]
    unpacked = sum(int(a.planning_size * d.expansion) for d, a in pending)
    if keep_archives:
        return unpacked + sum(downloads)
    return unpacked + max(downloads, default=0)


def check_disk_space(root: Path, pending: Sequence[tuple[Dataset, Archive]], *, keep_archives: bool) -> tuple[int, int]:
    """Refuse to start when the disk holding ``root`` is too small.

    Returns
    -------
    (need, free) : tuple of int
        Bytes needed and bytes free.

    Raises
    ------
    RemixError
        When ``need > free``, with both figures in GB.
    """
    need = disk_need(root, pending, keep_archives=keep_archives)
    free = shutil.disk_usage(root).free
    if need > free:
        keep = " (with --keep-archives: drop it to delete each archive once unpacked)" if keep_archives else ""
        raise RemixError(
            f"not enough free disk space in {root}: the remaining downloads and unpacking need about "
            f"{need / 1e9:.1f} GB{keep}, but {free / 1e9:.1f} GB is free; free some space, choose "
            "another --to folder, or fetch one dataset at a time"
        )
    return need, free


# -------------------------------------------------------------------- progress


class _Bars:
    """Per-archive and overall byte bars (or nothing, when silent)."""

    def __init__(self, progress: Progress | None, overall_total: int) -> None:
        self._p = progress
        self._overall: TaskID | None = None
        self._current: TaskID | None = None
        self._planned = 0
        self._overall_total = overall_total
        if progress is not None:
            self._overall = progress.add_task("[bold]all archives", total=overall_total or None)

    def _replan(self, planned: int, actual: int) -> None:
        """Swap an archive's planning size for its real size in the overall total."""
        if self._p is not None and self._overall is not None and actual != planned:
            self._overall_total += actual - planned
            self._p.update(self._overall, total=self._overall_total or None)

    def start(self, name: str, *, total: int | None, planned: int, done: int) -> None:
        self._planned = planned
        if self._p is not None and self._overall is not None:
            self._current = self._p.add_task(name, total=total, completed=done)
            self._p.advance(self._overall, done)

    def on_disk(self, planned: int, actual: int) -> None:
        """An archive already complete on disk: count it as done."""
        if self._p is not None and self._overall is not None:
            self._replan(planned, actual)
            self._p.advance(self._overall, actual)

    def set_total(self, total: int) -> None:
        if self._p is not None and self._current is not None:
            self._p.update(self._current, total=total)
            self._replan(self._planned, total)
            self._planned = total

    def advance(self, n: int) -> None:
        if self._p is not None and self._current is not None and self._overall is not None:
            self._p.advance(self._current, n)
            self._p.advance(self._overall, n)

    def status(self, text: str) -> None:
        if self._p is not None and self._current is not None:
            self._p.update(self._current, description=text)

    def finish(self) -> None:
        if self._p is not None and self._current is not None:
            self._p.remove_task(self._current)
            self._current = None


@contextmanager
def _bars(enabled: bool, console: Console | None, total: int) -> Iterator[_Bars]:
    if not enabled:
        yield _Bars(None, total)
        return
    bar = progress_bar(units="bytes", console=console if console is not None else get_console(), transient=False)
    with bar as progress:
        yield _Bars(progress, total)


# --------------------------------------------------------------------- download

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


def _open(url: str, start: int, timeout_s: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 (http/https only, see download)


def _attempt(
    url: str,
    part: Path,
    *,
    expected_size: int | None,
    timeout_s: float,
    bars: _Bars,
) -> int | None:
    """One request: append to ``part`` from where it ends; return the full size if the server said it."""
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()  # longer than the archive: cannot be a prefix of it
        have = 0
    try:
        response = _open(url, have, timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have > 0:
            # Nothing left to send: either the part is complete or it is junk.
            match = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range") or "")
            total = int(match.group(1)) if match else expected_size
            if total is not None and have == total:
                return total
            part.unlink()
            raise _Transient(f"the server refused to resume at byte {have:,}; starting over") from None
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise RemixError(
            f"{url} answered HTTP {exc.code} ({exc.reason}); check the address (or the --mirror URL) "
            "and that the file still exists on the record page"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"cannot reach the server ({reason})") from None

    with response:
        total: int | None = None
        length = response.headers.get("Content-Length")
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != have:
                part.unlink(missing_ok=True)
                raise _Transient("the server sent a range other than the one asked for; starting over")
            total = int(match.group(3)) if match.group(3) != "*" else None
        else:
            if have:
                part.unlink()  # the server ignored the Range header: start from zero
                have = 0
            total = int(length) if length and length.isdigit() else None
        if total is not None:
            if expected_size is not None and total != expected_size:
                raise RemixError(
                    f"{url} offers {total:,} bytes, but {part.name.removesuffix('.part')} should be "
                    f"{expected_size:,} bytes; the server (or mirror) holds a different file: check the "
                    "address, or report the mismatch"
                )
            bars.set_total(total)
        with part.open("ab") as sink:
            try:
                while True:
                    chunk = response.read1(CHUNK)  # what has arrived: a timeout loses nothing
                    if not chunk:
                        break
                    sink.write(chunk)
                    bars.advance(len(chunk))
            except (OSError, http.client.HTTPException) as exc:
                raise _Transient(f"the connection broke ({type(exc).__name__}: {exc})") from None
    got = part.stat().st_size
    if total is not None and got < total:
        raise _Transient(f"the connection closed after {got:,} of {total:,} bytes")
    return total


def local_source(url: str) -> Path | None:
    """The file a ``file://`` address or a plain path names (a mirror on a shared disk); None for
    any other address."""
    if url.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    if "://" in url:
        return None
    return Path(url).expanduser()


def _copy_local(source: Path, part: Path, *, expected_size: int | None, bars: _Bars) -> int:
    """Append ``source`` to ``part`` from where ``part`` ends (a copy resumes as a download does)."""
    try:
        total = source.stat().st_size
    except OSError:
        raise RemixError(
            f"the mirror has no {source.name} ({source} cannot be read); check the --mirror folder holds "
            "the record's archives under their own names"
        ) from None
    if expected_size is not None and total != expected_size:
        raise RemixError(
            f"{source} holds {total:,} bytes, but {source.name} should be {expected_size:,} bytes; the mirror "
            "holds a different file: check the folder, or report the mismatch"
        )
    have = part.stat().st_size if part.exists() else 0
    if have > total:
        part.unlink()
        have = 0
    bars.set_total(total)
    with source.open("rb") as src, part.open("ab") as sink:
        src.seek(have)
        while chunk := src.read(CHUNK):
            sink.write(chunk)
            bars.advance(len(chunk))
    return total


def download(
    url: str,
    part: Path,
    *,
    expected_size: int | None = None,
    retries: int = 5,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
    bars: _Bars | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Download ``url`` into ``part``, resuming from whatever ``part`` already holds.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` address; a ``file://`` address or a plain path (a mirror on a
        shared disk) is copied, resuming the same way.
    part : Path
        File to append to; kept on failure so a later call resumes.
    expected_size : int, optional
        Size the finished file must have; a server announcing another size is
        refused at once.
    retries : int
        Consecutive failed attempts without progress allowed before giving up.
    backoff_s : float
        First wait between attempts; doubled after every further failure
        (capped at 60 s).
    timeout_s : float
        Socket timeout per attempt (connection and each read).

    Returns
    -------
    int or None
        Full size announced by the server (``None`` when it never said).

    Raises
    ------
    RemixError
        After ``retries`` failed attempts in a row, or on an HTTP error that
        retrying cannot fix (404, 403, ...).
    """
    bars = bars or _Bars(None, 0)
    local = local_source(url)
    if local is not None:
        return _copy_local(local, part, expected_size=expected_size, bars=bars)
    if not url.startswith(("http://", "https://")):
        raise RemixError(f"cannot download {url!r}: give an http:// or https:// address, a file:// address or a folder")
    label = part.name.removesuffix(".part")
    failures = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        if failures:
            bars.status(label)
        try:
            return _attempt(url, part, expected_size=expected_size, timeout_s=timeout_s, bars=bars)
        except _Transient as exc:
            after = part.stat().st_size if part.exists() else 0
            failures = 1 if after > before else failures + 1
            if failures > retries:
                kept = f"{after:,} bytes are kept in {part} and" if after else "nothing was received yet;"
                raise RemixError(
                    f"giving up on {label} after {failures} failed attempt(s) in a row ({exc}); "
                    f"{kept} the same command resumes once the network (or server) is back"
                ) from None
            bars.status(f"{label} [yellow](retry {failures}/{retries}: {exc})")
            sleep(min(backoff_s * 2 ** (failures - 1), MAX_BACKOFF_S))


# ------------------------------------------------------------------- verifying


def md5sum(path: Path) -> str:
    """md5 of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _move_aside(path: Path) -> Path:
    corrupt = path.with_name(path.name + ".corrupt")
    os.replace(path, corrupt)
    return corrupt


def _verify(path: Path, archive: Archive, dataset: Dataset, *, server_size: int | None) -> dict[str, Any]:
    """Check size and md5 of a complete archive; return the record entry or raise."""
    size = path.stat().st_size
    expected_size = archive.size if archive.size is not None else server_size
    if expected_size is not None and size != expected_size:
        corrupt = _move_aside(path)
        raise RemixError(
            f"{archive.name} is truncated or damaged: expected {expected_size:,} bytes, found {size:,}; "
            f"it was moved aside to {corrupt.name}; run the same command again to download it afresh"
        )
    actual = md5sum(path)
    if archive.md5 is not None and actual != archive.md5:
        corrupt = _move_aside(path)
        hint = (
            ""
            if archive.md5_confirmed
            else f" (the expected md5 comes from a third-party list and is unconfirmed: compare it with the "
            f"one shown on https://zenodo.org/records/{dataset.record_id} and, if the record differs, pass "
            f"--md5 {archive.name}=<md5 from the record>)"
        )
        raise RemixError(
            f"{archive.name} failed its checksum: expected md5 {archive.md5}, got {actual}{hint}; "
            f"it was moved aside to {corrupt.name} and not unpacked; run the same command again to "
            "download it afresh, and if it fails again check the --mirror address or report it"
        )
    if archive.size is not None:
        size_source = "catalogue"
    elif server_size is not None:
        size_source = "server Content-Length (no published figure)"
    else:
        size_source = "unverified (no published figure, server gave none)"
    if archive.md5 is None:
        md5_source = "computed here (no published figure)"
    elif archive.md5_confirmed:
        md5_source = archive.md5_origin
    else:
        md5_source = f"{archive.md5_origin}, from a third-party list (unconfirmed)"
    return {
        "archive": archive.name,
        "size": size,
        "size_checked_against": size_source,
        "md5": actual,
        "md5_checked_against": md5_source,
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "extracted": False,
    }


# ----------------------------------------------------------------------- fetch


def _fetch_archive(
    root: Path,
    dataset: Dataset,
    archive: Archive,
    record: dict[str, Any],
    *,
    mirror: str | None,
    keep_archives: bool,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    bars: _Bars,
    sleep: Callable[[float], None],
) -> ArchiveOutcome:
    final = root / archive.name
    part = root / f"{archive.name}.part"
    received = 0
    server_size: int | None = None
    entry = record["archives"].get(archive.name, {})
    if final.is_file():
        # a complete download from an earlier run (kept, or stopped before unpacking)
        bars.start(archive.name, total=None, planned=archive.planning_size, done=0)
        bars.on_disk(archive.planning_size, final.stat().st_size)
        if entry.get("server_size") is not None:
            server_size = int(entry["server_size"])
    else:
        have = part.stat().st_size if part.is_file() else 0
        bars.start(archive.name, total=archive.size, planned=archive.planning_size, done=have)
        try:
            server_size = download(
                archive_url(dataset, archive, mirror=mirror),
                part,
                expected_size=archive.size,
                retries=retries,
                backoff_s=backoff_s,
                timeout_s=timeout_s,
                bars=bars,
                sleep=sleep,
            )
        finally:
            received = (part.stat().st_size if part.is_file() else 0) - have
        os.replace(part, final)
        if server_size is not None:
            record["archives"][archive.name] = {"archive": archive.name, "server_size": server_size, "extracted": False}
            _save_record(root, dataset, record)

    try:
        bars.status(f"{archive.name} [cyan](checking md5)")
        new_entry = _verify(final, archive, dataset, server_size=server_size)
        if server_size is not None:
            new_entry["server_size"] = server_size
        bars.status(f"{archive.name} [cyan](unpacking)")
        safe_extract(final, root, top=dataset.root_of(archive))
    finally:
        bars.finish()
    new_entry["extracted"] = True
    new_entry["extracted_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    new_entry["archive_kept"] = keep_archives
    record["archives"][archive.name] = new_entry
    _save_record(root, dataset, record)
    if not keep_archives:
        final.unlink()
    return ArchiveOutcome(dataset.key, archive.name, "fetched", max(received, 0))


def _check_layout(root: Path, dataset: Dataset) -> None:
    missing = [p for p in dataset.expected if not ((root / p).is_dir() if p.endswith("/") else (root / p).is_file())]
    if missing:
        raise RemixError(
            f"every {dataset.title} archive was verified and unpacked, but {', '.join(missing)} "
            f"is missing under {root}; delete {_record_path(root, dataset)} and fetch again"
        )


def _with_md5s(chosen: list[Dataset], md5s: Mapping[str, str]) -> list[Dataset]:
    """Replace catalogue md5s by user-given ones (``{archive name: md5}``)."""
    names = {a.name for d in chosen for a in d.archives}
    for name, md5 in md5s.items():
        if name not in names:
            raise RemixError(
                f"--md5 names {name!r}, which is not an archive of the chosen datasets; "
                f"archive names look like {sorted(names)[0]}"
            )
        if not re.fullmatch(r"[0-9a-fA-F]{32}", md5):
            raise RemixError(f"--md5 for {name} must be 32 hexadecimal digits, got {md5!r}")
    given = "given with --md5"

    def override(a: Archive) -> Archive:
        if a.name not in md5s:
            return a
        return replace(a, md5=md5s[a.name].lower(), md5_confirmed=True, md5_origin=given)

    return [replace(d, archives=tuple(override(a) for a in d.archives)) for d in chosen]


def fetch(
    datasets: Sequence[str],
    to: Path,
    *,
    keep_archives: bool = False,
    mirror: str | None = None,
    md5s: Mapping[str, str] | None = None,
    retries: int = 5,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
    progress: bool = True,
    console: Console | None = None,
    catalogue: Mapping[str, Dataset] = CATALOGUE,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Download, verify and unpack the archives of ``datasets`` into ``to``.

    Parameters
    ----------
    datasets : sequence of str
        Names from ``catalogue`` (``"tau2019"``, ``"fsd2018"``).
    to : Path
        Download folder; created if missing. Unpacked trees land directly in it.
    keep_archives : bool
        Keep each archive after unpacking (default: delete it).
    mirror : str, optional
        Base address replacing the record's: archives are read from
        ``<mirror>/<archive name>``.
    md5s : mapping of str to str, optional
        Expected md5 per archive name, replacing the catalogue's (for a
        figure read off the record page when the catalogue's is wrong).
    retries : int
        Failed attempts in a row (without progress) allowed per archive.
    backoff_s : float
        First wait between attempts, doubled each time.
    timeout_s : float
        Socket timeout per request.
    progress : bool
        Show per-archive and overall progress bars.
    console : rich.console.Console, optional
        Where the bars go.
    catalogue : mapping of str to Dataset
        The known datasets (tests pass their own).
    sleep : callable
        Used to wait between attempts.

    Returns
    -------
    FetchResult
        One outcome per archive.

    Raises
    ------
    RemixError
        Unknown dataset, too little disk space, a checksum or size mismatch,
        an unsafe archive, or a network failure that outlasted the retries.
        Work finished before the error is kept.
    """
    chosen = _with_md5s(resolve_datasets(datasets, catalogue=catalogue), md5s or {})
    root = Path(to).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RemixError(f"cannot create the download folder {root} ({exc}); choose another --to") from None
    root = root.resolve()
    records = {d.key: _load_record(root, d) for d in chosen}
    pending = [(d, a) for d in chosen for a in d.archives if not _is_done(root, d, a, records[d.key])]
    if pending:
        check_disk_space(root, pending, keep_archives=keep_archives)

    outcomes: list[ArchiveOutcome] = []
    total = sum(a.planning_size for _, a in pending)
    with _bars(progress and bool(pending), console, total) as bars:
        for dataset in chosen:
            for archive in dataset.archives:
                if (dataset, archive) not in pending:
                    outcomes.append(ArchiveOutcome(dataset.key, archive.name, "already verified", 0))
                    continue
                outcomes.append(
                    _fetch_archive(
                        root,
                        dataset,
                        archive,
                        records[dataset.key],
                        mirror=mirror,
                        keep_archives=keep_archives,
                        retries=retries,
                        backoff_s=backoff_s,
                        timeout_s=timeout_s,
                        bars=bars,
                        sleep=sleep,
                    )
                )
            _check_layout(root, dataset)
    return FetchResult(root=root, outcomes=tuple(outcomes))
