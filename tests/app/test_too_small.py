"""Issue 19, item 8: a terminal too small for the counter (60×20) says what size it needs,
over whatever screen is up, and takes no key blind; made big enough, the bill is as it was."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from cashier.ui.widgets.too_small import TooSmall
from tests.support.pilot import barcode, login, settle, until

pytestmark = pytest.mark.pilot


async def test_too_small_a_terminal_says_so_and_takes_no_key(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        app.screen.counter.scan(barcode("Y00001"))
        await pilot.resize_terminal(60, 20)
        await until(pilot, lambda: app.screen.query(TooSmall))
        cover = app.screen.query_one(TooSmall)
        said = str(cover.render())
        assert "80×24" in said and "60×20" in said
        await pilot.press("f12")  # no key reaches the bill while it cannot be seen
        await settle(pilot)
        assert len(app.screen.checkout.lines) == 1
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: not app.screen.query(TooSmall))
        assert len(app.screen.checkout.lines) == 1
        assert "12.50" in str(app.screen.query_one("#total").value)
