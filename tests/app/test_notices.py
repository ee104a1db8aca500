"""Issue 19, item 4: notices never cover a figure. At 80×24 they stack bottom left, over the
lines and above the scan field, clear of the side panel's amounts; the previous patient's
notices are gone when the sale is done or the next patient is identified."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.store.models import Sale
from cashier.ui.app import CashierApp
from tests.support.pilot import barcode, login, scan, settle, until

pytestmark = pytest.mark.pilot


async def test_notices_stay_clear_of_the_amounts_and_go_with_the_sale(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        for n in range(4):
            app.notify(
                f"第 {n} 条提示：医保平台响应较慢，请稍候再试（自费收款不受影响）", timeout=60
            )
        await settle(pilot)
        screen = app.screen
        side = screen.query_one("#side").region
        entry = screen.query_one("#entry").region
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 4
        for toast in toasts:
            r = toast.region
            assert r.right <= side.x, (r, side)  # never over the amounts
            assert r.bottom <= entry.y, (r, entry)  # never over the scan field
        await pilot.press("f10")  # exact cash: the sale done
        await until(pilot, lambda: Sale.select().exists() and not app.screen.checkout.lines)
        await settle(pilot)
        assert not any("第 " in str(n.message) for n in app._notifications)
