"""Issue 20: the mapping screen (功能菜单 9) lists the items without a valid mapping onto
the insurer's catalog and uploads the chosen catalog line (3301)."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.store.models import Item
from cashier.ui.app import CashierApp
from cashier.ui.screens.mapping import MappingScreen
from cashier_sandbox import state
from tests.support.pilot import login, settle, until

pytestmark = pytest.mark.pilot


async def test_an_item_is_mapped_from_the_screen(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        await until(pilot, lambda: app.insurer is not None)
        await pilot.press("ctrl+o", "9")
        await until(pilot, lambda: isinstance(app.screen, MappingScreen))
        screen = app.screen
        assert "尚未下载" in str(screen.query_one("#mapping-status").render())
        await pilot.press("f5")
        await until(pilot, lambda: "个商品没有有效对照" in str(
            screen.query_one("#mapping-status").render()))  # fmt: skip
        Item.update(med_list_codg="").where(Item.code == "Y00088").execute()
        screen.refresh_items()
        await settle(pilot)
        items = screen.query_one("#mapping-items")
        row = next(i for i in range(items.row_count)
                   if str(items.get_row_at(i)[0]) == "Y00088")  # fmt: skip
        items.move_cursor(row=row)
        await pilot.press("enter")  # to the candidates
        await pilot.press("enter")  # upload the first
        await until(pilot, lambda: state.Mapping.select().where(
            state.Mapping.hilist_id == "Y00088").exists())  # fmt: skip
        assert Item.get(Item.code == "Y00088").mapping == "uploaded"
