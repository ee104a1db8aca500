"""One owner per station (issue 17, item 2): a running counter holds its station; a second
start of the same station says who holds it and does not start, on SQLite (a lock file with
the PID) and on PostgreSQL (an advisory lock); a process that ends lets go."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cashier.errors import CashierError
from cashier.services.locks import hold_station


def test_a_station_is_held_once_and_let_go(settings):
    first = hold_station(settings)
    with pytest.raises(CashierError, match="已在"):
        hold_station(settings)
    first.release()
    hold_station(settings).release()  # free again


def test_a_second_cashier_on_the_same_station_does_not_start(settings, station):
    held = hold_station(settings)
    try:
        env = {**os.environ, "CASHIER_CONFIG": "", "CASHIER_DATA_DIR": str(settings.data_dir)}
        if settings.database_url:
            env["CASHIER_DATABASE_URL"] = settings.database_url
        proc = subprocess.run(
            [sys.executable, "-m", "cashier"],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        held.release()
    assert proc.returncode != 0
    assert "同一收费台不能同时打开两次" in proc.stderr and "Traceback" not in proc.stderr
    if not settings.database_url:
        assert str(os.getpid()) in proc.stderr  # who holds it


def test_a_lock_nobody_keeps_is_still_held(settings):
    """The command line takes the lock and does not keep the object; on PostgreSQL a
    connection that is garbage collected would let its advisory lock go."""
    import gc

    from cashier.services import locks

    hold_station(settings)  # not kept
    gc.collect()
    try:
        with pytest.raises(CashierError, match="已在"):
            hold_station(settings)
    finally:
        for lock in list(locks._HELD):
            lock.release()
