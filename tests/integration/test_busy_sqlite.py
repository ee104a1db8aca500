"""Processes writing one SQLite station at once (issue 17, item 3): two cashiers selling,
voiding and refunding, and a catalog import with price changes beside them. Every
transaction begins IMMEDIATE and waits for the write lock, so nothing fails with "database
is locked" and nothing is lost; a wait that runs out is said plainly, never as an internal
error."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from cashier.errors import BUSY_MESSAGE, is_busy
from cashier.ui.screens.base import describe_error

SALES, VOIDS = 15, 5

pytestmark = pytest.mark.sqlite_only("SQLite's own locking between processes")


def cashier_process(data_dir: str, n: int) -> list[str]:
    """One cashier process on the shared station: sales, each paid in cash, and voids."""
    from cashier.config import settings_from_dict
    from cashier.domain.tender import Method
    from cashier.services import catalog
    from cashier.services.checkout import Checkout
    from cashier.services.operators import Role, SignedIn
    from cashier.services.refunds import execute, find_refundable, plan_refund
    from cashier.services.station import open_station
    from cashier.store.models import database

    settings = settings_from_dict({}, data_dir=Path(data_dir))
    open_station(settings, seed=False)
    who = SignedIn("1001", "王小美", Role.CASHIER)
    boss = SignedIn("9001", "李组长", Role.SUPERVISOR)
    receipts = []
    for i in range(SALES + VOIDS):
        co = Checkout("TRAIN-01", who)
        co.add(catalog.find_by_scan(("Y00001", "Y00004", "Y00010")[(i + n) % 3]))
        if i % 4 == 3:
            co.void("不要了")
            continue
        plan = co.start_payment()
        plan.add(Method.CASH, plan.remaining)
        receipts.append(co.complete(plan).receipt_no)
        if i % 5 == 4:  # every fifth sale is refunded at once
            sale = find_refundable(receipts[-1])
            execute(settings, plan_refund(sale), requested_by=who, approved_by=boss,
                    completed_by=who, reason="退药")  # fmt: skip
    database.close()
    return receipts


def importer_process(data_dir: str, rounds: int) -> int:
    """The supervisor imports the catalog again and again, changing a price each time."""
    from cashier.config import settings_from_dict
    from cashier.services import catalog
    from cashier.services.operators import Role, SignedIn
    from cashier.services.station import open_station
    from cashier.store.models import database

    open_station(settings_from_dict({}, data_dir=Path(data_dir)), seed=False)
    boss = SignedIn("9001", "李组长", Role.SUPERVISOR)
    text = catalog.demo_catalog_text()
    header, *rows = text.splitlines()
    for r in range(rounds):
        first = rows[-1].split(",")
        first[5] = f"{30 + r}.00"  # the last demo item's price (nobody sells it here)
        catalog.import_catalog(
            text="\n".join([header, *rows[:-1], ",".join(first)]) + "\n",
            by=boss,
            station_id="TRAIN-01",
        )
    database.close()
    return rounds


def test_processes_sell_void_refund_and_import_at_once_and_nothing_fails(station, settings):
    data_dir = str(settings.data_dir)
    station.close()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        futures = [pool.submit(cashier_process, data_dir, n) for n in (0, 1)]
        imports = pool.submit(importer_process, data_dir, 5)
        results = [f.result(timeout=300) for f in futures]  # a lock error would raise here
        assert imports.result(timeout=300) == 5
    from cashier.services import audit
    from cashier.services.station import open_station
    from cashier.store.models import AuditEntry, Refund, Sale

    open_station(settings, seed=False)
    receipts = sorted(r for rs in results for r in rs)
    sold = 2 * sum(1 for i in range(SALES + VOIDS) if i % 4 != 3)
    refunded = 2 * sum(1 for i in range(SALES + VOIDS) if i % 4 != 3 and i % 5 == 4)
    completed = Sale.select().where(Sale.status == "completed").count()
    assert len(receipts) == sold and completed == sold - refunded
    assert Sale.select().where(Sale.status == "refunded").count() == Refund.select().count()
    assert Refund.select().count() == refunded
    assert AuditEntry.select().where(AuditEntry.action == "catalog.prices").count() == 5
    assert audit.verify().ok
    assert Sale.select().where(Sale.status == "voided").count() == 2 * sum(
        1 for i in range(SALES + VOIDS) if i % 4 == 3
    )
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in receipts)
    assert numbers == list(range(1, len(numbers) + 1))  # gap-free, none twice


def test_a_busy_database_is_said_plainly():
    import peewee

    locked = peewee.OperationalError("database is locked")
    assert is_busy(locked) and BUSY_MESSAGE in describe_error(locked)
    assert "内部错误" not in describe_error(locked)
    assert not is_busy(peewee.OperationalError("no such table: x"))
