"""A whole sale paid with a scanned 付款码 (WeChat Pay, Alipay), through the keys (issue 18): charged by the
payment sandbox over HTTP, exactly once; a password typed on the phone; a refusal that leaves
the bill open for another method; Del on a charged tender gives the money back."""

from __future__ import annotations

import pytest

from cashier.services import payments
from cashier.services.station import open_station
from cashier.store.models import PaymentCharge, Sale, Tender
from cashier.ui.app import CashierApp
from cashier.ui.screens.payment import PaymentScreen
from tests.support.pilot import barcode, login, scan, settle, until

pytestmark = pytest.mark.pilot


@pytest.fixture(autouse=True)
def _no_wait_between_queries(monkeypatch):
    monkeypatch.setattr(payments, "POLL_EVERY_S", 0.0)


async def to_payment(app, pilot) -> PaymentScreen:
    await login(pilot)
    await until(pilot, lambda: app.payments is not None)
    await scan(pilot, barcode("Y00001"))
    await until(pilot, lambda: app.screen.checkout.lines)
    await pilot.press("f9")
    await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
    return app.screen


def ledger(app):
    return app.payments.sandbox.ledger


@pytest.mark.parametrize("provider", ["wechat", "alipay"])
async def test_a_sale_paid_by_a_payment_code(settings, provider):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        due = screen.plan.due
        code = ledger(app).issue(provider, "pay")
        await scan(pilot, code)
        await until(pilot, lambda: Sale.select().exists())
        (trade,) = ledger(app).trades()
        sale = Sale.get()
        (tender,) = Tender.select().where(Tender.sale == sale.id)
        assert (tender.method, tender.amount, tender.reference) == (
            provider,
            due,
            trade.transaction_id,
        )
        assert (trade.state, trade.amount) == ("paid", due.fen)
        charge = PaymentCharge.get()
        assert (charge.state, charge.sale_id) == ("paid", sale.id)


async def test_a_password_then_paid(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await to_payment(app, pilot)
        await scan(pilot, ledger(app).issue("wechat", "password"))
        await until(pilot, lambda: Sale.select().exists())
        assert [t.state for t in ledger(app).trades()] == ["paid"]


async def test_a_refusal_leaves_the_bill_open_for_cash(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        await scan(pilot, ledger(app).issue("wechat", "insufficient"))
        await until(pilot, lambda: not screen._charging and PaymentCharge.select().exists())
        await settle(pilot)
        assert isinstance(app.screen, PaymentScreen) and not screen.plan.tenders
        assert PaymentCharge.get().state == "failed" and not ledger(app).trades()
        await pilot.press("f10")  # the patient pays cash instead
        await until(pilot, lambda: Sale.select().exists())
        assert [t.method for t in Tender.select()] == ["cash"]


async def test_del_on_a_charged_tender_gives_the_money_back(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        screen.query_one("#amount").value = "5.00"  # typed: part of it by WeChat
        await scan(pilot, ledger(app).issue("wechat", "pay"))
        await until(pilot, lambda: screen.plan.tenders)
        assert ledger(app).trades()[0].state == "paid"
        screen.query_one("#tenders").focus()
        await pilot.press("delete")
        await until(pilot, lambda: not screen.plan.tenders)
        assert ledger(app).trades()[0].state == "reversed"
        assert PaymentCharge.get().state == "reversed"
        await pilot.press("escape")  # nothing taken: back to the bill
        await until(pilot, lambda: not isinstance(app.screen, PaymentScreen))
    assert not Sale.select().exists()
