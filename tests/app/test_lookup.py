"""查单 / 重打 / 审计: finding sales, their audit trail, the screen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cashier.domain.money import Fen
from cashier.services import catalog
from cashier.services.checkout import Checkout, record_reprint
from cashier.services.lookup import audit_trail, find_sales
from cashier.store.models import Sale
from cashier.ui.screens.lookup import LookupScreen
from tests.support.pilot import barcode, open_counter, start


def sale_of(settings, who, *codes) -> Sale:
    co = Checkout(settings.station_id, who)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.exact_cash()
    return Sale.get_by_id(co.complete(plan).sale_id)


def test_find_by_receipt_amount_and_time(station, settings, cashier_1001, supervisor_9001):
    first = sale_of(settings, cashier_1001, "Y00001")
    second = sale_of(settings, cashier_1001, "Y00004", "Y00004")
    assert [s.id for s in find_sales("")] == [second.id, first.id]  # newest first
    assert [s.id for s in find_sales(first.receipt_no)] == [first.id]
    assert [s.id for s in find_sales("00000002")] == [second.id]
    assert [s.id for s in find_sales("53.60")] == [second.id]  # 26.80 × 2
    now = datetime.now(UTC).astimezone()
    assert {s.id for s in find_sales(f"{now:%H:%M}")} == {first.id, second.id}
    assert find_sales("", now.date().replace(year=now.year - 1)) == []
    record_reprint(first, supervisor_9001, settings.station_id)
    actions = [e.action for e in audit_trail(first)]
    assert actions == ["sale.complete", "sale.reprint"]
    assert Fen.parse("12.50") == first.total


@pytest.mark.pilot
async def test_lookup_screen_reprints_and_verifies_the_chain(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(barcode("Y00001"))
        await c.press("f10")
        await c.press("ctrl+o", "3")
        await pilot.pause(0.45)
        assert isinstance(app.screen, LookupScreen)
        await c.press("f11")
        assert Sale.get().reprints == 1
        assert "sale.reprint" in str(app.screen.query_one("#lookup-detail").render())
        await c.press("f5")
        assert "审计链完整" in c.notices()
