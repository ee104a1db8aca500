"""The end-of-day report screen (日结报表, 收费组长): a period and a station, the figures,
a chart of takings by hour, and export to PDF / CSV / xlsx in the data directory.

The figures come from :func:`cashier.reports.eod.eod_report` in a worker (the
database may take a while on a long range: a progress bar shows how far it
is); the tables are :func:`cashier.reports.render.sections`, the same as the
PDF and the CSV, so the screen and the files always agree.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich import box
from rich.console import Group
from rich.table import Table as RichTable
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, ProgressBar, Select, Static
from textual_plotext import PlotextPlot

from cashier.errors import CashierError, InputError
from cashier.messages import say
from cashier.reports.eod import CLINIC, EodReport, eod_report, parse_day
from cashier.reports.render import (
    CHART_TITLE,
    Format,
    folder_for,
    hour_chart,
    report_file_name,
    sections,
    write_report,
)
from cashier.services.operators import Role
from cashier.store.models import Station, database
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.text import quoted
from cashier.ui.widgets.keybar import KeyBar

__all__ = ["ReportScreen"]


def _close_thread_connection() -> None:
    """A worker thread's own database connection, closed when the worker ends."""
    if database.obj is not None and not database.is_closed():
        database.close()


class ReportScreen(WorkerErrors, Screen[None]):
    """F5 runs the report for the period and station chosen; F6 / F7 export it."""

    DEFAULT_CSS = """
    ReportScreen #report-form { height: 3; }
    ReportScreen #report-form Label { padding: 1 1 0 1; }
    ReportScreen #report-form Input { width: 18; }
    ReportScreen #report-station { width: 1fr; }
    ReportScreen #report-progress { height: 1; padding: 0 1; }
    ReportScreen #report-body { height: 1fr; }
    ReportScreen #report-headline { padding: 0 1; }
    ReportScreen #report-chart { height: 14; }
    ReportScreen #report-chart-title { padding: 0 1; }
    """

    BINDINGS = [
        Binding("f5", "run", say("screen.reports.key.run"), id="report_run"),
        Binding("f6", "export('pdf')", say("screen.reports.key.pdf"), id="report_pdf"),
        Binding("f7", "export('csv')", say("screen.reports.key.csv"), id="report_csv"),
        Binding("f8", "export('xlsx')", say("screen.reports.key.xlsx"), id="report_xlsx"),
        Binding("f9", "print_report", say("screen.reports.key.print"), id="report_print"),
        Binding("escape", "dismiss(None)", say("screen.reports.key.back"), id="back"),
    ]

    #: Scans come here, not to the sale underneath: a fast-typed date with Enter looks
    #: like a scan, and lands in the field being typed in.
    ACCEPTS_SCANS = True

    def __init__(self) -> None:
        super().__init__()
        self.report: EodReport | None = None
        self.exported: Path | None = None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.reports.training") if settings.training else ""
        yield Static(
            say("screen.reports.topbar", training=training, value=quoted(settings.clinic_name)),
            id="topbar",
        )
        today = date.today().isoformat()
        with Horizontal(id="report-form"):
            yield Label(say("screen.reports.from"))
            yield Input(today, id="report-from", max_length=10, restrict=r"[0-9-]*")
            yield Label(say("screen.reports.to"))
            yield Input(today, id="report-to", max_length=10, restrict=r"[0-9-]*")
            yield Select(
                [(CLINIC, "")], value="", allow_blank=False, id="report-station", compact=True
            )
        yield ProgressBar(id="report-progress", show_eta=False)
        with VerticalScroll(id="report-body"):
            yield Static(say("screen.reports.intro"), id="report-headline")
            yield Label(CHART_TITLE, id="report-chart-title")
            yield PlotextPlot(id="report-chart")
            yield Static("", id="report-tables")
        yield KeyBar()

    def on_mount(self) -> None:
        who = self.app.operator
        if who is None or not who.role.at_least(Role.SUPERVISOR):
            self.notify(
                say("screen.reports.needs_role", label=Role.SUPERVISOR.label), severity="warning"
            )
            self.app.call_later(self.dismiss, None)  # once it is on the stack
            return
        self.query_one("#report-from", Input).focus()
        self.load_stations()

    @work(thread=True, exclusive=True, exit_on_error=False, group="report-stations")
    def load_stations(self) -> None:
        try:
            rows = [
                (f"{s.station_id} {s.name}", s.station_id)
                for s in Station.select().order_by(Station.station_id)
            ]
        finally:
            _close_thread_connection()
        self.app.call_from_thread(self._set_stations, rows)

    def _set_stations(self, rows: list[tuple[str, str]]) -> None:
        if self.is_attached:
            self.query_one("#report-station", Select).set_options([(CLINIC, ""), *rows])

    # -- input ------------------------------------------------------------------------------------
    def handle_scan(self, code) -> None:
        """What a scanner (or a very fast typist) sent, with Enter: typed into the field."""
        field = self.focused
        if isinstance(field, Input):
            field.value = code.text
            self.action_run()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    def period(self) -> tuple[date, date, str | None]:
        """The dates and station chosen; an InputError saying what is wrong."""
        date_from = parse_day(
            self.query_one("#report-from", Input).value, say("screen.reports.date_from")
        )
        to_text = self.query_one("#report-to", Input).value.strip()
        date_to = parse_day(to_text, say("screen.reports.date_to")) if to_text else date_from
        if date_to < date_from:
            raise InputError(
                say("screen.reports.dates_reversed", date_to=date_to, date_from=date_from)
            )
        station = self.query_one("#report-station", Select).value
        return date_from, date_to, (station or None) if isinstance(station, str) else None

    # -- the report ----------------------------------------------------------------------------
    def action_run(self) -> None:
        try:
            date_from, date_to, station = self.period()
        except CashierError as exc:
            self.notify(str(exc), severity="error")
            return
        self.query_one("#report-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#report-headline", Static).update(say("screen.reports.counting"))
        self.run_report(date_from, date_to, station)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def run_report(self, date_from: date, date_to: date, station: str | None) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        try:
            report = eod_report(date_from, date_to, station=station, progress=progress)
        except BaseException:
            self.app.call_from_thread(self._failed)
            raise
        finally:
            _close_thread_connection()
        self.app.call_from_thread(self._show, report)

    def _progress(self, done: int, total: int) -> None:
        if self.is_attached:
            self.query_one("#report-progress", ProgressBar).update(total=total, progress=done)

    def _failed(self) -> None:
        if self.is_attached:
            self.query_one("#report-headline", Static).update(say("screen.reports.not_done"))

    def _show(self, report: EodReport) -> None:
        if not self.is_attached:
            return
        self.report = report
        total = report.total
        self.query_one("#report-headline", Static).update(
            say(
                "screen.reports.headline",
                value=quoted(report.period),
                value2=quoted(report.scope),
                net_takings=total.net_takings.display(grouping=True),
                net_total=total.net_total.display(grouping=True),
                sales=total.sales,
                refunds=total.refunds,
                voids=total.voids,
            )
        )
        self.query_one("#report-chart-title", Label).update(
            f"{CHART_TITLE} · {quoted(report.scope)}"
        )
        chart = self.query_one("#report-chart", PlotextPlot)
        points = hour_chart(total)
        plt = chart.plt
        plt.clear_data()
        plt.bar([label for label, _ in points], [value for _, value in points])
        chart.refresh()
        self.query_one("#report-tables", Static).update(Group(*self._tables(report)))

    @staticmethod
    def _tables(report: EodReport) -> list[RichTable]:
        """The report's tables for 80 columns: with one scope only, its column goes (the
        headline names it); headings wrap rather than being cut."""
        skip = 1 if len(report.shown) == 1 else 0
        out = []
        for table in sections(report):
            shown = RichTable(
                title=table.title,
                title_justify="left",
                expand=True,
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
            )
            for i, column in enumerate(table.columns[skip:], skip):
                justify = "left" if i < table.text_columns else "right"
                shown.add_column(column, justify=justify, overflow="fold")
            for row in table.rows:
                shown.add_row(*(quoted(cell) for cell in row[skip:]))
            if not table.rows:
                shown.add_row(say("screen.reports.none"), *([""] * (len(table.columns) - skip - 1)))
            out.append(shown)
        return out

    # -- export ------------------------------------------------------------------------------------
    def action_export(self, fmt: Format) -> None:
        if self.report is None:
            self.notify(say("screen.reports.make_first"), severity="warning")
            return
        self.export(self.report, fmt)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report-export")
    def export(self, report: EodReport, fmt: Format) -> None:
        self.app.call_from_thread(self._exported, self._write(report, fmt))

    def _write(self, report: EodReport, fmt: Format) -> Path:
        """The report as ``fmt`` in the reports folder (from a worker)."""
        settings = self.app.settings
        return write_report(
            report,
            folder_for(settings.reports_dir) / report_file_name(report, fmt),
            fmt,
            clinic_name=settings.clinic_name,
            training=settings.training,
        )

    def action_print_report(self) -> None:
        if self.report is None:
            self.notify(say("screen.reports.make_first"), severity="warning")
            return
        self.print_report(self.report)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report-export")
    def print_report(self, report: EodReport) -> None:
        """The report as an A4 PDF (kept in the reports folder) to a CUPS printer."""
        from cashier.services.printing import page_printer, print_pdf

        page_printer(self.app.settings)  # said before anything is written
        path = self._write(report, "pdf")
        self.app.call_from_thread(self._exported, path)
        printed = print_pdf(self.app.settings, path, path.stem)
        self.app.call_from_thread(self.notify, say("screen.reports.printed", where=printed.where))

    def _exported(self, path: Path) -> None:
        self.exported = path
        self.notify(say("screen.reports.exported", path=path), timeout=10)
