"""付款码对账 on screen (Pilot, 80×24), the second tab of the reconciliation: a supervisor
opens it from the Ctrl+O menu (or F7 on 医保对账), runs today's bills against the payment
sandbox, sees each mismatch and drills into its sale; F6 resolves, on demand, a 付款码
charge no sale holds and says whose money went where."""

from __future__ import annotations

import pytest

from cashier.services import payments
from cashier.services.counter import Counter
from cashier.services.operators import Role, SignedIn
from cashier.services.station import open_station
from cashier.store.models import PaymentCharge
from cashier.ui.app import CashierApp
from cashier.ui.screens.lookup import LookupScreen
from cashier.ui.screens.payment_reconcile import PaymentReconcileScreen
from cashier.ui.screens.reconcile import ReconcileScreen
from tests.support.pilot import login, settle, until

pytestmark = pytest.mark.pilot

CASHIER = SignedIn("1001", "王小美", Role.CASHIER)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def notices(app) -> str:
    return "\n".join(n.message for n in app._notifications)


def code_sale(app, settings) -> str:
    """A sale paid by a WeChat 付款码 at this station; its merchant order number."""
    counter = Counter(settings.station_id, CASHIER, payments=lambda: app.payments)
    counter.scan("Y00001")
    counter.start_payment()
    code = app.payments.sandbox.ledger.issue("wechat", "pay")
    counter.charge_code(*counter.check_code(code, None), code)
    sale_id = counter.complete().sale_id
    return PaymentCharge.get(PaymentCharge.sale == sale_id).out_trade_no


async def test_the_bills_mismatches_and_a_drill_down(settings, monkeypatch):
    monkeypatch.setattr(payments, "POLL_EVERY_S", 0.0)
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        await until(pilot, lambda: app.payments is not None)
        kept = code_sale(app, settings)
        gone = code_sale(app, settings)
        ledger = app.payments.sandbox.ledger
        ledger.open_trade("GHOST0001", "wechat", "x", 990, "paid", "4200999")  # theirs only
        ledger.sql("DELETE FROM trade WHERE out_trade_no = ?", gone)  # ours only
        app.push_screen(ReconcileScreen())
        await settle(pilot)
        await pilot.press("f7")  # the 付款码 tab
        await until(pilot, lambda: isinstance(app.screen, PaymentReconcileScreen))
        screen = app.screen
        await pilot.press("enter")  # today by default
        await until(pilot, lambda: screen.mismatches)
        status = text_of(screen, "#payrecon-status")
        assert "微信支付" in status and "不符 2 笔" in status and "支付宝" in status
        table = screen.query_one("#payrecon-rows")
        assert table.row_count == 2 and kept not in str([table.get_row_at(i) for i in (0, 1)])
        kinds = {m.out_trade_no: m.kind for m in screen.mismatches}
        assert kinds == {"GHOST0001": "only_there", gone: "only_here"}
        row = [m.out_trade_no for m in screen.mismatches].index(gone)
        table.move_cursor(row=row)
        await pilot.press("enter")  # drill into the sale the provider has no trace of
        await until(pilot, lambda: isinstance(app.screen, LookupScreen))
        await settle(pilot)
        receipt = screen.mismatches[row].receipt_no
        assert receipt and receipt in text_of(app.screen, "#lookup-detail")
        await pilot.press("escape")
        await settle(pilot)
        table.move_cursor(row=1 - row)
        await pilot.press("enter")  # theirs only: nothing here to show, said so
        await settle(pilot)
        assert "本系统没有对应的收费单" in notices(app)


async def test_f6_gives_back_a_charge_no_sale_holds(settings, monkeypatch):
    monkeypatch.setattr(payments, "POLL_EVERY_S", 0.0)
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        await until(pilot, lambda: app.payments is not None)
        ledger = app.payments.sandbox.ledger
        provider = app.payments.provider("wechat")
        from cashier.domain.money import Fen

        orphan = payments.charge(  # charged for a bill that is gone (its screen crashed)
            provider, station=settings.station_id, bill="GONE", operator="1001",
            amount=Fen(1250), auth_code=ledger.issue("wechat", "pay"), due=Fen(1250),
        )  # fmt: skip
        await pilot.press("ctrl+o", "6")
        await until(pilot, lambda: isinstance(app.screen, PaymentReconcileScreen))
        screen = app.screen
        await pilot.press("f6")
        await until(pilot, lambda: "已撤销" in text_of(screen, "#payrecon-status"))
        assert ledger.trades()[0].state == "reversed"
        assert PaymentCharge.get_by_id(orphan.out_trade_no).state == "reversed"
        assert "款项退回顾客" in notices(app)
        await pilot.press("f6")  # nothing left
        await until(pilot, lambda: "没有未完成" in text_of(screen, "#payrecon-status"))


async def test_a_cashier_is_sent_back(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        app.push_screen(PaymentReconcileScreen())
        await settle(pilot)
        assert not isinstance(app.screen, PaymentReconcileScreen)
        assert "收费组长" in notices(app)
