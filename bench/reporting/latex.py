"""Tables as LaTeX floats that fit a single-column page, and how wide they set.

A float here is a booktabs ``table`` in ``\\footnotesize`` with ``\\tabcolsep`` 4 pt: a row
label column, then value columns. A value cell holds the mean (bold when it is the best or
cannot be told apart from it, with a dagger when a run had not converged) and, on a second
line in ``\\scriptsize``, its 95 % interval; a column may be followed by the paper's value.
Section rows (an SNR, say) can split the body.

:func:`width_pt` measures a float as TeX sets it, from the metrics of the Computer Modern
fonts that matplotlib ships (``cmr10``, ``cmb10``): every column is as wide as its widest
cell plus ``2 \\tabcolsep``, and a header spanning columns widens the last of them when it is
wider. Smaller sizes are widened as Computer Modern's optical sizes are (:data:`OPTICAL_WIDTH`) and
bold as roman by :data:`BOLD_WIDTH`; the model is within a few points of TeX (tested against
pdflatex where it is installed). The page it must fit is the ``article`` class's single column, 345 pt
(:data:`TEXT_WIDTH_PT`), so a test can hold every table to it on any machine.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

TEXT_WIDTH_PT = 345.0
"""``\\textwidth`` of LaTeX's ``article`` class at 10 pt (letter and A4 alike)."""
FONT_PT = 8.0
"""``\\footnotesize`` of a 10 pt document: the body of the tables."""
SMALL_FONT_PT = 7.0
"""``\\scriptsize`` of a 10 pt document: the intervals."""
OPTICAL_WIDTH = {10.0: 1.0, 9.0: 1.035, 8.0: 1.07, 7.0: 1.15, 6.0: 1.22}
"""Width of Computer Modern's own design at a size (cmr8, cmr7...) against cmr10 scaled to it:
the smaller designs are wider (measured in TeX: 1.07 at 8 pt, 1.15 at 7 pt)."""
BOLD_WIDTH = 1.15
"""Bold extended (``\\textbf``, cmbx) against roman (cmr) width: 5.75 pt against 5 pt a digit at 10 pt.
matplotlib ships cmb10 (bold, not extended), which is narrower than what LaTeX sets."""
TABCOLSEP_PT = 4.0
"""``\\tabcolsep`` set in every float (LaTeX's default is 6 pt)."""
DAGGER = "†"


@dataclass
class Cell:
    """One value cell: the mean's text, its interval's text (or None), bold or not, a dagger (not
    converged) or not, a double dagger (stayed at chance) or not."""

    text: str
    interval: str | None = None
    bold: bool = False
    dagger: bool = False
    chance: bool = False


@dataclass
class LatexFloat:
    """A table float.

    Attributes
    ----------
    label : str
        ``\\label`` (``tab:bench-...``).
    caption : str
        Plain text (escaped when rendered); a synthetic warning in it is set in bold.
    header : list of (str, int)
        The column header: (title, columns spanned) over the value columns, left to right.
    subheader : list of str or None
        A second header row, one title per value column (e.g. "ours", "paper").
    rows : list of (str, list of Cell or str)
        Row label and its value cells (a ``str`` cell is a plain value, e.g. the paper's).
    sections : dict of int to str
        Row index -> a section title set on its own row before that row.
    row_title : str
        Title of the row-label column.
    warning : str or None
        Text of the caption to set in bold.
    """

    label: str
    caption: str
    header: list[tuple[str, int]]
    rows: list[tuple[str, list]]
    subheader: list[str] | None = None
    sections: dict[int, str] = field(default_factory=dict)
    row_title: str = "System"
    warning: str | None = None

    @property
    def n_values(self) -> int:
        return sum(span for _, span in self.header)


_SPECIAL = {
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
    DAGGER: r"\textsuperscript{\dag}",
    "‡": r"\textsuperscript{\ddag}",
}


def escape(text: str) -> str:
    """Escape LaTeX special characters; α, ± and — become math or dashes."""
    out = "".join(_SPECIAL.get(ch, ch) for ch in str(text))
    return out.replace("α", r"$\alpha$").replace("±", r"$\pm$").replace("—", "---")


def _cell_tex(cell: Cell | str) -> tuple[str, str]:
    """(first line, second line) of a cell in LaTeX."""
    if isinstance(cell, str):
        return escape(cell), ""
    text = escape(cell.text)
    if cell.bold:
        text = r"\textbf{" + text + "}"
    if cell.dagger:
        text += r"\textsuperscript{\dag}"
    if cell.chance:
        text += r"\textsuperscript{\ddag}"
    second = r"{\scriptsize " + escape(cell.interval) + "}" if cell.interval else ""
    return text, second


CAPTION_WORDS = 40
"""A LaTeX caption keeps its first sentences up to about this many words; the rest (how the cells
were computed) becomes a note set in small type below the table."""


def split_caption(text: str, *, words: int = CAPTION_WORDS) -> tuple[str, str]:
    """(caption, note): whole sentences up to ``words`` words (at least the first), then the rest."""
    sentences = re.split(r"(?<=[.)])\s+(?=[A-Z†‡])", text.strip())
    head: list[str] = []
    count = 0
    for sentence in sentences:
        n = len(sentence.split())
        if head and count + n > words:
            break
        head.append(sentence)
        count += n
    return " ".join(head), " ".join(sentences[len(head) :])


def render(table: LatexFloat) -> str:
    """The float as LaTeX (needs ``booktabs``): a caption of at most about :data:`CAPTION_WORDS`
    words, the rest of the caption text as a note below the table."""
    n = table.n_values
    short, rest = split_caption(table.caption)
    caption, note = escape(short), escape(rest)
    if table.warning:
        warning = escape(table.warning)
        caption = caption.replace(warning, r"\textbf{" + warning + "}")
        note = note.replace(warning, r"\textbf{" + warning + "}")
    lines = [
        "% Generated by bench.reporting.report from the run folders; do not edit by hand.",
        r"\begin{table}[t]",
        r"\centering",
        r"\footnotesize",
        r"\setlength{\tabcolsep}{" + f"{TABCOLSEP_PT:g}" + "pt}",
        r"\caption{" + caption + "}",
        r"\label{" + table.label + "}",
        r"\begin{tabular}{l" + "r" * n + "}",
        r"\toprule",
    ]
    head, rules, col = [""], [], 2
    for title, span in table.header:
        head.append(escape(title) if span == 1 else r"\multicolumn{" + str(span) + r"}{c}{" + escape(title) + "}")
        if span > 1:
            rules.append(r"\cmidrule(lr){" + f"{col}-{col + span - 1}" + "}")
        col += span
    if table.subheader is None:
        head[0] = escape(table.row_title)
        lines.append(" & ".join(head) + r" \\")
    else:
        lines.append(" & ".join(head) + r" \\")
        if rules:
            lines.append(" ".join(rules))
        lines.append(" & ".join([escape(table.row_title), *(escape(t) for t in table.subheader)]) + r" \\")
    lines.append(r"\midrule")
    for r, (label, cells) in enumerate(table.rows):
        if r in table.sections:
            if r > 0:
                lines.append(r"\addlinespace")
            lines.append(r"\multicolumn{" + str(n + 1) + r"}{l}{\textit{" + escape(table.sections[r]) + r"}} \\")
        first, second = zip(*(_cell_tex(c) for c in cells)) if cells else ((), ())
        lines.append(" & ".join([escape(label), *first]) + r" \\")
        if any(second):
            lines.append(" & ".join(["", *second]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if note:
        lines += [r"\par\smallskip", r"{\scriptsize\raggedright " + note + r"\par}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- width


@functools.cache
def _font(bold: bool):
    import os

    from matplotlib import ft2font, get_data_path

    return ft2font.FT2Font(os.path.join(get_data_path(), "fonts", "ttf", "cmr10.ttf"))


def text_width_pt(text: str, *, size_pt: float = FONT_PT, bold: bool = False) -> float:
    """Width in pt of plain text set in Computer Modern roman (or bold) at ``size_pt``."""
    if not text:
        return 0.0
    text = text.replace("α", "a").replace("—", "--").replace("±", "+")
    font = _font(False)
    font.set_size(size_pt, 7200)  # 100 pixels per pt: sub-point precision
    font.set_text(text)
    width, _ = font.get_width_height()  # 26.6 fixed point, in pixels
    return width / 64 / 100 * OPTICAL_WIDTH.get(size_pt, 1.0) * (BOLD_WIDTH if bold else 1.0)


def _cell_width(cell: Cell | str) -> float:
    if isinstance(cell, str):
        return text_width_pt(cell)
    dagger = text_width_pt("x", size_pt=SMALL_FONT_PT) if cell.dagger else 0.0  # \dag is about an x wide
    first = text_width_pt(cell.text, bold=cell.bold) + dagger
    second = text_width_pt(cell.interval or "", size_pt=SMALL_FONT_PT)
    return max(first, second)


def width_pt(table: LatexFloat) -> float:
    """Width of the tabular as TeX sets it (see the module docstring)."""
    n = table.n_values
    widths = [0.0] * (n + 1)
    widths[0] = max([text_width_pt(table.row_title)] + [text_width_pt(label) for label, _ in table.rows])
    for _, cells in table.rows:
        for k, cell in enumerate(cells):
            widths[k + 1] = max(widths[k + 1], _cell_width(cell))
    if table.subheader is not None:
        for k, title in enumerate(table.subheader):
            widths[k + 1] = max(widths[k + 1], text_width_pt(title))
    col = 1
    for title, span in table.header:
        inner = sum(widths[col : col + span]) + 2 * TABCOLSEP_PT * (span - 1)
        need = text_width_pt(title)
        if need > inner:  # TeX widens the last spanned column
            widths[col + span - 1] += need - inner
        col += span
    total = sum(widths) + 2 * TABCOLSEP_PT * len(widths)
    for section in table.sections.values():  # a section row spans every column
        total = max(total, text_width_pt(section) + 2 * TABCOLSEP_PT)
    return total
