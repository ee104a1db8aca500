"""Data is text (issue 17, item 5): catalog names that look like markup or carry terminal
codes go through the sale screen, its dialogs, the payment, the lookup and the refund screen
as plain text. No crash, no live link or action, no escape code on the terminal."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.store.models import Item, Sale
from cashier.ui.app import CashierApp
from cashier.ui.dialogs.quantity import QuantityDialog
from cashier.ui.screens.lookup import LookupScreen
from cashier.ui.screens.refund import RefundScreen
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import barcode, login, scan, settle, until

pytestmark = pytest.mark.pilot

HOSTILE = {
    "Y00001": "[/]坏名字",
    "Y00004": "[link=https://example.invalid]链接[/link]",
    "Y00010": "[@click=app.quit]点我[/]",
}
ESCAPED = "清屏\x1b[2J\x07药"


async def test_hostile_names_are_shown_as_text_everywhere(settings):
    station = open_station(settings)
    for code, name in HOSTILE.items():
        Item.update(name=name).where(Item.code == code).execute()
    Item.update(name=ESCAPED).where(
        Item.code == "Y00036"
    ).execute()  # as if written around the import
    app = CashierApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        for code in (*HOSTILE, "Y00036"):
            await scan(pilot, barcode(code))
            await settle(pilot)
        sale = app.screen
        assert isinstance(sale, SaleScreen) and len(sale.checkout.lines) == 4
        shot = app.export_screenshot()
        assert "[/]坏名字" in shot and "\x1b[2J" not in shot and "清屏?[2J?药" in shot
        await pilot.press("f4")  # the quantity dialog names the line
        await settle(pilot)
        assert isinstance(app.screen, QuantityDialog)
        await pilot.press("escape")
        await pilot.press("delete")  # the notice names the line it removed
        await settle(pilot)
        await pilot.press("f10")  # pay exact cash
        await settle(pilot)
        assert app.is_running  # [@click=app.quit] was never a live action
        receipt_no = Sale.get().receipt_no

        await pilot.press("ctrl+o", "3")  # 查单: the sale's lines
        await until(pilot, lambda: isinstance(app.screen, LookupScreen))
        await settle(pilot)
        assert "[/]坏名字" in app.export_screenshot()
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SaleScreen))

        await pilot.press("ctrl+o", "2")  # 退款: the sale's lines again
        await until(pilot, lambda: isinstance(app.screen, RefundScreen))
        app.screen.query_one("#receipt-no").value = receipt_no
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.sale is not None
        shot = app.export_screenshot()
        assert "[link=https:" in shot and "\x1b" not in shot  # literal (the column may cut it)
        assert app.is_running
    sold = Sale.get()
    assert sold.status == "completed"
    assert "[/]坏名字" in [ln.name for ln in sold.lines]


async def test_a_notice_is_text_whatever_it_carries(settings):
    """An insurer's own words, a name: a notice never reads them as markup, from the app or
    from a screen, and keeps its line breaks."""
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        words = "结算失败：[/]坏 [@click=app.quit]点我[/]\x1b[2J\n请重试"
        app.notify(words, severity="error")
        app.screen.notify(words, markup=True)  # a screen asking for markup gets text too
        await settle(pilot)
        shown = [n.message for n in app._notifications]
        assert shown == ["结算失败：[/]坏 [@click=app.quit]点我[/]?[2J\n请重试"] * 2
        assert app.is_running
