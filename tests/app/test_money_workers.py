"""Money work is never cancelled (issue 17, item 4): the settlement, a settlement's
cancellation, the completion and a refund run in a group no other action can cancel, one at
a time; a second key press while one runs is refused, not queued. Waits on what the app did."""

from __future__ import annotations

import pytest

from cashier.store.models import InsuredSettlement, Sale
from cashier.ui.screens.base import MONEY
from tests.support.insurer import fault
from tests.support.pilot import open_counter, settle, start

pytestmark = pytest.mark.pilot


async def test_a_settlement_survives_other_insurer_work_and_a_second_press(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P001"))  # the demo order: pre-settled on identification
        assert c.sale.checkout.insured.presettlement is not None
        fault(c.sandbox, "latency", "2207", delay_ms=300)  # the settlement takes a while
        await pilot.press("f9")  # settle
        await pilot.press("f9")  # pressed again: refused while the first runs
        await pilot.press("f5")  # other insurer work: must not cancel the settlement
        await settle(pilot)
        assert not [w for w in app.workers if w.group == MONEY]  # done, none left behind
        for _ in range(3):  # the payment screen takes the cash part, if there is one
            if Sale.select().where(Sale.status == "completed").exists():
                break
            await c.press("f10")
    sale = Sale.get()
    assert sale.status == "completed"
    assert InsuredSettlement.select().count() == 1
