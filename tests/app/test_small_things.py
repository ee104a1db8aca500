"""Issue 19, item 14: the smaller things a cashier meets in a day, each at 80×24. F1 keeps
each key with its words; the key bar offers 功能, 挂单 and 取单 when they matter; the login
hint keeps a code with its PIN; the lock hides the last sale; the payment screen keeps the
training banner and shows the change as the cash is typed; a parked bill stays in sight."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from cashier.ui.dialogs.help import HelpScreen
from cashier.ui.screens.payment import PaymentScreen
from cashier.ui.widgets.keybar import KeyBar
from tests.support.pilot import barcode, login, settle, until

pytestmark = pytest.mark.pilot


def text(widget) -> str:
    return str(widget.render())


async def test_a_day_of_small_things(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        hint = text(app.screen.query_one("#demo-operators"))
        assert any("9001 / 9999" in line for line in hint.splitlines())
        await login(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        shot = app.export_screenshot()
        assert "Ctrl+O 功能" in shot.replace("&#160;", " ")
        await pilot.press("escape")
        await settle(pilot)

        sale = app.screen
        bar = lambda: sale.query_one(KeyBar).visual.plain  # noqa: E731
        assert "^O功能" in bar()
        sale.counter.scan(barcode("Y00001"))
        await until(pilot, lambda: "^G挂单" in bar())
        await pilot.press("ctrl+g")  # parked: in sight, and 取单 offered
        await until(pilot, lambda: "挂单 1" in text(sale.query_one("#topbar")))
        assert "^R取单" in bar()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: sale.checkout.lines)
        assert "挂单" not in text(sale.query_one("#topbar"))

        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        pay = app.screen
        assert "培训模式" in text(pay.query_one("#topbar"))
        pay.query_one("#amount").value = "20"  # typed, Enter not yet pressed
        await settle(pilot)
        assert "7.50" in text(pay.query_one("#change"))
        assert "Esc返回" in pay.query_one(KeyBar).visual.plain
        pay.query_one("#amount").value = ""
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is sale)

        await pilot.press("ctrl+l")
        await settle(pilot)
        shot = app.export_screenshot()
        assert "阿莫西林" not in shot and "12.50" not in shot  # nothing behind the lock
