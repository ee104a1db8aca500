"""The end-of-day report as tables, CSV and PDF. The figures come from :mod:`.eod`;
nothing here computes money beyond laying out what the report holds.

:func:`sections` is the one layout: the screen shows its tables, the CSV writes
them one after the other and the PDF draws them, so all three give the same
figures. Amounts are yuan with two decimals (``str(Fen)``).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier.messages import say
from cashier.reports.eod import FUNDS, EodReport, Figures

__all__ = [
    "FORMATS",
    "Table",
    "folder_for",
    "hour_chart",
    "report_file_name",
    "sections",
    "write_csv",
    "write_pdf",
    "write_report",
    "write_workbook",
    "write_xlsx",
]

Format = Literal["pdf", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("pdf", "csv", "xlsx")
TITLE = "日结报表"
CHART_TITLE = "按小时净收款（元）"


@dataclass(frozen=True)
class Table:
    """One breakdown: a title, column headings and rows of text. The first
    ``text_columns`` columns are words; the others are figures (flush right)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text_columns: int = 2


def _count(n: int) -> str:
    return str(n)


def sections(report: EodReport) -> tuple[Table, ...]:
    """The report's tables, in order: summary, methods, funds, insurance types, operators,
    fee categories, hours. Each has rows for the total, then for each station when the
    report covers several."""
    shown = report.shown
    summary = Table(
        "汇总",
        (
            "收费台",
            "收费笔数",
            "医保",
            "自费",
            "作废",
            "退款",
            "医疗费",
            "退费",
            "医疗费净额",
            "实收净额",
        ),
        tuple(
            (
                f.label,
                _count(f.sales),
                _count(f.insured_sales),
                _count(f.selfpay_sales),
                _count(f.voids),
                _count(f.refunds),
                str(f.sales_total),
                str(f.refunds_total),
                str(f.net_total),
                str(f.net_takings),
            )
            for f in shown
        ),
        text_columns=1,
    )
    return (
        summary,
        Table(
            "支付方式（收款 − 找零 − 退款 = 净额）",
            ("收费台", "支付方式", "笔数", "收款", "找零", "退款", "净额"),
            tuple(row for f in shown for row in _method_rows(f)),
        ),
        Table(
            "医保基金（结算 − 退费撤销 = 净额）",
            ("收费台", "项目", "结算", "退费撤销", "净额"),
            tuple(row for f in shown for row in _fund_rows(f)),
        ),
        Table(
            "险种（净额）",
            (
                "收费台",
                "险种",
                "结算笔数",
                "撤销笔数",
                "医疗费",
                "基金支付",
                "个人账户",
                "个人现金",
            ),
            tuple(
                (
                    f.label,
                    t.label,
                    _count(t.settled.count),
                    _count(t.cancelled.count),
                    str(t.net("medfee_sumamt")),
                    str(t.net("fund_pay_sumamt")),
                    str(t.net("acct_pay")),
                    str(t.net("psn_cash_pay")),
                )
                for f in shown
                for t in f.insutypes
            ),
        ),
        Table(
            "收费员",
            ("收费台", "收费员", "收费笔数", "作废", "退款", "医疗费", "实收", "退款金额", "净额"),
            tuple(
                (
                    f.label,
                    f"{o.code} {o.name}".strip(),
                    _count(o.sales),
                    _count(o.voids),
                    _count(o.refunds),
                    str(o.sales_total),
                    str(o.received),
                    str(o.refunded),
                    str(o.net),
                )
                for f in shown
                for o in f.operators
            ),
        ),
        Table(
            "费用类别",
            ("收费台", "费用类别", "明细行", "收费", "退费行", "退费", "净额"),
            tuple(
                (
                    f.label,
                    c.label,
                    _count(c.lines),
                    str(c.sold),
                    _count(c.refunded_lines),
                    str(c.refunded),
                    str(c.net),
                )
                for f in shown
                for c in f.categories
            ),
        ),
        Table(
            "按小时（本地时间）",
            ("收费台", "时段", "收费笔数", "退款笔数", "实收", "退款", "净额"),
            tuple(
                (
                    f.label,
                    h.label,
                    _count(h.sales),
                    _count(h.refunds),
                    str(h.received),
                    str(h.refunded),
                    str(h.net),
                )
                for f in shown
                for h in f.hours
            ),
        ),
    )


def _method_rows(f: Figures) -> list[tuple[str, ...]]:
    rows = [
        (
            f.label,
            m.label,
            _count(m.trades),
            str(m.tendered),
            str(m.change),
            str(m.refunded),
            str(m.net),
        )
        for m in f.methods
        if m.tendered or m.change or m.refunded
    ]
    tendered = Fen.total(m.tendered for m in f.methods)
    change = Fen.total(m.change for m in f.methods)
    trades = _count(sum(m.trades for m in f.methods))
    rows.append(
        (f.label, "合计", trades, str(tendered), str(change), str(f.refunded), str(f.net_takings))
    )
    return rows


def _fund_rows(f: Figures) -> list[tuple[str, ...]]:
    rows = [(f.label, "结算笔数", _count(f.settled.count), _count(f.cancelled.count), "")]
    rows += [
        (
            f.label,
            label,
            str(f.settled.amount(key)),
            str(f.cancelled.amount(key)),
            str(f.net_fund(key)),
        )
        for key, label in FUNDS
    ]
    return rows


def hour_chart(figures: Figures) -> tuple[tuple[str, int], ...]:
    """The chart of net takings by local hour: (hour label, whole yuan, truncated) for every
    hour from 08 (or the first hour with takings) to 20 (or the last). Whole yuan: a bar's
    height, never a figure to add up (the tables have the exact amounts)."""
    by_hour = {h.hour: h.net for h in figures.hours}
    first = min([8, *by_hour])
    last = max([20, *by_hour])
    return tuple(
        (f"{hour:02d}", int(by_hour[hour].to_decimal()) if hour in by_hour else 0)
        for hour in range(first, last + 1)
    )


def _heading(report: EodReport, clinic_name: str, training: bool) -> list[tuple[str, str]]:
    rows = [
        (TITLE, clinic_name),
        ("日期", report.period),
        ("范围", report.scope),
        ("生成时间", f"{report.generated_at:%Y-%m-%d %H:%M:%S}"),
    ]
    if report.audit_head:
        rows.append(("审计链", report.audit_head))
    if training:
        rows.append(("培训模式", "数据仅供练习"))
    return rows


def report_file_name(report: EodReport, fmt: Format) -> str:
    """``eod-2025-03-01[_2025-03-31][-STATION].pdf``: sorts by date, one per scope."""
    name = f"eod-{report.date_from:%Y-%m-%d}"
    if report.date_to != report.date_from:
        name += f"_{report.date_to:%Y-%m-%d}"
    if report.station:
        name += f"-{report.station}"
    return f"{name}.{fmt}"


# -- writing --------------------------------------------------------------------------------------
def folder_for(folder: Path) -> Path:
    """The folder reports are written to, made when missing; one that cannot be made is a
    :class:`CashierError` naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CashierError(
            say("screen.reports.folder_failed", folder=folder, value=exc.strerror or exc)
        ) from None
    return folder


def write_report(
    report: EodReport,
    path: str | os.PathLike[str],
    fmt: Format,
    *,
    clinic_name: str,
    training: bool = False,
) -> Path:
    """Write the report as ``fmt`` (pdf, csv or xlsx) at ``path``; the path written."""
    if fmt == "pdf":
        return write_pdf(report, path, clinic_name=clinic_name, training=training)
    if fmt == "csv":
        return write_csv(report, path, clinic_name=clinic_name, training=training)
    if fmt == "xlsx":
        return write_xlsx(report, path, clinic_name=clinic_name, training=training)
    raise CashierError(say("reports.render.bad_format", fmt=fmt))


def write_csv(
    report: EodReport, path: str | os.PathLike[str], *, clinic_name: str, training: bool = False
) -> Path:
    """CSV in UTF-8 with a BOM (so Excel reads the Chinese): the heading, then each table
    with its title on a line of its own and a blank line after it. A text cell that a
    spreadsheet would take for a formula (``=…``, ``+…``, ``-…``, ``@…``: an operator's or a
    clinic's name) is written with a leading apostrophe; figures stay as they are."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for label, value in _heading(report, clinic_name, training):
        writer.writerow((_inert(label), _inert(value)))
    for table in sections(report):
        writer.writerow(())
        writer.writerow((table.title,))
        writer.writerow(table.columns)
        writer.writerows(
            tuple(_inert(v) if i < table.text_columns else v for i, v in enumerate(row))
            for row in table.rows
        )
    data = out.getvalue().encode("utf-8-sig")
    return _write_atomically(path, lambda f: f.write(data))


def _inert(text: str) -> str:
    """A text cell no spreadsheet evaluates (CSV formula injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_xlsx(
    report: EodReport, path: str | os.PathLike[str], *, clinic_name: str, training: bool = False
) -> Path:
    """The end-of-day report as a workbook for finance: :func:`write_workbook` of its
    heading, its tables and the takings by hour with their bar chart."""
    by_hour = {h.hour: h.net for h in report.total.hours}
    points = tuple(
        (label, by_hour[int(label)] if int(label) in by_hour else Fen(0))
        for label, _ in hour_chart(report.total)
    )
    return write_workbook(
        path,
        _heading(report, clinic_name, training),
        sections(report),
        chart=(CHART_TITLE, f"{CHART_TITLE} · {report.scope}", points),
    )


def write_workbook(
    path: str | os.PathLike[str],
    heading: list[tuple[str, str]],
    tables: tuple[Table, ...],
    *,
    chart: tuple[str, str, tuple[tuple[str, Fen], ...]] | None = None,
) -> Path:
    """A workbook (.xlsx): ``heading`` on a first sheet 概要, one sheet per table (its
    figure columns as numeric cells: amounts ``#,##0.00``, counts whole), and ``chart``
    (sheet name, title, (label, amount) points) as a bar chart beside its figures. A text
    cell is always text: a name that begins with ``=`` is never taken for a formula."""
    from decimal import Decimal, InvalidOperation

    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)
    first = book.active
    first.title = "概要"
    for label, value in heading:
        _text_row(first, (label, value))
    first.column_dimensions["A"].width = 12
    first.column_dimensions["B"].width = 40
    used: set[str] = {first.title}
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        _text_row(sheet, table.columns)
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([None] * len(row))
            for i, value in enumerate(row):
                cell = sheet.cell(row=sheet.max_row, column=i + 1)
                number = None
                if i >= table.text_columns and value.strip():
                    try:
                        number = Decimal(value.replace(",", ""))
                    except InvalidOperation:
                        number = None
                if number is None:
                    _text(cell, value)
                elif "." in value:
                    cell.value, cell.number_format = number, "#,##0.00"
                else:
                    cell.value, cell.number_format = int(number), "0"
        for i in range(len(table.columns)):
            letter = sheet.cell(row=1, column=i + 1).column_letter
            sheet.column_dimensions[letter].width = 16 if i < table.text_columns else 13
        sheet.freeze_panes = "A2"
    if chart is not None:
        name, title, points = chart
        chart_sheet = book.create_sheet(_sheet_name(name, used))
        _text_row(chart_sheet, ("", "元"))
        for label, amount in points:
            chart_sheet.append([label, amount.to_decimal()])
            chart_sheet.cell(row=chart_sheet.max_row, column=1).data_type = "s"
            chart_sheet.cell(row=chart_sheet.max_row, column=2).number_format = "#,##0.00"
        bars = BarChart()
        bars.title = title
        bars.legend = None
        bars.width, bars.height = 22, 10
        rows = chart_sheet.max_row
        bars.add_data(Reference(chart_sheet, min_col=2, min_row=1, max_row=rows),
                      titles_from_data=True)  # fmt: skip
        bars.set_categories(Reference(chart_sheet, min_col=1, min_row=2, max_row=rows))
        chart_sheet.add_chart(bars, "D2")
    return _write_atomically(path, book.save)


def _text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = "s"  # never a formula, whatever it begins with


def _text_row(sheet, values) -> None:
    sheet.append([None] * len(values))
    for i, value in enumerate(values, 1):
        _text(sheet.cell(row=sheet.max_row, column=i), str(value))


def _sheet_name(title: str, used: set[str]) -> str:
    """A sheet's name: the table's title without the characters Excel refuses, at most 31
    characters, unique in the book."""
    clean = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()[:31] or "表"
    name, n = clean, 2
    while name in used:
        suffix = f" ({n})"
        name, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def write_pdf(
    report: EodReport, path: str | os.PathLike[str], *, clinic_name: str, training: bool = False
) -> Path:
    """A4 PDF in the CJK font: the heading, a bar chart of net takings by hour, then every
    table of :func:`sections`."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as PdfTable

    from cashier.receipts.pdf import cjk_font

    font = cjk_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=15, leading=20)
    heading_style = ParagraphStyle("heading", fontName=font, fontSize=10.5, leading=15)

    story: list = [Paragraph(f"{_escape(clinic_name)} {TITLE}", title_style)]
    meta = PdfTable(
        [list(row) for row in _heading(report, clinic_name, training)[1:]],
        hAlign="LEFT",
        style=[("FONT", (0, 0), (-1, -1), font, 9)],
    )
    story += [meta, Spacer(0, 3 * mm)]
    story += [
        Paragraph(f"{CHART_TITLE} · {_escape(report.scope)}", heading_style),
        _bar_chart(hour_chart(report.total), font, width=180 * mm, height=55 * mm),
        Spacer(0, 3 * mm),
    ]
    grid = colors.Color(0.6, 0.6, 0.6)
    for table in sections(report):
        if not table.rows:
            story.append(Paragraph(f"{_escape(table.title)}：无", heading_style))
            continue
        data = [list(table.columns), *(list(r) for r in table.rows)]
        pdf_table = LongTable(
            data,
            repeatRows=1,
            hAlign="LEFT",
            style=[
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("ALIGN", (table.text_columns, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, grid),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ],
        )
        story.append(
            KeepTogether([Spacer(0, 2 * mm), Paragraph(_escape(table.title), heading_style)])
        )
        story.append(pdf_table)

    def draw(out: BinaryIO) -> None:
        doc = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=f"{TITLE} {report.period} {report.scope}",
            author=clinic_name,
            creator="cashier",
            initialFontName=font,  # else every page refers to Helvetica, which is not embedded
        )

        def footer(canvas, doc) -> None:
            canvas.saveState()
            canvas.setFont(font, 7.5)
            canvas.drawRightString(
                A4[0] - 15 * mm,
                8 * mm,
                f"{TITLE} {report.period} {report.scope} · 第 {doc.page} 页",
            )
            canvas.restoreState()

        doc.build(story, onFirstPage=footer, onLaterPages=footer)

    return _write_atomically(path, draw)


def _bar_chart(points: tuple[tuple[str, int], ...], font: str, *, width: float, height: float):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 18
    chart.width, chart.height = width - 50, height - 26
    chart.data = [[value for _, value in points]]
    chart.categoryAxis.categoryNames = [label for label, _ in points]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.forceZero = True
    if not any(value for _, value in points):
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.bars[0].fillColor = colors.Color(0.25, 0.45, 0.7)
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """The file appears complete or not at all: written beside ``path``, renamed over it.
    An unwritable place is a :class:`CashierError` naming it."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise CashierError(
            say("reports.render.unwritable", target=target, value=exc.strerror or exc)
        ) from None
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CashierError(
            say("reports.render.unwritable", target=target, value=exc.strerror or exc)
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
