"""Issue 20 at the counter: a box's 追溯码 scanned onto its line (2/3 已扫码), the bill not
paid until every box is scanned, a code sold already refused with its sale, a supervisor's
exception (Ctrl+T), and a 处方药's prescription asked for at F9."""

from __future__ import annotations

import pytest

from cashier.devices.scanner import classify
from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Sale
from cashier.ui.app import CashierApp
from cashier.ui.screens.payment import PaymentScreen
from tests.support.pilot import barcode, login, until

pytestmark = pytest.mark.pilot

VITAMIN_C, METFORMIN = "Y00153", "Y00088"


def spec_cell(app, row: int = 0) -> str:
    return str(app.screen.query_one("#lines").get_row_at(row)[2])


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_each_box_is_scanned_before_the_bill_is_paid(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        sale = app.screen
        sale.counter.scan(barcode(VITAMIN_C))
        sale.counter.set_quantity(0, 2)
        await until(pilot, lambda: "0/2" in spec_cell(app))
        assert sale.shows_key("trace_waive")
        sale.handle_scan(classify("81000000000000000101"))
        await until(pilot, lambda: "1/2" in spec_cell(app))
        await pilot.press("f9")
        await until(pilot, lambda: any("未扫追溯码" in n for n in notices(app)))
        assert not isinstance(app.screen, PaymentScreen)
        sale.handle_scan(classify("81000000000000000101"))  # the same box again
        await until(pilot, lambda: any("已扫过" in n for n in notices(app)))
        sale.handle_scan(classify("81000000000000000102"))
        await until(pilot, lambda: spec_cell(app).startswith("✓"))
        assert not sale.shows_key("trace_waive")
        await pilot.press("f10")  # exact cash: the sale completes
        await until(pilot, lambda: Sale.select().exists())
        done = Sale.get()
        # The same box on the next bill is refused with the sale that holds it.
        sale.counter.scan(barcode(VITAMIN_C))
        await until(pilot, lambda: sale.query_one("#lines").row_count == 1)
        sale.handle_scan(classify("81000000000000000102"))
        await until(pilot, lambda: any(done.receipt_no in n for n in notices(app)))


async def test_a_supervisor_waives_a_torn_code_and_a_prescription_is_asked_at_f9(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        sale = app.screen
        sale.counter.scan(barcode(METFORMIN))
        await until(pilot, lambda: "0/1" in spec_cell(app))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.screen.query("#waive-reason"))
        for text in ("追溯码破损", "9001", "9999"):
            await pilot.press(*text)
            await pilot.press("enter")
        await until(pilot, lambda: "追溯例外" in spec_cell(app))
        assert AuditEntry.select().where(AuditEntry.action == "trace.waive").exists()
        await pilot.press("f9")  # a 处方药: the prescription first
        await until(pilot, lambda: app.screen.query("#rx-no"))
        assert app.screen.query_one("#rx-pharmacist").value == ""  # 1001 is no pharmacist
        for text in ("RX-42", "张医生", "9001"):
            await pilot.press(*text)
            await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        assert sale.checkout.prescription.pharmacist_cert == "TRAIN-PHARM-0001"
