"""The shared progress bar: its columns, fields, rate, byte counts and the disabled form."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from remix.progress import progress_bar


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, force_terminal=False, color_system=None), out


def _row(bar, task) -> str:
    """The text of one task's row, cell by cell."""
    table = bar.make_tasks_table([bar._tasks[task]])
    console = Console(width=200, color_system=None)
    with console.capture() as cap:
        console.print(table)
    return " ".join(cap.get().split())


def test_standard_columns_with_a_count_and_a_field():
    console, _ = _console()
    bar = progress_bar(console=console, fields=("rate",))
    task = bar.add_task("rendering clips", total=10, completed=3, rate="2.5 clips/s")
    row = _row(bar, task)
    assert row.startswith("rendering clips") and "3/10" in row and "2.5 clips/s" in row and "ETA" in row
    assert bar.console is console and not bar.live.transient


def test_a_task_without_the_field_shows_it_blank():
    console, _ = _console()
    bar = progress_bar(console=console, fields=("info",))
    task = bar.add_task("runs", total=4)
    assert "4" in _row(bar, task)


def test_rate_column_and_byte_counts():
    console, _ = _console()
    bar = progress_bar(console=console, rate="files")
    task = bar.add_task("checking sources", total=5)
    assert "files/s" not in _row(bar, task)  # no speed measured yet
    bytes_bar = progress_bar(console=console, units="bytes", transient=True)
    task = bytes_bar.add_task("archive", total=2_000_000, completed=1_000_000)
    assert "1.0/2.0 MB" in _row(bytes_bar, task) and bytes_bar.live.transient
    none_bar = progress_bar(console=console, units=None)
    task = none_bar.add_task("grid", total=7, completed=2)
    assert "2/7" not in _row(none_bar, task)


def test_default_console_is_standard_error():
    from remix.clitools import err_console

    assert progress_bar().console is err_console


def test_disabled_bar_takes_the_calls_and_draws_nothing():
    console, out = _console()
    with progress_bar(enabled=False, console=console, fields=("rate",)) as bar:
        task = bar.add_task("x", total=3, rate="")
        bar.advance(task, 2)
        bar.update(task, advance=1, rate="1 x/s")
        assert bar.live._refresh_thread is None
    assert bar.tasks[0].completed == 3 and out.getvalue() == ""


def test_unknown_units_are_refused():
    with pytest.raises(ValueError, match="units"):
        progress_bar(units="clips")


def test_output_that_is_not_a_terminal_gets_a_line_per_tenth():
    from remix.progress import LoggedProgress

    console, out = _console()  # force_terminal=False: a log file
    bar = progress_bar(console=console)
    assert isinstance(bar, LoggedProgress)
    with bar:
        task = bar.add_task("[bold]rendering clips", total=40)
        for _ in range(40):
            bar.advance(task)
        other = bar.add_task("checking sources", total=3)
        bar.update(other, completed=3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("rendering clips: 4/40 (10 %),") and lines[9].startswith(
        "rendering clips: 40/40 (100 %)"
    )
    assert lines[10].startswith("checking sources: 3/3 (100 %)")
    terminal = progress_bar(console=Console(file=io.StringIO(), force_terminal=True))
    assert not isinstance(terminal, LoggedProgress)
    assert not isinstance(progress_bar(console=console, enabled=False), LoggedProgress)  # disabled: silent
