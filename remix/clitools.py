"""Small helpers shared by the ``remix`` and ``bench`` command-line apps."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
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


class App(typer.Typer):
    """A Typer app whose usage errors (an unknown option, a value of the wrong type, a missing
    argument) are one line on standard error and exit code 2, like the domain errors of
    :func:`user_errors`, instead of a framed block."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:  # typer 0.20+ carries its own copy of click
            from typer._click import exceptions as click_exceptions
        except ImportError:  # earlier typer: click itself
            from click import exceptions as click_exceptions
        abort: type[BaseException] = typer.Abort

        command = typer.main.get_command(self)
        try:
            result = command.main(*args, standalone_mode=False, **kwargs)
        except click_exceptions.NoArgsIsHelpError as exc:  # the command alone: its help, as Typer shows it
            console.print(exc.ctx.get_help() if exc.ctx else "", highlight=False, markup=False)
            sys.exit(0)
        except click_exceptions.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None and exc.ctx.command_path else None
            where = where or kwargs.get("prog_name") or command.name or Path(sys.argv[0]).name
            err_console.print(
                f"[bold red]error:[/] {escape(exc.format_message())} (see {escape(str(where))} --help)",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
        except click_exceptions.ClickException as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except (abort, KeyboardInterrupt):
            err_console.print("[yellow]interrupted[/]: finished work is kept; run the same command again to resume.")
            sys.exit(130)
        if isinstance(result, int) and not isinstance(result, bool):  # an exit code (typer.Exit, --help)
            sys.exit(result)
        return None
