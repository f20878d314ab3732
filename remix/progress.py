"""The project's progress bar: one rich :class:`~rich.progress.Progress` with the standard columns.

Every long step (checking sources, writing the stand-in, rendering, inspecting,
downloading) shows the same line::

    <description> <bar> <count> [<rate>] [<fields>...] <elapsed> ETA <remaining>

:func:`progress_bar` builds it; the caller adds tasks and advances them as with
any rich ``Progress``, and uses it as a context manager. A disabled bar takes the
same calls and draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

UNITS: tuple[str, ...] = ("items", "bytes")
"""Ways to show a task's count: ``done/total``, or sizes in bytes with the transfer speed."""


class _RateColumn(ProgressColumn):
    """The task's speed as ``12.3 <unit>/s`` (blank until rich has measured one)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:.1f} {self.unit}/s" if speed else "")


class _FieldColumn(ProgressColumn):
    """A task field as rich markup (blank when the task does not have it)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def render(self, task: Task) -> Text:
        return Text.from_markup(str(task.fields.get(self.name, "")))


def progress_bar(
    *,
    enabled: bool = True,
    units: str | None = "items",
    rate: str | None = None,
    fields: Sequence[str] = (),
    console: Console | None = None,
    transient: bool = False,
) -> Progress:
    """A rich progress display with the project's standard columns.

    Parameters
    ----------
    enabled : bool
        False gives a disabled display: the same calls work, nothing is drawn and
        no refresh thread is started.
    units : {"items", "bytes"} or None
        How the count is shown: ``done/total``; downloaded size of total and
        transfer speed; or not at all (for a task whose total is not a count).
    rate : str, optional
        Add the task's measured speed in this unit, e.g. ``"files"`` shows
        ``12.3 files/s``.
    fields : sequence of str
        Names of task fields shown after the count, one column each, as rich
        markup (set them with ``add_task(..., name=value)`` or ``update``); blank
        for a task that does not have the field.
    console : rich.console.Console, optional
        Where to draw; default the standard-error console of the command-line
        apps (:data:`remix.clitools.err_console`).
    transient : bool
        Remove the bars from the terminal when the display stops (default: leave
        the finished bars on screen).

    Returns
    -------
    rich.progress.Progress
        Not started: use it as a context manager.
    """
    if units is not None and units not in UNITS:
        raise ValueError(f"units must be one of {', '.join(UNITS)} or None, got {units!r}")
    if console is None:
        from remix.clitools import err_console

        console = err_console
    columns: list[ProgressColumn] = [TextColumn("{task.description}"), BarColumn()]
    if units == "items":
        columns.append(MofNCompleteColumn())
    elif units == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    if rate is not None:
        columns.append(_RateColumn(rate))
    columns += [_FieldColumn(name) for name in fields]
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    if enabled and not console.is_terminal:  # a log: the bar draws nothing there, so lines instead
        return LoggedProgress(*columns, console=console, transient=transient, disable=True)
    return Progress(*columns, console=console, transient=transient, disable=not enabled)


LOG_STEP = 0.1
"""Share of a task's total between two lines of :class:`LoggedProgress`."""


class LoggedProgress(Progress):
    """The display for output that is not a terminal (a log file, CI, a batch job): nothing is drawn,
    and each task with a total prints one line each time it passes another :data:`LOG_STEP` of it
    (``rendering clips: 170/425 (40 %), 12 s``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._logged: dict[TaskID, int] = {}

    def _log(self, task_id: TaskID) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not task.total:
                return
            step = min(int(task.completed / task.total / LOG_STEP + 1e-9), int(round(1 / LOG_STEP)))
            if step <= self._logged.get(task_id, 0):
                return
            self._logged[task_id] = step
            done, total, elapsed = task.completed, task.total, task.elapsed or 0.0
            description = Text.from_markup(str(task.description)).plain
        count = f"{done:.0f}/{total:.0f}" if float(total).is_integer() else f"{done:.3g}/{total:.3g}"
        self.console.print(
            f"{description}: {count} ({100 * done / total:.0f} %), {elapsed:.0f} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def update(self, task_id: TaskID, **kwargs) -> None:  # type: ignore[override]
        super().update(task_id, **kwargs)
        if "completed" in kwargs or "advance" in kwargs:
            self._log(task_id)
