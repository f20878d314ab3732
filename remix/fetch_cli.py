"""``remix fetch``: download and verify the source corpora (thin layer over :mod:`remix.fetch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from remix.catalogue import CATALOGUE
from remix.clitools import console, user_errors
from remix.errors import RemixError

_KNOWN = ", ".join(sorted(CATALOGUE))


@user_errors
def fetch(
    datasets: Annotated[
        list[str], typer.Argument(help=f"Datasets to fetch: one or more of {_KNOWN}.", show_default=False)
    ],
    to: Annotated[Path, typer.Option("--to", help="Download folder; the unpacked corpora land directly in it.")],
    keep_archives: Annotated[
        bool, typer.Option("--keep-archives", help="Keep each archive after a verified unpacking (default: delete it).")
    ] = False,
    mirror: Annotated[
        str | None,
        typer.Option(
            "--mirror",
            help="Base URL replacing the Zenodo record's, or a folder (or file:// address) on a shared disk: "
            "archives are read from <URL>/<archive name>.",
        ),
    ] = None,
    md5: Annotated[
        list[str] | None,
        typer.Option(
            "--md5", help="NAME=MD5: expected md5 of one archive, replacing the built-in figure (repeatable)."
        ),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Failed attempts in a row allowed per archive before giving up.")
    ] = 5,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Network timeout per request, in seconds.")
    ] = 60.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Download, verify (size, md5) and unpack TAU Urban Acoustic Scenes 2019 and FSDKaggle2018.

    Resumes partial downloads; a rerun skips what is already verified.
    """
    from remix.fetch import fetch as fetch_datasets  # here: its network modules cost every remix command

    md5s: dict[str, str] = {}
    for item in md5 or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise RemixError(f"--md5 expects NAME=MD5 (e.g. FSDKaggle2018.meta.zip=<32 hex digits>), got {item!r}")
        md5s[name.strip()] = value.strip()
    result = fetch_datasets(
        datasets,
        to,
        keep_archives=keep_archives,
        mirror=mirror,
        md5s=md5s,
        retries=retries,
        timeout_s=timeout,
        progress=not quiet,
        console=console,
    )
    fetched = len(result.fetched)
    skipped = len(result.outcomes) - fetched
    console.print(
        f"[green]done[/]: {fetched} archive(s) verified and unpacked, {skipped} already there, "
        f"{result.downloaded_bytes / 1e9:.2f} GB downloaded; corpora in {escape(str(result.root))}",
        highlight=False,
    )
