"""Issue 19, item 1: nothing leaves the program by accident. Ctrl+Q logs out (or, on the lock
screen, hands over) and never quits, on the sale screen, the lock screen and the payment
screen; Ctrl+C says in Chinese what does what; the command palette offers only the
cashier's own commands, in Chinese, by role; closing the program is a supervisor's menu
item, refused while a bill is open, and audited."""

from __future__ import annotations

import pytest

from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Sale
from cashier.ui.app import CashierApp
from cashier.ui.screens.login import LoginScreen
from cashier.ui.screens.payment import PaymentScreen
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import barcode, login, scan, settle, until

pytestmark = pytest.mark.pilot


def notices(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_ctrl_q_logs_out_and_never_quits(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        await pilot.press("ctrl+q")  # a bill on screen: refused, said why
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen) and "作废" in notices(app)
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        await pilot.press("ctrl+q")  # on the payment screen: it says where to go
        await settle(pilot)
        assert isinstance(app.screen, PaymentScreen) and "Esc" in notices(app)
        await pilot.press("f10")  # paid in cash, the bill empty again
        await until(pilot, lambda: Sale.select().exists() and isinstance(app.screen, SaleScreen))
        await pilot.press("ctrl+l")  # locked: Ctrl+Q hands over to another operator
        await settle(pilot)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.press("ctrl+q")  # nobody signed in: it says who may close the program
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and "退出程序" in notices(app)
        await pilot.press("ctrl+c")  # in a field: it copies, nothing else
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, LoginScreen)
        await login(pilot)
        await pilot.press("ctrl+o")  # the menu: nothing to copy, so it says what does what
        await settle(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert "Ctrl+C 不会退出程序" in notices(app)
        assert app.is_running and app.return_code is None


async def test_the_palette_offers_the_cashiers_own_commands(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"锁屏", "退出登录", "退货退费".replace("退货退费", "退款（组长审批）")} <= set(
            titles
        )
        assert not {"Quit", "Screenshot", "Theme", "Keys"} & set(titles)
        assert "退出程序" not in titles and "日结报表" not in titles  # a cashier's
        assert all(not t.isascii() for t in titles)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert "输入命令名称" in str(app.screen.query_one("CommandInput").placeholder)


async def test_only_a_supervisor_closes_the_program_and_not_with_a_bill_open(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        assert "退出程序" in [c.title for c in app.get_system_commands(app.screen)]
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        await pilot.press("ctrl+o", "7")  # the digit waits out the scanner's burst gap
        await until(pilot, lambda: "不能退出程序" in notices(app))
        assert app.is_running
        app.screen.counter.void("test")
        await pilot.press("ctrl+o", "7")
        await until(pilot, lambda: not app.is_running)
    assert AuditEntry.select().where(AuditEntry.action == "app.quit").exists()


async def test_a_mistyped_cash_amount_asks_first(settings):
    """Issue 19, item 2, at the keys: 1250 typed for ¥12.50 asks, with the change; Esc and
    the right amount; the sale's change is then ¥7.50."""
    from cashier.domain.money import Fen
    from cashier.ui.dialogs.confirm import ConfirmDialog

    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        await pilot.press("1", "2", "5", "0", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "找零 ￥1237.50" in app.screen.question
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        assert not app.screen.plan.tenders and not Sale.select().exists()
        await pilot.press("2", "0", "enter")
        await until(pilot, lambda: Sale.select().exists())
    assert Sale.get().change == Fen(750)
