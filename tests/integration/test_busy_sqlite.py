"""Two processes writing one SQLite station at once (issue 17, item 3): every transaction
begins IMMEDIATE and waits for the write lock, so nothing fails with "database is locked"
and nothing is lost; a wait that runs out is said plainly, never as an internal error."""

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
    from cashier.services.station import open_station
    from cashier.store.models import database

    open_station(settings_from_dict({}, data_dir=Path(data_dir)), seed=False)
    who = SignedIn("1001", "王小美", Role.CASHIER)
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
    database.close()
    return receipts


def test_two_processes_sell_and_void_on_one_station_and_nothing_fails(station, settings):
    data_dir = str(settings.data_dir)
    station.close()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(cashier_process, data_dir, n) for n in (0, 1)]
        results = [f.result(timeout=300) for f in futures]  # a lock error would raise here
    from cashier.services.station import open_station
    from cashier.store.models import Sale

    open_station(settings, seed=False)
    receipts = sorted(r for rs in results for r in rs)
    completed = Sale.select().where(Sale.status == "completed").count()
    assert completed == len(receipts) == 2 * sum(1 for i in range(SALES + VOIDS) if i % 4 != 3)
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
