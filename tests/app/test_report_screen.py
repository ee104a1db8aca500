"""日结报表 on screen (Pilot, 80×24): a supervisor runs today's report, reads the totals and
the chart, exports PDF and CSV into the data directory; a cashier is turned away."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Input, ProgressBar, Select
from textual_plotext import PlotextPlot

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.operators import Role, SignedIn
from cashier.services.station import open_station
from cashier.store.models import Sale, Station
from cashier.ui.app import CashierApp
from cashier.ui.screens.reports import ReportScreen
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import login, settle
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot

CASHIER = SignedIn("1001", "王小美", Role.CASHIER)


def notices(app) -> str:
    return "\n".join(n.message for n in app._notifications)


def sell_today(station_id: str, *codes: str, cash: str) -> Sale:
    co = Checkout(station_id, CASHIER)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.add(Method.CASH, Fen.parse(cash))
    return Sale.get_by_id(co.complete(plan).sale_id)


async def test_supervisor_runs_the_report_and_exports_it(settings):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    ctx = open_station(settings)
    Station.create(station_id="MZ-02", name="收费台 2", kind="clinic")
    ours = sell_today(settings.station_id, "Y00001", "Y00004", "S00001", cash="100.00")
    theirs = sell_today("MZ-02", "S00007", cash="20.00")
    app = CashierApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        app.push_screen(ReportScreen())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReportScreen)
        today = date.today().isoformat()
        assert screen.query_one("#report-from", Input).value == today
        stations = screen.query_one("#report-station", Select)
        assert [v for _, v in stations._options] == ["", "MZ-02", settings.station_id]

        await pilot.press("f6")  # nothing to export yet
        assert "请先按 F5" in notices(app)

        await pilot.press("f5")
        await settle(pilot)
        report = screen.report
        assert report is not None and report.scope == "全院"
        assert report.total.sales == 2
        assert report.total.net_takings == ours.total + theirs.total
        bar = screen.query_one("#report-progress", ProgressBar)
        assert bar.total and bar.progress == bar.total
        headline = str(screen.query_one("#report-headline").render())
        assert report.total.net_takings.display(grouping=True) in headline
        assert "收费 2 笔" in headline
        tables = str(screen.query_one("#report-tables").render())
        chart = screen.query_one("#report-chart", PlotextPlot)
        drawn = "".join(seg.text for y in range(chart.size.height) for seg in chart.render_line(y))
        assert "█" in drawn or "▄" in drawn  # the hour with takings has a bar
        body = screen.query_one("#report-body", VerticalScroll)
        assert body.max_scroll_y > 0  # 80×24: the breakdowns scroll
        del tables

        await pilot.press("f6")
        await settle(pilot)
        pdf = settings.reports_dir / f"eod-{today}.pdf"
        assert pdf.exists() and screen.exported == pdf
        assert str(pdf) in notices(app)
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert str(report.total.net_takings) in text and "MZ-02" in text

        await pilot.press("f7")
        await settle(pilot)
        csv_file = settings.reports_dir / f"eod-{today}.csv"
        assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")
        assert str(report.total.net_takings) in csv_file.read_text("utf-8-sig")

        await pilot.press("f8")  # the workbook for finance
        await settle(pilot)
        xlsx = settings.reports_dir / f"eod-{today}.xlsx"
        assert xlsx.exists() and screen.exported == xlsx

        # one station only
        stations.value = "MZ-02"
        await pilot.press("f5")
        await settle(pilot)
        assert screen.report.scope == "MZ-02 收费台 2"
        assert screen.report.total.net_takings == theirs.total
        await pilot.press("f7")
        await settle(pilot)
        assert (settings.reports_dir / f"eod-{today}-MZ-02.csv").exists()

        # a date typed (as fast as a scanner: it lands in the field) and a bad one
        field = screen.query_one("#report-from", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"2025-03-10", "enter")
        await settle(pilot)
        assert field.value == "2025-03-10"
        assert (screen.report.date_from, screen.report.date_to) == (date(2025, 3, 10), date.today())
        assert screen.report.total.sales == 1  # MZ-02's sale today
        screen.query_one("#report-to", Input).value = "2025-03-09"
        await pilot.press("f5")
        await settle(pilot)
        assert "早于" in notices(app)
        screen.query_one("#report-to", Input).value = "2025-02-30"
        await pilot.press("f5")
        assert "不是日期" in notices(app)

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)


async def test_export_failure_is_a_notice(settings):
    ctx = open_station(settings)
    (settings.data_dir / "reports").write_text("not a folder")
    app = CashierApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        app.push_screen(ReportScreen())
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert "无法创建报表目录" in notices(app)
        assert isinstance(app.screen, ReportScreen)


async def test_the_menu_opens_it_for_a_supervisor_only(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)  # 1001, a cashier
        app.push_screen(ReportScreen())  # even pushed directly, the screen checks again
        await settle(pilot)
        assert not isinstance(app.screen, ReportScreen)
        assert "收费组长" in notices(app)
        await pilot.press("ctrl+o", "4")
        await pilot.pause(0.45)  # the digit waits out the scanner's burst gap
        await settle(pilot)
        assert not isinstance(app.screen, ReportScreen)

    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        await pilot.press("ctrl+o", "4")
        await pilot.pause(0.45)  # the digit waits out the scanner's burst gap
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
