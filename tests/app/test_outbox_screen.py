"""Issue 20: the supervisor's 上报队列 (功能菜单 8) lists what waits for the insurer and
what it refused, with why; a refused document is given up with a reason (audited)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.services import outbox
from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Outbox
from cashier.ui.app import CashierApp
from cashier.ui.screens.outbox import OutboxScreen
from tests.support.pilot import login, settle, until

pytestmark = pytest.mark.pilot


async def test_a_refused_document_is_shown_with_why_and_given_up(settings):
    settings = replace(settings, inventory=replace(settings.inventory, report="on"))
    ctx = open_station(settings)
    outbox.enqueue("3503", "TEST-3503-1", "TEST-B1", {"purcinfo": {"med_list_codg": ""}},
                   station=settings.station_id, operator="9001")  # fmt: skip
    app = CashierApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "9001", "9999")
        await until(pilot, lambda: app.insurer is not None)
        await pilot.press("ctrl+o", "8")
        await until(pilot, lambda: isinstance(app.screen, OutboxScreen))
        screen = app.screen
        await pilot.press("f5")  # send now: the insurer refuses it
        await until(pilot, lambda: Outbox.get().status == "refused")
        screen.refresh_rows()
        await settle(pilot)
        assert "被拒 1 份" in str(screen.query_one("#outbox-status").render())
        row = [str(c) for c in screen.query_one("#outbox-rows").get_row_at(0)]
        assert row[1] == "3503" and row[4]  # the insurer's reason, as it said it
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press(*"供应商单据作废", "enter")
        await until(pilot, lambda: Outbox.get().status == "dropped")
        assert "全部单据均已上报" in str(screen.query_one("#outbox-status").render())
        assert AuditEntry.select().where(AuditEntry.action.contains("outbox")).exists()
