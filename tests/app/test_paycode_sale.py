"""A whole sale paid with a scanned 付款码 (WeChat Pay, Alipay), through the keys (issue 18):
charged by the payment sandbox over HTTP, exactly once; a password typed on the phone while
the screen says so; a password never typed, given up with Esc and reversed; a refusal that
leaves the bill open for another method; Del on a charged tender gives the money back. The
tests wait on the counter's events (``cashier.services.counter``), never on time."""

from __future__ import annotations

import pytest

from cashier.services import payments
from cashier.services.counter import CodeEnded, CodeWaiting, SaleCompleted, TenderRemoved
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


def seen(app, kind) -> list:
    """The counter's events of one kind so far."""
    return [e for e in app.counter.events if isinstance(e, kind)]


@pytest.mark.parametrize("provider", ["wechat", "alipay"])
async def test_a_sale_paid_by_a_payment_code(settings, provider):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        due = screen.plan.due
        code = ledger(app).issue(provider, "pay")
        await scan(pilot, code)
        await until(pilot, lambda: seen(app, SaleCompleted))
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


async def test_a_password_then_paid(settings, monkeypatch):
    app = CashierApp(open_station(settings))
    shown = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        # What the cashier reads while the payer types: caught as the screen draws it.
        help_line = screen.query_one("#pay-help")
        draw = help_line.update
        monkeypatch.setattr(help_line, "update", lambda text: (shown.append(str(text)), draw(text)))
        await scan(pilot, ledger(app).issue("wechat", "password"))
        await until(pilot, lambda: seen(app, SaleCompleted))
        assert [t.state for t in ledger(app).trades()] == ["paid"]
    assert seen(app, CodeWaiting)
    assert any("等待顾客输入支付密码" in line and "Esc" in line for line in shown)


async def test_a_password_never_typed_is_given_up_with_esc(settings, monkeypatch):
    """The payer walks off: Esc while waiting reverses the charge; the bill stays open."""
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        # Asked about for as long as it takes the test to press Esc (never a deadline first).
        monkeypatch.setattr(payments, "POLLS", 10**9)
        await scan(pilot, ledger(app).issue("wechat", "password-cancel"))
        await until(pilot, lambda: seen(app, CodeWaiting))
        await pilot.press("escape")
        await until(pilot, lambda: seen(app, CodeEnded))
        (ended,) = seen(app, CodeEnded)
        assert ended.tender is None and "撤销" in ended.message
        assert isinstance(app.screen, PaymentScreen) and not screen.plan.tenders
        assert ledger(app).trades()[0].state == "reversed"
        assert PaymentCharge.get().state == "reversed" and not Sale.select().exists()


async def test_a_refusal_leaves_the_bill_open_for_cash(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        await scan(pilot, ledger(app).issue("wechat", "insufficient"))
        await until(pilot, lambda: seen(app, CodeEnded))
        assert "余额不足" in seen(app, CodeEnded)[0].message
        await settle(pilot)
        assert isinstance(app.screen, PaymentScreen) and not screen.plan.tenders
        assert PaymentCharge.get().state == "failed" and not ledger(app).trades()
        await pilot.press("f10")  # the patient pays cash instead
        await until(pilot, lambda: seen(app, SaleCompleted))
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
        await until(pilot, lambda: seen(app, TenderRemoved))
        assert seen(app, TenderRemoved)[0].given_back and not screen.plan.tenders
        assert ledger(app).trades()[0].state == "reversed"
        assert PaymentCharge.get().state == "reversed"
        await pilot.press("escape")  # nothing taken: back to the bill
        await until(pilot, lambda: not isinstance(app.screen, PaymentScreen))
    assert not Sale.select().exists()
