"""The disk and the file (issue 17, item 12): damaged pages found at start, a backup that
restores, a check and a backup at each Z close, a full disk said as such."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import DAMAGED_MESSAGE, DISK_FULL_MESSAGE, database_trouble
from cashier.services import catalog, shifts
from cashier.services.checkout import Checkout
from cashier.services.station import after_z_close, open_station
from cashier.store import integrity
from cashier.store.integrity import DamagedDatabase
from cashier.store.models import Sale, database
from tests.support.cli import assert_one_line_error, run, run_as_supervisor
from tests.support.counter import AMOXICILLIN

pytestmark = pytest.mark.sqlite_only("the SQLite file itself")


def cash_sale(settings, who) -> Sale:
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan(AMOXICILLIN))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.remaining, "")
    return Sale.get_by_id(co.complete(plan).sale_id)


def damage(path) -> None:
    """Scribble over the sales table's page, as a failing disk does."""
    con = sqlite3.connect(path)
    size = con.execute("PRAGMA page_size").fetchone()[0]
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sale'").fetchone()
    con.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 8))


def sold_then_damaged(station, settings, who) -> None:
    """Thirty sales, the station closed, its file whole (the WAL folded in), then damaged."""
    for _ in range(30):
        cash_sale(settings, who)
    station.close()
    db_file = settings.data_dir / "cashier.db"
    con = sqlite3.connect(db_file)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    damage(db_file)


def test_damaged_pages_are_found_at_start(station, settings, cashier_1001):
    sold_then_damaged(station, settings, cashier_1001)
    with pytest.raises(DamagedDatabase, match="已损坏"):
        open_station(settings)
    proc = run("verify-audit", data_dir=settings.data_dir)
    assert_one_line_error(proc)
    assert "已损坏" in proc.stderr and "备份" in proc.stderr


def test_the_counters_start_checks_beside_it_and_then_refuses_every_write(
    station, settings, cashier_1001, monkeypatch
):
    """The counter's start does not read ten years of sales before its login screen: the
    quick check runs beside it, and from the moment it finds damage nothing is written."""
    sold_then_damaged(station, settings, cashier_1001)
    started = threading.Event()  # the check ends after the start, as ten years of sales make it
    check_run = integrity.StartCheck._run
    monkeypatch.setattr(
        integrity.StartCheck, "_run", lambda self: (started.wait(), check_run(self))
    )
    ctx = open_station(settings, seed=False, check_beside=True)  # as `cashier` starts
    started.set()
    check = database.obj.start_check
    assert check is not None and check.wait(timeout=60)
    assert check.problems
    with pytest.raises(DamagedDatabase, match="已损坏"):
        cash_sale(settings, cashier_1001)
    ctx.close()


def test_damage_found_before_the_start_ends_stops_the_start(station, settings, cashier_1001):
    """A small file is checked before the start writes its station row: the start itself is
    refused, with the same words."""
    sold_then_damaged(station, settings, cashier_1001)
    real = integrity.check_in_background

    def checked_at_once(db):
        check = real(db)
        check.wait(timeout=60)
        return check

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(integrity, "check_in_background", checked_at_once)
        with pytest.raises(DamagedDatabase, match="已损坏"):
            open_station(settings, seed=False, check_beside=True)


def test_a_sound_file_checked_beside_the_start_takes_sales(station, settings, cashier_1001):
    station.close()
    ctx = open_station(settings, seed=False, check_beside=True)
    assert database.obj.start_check.wait(timeout=60)
    assert not database.obj.start_check.problems
    assert cash_sale(settings, cashier_1001).receipt_no
    ctx.close()


def test_a_backup_restores(station, settings, cashier_1001):
    sale = cash_sale(settings, cashier_1001)
    station.close()
    data = settings.data_dir
    refused = run("backup", data_dir=data)
    assert_one_line_error(refused)
    proc = run_as_supervisor("backup", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    (copy,) = integrity.backups(settings.backups_dir)
    assert copy.stat().st_mode & 0o777 == 0o600
    listing = run("backup", "--list", data_dir=data)
    assert copy.name in listing.stdout
    # The file is lost; the documented restore: copy the backup in its place.
    for suffix in ("", "-wal", "-shm"):
        (data / f"cashier.db{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, data / "cashier.db")
    ok = run("verify-audit", data_dir=data)
    assert ok.returncode == 0, ok.stderr
    open_station(settings)
    assert Sale.get_by_id(sale.id).receipt_no == sale.receipt_no


def test_each_z_close_checks_and_backs_up(station, settings, cashier_1001):
    shift = shifts.open_shift(settings.station_id, cashier_1001, Fen(0))
    cash_sale(settings, cashier_1001)
    shifts.close_shift(shift, {Method.CASH: Fen(1250)}, cashier_1001)
    care = after_z_close(settings)
    assert not care.problem and "备份" in care.message
    assert len(integrity.backups(settings.backups_dir)) == 1


def test_old_backups_are_dropped_after_the_days_kept(station, settings, tmp_path):
    from datetime import datetime, timedelta

    folder = tmp_path / "b"
    old = integrity.backup(database.obj, folder, keep_days=30, now=datetime(2026, 1, 1))
    past = (datetime.now() - timedelta(days=40)).timestamp()
    import os

    os.utime(old.path, (past, past))
    new = integrity.backup(database.obj, folder, keep_days=30)
    assert new.removed == (old.path,) and integrity.backups(folder) == [new.path]


def test_a_full_disk_and_a_damaged_file_are_said_plainly():
    from peewee import DatabaseError, OperationalError

    assert database_trouble(OperationalError("database or disk is full")) == DISK_FULL_MESSAGE
    assert database_trouble(OSError(28, "No space left on device")) == DISK_FULL_MESSAGE
    assert database_trouble(DatabaseError("database disk image is malformed")) == DAMAGED_MESSAGE
    assert database_trouble(ValueError("x")) is None


def test_a_check_that_cannot_run_is_not_taken_for_damage(tmp_path):
    """The file missing or locked away is said in the log; it never stops the counter's sales
    as a damaged file does."""
    check = integrity.StartCheck(tmp_path / "nowhere" / "cashier.db")
    assert check.wait(timeout=60)
    assert check.problems == []
    check.refuse_if_damaged()  # nothing raised
