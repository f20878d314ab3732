"""Rendering a :class:`bench.reporting.table.Table`: the terminal (rich), Markdown and LaTeX.

A cell prints as its mean, its 95 % interval (or ± std) and its run count, with the marks of
:mod:`bench.reporting.table` (bold for the best and its ties, † unconverged, ‡ at chance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.reporting import latex as lx
from bench.reporting.table import (
    AT_CHANCE,
    DASH,
    EMPHASIS,
    SYNTHETIC_WARNING,
    UNCONVERGED,
    Table,
)


def format_cell(
    mean: float | None,
    std: float | None,
    n: int,
    *,
    digits: int = 4,
    pm: str = "±",
    unconverged: int = 0,
    low: float | None = None,
    high: float | None = None,
    chance: int = 0,
) -> str:
    """``0.7829 [0.7512, 0.8101] (3)`` with an interval, else ``0.7829 ± 0.0123 (3)``;
    ``0.7829 (1)`` for a single run without one; "—" without a run; a trailing "†" when any
    of the runs had not converged, "‡" when any stayed at chance."""
    if mean is None or n == 0 or (isinstance(mean, float) and np.isnan(mean)):
        return DASH
    text = f"{mean:.{digits}f}"
    if low is not None and high is not None and not (np.isnan(low) or np.isnan(high)):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    elif std is not None and not (isinstance(std, float) and np.isnan(std)):
        text += f" {pm} {std:.{digits}f}"
    return f"{text} ({n})" + (UNCONVERGED if unconverged else "") + (AT_CHANCE if chance else "")


def _cell_text(c: pd.Series, *, digits: int, pm: str = "±") -> str:
    """A data row of a table as its cell text, with :data:`EMPHASIS` first when it is set in bold."""
    text = format_cell(
        _none(c["mean"]),
        _none(c["std"]),
        int(c["n"]),
        pm=pm,
        digits=digits,
        unconverged=int(c.get("unconverged", 0) or 0),
        low=_none(c.get("low")),
        high=_none(c.get("high")),
        chance=int(_none(c.get("at_chance")) or 0),
    )
    bold = bool(c.get("best", False)) or bool(c.get("tied", False))
    return EMPHASIS + text if bold and text != DASH else text


def emphasised(text: str, kind: str) -> str:
    """Cell text for a renderer: ``kind`` "markdown" (``**x**``), "latex" (``\\textbf``, escaped),
    "rich" (markup, escaped) or "plain"."""
    bold = text.startswith(EMPHASIS)
    text = text.removeprefix(EMPHASIS)
    if kind == "latex":
        text = latex_escape(text)
        return r"\textbf{" + text + "}" if bold else text
    if kind == "rich":
        from rich.markup import escape

        return f"[bold]{escape(text)}[/]" if bold else escape(text)
    if kind == "markdown":
        return f"**{text}**" if bold else text
    return text


def _paper_text(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return DASH
    return f"{value:.{digits}f}"


def _none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _grid(table: Table, *, pm: str = "±", digits: int = 4) -> list[list[str]]:
    """Body rows: row cells, then per column "ours" and "paper"."""
    body = []
    for r, row in enumerate(table.rows):
        cells = list(row)
        for _, columns in table.groups:
            for key, _ in columns:
                c = table.cell(r, key)
                cells.append(_cell_text(c, digits=digits, pm=pm))
                cells.append(_paper_text(_none(c["paper"]), digits=digits))
        body.append(cells)
    return body


MARKDOWN_WIDTH = 120
"""Widest line :func:`to_markdown` writes by default (a terminal, a rendered README)."""


def to_markdown(table: Table, *, width: int = MARKDOWN_WIDTH) -> str:
    """GitHub markdown no wider than ``width`` characters.

    Bold title, a warning line for synthetic corpora, the caption (wrapped), then the
    table as one or more aligned markdown tables: whole column groups (one SNR, say)
    side by side while they fit, a group that does not fit alone split over several
    tables. Every number column has the paper's value in the column right of it. Of the
    layouts that fit, the one with the fewest tables wins, then the one with the most
    digits (4, 3, 2) and the fullest row labels (the row-describing columns, or one
    "System" column).
    """
    import textwrap

    layouts = [
        _markdown_blocks(table, digits=digits, collapse=collapse, width=width)
        for digits, collapse in ((3, False), (3, True), (2, True))  # 3 digits, as the terminal and LaTeX
    ]
    fitting = [blocks for blocks in layouts if all(len(line) <= width for block in blocks for line in block)]
    blocks = min(fitting, key=len) if fitting else layouts[-1]  # fewest tables, then most digits (first)
    lines = [f"**{table.title}**", ""]
    if table.synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += textwrap.wrap(table.caption, width=width, break_on_hyphens=False)
    for block in blocks:
        lines += [""] + block
    extra = [n for n in table.notes if n != SYNTHETIC_WARNING]
    if extra:
        lines.append("")
        for note in extra:
            lines += textwrap.wrap(
                note, width=width, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
            )
    return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
    return "| " + " | ".join(padded) + " |"


def _md_table(header: list[str], rows: list[list[str]], n_left: int) -> list[str]:
    """An aligned markdown table; the first ``n_left`` columns left-aligned, the others right."""
    header = [h.replace("|", "\\|") for h in header]
    rows = [[c.replace("|", "\\|") for c in row] for row in rows]
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    right = [i >= n_left for i in range(len(header))]
    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"
    return [_md_row(header, widths, right), rule] + [_md_row(row, widths, right) for row in rows]


def _markdown_blocks(table: Table, *, digits: int, collapse: bool, width: int) -> list[list[str]]:
    """Lines of each markdown table (with its italic sub-title when it holds one group)."""
    body = [[emphasised(c, "markdown") for c in cells] for cells in _grid(table, digits=digits)]
    n_row = len(table.row_header)
    if collapse:
        row_header, row_cells = ["System"], [[_short_system(cells[:n_row])] for cells in body]
    else:
        row_header, row_cells = list(table.row_header), [list(cells[:n_row]) for cells in body]
    units: list[tuple[int, str, str, int]] = []  # (group index, group title, column title, body index)
    index = n_row
    for g, (group, columns) in enumerate(table.groups):
        for _, title in columns:
            units.append((g, group, title, index))
            index += 2

    def render(chunk: list[tuple[int, str, str, int]]) -> list[str]:
        one_group = len({u[0] for u in chunk}) == 1
        continued = one_group and chunk[0] != next(u for u in units if u[0] == chunk[0][0])
        header = list(row_header)
        for _, group, title, _ in chunk:
            header += [title if one_group else f"{group} {title}", "paper"]
        rows = [
            row_cells[r] + [cell for *_, i in chunk for cell in (body[r][i], body[r][i + 1])] for r in range(len(body))
        ]
        lines = _md_table(header, rows, len(row_header))
        subtitle = f"*{chunk[0][1]}{' (continued)' if continued else ''}*"
        return ([subtitle, ""] if one_group else []) + lines

    def fits(chunk) -> bool:
        return all(len(line) <= width for line in render(chunk))

    chunks: list[list[tuple[int, str, str, int]]] = []
    current: list[tuple[int, str, str, int]] = []
    for g in range(len(table.groups)):
        group_units = [u for u in units if u[0] == g]
        if fits(group_units):
            if current and fits(current + group_units):
                current = current + group_units
            else:
                if current:
                    chunks.append(current)
                current = group_units
            continue
        if current:  # a group too wide alone: its columns over several tables
            chunks.append(current)
            current = []
        part: list[tuple[int, str, str, int]] = []
        for unit in group_units:
            if part and not fits(part + [unit]):
                chunks.append(part)
                part = []
            part.append(unit)
        chunks.append(part)
    if current:
        chunks.append(current)
    return [render(chunk) for chunk in chunks]


_LATEX_SPECIAL = {
    UNCONVERGED: r"\textsuperscript{\dag}",
    AT_CHANCE: r"\textsuperscript{\ddag}",
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters; α, ± and — become math or dashes."""
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    return out.replace("α", r"$\alpha$").replace("±", r"$\pm$").replace(DASH, "---")


def _title_only(title: str) -> str:
    """``"Table 1: weakly supervised SED"`` -> ``"weakly supervised SED"`` (LaTeX numbers its own)."""
    head, sep, rest = title.partition(": ")
    return rest if sep and head.startswith("Table") else title


def _latex_cell(c: pd.Series, *, digits: int = 3) -> lx.Cell | str:
    mean, n = _none(c["mean"]), int(c["n"])
    if mean is None or n == 0:
        return DASH
    low, high, std = _none(c.get("low")), _none(c.get("high")), _none(c.get("std"))
    if low is not None and high is not None:
        interval = f"[{low:.{digits}f}, {high:.{digits}f}]"
    elif std is not None:
        interval = f"± {std:.{digits}f}"
    else:
        interval = None
    return lx.Cell(
        text=f"{mean:.{digits}f} ({n})",
        interval=interval,
        bold=bool(c.get("best", False)) or bool(c.get("tied", False)),
        dagger=bool(int(c.get("unconverged", 0) or 0)),
        chance=bool(int(_none(c.get("at_chance")) or 0)),
    )


def latex_floats(table: Table) -> list[lx.LatexFloat]:
    """The LaTeX floats of one of Tables 1-3: Table 1 one float per SNR (so each fits a
    single-column page), the others one float; a value column and the paper's beside it."""
    if table.name == "table3":
        return [_transposed_float(table)]
    if table.name == "table1":
        parts = [(f" ({group})", [(group, columns)]) for group, columns in table.groups]
    else:
        parts = [("", list(table.groups))]
    n_row = len(table.row_header)
    floats = []
    for suffix, groups in parts:
        units = [(group, key, title) for group, columns in groups for key, title in columns]
        one_group = len(groups) == 1
        header = [(title if one_group else group, 2) for group, _, title in units]
        rows = []
        for r, row in enumerate(table.rows):
            cells: list = []
            for _, key, _ in units:
                c = table.cell(r, key)
                cells += [_latex_cell(c), _paper_text(_none(c["paper"]), digits=3)]
            rows.append((_short_system(row[:n_row]) if n_row > 1 else row[0], cells))
        tag = "-" + suffix.strip(" ()").replace(" ", "").lower() if suffix else ""
        floats.append(
            lx.LatexFloat(
                label=f"tab:bench-{table.name}{tag}",
                caption=_title_only(table.title) + suffix + table.caption.removeprefix(table.title),
                header=header,
                subheader=["ours", "paper"] * len(units),
                rows=rows,
                row_title=table.row_header[0] if n_row == 1 else "System",
                warning=SYNTHETIC_WARNING if table.synthetic else None,
            )
        )
    return floats


def _transposed_float(table: Table) -> lx.LatexFloat:
    """A table with few rows and many value columns (Table 3: three systems, four events) set
    the other way round: a row per value column, a column pair (ours, paper) per system."""
    n_row = len(table.row_header)
    systems = [_short_system(row[:n_row]) for row in table.rows]
    keys = [(key, title) for _, columns in table.groups for key, title in columns]
    rows = []
    for key, title in keys:
        cells: list = []
        for r in range(len(table.rows)):
            c = table.cell(r, key)
            cells += [_latex_cell(c), _paper_text(_none(c["paper"]), digits=3)]
        rows.append((title, cells))
    group = table.groups[0][0] if len(table.groups) == 1 else ""
    return lx.LatexFloat(
        label=f"tab:bench-{table.name}",
        caption=_title_only(table.title) + table.caption.removeprefix(table.title),
        header=[(system, 2) for system in systems],
        subheader=["ours", "paper"] * len(systems),
        rows=rows,
        row_title=group.replace("SNR ", "") if group else "",
        warning=SYNTHETIC_WARNING if table.synthetic else None,
    )


def to_latex(table: Table) -> str:
    """Booktabs ``table`` floats (:func:`latex_floats`), each fitting a single-column page."""
    return "\n".join(lx.render(f) for f in latex_floats(table))


def _rich_cell(c: pd.Series, *, paper: bool) -> str:
    """A cell for the terminal, one short line each: the mean (n) with † when a run had not
    converged, its interval, and the paper's value (dim); bold for the best and its ties."""
    from rich.markup import escape

    cell = _latex_cell(c)
    if isinstance(cell, str):
        lines = [cell]
    else:
        first = cell.text + (UNCONVERGED if cell.dagger else "") + (AT_CHANCE if cell.chance else "")
        first = f"[bold]{escape(first)}[/]" if cell.bold else escape(first)
        lines = [first] + ([escape(cell.interval)] if cell.interval else [])
    if paper:
        lines.append(f"[dim]{_paper_text(_none(c['paper']), digits=3)}[/]")
    return "\n".join(lines)


def to_rich(table: Table):
    """The table for the terminal: one rich table per column group (e.g. per SNR), each cell
    showing ours, its interval and the paper's value on three short lines, so that every table
    reads in an 80-column terminal."""
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    parts = []
    n_row = len(table.row_header)
    groups = [(g, columns) for g, columns in table.groups if _group_has_runs(table, columns)]
    empty = [g for g, columns in table.groups if not _group_has_runs(table, columns)]
    for g, (group, columns) in enumerate(groups):
        title = f"{table.title} — {group}"
        if table.synthetic and g == 0:
            title += f"\n[bold red]{SYNTHETIC_WARNING}[/]"
        out = RichTable(title=title)
        out.add_column("System")
        for _, col_title in columns:
            out.add_column(f"{col_title}\n[dim]paper[/]", justify="right", no_wrap=True)
        for r, row in enumerate(table.rows):
            out.add_row(_short_system(row[:n_row]), *(_rich_cell(table.cell(r, key), paper=True) for key, _ in columns))
        parts.append(out)
    if empty:
        runs = "" if groups else "; no other column has one either"
        what = f"{table.title} — {', '.join(empty)}: no finished run{runs}"
        parts.append(Text(f"{what} (the written tables keep the paper's value)"))
    if groups:
        parts.append(Text(table.caption, style="italic"))  # below, at full width (a rich caption wraps to the table)
    return Group(*parts)


def _group_has_runs(table: Table, columns: Sequence[tuple[str, str]]) -> bool:
    """Whether any cell of a column group holds a finished run (the terminal leaves the others out)."""
    keys = {key for key, _ in columns}
    cells = table.data[table.data["column"].isin(keys)]
    return bool((pd.to_numeric(cells["n"], errors="coerce").fillna(0) > 0).any())


def _short_system(cells: Sequence[str]) -> str:
    """One label for a row: ``("VGGish", "2AP", "yes") -> "VGGish 2AP +aux"``."""
    words = [c for c in cells if c != "no"]
    return " ".join("+aux" if w == "yes" else w for w in words)


def print_tables(tables: Sequence[Table], *, console=None) -> None:
    """Print tables (and their notes) with rich."""
    from rich.markup import escape

    if console is None:
        from remix.clitools import console as default_console

        console = default_console
    for table in tables:
        console.print(to_rich(table))
        for note in table.notes:
            style = "bold red" if note == SYNTHETIC_WARNING else "yellow"
            console.print(f"[{style}]{escape(note)}[/]")
        console.print()


TAGGING_TEXT = (
    "tag-only: the same run's clip probabilities broadcast over every frame, under its own "
    "post-processing; a PSDS no higher than its tag-only value is tagging, not localisation"
)
"""What the tagging-only control is, for captions."""


def parts_rich(table: Table, parts: Sequence[tuple[str, Sequence[str]]], *, title: str):
    """A table whose rows are (system, SNR) for the terminal: one rich table per SNR and per part
    (``(part, column keys)``), each cell the mean (n) over its interval, the caption below."""
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    titles = dict(table.groups[0][1])
    out_parts = []
    snrs = list(dict.fromkeys(snr for _, snr in table.rows))
    for s_index, snr in enumerate(snrs):
        rows = [r for r, (_, row_snr) in enumerate(table.rows) if row_snr == snr]
        for p_index, (part, keys) in enumerate(parts):
            keys = tuple(k for k in keys if k in titles)
            heading = f"{title} — {snr}, {part}"
            if table.synthetic and s_index == 0 and p_index == 0:
                heading += f"\n[bold red]{SYNTHETIC_WARNING}[/]"
            out = RichTable(title=heading)
            out.add_column("System")
            for key in keys:
                out.add_column(titles[key].replace("tag-only ", "tag-only\n"), justify="right", no_wrap=True)
            for r in rows:
                out.add_row(table.rows[r][0], *(_rich_cell(table.cell(r, k), paper=False) for k in keys))
            out_parts.append(out)
    if not table.rows:
        out_parts.append(Text(f"{table.title}: no finished run has these metrics", style="bold"))
    out_parts.append(Text(table.caption, style="italic"))
    return Group(*out_parts)


def print_with_notes(renderable, notes: Sequence[str], *, console=None) -> None:
    """Print a table's renderable and its notes (the synthetic warning in red) with rich."""
    from rich.markup import escape

    if console is None:
        from remix.clitools import console as default_console

        console = default_console
    console.print(renderable)
    for note in notes:
        console.print(f"[{'bold red' if note == SYNTHETIC_WARNING else 'yellow'}]{escape(note)}[/]")
    console.print()
