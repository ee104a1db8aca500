import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError
from cashier.services.checkout import Checkout, State, last_completed
from cashier.store.models import AuditEntry, Barcode, Item, ReceiptCounter, Sale, SaleLine, Tender


def barcode_of(code: str) -> str:
    return Barcode.select().join(Item).where(Item.code == code).first().barcode


def test_scan_repeat_quantity_and_remove(station, cashier_1001):
    co = Checkout(station.station_id, cashier_1001)
    y1 = barcode_of("Y00001")
    co.scan(y1)
    co.scan(y1)
    co.scan("Y00004")  # by item code
    assert [ln.quantity for ln in co.lines] == [2, 1]
    assert (
        co.total
        == Item.get(Item.code == "Y00001").price * 2 + Item.get(Item.code == "Y00004").price
    )
    co.set_quantity(1, 3)
    assert co.lines[1].quantity == 3
    with pytest.raises(InputError):
        co.set_quantity(0, 0)
    co.remove(0)
    assert len(co.lines) == 1
    with pytest.raises(InputError, match="未找到商品"):
        co.scan("0000000000000")


def test_complete_writes_everything_once(station, cashier_1001):
    co = Checkout(station.station_id, cashier_1001)
    co.scan("Y00001")
    co.scan("Y00004")
    plan = co.start_payment()
    with pytest.raises(InputError, match="还差"):
        co.complete(plan)
    plan.add(Method.WECHAT, Fen(1000), "4200000000000001")
    plan.add(Method.CASH, Fen(10000))
    done = co.complete(plan)
    assert co.state is State.COMPLETED
    sale = Sale.get_by_id(done.sale_id)
    assert sale.receipt_no == f"{station.station_id}-00000001"
    assert sale.total == co.total and sale.change == Fen(11000) - co.total
    assert SaleLine.select().where(SaleLine.sale == sale).count() == 2
    assert [t.method for t in Tender.select().where(Tender.sale == sale)] == ["wechat", "cash"]
    assert AuditEntry.select().where(AuditEntry.action == "sale.complete").count() == 1
    with pytest.raises(InputError):
        co.scan("Y00001")  # a completed sale is closed


def test_receipt_numbers_are_gap_free_even_after_a_failed_sale(station, cashier_1001, monkeypatch):
    def sell():
        co = Checkout(station.station_id, cashier_1001)
        co.scan("Y00001")
        plan = co.start_payment()
        plan.exact_cash()
        return co.complete(plan)

    assert sell().receipt_no.endswith("00000001")
    # A failure inside the transaction rolls back the receipt number with the sale.
    from cashier.services import audit

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        sell()
    monkeypatch.undo()
    assert sell().receipt_no.endswith("00000002")
    assert ReceiptCounter.get_by_id(station.station_id).last_no == 2
    assert Sale.select().count() == 2
    assert last_completed(station.station_id).receipt_no.endswith("00000002")


def test_void_is_recorded_and_audited(station, cashier_1001):
    co = Checkout(station.station_id, cashier_1001)
    assert co.void() is None  # an empty sale leaves nothing
    co = Checkout(station.station_id, cashier_1001)
    co.scan("Y00001")
    sale_id = co.void("顾客不要了")
    sale = Sale.get_by_id(sale_id)
    assert sale.status == "voided" and sale.receipt_no is None and sale.void_reason == "顾客不要了"
    assert AuditEntry.get(AuditEntry.action == "sale.void").subject == str(sale_id)


CRASH_SCRIPT = """
import os, signal, sys
from cashier.config import settings_from_dict
from cashier.services.station import open_station
from cashier.services.checkout import Checkout
from cashier.services.operators import SignedIn, Role
from cashier.store import models

ctx = open_station(settings_from_dict({}, data_dir=sys.argv[1]))
co = Checkout(ctx.station_id, SignedIn("1001", "王小美", Role.CASHIER))
co.scan("Y00001"); co.scan("Y00004")
plan = co.start_payment(); plan.exact_cash()
real = models.Tender.insert_many
def die(*a, **k):
    # The sale row and its lines are written; the power goes before the tenders.
    os.kill(os.getpid(), signal.SIGKILL)
models.Tender.insert_many = die
co.complete(plan)
"""


def test_crash_between_payment_and_completion_leaves_no_half_sale(settings, tmp_path):
    from cashier.services.station import open_station

    open_station(settings).close()  # seed once, outside the dying process
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(CRASH_SCRIPT))
    proc = subprocess.run(
        [sys.executable, str(script), str(settings.data_dir)], capture_output=True, env=os.environ
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    ctx = open_station(settings)
    try:
        assert Sale.select().count() == 0
        assert SaleLine.select().count() == 0
        assert Tender.select().count() == 0
        assert ReceiptCounter.select().count() == 0
        assert AuditEntry.select().where(AuditEntry.action == "sale.complete").count() == 0
        from cashier.services import audit

        assert audit.verify().ok
    finally:
        ctx.close()


def test_a_completed_sale_waits_in_the_print_queue_until_printed(station, settings, cashier_1001):
    from cashier.devices.printer import PdfPrinter
    from cashier.services.printing import pending_jobs, retry_pending

    co = Checkout(station.station_id, cashier_1001)
    co.scan("Y00001")
    plan = co.start_payment()
    plan.exact_cash()
    done = co.complete(plan)  # the process dies here, before any print
    assert [j.sale_id for j in pending_jobs(station.station_id)] == [done.sale_id]
    results = retry_pending(settings, PdfPrinter(settings.receipts_dir), cashier_1001)
    assert [r.ok for r in results] == [True]
    assert (settings.receipts_dir / f"{done.receipt_no}.pdf").exists()  # the original, not 重打
    assert pending_jobs(station.station_id) == []
