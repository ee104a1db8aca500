"""Issue 20: the stock screen (功能菜单 0): a supervisor receives a delivery box by box or
from the supplier's file, sends boxes back, writes some off, counts and recalls a batch;
each change is the stock service's, and reaches the 进销存 outbox with the change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Batch, Item, Outbox
from cashier.ui.app import CashierApp
from cashier.ui.screens.stock import StockScreen
from tests.support.pilot import barcode, login, settle, until

pytestmark = pytest.mark.pilot

ITEM = "Y00153"


def status(app) -> str:
    return str(app.screen.query_one("#stock-status").render())


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def type_in(pilot, text: str) -> None:
    await pilot.press(*text, "enter")


def reporting(settings):
    return replace(settings, inventory=replace(settings.inventory, report="on"))


async def open_stock(pilot, app) -> StockScreen:
    await login(pilot, "9001", "9999")
    await pilot.press("ctrl+o", "0")
    await until(pilot, lambda: isinstance(app.screen, StockScreen))
    return app.screen


async def test_a_delivery_is_received_box_by_box_and_its_batch_changed(settings):
    app = CashierApp(open_station(reporting(settings)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stock(pilot, app)
        before = Outbox.select().count()
        await pilot.press("f2")
        await settle(pilot)
        app.screen.handle_scan(type("Code", (), {"text": barcode(ITEM)})())  # the box's barcode
        for text in ("L2026A", "2026-01-05", "20240105", "6"):  # expiry before making
            await type_in(pilot, text)
        await pilot.press("enter", "enter")  # no price, no supplier
        await until(pilot, lambda: any("有效期止" in n for n in notices(app)))
        assert not Batch.select().exists()
        # The form comes back with what was typed: only the date is corrected.
        field = app.screen.query_one("#receive-expy_end")
        assert app.screen.query_one("#receive-manu_lotnum").value == "L2026A"
        field.value = "2028-01-04"
        field.focus()
        await pilot.press("enter", "enter", "enter", "enter")  # on through the rest
        await until(pilot, lambda: Batch.select().exists())
        batch = Batch.get()
        assert (batch.item.code, batch.manu_lotnum, batch.quantity) == (ITEM, "L2026A", 6)
        assert isinstance(app.screen, StockScreen)
        await until(pilot, lambda: screen.query_one("#stock-rows").row_count == 1)
        assert "1 个批次" in status(app)
        assert Outbox.select().where(Outbox.infno == "3503").count() == 1

        await pilot.press("f4")  # two boxes back to the supplier
        await settle(pilot)
        await type_in(pilot, "2")
        await type_in(pilot, "外包装破损退回")
        await until(pilot, lambda: Batch.get().quantity == 4)
        await pilot.press("f6")  # one written off
        await settle(pilot)
        await type_in(pilot, "1")
        await type_in(pilot, "霉变")
        await until(pilot, lambda: Batch.get().quantity == 3)
        await pilot.press("f7")  # counted: two on the shelf
        await settle(pilot)
        await type_in(pilot, "2")
        await until(pilot, lambda: Batch.get().quantity == 2)
        assert "账面 3，实盘 2（-1）" in status(app)
        await pilot.press("f8")
        await settle(pilot)
        await type_in(pilot, "药监召回通知")
        await until(pilot, lambda: Batch.get().recalled)
        await until(pilot, lambda: "已召回" in str(
            screen.query_one("#stock-rows").get_row_at(0)[6]))  # fmt: skip
        infnos = [d.infno for d in Outbox.select().order_by(Outbox.id)][before:]
        assert infnos == ["3503", "3504", "3502", "3501", "3502"]
        actions = {a.action for a in AuditEntry.select()}
        assert {"stock.receive", "stock.return", "stock.damage", "stock.loss",
                "stock.recall"} <= actions  # fmt: skip


async def test_a_delivery_file_is_imported_whole_or_not_at_all(settings, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,manu_lotnum,manu_date,expy_end,quantity\n"
                   f"{ITEM},L1,2026-01-01,2028-01-01,5\n"
                   "NOPE,L2,2026-01-01,2028-01-01,5\n", encoding="utf-8")  # fmt: skip
    good = tmp_path / "good.csv"
    good.write_text(bad.read_text(encoding="utf-8").replace("NOPE", "Y00088"), encoding="utf-8")
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stock(pilot, app)
        assert "没有批次" in status(app)
        await pilot.press("f3")
        await settle(pilot)
        await type_in(pilot, str(bad))
        await until(pilot, lambda: "NOPE" in status(app))
        assert not Batch.select().exists()
        await pilot.press("f3")
        await settle(pilot)
        await type_in(pilot, str(tmp_path / "missing.csv"))
        await until(pilot, lambda: any("不能读取" in n for n in notices(app)))
        await pilot.press("f3")
        await settle(pilot)
        await type_in(pilot, str(good))
        await until(pilot, lambda: Batch.select().count() == 2)
        # The search narrows the list: by name's 拼音, by code.
        await pilot.press(*"Y00088")
        await until(pilot, lambda: screen.query_one("#stock-rows").row_count == 1)
        assert Item.get(Item.code == "Y00088").stock >= 5


async def test_a_cashier_cannot_open_the_stock(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await pilot.press("ctrl+o", "0")
        await settle(pilot)
        assert not isinstance(app.screen, StockScreen)
