"""医保对账 on screen (Pilot, 80×24): a supervisor opens it from the Ctrl+O menu, runs
today's reconciliation against the training sandbox, sees 不平 and the mismatches,
and drills down to the local sale."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from cashier.config import ScannerSettings
from cashier.domain.money import Fen
from cashier.services.operators import Role, SignedIn
from cashier.services.reconcile import MismatchKind
from cashier.services.station import open_station
from cashier.store.models import InsuredSettlement
from cashier.ui.app import CashierApp
from cashier.ui.screens.reconcile import NOT_CONNECTED, MismatchDetail, ReconcileScreen
from cashier.ui.screens.sale import SaleScreen
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, CEFIXIME, insured_sale, plant
from tests.support.pilot import login, settle

CASHIER = SignedIn("1001", "王小美", Role.CASHIER)


@pytest.fixture
def settings(settings):
    return replace(settings, scanner=ScannerSettings(max_gap_ms=300))


@pytest.fixture(autouse=True)
def _close_sandbox():
    yield
    if not state.sandbox_db.is_closed():
        state.sandbox_db.close()


async def supervisor_in(app: CashierApp, pilot) -> None:
    """Log in as the training supervisor and wait until the training sandbox is reached."""
    await login(pilot, "9001", "9999")
    for _ in range(200):
        if app.insurer is not None:
            break
        await asyncio.sleep(0.05)
    assert app.insurer is not None, "the training sandbox did not start"
    await settle(pilot)


def notices(app: CashierApp) -> str:
    return "\n".join(n.message for n in app._notifications)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_supervisor_finds_the_mismatches_and_drills_down(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await supervisor_in(app, pilot)
        # Two insured sales at this counter, then the insurer disagrees about one of them
        # and holds one the cashier never stored.
        a = insured_sale(app.insurer, settings, CASHIER, "P001", AMOXICILLIN, CEFIXIME)
        insured_sale(app.insurer, settings, CASHIER, "P004", AMOXICILLIN)
        row = InsuredSettlement.get(InsuredSettlement.sale == a.id)
        plant(app.insurer, kind="amount_differs", setl_id=row.setl_id, delta="2.00")
        plant(app.insurer, kind="lost_here", fixmedins_code=settings.clinic_code, person="P003")

        await pilot.press("ctrl+o", "5")
        await pilot.pause(0.45)  # the digit waits out the scanner's burst gap
        screen = app.screen
        assert isinstance(screen, ReconcileScreen)
        await pilot.press("enter")  # the day is today by default
        await settle(pilot)

        status = text_of(screen, "#recon-status")
        assert "不平" in status and "金额不符 1" in status and "本地无此笔 1" in status
        assert screen.query_one("#recon-groups").row_count == 2  # 310 · 11 and 390 · 11
        table = screen.query_one("#recon-mismatches")
        assert table.row_count == 2 and app.focused is table
        kinds = [m.kind for m in screen.result.mismatches]
        assert kinds == [MismatchKind.AMOUNT_DIFFERS, MismatchKind.MISSING_HERE]
        assert a.receipt_no in str(table.get_row_at(0)[1])

        await pilot.press("enter")  # drill down: the local sale
        await settle(pilot)
        assert isinstance(app.screen, MismatchDetail)
        body = text_of(app.screen, "#drill-body")
        assert a.receipt_no in body and "张*" in body and "1101**********001X" in body
        assert "医疗费总额" in body and row.medfee_sumamt.display() in body
        assert (row.medfee_sumamt + Fen(200)).display() in body
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

        await pilot.press("down", "enter")  # the one only the insurer has
        await settle(pilot)
        assert "本地没有这笔结算" in text_of(app.screen, "#drill-body")
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("f8")  # the workbook for finance
        await settle(pilot)
        assert screen.exported is not None and screen.exported.name.startswith("recon-")
        from decimal import Decimal

        from openpyxl import load_workbook

        book = load_workbook(screen.exported)
        assert book.sheetnames == ["概要", "对账汇总（3201）", "不符明细（3202）", "已核对"]
        differs = [r for r in book["不符明细（3202）"].iter_rows(min_row=2, values_only=True)
                   if r[0] == "金额不符"]  # fmt: skip
        (ours_medfee, theirs_medfee) = differs[0][3:5]
        assert Decimal(str(theirs_medfee)) - Decimal(str(ours_medfee)) == Decimal("2.00")
        assert dict(book["概要"].iter_rows(values_only=True))["结果"] == "不平"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)


async def test_not_connected_and_not_a_supervisor_are_notices(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await supervisor_in(app, pilot)
        app.push_screen(ReconcileScreen())
        await settle(pilot)
        connection, app.insurer = app.insurer, None  # as before the insurer is reached
        await pilot.press("enter")
        await settle(pilot)
        assert NOT_CONNECTED in notices(app) and NOT_CONNECTED in text_of(
            app.screen, "#recon-status"
        )
        app.insurer = connection
        await pilot.press("f5")
        await settle(pilot)
        assert "全部相符" in text_of(app.screen, "#recon-status")

        await pilot.press("escape")
        await settle(pilot)
        app.operator = CASHIER  # a cashier who reaches the screen is sent back
        app.push_screen(ReconcileScreen())
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert "收费组长" in notices(app)
