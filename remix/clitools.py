"""Small helpers shared by the ``remix`` and ``bench`` command-line apps."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from remix.errors import RemixError

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
"""Console for progress and results (standard output)."""

err_console = Console(stderr=True)
"""Console for error messages (standard error)."""

_handled: list[type[BaseException]] = [RemixError]


def register_error(kind: type[BaseException]) -> None:
    """Have :func:`user_errors` turn ``kind`` into a one-line message too."""
    if kind not in _handled:
        _handled.append(kind)


def warn(message: str) -> None:
    """One yellow ``warning:`` line on standard error (``message`` is printed as is, never as markup)."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def user_errors(fn: F) -> F:
    """Wrap a CLI command so a domain error becomes one line and exit code 2.

    A user's mistake (wrong folder, bad file, impossible option) never shows a
    traceback; a ``KeyboardInterrupt`` exits with code 130.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except tuple(_handled) as exc:  # type: ignore[misc]
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: finished work is kept; run the same command again to resume.")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
