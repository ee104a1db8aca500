"""PostgreSQL deployment (issue 7): ``cashier init`` on a PostgreSQL server, and several
counters sharing one database, each with its own gap-free receipt numbers and msgids
that never repeat. A real PostgreSQL server on loopback (tests/support/pg.py), whatever
``CASHIER_TEST_DB`` says."""

from __future__ import annotations

import threading
from dataclasses import replace

import psycopg
import pytest

from cashier.config import settings_from_dict
from cashier.insurer import journal
from cashier.services.checkout import Checkout
from cashier.services.operators import Role, SignedIn
from cashier.services.station import open_station
from cashier.store import SCHEMA_VERSION
from cashier.store.models import ReceiptCounter, Sale, database
from tests.support.cli import run

CASHIER = SignedIn("1001", "王小美", Role.CASHIER)


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_init_creates_and_migrates_a_postgresql_database_and_again_is_a_no_op(
    pg_database, tmp_path
):
    config = tmp_path / "station.toml"
    proc = run(
        "init",
        "--config",
        str(config),
        "--database",
        pg_database,
        "--station",
        "MZ-01",
        data_dir=tmp_path / "d",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"版本 {SCHEMA_VERSION}" in proc.stdout and "postgresql://" in proc.stdout
    assert pg_database in config.read_text()  # the counter opens the same database later
    assert not (tmp_path / "d" / "cashier.db").exists()  # nothing went to SQLite
    versions = query(pg_database, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))
    tables = {t for (t,) in query(pg_database, "SELECT tablename FROM pg_tables")}
    assert {"sale", "receipt_counter", "msgid_counter", "shift", "insurer_call"} <= tables
    before = query(pg_database, "SELECT count(*) FROM item")[0][0]
    assert before > 0  # the training station's demo catalog
    stations = query(pg_database, "SELECT station_id FROM station")
    assert stations == [("MZ-01",)]

    # A second counter needs the first one's station key: refused without it, clearly.
    keyless = run("init", "--config", str(tmp_path / "two.toml"), "--database", pg_database,
                  "--station", "MZ-02", data_dir=tmp_path / "d2")  # fmt: skip
    assert keyless.returncode == 1 and "--key-file" in keyless.stderr
    # A second init (another counter, same server) migrates nothing and duplicates nothing.
    again = run(
        "init",
        "--key-file",
        str(tmp_path / "d" / "station.key"),
        "--config",
        str(tmp_path / "two.toml"),
        "--database",
        pg_database,
        "--station",
        "MZ-02",
        data_dir=tmp_path / "d2",
    )
    assert again.returncode == 0, again.stderr
    assert query(pg_database, "SELECT version FROM schema_version ORDER BY version") == versions
    assert query(pg_database, "SELECT count(*) FROM item")[0][0] == before
    assert sorted(query(pg_database, "SELECT station_id FROM station")) == [
        ("MZ-01",),
        ("MZ-02",),
    ]


def test_init_names_an_unreachable_server_without_its_password(tmp_path, pg_server):
    url = f"postgresql://app:s3cret@127.0.0.1:{pg_server.port}/no_such_database"
    proc = run("init", "--config", str(tmp_path / "c.toml"), "--database", url, data_dir=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no_such_database" in proc.stderr and "s3cret" not in proc.stderr


@pytest.fixture
def two_stations(pg_database, tmp_path):
    base = settings_from_dict({}, data_dir=tmp_path / "data")
    stations = [
        replace(base, database_url=pg_database, station_id=s, station_name=f"收费台 {s}")
        for s in ("MZ-01", "MZ-02")
    ]
    for s in stations:
        open_station(s)
    yield [s.station_id for s in stations]
    database.close()


def test_two_stations_sell_concurrently_with_gap_free_receipt_numbers(two_stations):
    per_station = 60
    errors: list[BaseException] = []
    start = threading.Barrier(len(two_stations))

    def counter(station_id: str) -> None:
        try:
            start.wait()
            for n in range(per_station):
                co = Checkout(station_id, CASHIER)
                co.scan("Y00001" if n % 2 else "Y00004")
                plan = co.start_payment()
                plan.exact_cash()
                co.complete(plan)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()  # this thread's connection

    threads = [threading.Thread(target=counter, args=(s,)) for s in two_stations]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for station_id in two_stations:
        sales = Sale.select().where(Sale.station == station_id).order_by(Sale.receipt_seq)
        assert [s.receipt_seq for s in sales] == list(range(1, per_station + 1))  # gap-free
        assert len({s.receipt_no for s in sales}) == per_station
        assert all(station_id in s.receipt_no for s in sales)
        assert ReceiptCounter.get_by_id(station_id).last_no == per_station
    receipt_nos = [s.receipt_no for s in Sale.select()]
    assert len(receipt_nos) == len(set(receipt_nos)) == 2 * per_station


def test_msgid_sequence_never_repeats_across_stations(two_stations):
    per_thread = 150
    got: list[list[int]] = [[] for _ in range(4)]  # two threads a station

    def take(mine: list[int]) -> None:
        try:
            for _ in range(per_thread):
                mine.append(journal.next_msgid_seq())
        finally:
            database.close()

    threads = [threading.Thread(target=take, args=(g,)) for g in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    every = [n for g in got for n in g]
    assert len(every) == 4 * per_thread
    # unique, and here without a hole: one process hands out its reserved blocks in order
    # (other processes' blocks would leave holes, never repeats: tests/integration/test_journal.py)
    assert sorted(every) == list(range(1, 4 * per_thread + 1))
    for g in got:
        assert g == sorted(g)  # each counter's own numbers only go up


def test_counters_starting_at_once_on_a_new_database_migrate_it_once(pg_database):
    """After an upgrade every counter may start at the same moment: one migrates, the
    others wait for it and find the schema up to date (no "already exists" crash)."""
    import subprocess
    import sys

    code = f"from cashier.store import connect, migrate; print(migrate(connect({pg_database!r})))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == [str(SCHEMA_VERSION)] * 4
    versions = query(pg_database, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))  # each once
    assert query(pg_database, "SELECT count(*) FROM audit_head") == [(1,)]
