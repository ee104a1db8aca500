"""Keys typed ahead: what a quick hand types (or a busy PC hands over all at once) goes where
it was typed. A key reaches a field through the field's own queue while a binding or a scan
acts as the app receives its key, so before this, "1001⏎1234⏎" in one go signed in as
10011234, and an amount typed just before a 付款码 was scanned could still be on its way to
its field when the charge read it. Keys are posted to the app back to back, each with the
time stamp it would carry, and nothing is waited for in between."""

from __future__ import annotations

import time

import pytest
from textual import events

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.services.counter import CodeEnded
from cashier.services.station import open_station
from cashier.store.models import PaymentCharge
from cashier.ui.app import CashierApp
from cashier.ui.screens.payment import PaymentScreen
from cashier.ui.screens.sale import SaleScreen
from tests.app.test_paycode_sale import ledger, seen, to_payment
from tests.support.pilot import settle, until

pytestmark = pytest.mark.pilot


def typed(app, keys, start: float, gap: float) -> float:
    """Post ``keys`` (characters, or key names such as "enter") to the app back to back,
    stamped ``gap`` seconds apart from ``start``; the time stamp after the last."""
    for n, key in enumerate(keys):
        char = "\r" if key == "enter" else key
        event = events.Key(key, char)
        event.time = start + n * gap
        app.post_message(event)
    return start + len(keys) * gap


async def test_a_code_and_pin_typed_in_one_go_sign_in(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        typed(app, [*"1001", "enter", *"1234", "enter"], time.monotonic(), 0.5)
        await until(pilot, lambda: isinstance(app.screen, SaleScreen))
        assert app.operator is not None and app.operator.code == "1001"


async def test_an_amount_typed_just_before_a_payment_code_is_what_is_charged(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        due = screen.plan.due
        code = ledger(app).issue("wechat", "pay")
        # ¥5 typed by hand, then the phone under the scanner a second later (the tests'
        # scanner gap is 300 ms): its burst 5 ms a character, ended by Enter
        now = typed(app, list("5"), time.monotonic(), 1.0)
        typed(app, [*code, "enter"], now, 0.005)
        await until(pilot, lambda: seen(app, CodeEnded))
        await settle(pilot)
        charge = PaymentCharge.get()
        assert (charge.state, charge.amount) == ("paid", Fen(500))
        assert isinstance(app.screen, PaymentScreen)  # the rest is still due
        assert screen.plan.remaining.fen == due.fen - 500


async def test_a_card_payment_typed_in_one_go_goes_field_by_field(settings):
    """y (bank card), the amount, Enter, the terminal's reference, Enter: the Enter moves to
    the reference field through the screen's handler; what is typed after it waits for that."""
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_payment(app, pilot)
        due = screen.plan.due
        typed(app, ["y", "5", "enter", *"123456", "enter"], time.monotonic(), 1.0)
        await until(pilot, lambda: screen.plan.tenders)
        await settle(pilot)
        (tender,) = screen.plan.tenders
        assert (tender.method, tender.amount, tender.reference) == (
            Method.BANKCARD,
            Fen(500),
            "123456",
        )
        assert screen.plan.remaining == due - Fen(500)
