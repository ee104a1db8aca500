"""The shift report document (X and Z): one model, rendered to PDF, ESC/POS and plain text.

A report is labelled rows in sections, already decided (amounts are text, as the
core formatted them): the renderers lay it out and never compute money. It is
drawn by the receipt machinery: :class:`~cashier.receipts.layout.LayoutLine` rows, the
same PDF page drawing (:mod:`cashier.receipts.pdf`) and the same ESC/POS styles.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cashier.receipts.layout import (
    LABELS,
    MIN_COLUMNS,
    LayoutLine,
    TextLine,
    center,
    display_width,
    split_line,
)

__all__ = [
    "ReportRow",
    "ReportSection",
    "ShiftReport",
    "render_shift_report_escpos",
    "render_shift_report_pdf",
    "render_shift_report_text",
    "shift_report_file_name",
    "shift_report_layout",
    "shift_report_text_lines",
]


@dataclass(frozen=True)
class ReportRow:
    """One labelled figure: ``value`` is printed flush right."""

    label: str
    value: str = ""
    style: Literal["normal", "bold", "big"] = "normal"
    indent: int = 0  # in cells


@dataclass(frozen=True)
class ReportSection:
    heading: str
    rows: tuple[ReportRow, ...]


@dataclass(frozen=True)
class ShiftReport:
    title: str  # e.g. 交班报表（X）/ 结班报表（Z）
    clinic_name: str
    station_id: str
    number: str  # the Z number, or the X report's own label
    fields: tuple[tuple[str, str], ...]  # header fields: 收款员, 开班, 结班 …
    sections: tuple[ReportSection, ...]
    notice: str = ""  # printed in a dark band, e.g. 跨日未交班，由收费组长结班
    reprint: int = 0  # 0 = original; n = the n-th reprint (shows 重打)
    training: bool = False  # shows 培训模式
    footer: tuple[str, ...] = field(default=("收款员签字：", "收费组长签字："))

    @property
    def receipt_no(self) -> str:
        """The PDF renderer names the document and its pages by this."""
        return self.number


def shift_report_file_name(report: ShiftReport) -> str:
    suffix = f"-重打{report.reprint}" if report.reprint else ""
    return f"{report.number}{suffix}.pdf"


# -- the content ----------------------------------------------------------------------


def shift_report_layout(report: ShiftReport) -> list[LayoutLine]:
    """What the report says, in order, independent of the medium."""
    lines = [
        LayoutLine("title", report.clinic_name, align="center"),
        LayoutLine("title", report.title, align="center"),
    ]
    if report.training:
        lines.append(LayoutLine("notice", LABELS["training"], align="center"))
    if report.reprint > 0:
        lines.append(
            LayoutLine("notice", LABELS["reprint"].format(n=report.reprint), align="center")
        )
    if report.notice:
        lines.append(LayoutLine("notice", report.notice, align="center"))
    lines.append(LayoutLine("normal", f"编号：{report.number}"))
    lines.append(LayoutLine("normal", f"{LABELS['station']}：{report.station_id}"))
    lines.extend(LayoutLine("normal", f"{label}：{value}") for label, value in report.fields)
    for section in report.sections:
        lines.append(LayoutLine("rule"))
        lines.append(LayoutLine("bold", f"【{section.heading}】"))
        lines.extend(
            LayoutLine(row.style, row.label, row.value, indent=row.indent) for row in section.rows
        )
    lines.append(LayoutLine("rule"))
    lines.extend(LayoutLine("normal", text) for text in report.footer)
    return lines


# -- text and ESC/POS -------------------------------------------------------------------


def shift_report_text_lines(
    report: ShiftReport, columns: int, *, big_scale: int = 1, ambiguous: int = 1
) -> list[TextLine]:
    """The report in ``columns`` cells, one :class:`TextLine` per row (see
    :func:`cashier.receipts.layout.receipt_text_lines` for ``big_scale`` and ``ambiguous``)."""
    if columns < MIN_COLUMNS:
        raise ValueError(f"a report needs at least {MIN_COLUMNS} columns, not {columns}")

    def measure(s: str) -> int:
        return display_width(s, ambiguous=ambiguous)

    out: list[TextLine] = []
    for line in shift_report_layout(report):
        if line.style == "rule":
            out.append(TextLine("rule", "-" * columns))
            continue
        width = columns // big_scale if line.style == "big" else columns
        for left, right in split_line(line, width, measure):
            if line.align == "center":
                out.append(TextLine(line.style, center(left, width, measure)))
            else:
                left = " " * line.indent + left if left else left
                gap = " " * (width - measure(left) - measure(right))
                out.append(TextLine(line.style, (left + gap + right).rstrip()))
    return out


def render_shift_report_text(report: ShiftReport, columns: int = 48) -> str:
    """The report as plain fixed-width text (wide characters two cells)."""
    return "\n".join(line.text for line in shift_report_text_lines(report, columns))


#: ESC/POS print modes per style: (bold, width, height).
_ESCPOS_STYLE = {
    "title": (True, 1, 2),
    "big": (True, 2, 2),
    "bold": (True, 1, 1),
    "notice": (True, 1, 1),
}


def render_shift_report_escpos(
    report: ShiftReport, paper_mm: int = 80, *, cut: bool = True
) -> bytes:
    """The ESC/POS job printing ``report`` on a ``paper_mm`` (58 or 80) roll, in Chinese
    mode like a receipt (:func:`cashier.receipts.escpos.render_escpos`)."""
    from escpos.printer import Dummy  # python-escpos is slow to import

    from cashier.receipts.escpos import _CHINESE_MODE, COLUMNS

    if paper_mm not in COLUMNS:
        raise ValueError(f"paper must be 58 or 80 mm, not {paper_mm!r}")
    printer = Dummy()
    printer.hw("INIT")
    printer._raw(_CHINESE_MODE)
    printer.set(align="left")
    lines = shift_report_text_lines(report, COLUMNS[paper_mm], big_scale=2, ambiguous=2)
    for style, text in lines:
        bold, width, height = _ESCPOS_STYLE.get(style, (False, 1, 1))
        if bold:
            printer.set(bold=True, custom_size=True, width=width, height=height)
        printer._raw(text.encode("gb18030", errors="replace") + b"\n")
        if bold:
            printer.set(bold=False, custom_size=True, width=1, height=1)
    if cut:
        printer.cut()
    return printer.output


# -- PDF ---------------------------------------------------------------------------------


def render_shift_report_pdf(
    report: ShiftReport, path: str | os.PathLike[str], paper: str = "80mm"
) -> Path:
    """Write ``report`` as a PDF at ``path`` with the receipt's page drawing (80 mm roll
    or A5 / A4, CJK font embedded, 培训模式 watermark); the file appears complete or not at all."""
    from cashier.receipts import pdf

    if paper not in pdf._PAPERS:
        raise ValueError(f"paper must be one of {tuple(pdf._PAPERS)}, not {paper!r}")
    spec = pdf._PAPERS[paper]
    font = pdf.cjk_font()
    blocks = [pdf._block(line, font, spec) for line in shift_report_layout(report)]
    pages = pdf._paginate(blocks, spec)

    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            pdf._draw(report, out, pages, spec, font)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
