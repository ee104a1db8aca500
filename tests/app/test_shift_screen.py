"""The shift screen with Pilot at 80×24: open with a float, a cash sale, a blind close short
by 10.00 (expected hidden until submitted), the variance shown and recorded, the Z printed
as a PDF; stale shifts flagged and closed by a supervisor on the cashier's screen."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from rich.cells import cell_len

from cashier.domain.money import Fen
from cashier.services import shifts
from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Item, Sale, Shift, ShiftCount
from cashier.ui.app import CashierApp
from cashier.ui.dialogs.confirm import ConfirmDialog
from cashier.ui.screens.sale import SaleScreen
from cashier.ui.screens.shift import ShiftScreen
from tests.support.pilot import barcode, login, scan, settle, until
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot


async def open_shift_screen(pilot) -> ShiftScreen:
    """功能 (Ctrl+O) → 1 班次. A typed digit waits out the scanner's gap before it counts."""
    await pilot.press("ctrl+o", "1")
    await pilot.pause(0.45)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ShiftScreen)
    return pilot.app.screen


def table_rows(screen: ShiftScreen) -> list[list[str]]:
    table = screen.query_one("#shift-table")
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def on_screen(app) -> str:
    """Everything visible (the SVG screenshot holds the characters as text)."""
    return app.export_screenshot()


async def test_open_sell_blind_close_short_and_the_z_pdf(settings):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_shift_screen(pilot)
        assert "没有未交班的班次" in str(screen.query_one("#shift-state").render())

        await pilot.press("f2", *"200", "enter")  # the float
        await settle(pilot)
        shift = Shift.get()
        assert (shift.status, shift.float_amount) == ("open", Fen(20000))
        assert "备用金 ￥200.00" in str(screen.query_one("#shift-state").render())

        await pilot.press("escape")  # back to the sale
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        await pilot.press("f10")  # exact cash
        await until(pilot, lambda: Sale.select().exists() and isinstance(app.screen, SaleScreen))
        sale = Sale.get()
        assert sale.shift_id == shift.id
        expected = Fen(20000) + Item.get(Item.code == "Y00001").price  # 212.50
        counted = expected - Fen(1000)  # 10.00 short

        screen = await open_shift_screen(pilot)
        await pilot.press("f5")
        await settle(pilot)
        # Blind: the count form is up and no expected figure is anywhere on screen.
        assert screen.query_one("#count-form").display
        assert str(expected) not in on_screen(app)
        await pilot.press(*str(counted), "enter")  # cash
        await pilot.press("enter", "enter", "enter", "enter")  # WeChat, Alipay, card, other: 0
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")
        await until(
            pilot, lambda: "TRAIN-01-Z000001" in str(screen.query_one("#shift-note").render())
        )

        assert isinstance(app.screen, ShiftScreen)
        rows = table_rows(screen)
        assert rows[0] == ["现金", str(counted), str(expected), "-10.00"]
        assert rows[-1][0] == "合计" and rows[-1][-1] == "-10.00"
        note = str(screen.query_one("#shift-note").render())
        assert "短款 ￥10.00" in note and "TRAIN-01-Z000001" in note
        assert "没有未交班的班次" in str(screen.query_one("#shift-state").render())

        await pilot.press("f6")  # the Z list, then 重打
        await until(pilot, lambda: table_rows(screen)[:1] and table_rows(screen)[0][0] != "现金")
        assert table_rows(screen)[0][0] == "TRAIN-01-Z000001"
        await pilot.press("f11")
        await until(pilot, lambda: Shift.get_by_id(shift.id).reprints == 1)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)

    shift = Shift.get_by_id(shift.id)
    assert (shift.status, shift.z_no, shift.reprints) == ("closed", 1, 1)
    cash = ShiftCount.get((ShiftCount.shift == shift.id) & (ShiftCount.method == "cash"))
    assert (cash.counted, cash.expected, cash.variance) == (counted, expected, -Fen(1000))
    assert AuditEntry.select().where(AuditEntry.action == "shift.close").count() == 1

    pdf = settings.receipts_dir / "TRAIN-01-Z000001.pdf"
    assert pdf.exists()
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "结班报表（Z）" in text and "TRAIN-01-Z000001" in text
    assert f"￥{counted}" in text and f"￥{expected}" in text
    assert "短款" in text and "-￥10.00" in text
    assert "备用金" in text and "￥200.00" in text
    reprint = settings.receipts_dir / "TRAIN-01-Z000001-重打1.pdf"
    assert (
        "重打"
        in subprocess.run([pdftotext, str(reprint), "-"], capture_output=True, text=True).stdout
    )


async def test_x_report_and_payout_on_screen(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")  # the X report is a supervisor's
        screen = await open_shift_screen(pilot)
        await pilot.press("f2", *"100", "enter")
        await settle(pilot)
        await pilot.press("f4", *"30", "enter", *"bank", "enter")  # payout 30, reason
        await settle(pilot)
        await pilot.press("f4", *"80", "enter", *"x", "enter")  # above the 70 left: refused
        await settle(pilot)
        await pilot.press("escape")
        await pilot.press("f3")
        await settle(pilot)
        cash = table_rows(screen)[0]
        assert cash[0] == "现金" and cash[4] == "30.00" and cash[5] == "70.00"
        await pilot.press("f7")  # print the X report
        await settle(pilot)
    shift = Shift.get()
    assert [p.amount for p in shift.payouts] == [Fen(3000)]
    assert shift.status == "open"
    assert list(settings.receipts_dir.glob("TRAIN-01-S000001-X*.pdf"))


async def test_a_stale_shift_is_flagged_and_a_supervisor_closes_it_here(settings, monkeypatch):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_shift_screen(pilot)
        await pilot.press("f2", *"50", "enter")
        await settle(pilot)
        # The day ends with the shift still open.
        row = Shift.get()
        Shift.update(opened_at=row.opened_at - timedelta(days=1)).execute()
        await pilot.press("escape")
        screen = await open_shift_screen(pilot)
        assert "跨日未交班" in str(screen.query_one("#shift-state").render())
        assert shifts.stale_shifts()

        await pilot.press("f5")
        await settle(pilot)
        assert screen.query_one("#supervisor-row").display
        await pilot.press(*"50", "enter", "enter", "enter", "enter", "enter")
        await pilot.press(*"9001", "enter", *"9999", "enter")
        await settle(pilot)
        await pilot.press("enter")  # confirm
        await settle(pilot)
        assert "无差额" in str(screen.query_one("#shift-note").render())
    shift = Shift.get()
    assert (shift.status, shift.closed_by) == ("closed", "9001")
    assert shifts.z_report_of(shift).stale


def key_bar(screen) -> str:
    return str(screen.query_one("KeyBar").render())


async def test_the_key_bar_offers_what_can_be_done_now(settings):
    """Issue 19, item 9: F2 only with no shift open; the shift's keys with one; X报表 never
    offered to a cashier (who would be refused); while counting, only Enter and Esc, and
    the labels of the blind count never run into their fields."""
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_shift_screen(pilot)
        bar = key_bar(screen)
        assert "开班" in bar and "交班" not in bar and "X报表" not in bar
        await pilot.press("f2", *"200", "enter")
        await settle(pilot)
        bar = key_bar(screen)
        assert "开班" not in bar and "交班" in bar and "X报表" not in bar  # a cashier's
        await pilot.press("f5")  # the blind count
        await settle(pilot)
        bar = key_bar(screen)
        assert "提交" in bar and "Esc" in bar and "交班" not in bar and "支出" not in bar
        checked = 0
        for row in screen.query("#count-form .shift-row"):
            if not row.region.width:  # a supervisor's rows, hidden for one's own shift
                continue
            label, field = row.query_one("Label"), row.query_one("Input")
            words = cell_len(str(label.render()))
            assert label.region.right <= field.region.x and words < label.region.width, (
                str(label.render()),
                label.region,
            )  # a blank between the words and the field
            checked += 1
        assert checked >= 4
        await pilot.press("escape")
        await settle(pilot)
        assert "交班" in key_bar(screen)
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        screen = await open_shift_screen(pilot)
        await until(pilot, lambda: "X报表" in key_bar(screen))  # a supervisor's, with a shift
