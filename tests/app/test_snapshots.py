"""Issue 19: snapshot tests of the counter's screens at 80×24, in the normal and the
low-spec theme, so a layout that hides a number (or cuts a label) fails a test. Each screen
is brought to a fixed state through the counter's intents (never keys raced against time),
with nothing on it that changes from day to day. ``--snapshot-update`` accepts a change
after a person has looked at it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cashier.domain.money import Fen
from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from tests.support.pilot import barcode, login, settle, until

pytestmark = pytest.mark.pilot

THEMES = pytest.mark.parametrize("low_spec", [False, True], ids=["normal", "low-spec"])


def counter_app(settings, low_spec: bool) -> CashierApp:
    return CashierApp(open_station(replace(settings, low_spec=low_spec)))


@THEMES
def test_login(snap_compare, settings, low_spec):
    assert snap_compare(counter_app(settings, low_spec))


@THEMES
def test_sale_self_pay(snap_compare, settings, low_spec):
    async def ring_up(pilot):
        await login(pilot)
        for code in ("Y00001", "Y00038", "Y00001"):
            pilot.app.screen.counter.scan(barcode(code))
        await until(pilot, lambda: pilot.app.screen.query_one("#lines").row_count == 2)
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=ring_up)


@THEMES
def test_sale_insured_with_breakdown(snap_compare, settings, low_spec):
    async def insured(pilot):
        from tests.support.counter import qr

        await login(pilot)
        app = pilot.app
        await until(pilot, lambda: app.insurer is not None, steps=2000)
        app.screen.counter.scan(barcode("Y00001"))
        app.screen.identify("qr", qr(app.insurer, "P004"))
        await until(pilot, lambda: app.screen.checkout.insured is not None, steps=2000)
        await until(
            pilot, lambda: app.screen.checkout.insured.presettlement is not None, steps=2000
        )
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=insured)


@THEMES
def test_payment(snap_compare, settings, low_spec):
    async def paying(pilot):
        from cashier.domain.tender import Method

        await login(pilot)
        counter = pilot.app.screen.counter
        counter.scan(barcode("Y00038"))
        await pilot.press("f9")
        await until(pilot, lambda: counter.plan is not None and pilot.app.screen.is_attached)
        counter.take(Method.CASH, Fen(1000))
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=paying)


@THEMES
def test_refund_with_a_line_chosen(snap_compare, settings, low_spec):
    async def refunding(pilot):
        from cashier.ui.screens.refund import RefundScreen

        await login(pilot)
        app = pilot.app
        counter = app.screen.counter
        for code in ("Y00001", "Y00038"):
            counter.scan(barcode(code))
        counter.start_payment()
        counter.exact_cash()
        receipt = counter.complete().receipt_no
        app.push_screen(RefundScreen())
        await until(pilot, lambda: isinstance(app.screen, RefundScreen))
        await settle(pilot)  # mounted
        app.screen.find(receipt)
        await pilot.press("space")  # the first line back
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=refunding)


@THEMES
def test_blind_count(snap_compare, settings, low_spec):
    """The shift's opening time is shown in China's time whatever the machine's zone (00:30
    UTC is 08:30 at the counter)."""

    async def counting(pilot):
        from cashier.store.models import Shift
        from cashier.ui.screens.shift import ShiftScreen

        await login(pilot)
        Shift.create(station=settings.station_id, operator="1001", float_amount=Fen(20000),
                     opened_at=datetime(2026, 1, 5, 0, 30, tzinfo=UTC).replace(tzinfo=None),
                     business_day=datetime(2026, 1, 5).date())  # fmt: skip
        pilot.app.push_screen(ShiftScreen())
        await until(pilot, lambda: getattr(pilot.app.screen, "state", None) is not None)
        await pilot.press("f5")
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=counting)


@THEMES
def test_lock(snap_compare, settings, low_spec):
    async def locked(pilot):
        await login(pilot)
        pilot.app.screen.counter.scan(barcode("Y00001"))
        await pilot.press("ctrl+l")
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=locked)


@THEMES
def test_end_of_day_report(snap_compare, settings, low_spec):
    async def reporting(pilot):
        from cashier.ui.screens.reports import ReportScreen

        await login(pilot, "9001", "9999")
        app = pilot.app
        app.push_screen(ReportScreen())
        await until(pilot, lambda: isinstance(app.screen, ReportScreen))
        await settle(pilot)
        for name in ("#report-from", "#report-to"):
            app.screen.query_one(name).value = "2026-01-05"  # a fixed day: no drift
        await pilot.press("f5")
        await settle(pilot)
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(counter_app(settings, low_spec), run_before=reporting)
