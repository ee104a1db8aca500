"""Load (issue 7): N counters — separate processes, each its own station — selling at once
against one PostgreSQL server and one sandbox insurer on loopback, insured and self-pay.

Afterwards: no receipt number or msgid twice, every sale there, no insurer call left
pending or in doubt, and the end-of-day report's totals equal the sales' sums taken by
independent SQL. Bounded in time: a counter that hangs (a deadlock, a lost lock) fails
the test instead of hanging it.

Size: ``LOAD_COUNTERS`` × ``LOAD_SALES`` (default 8 × 40, the CI run); the issue's
figure is ``LOAD_SALES=500``. ``LOAD_TIMEOUT`` (seconds) bounds the selling.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
import pytest

from cashier.config import Settings, settings_from_dict
from cashier.domain.money import Fen
from cashier.insurer.journal import Status
from cashier.services.operators import Role, SignedIn
from cashier.store.models import database

COUNTERS = int(os.environ.get("LOAD_COUNTERS", "8"))
SALES = int(os.environ.get("LOAD_SALES", "40"))
TIMEOUT_S = float(os.environ.get("LOAD_TIMEOUT", str(max(120, SALES * 2))))
INSURED_EVERY = 5  # one sale in five is insured
ITEMS = ("Y00001", "Y00004", "Y00036", "S00001")
CASHIER = ("1001", "王小美")


def station_settings(base: Settings, n: int) -> Settings:
    sid = f"MZ-{n:02d}"
    return replace(base, station_id=sid, station_name=f"收费台 {sid}", kind="clinic")


def counter(url: str, sandbox_url: str, data_dir: str, n: int, sales: int, key: str) -> dict:
    """One counter process: open its station (with the clinic's one station key), sell
    ``sales`` times, say what it sold."""
    from cashier.domain.tender import Method
    from cashier.services import catalog
    from cashier.services.checkout import Checkout
    from cashier.services.insured import Insurance
    from cashier.services.station import connect_insurer, open_station
    from tests.support.insurer import admin

    base = settings_from_dict({}, data_dir=Path(data_dir))
    settings = station_settings(replace(base, database_url=url, key_file=key), n)
    settings = replace(settings, insurer=replace(settings.insurer, url=sandbox_url, timeout_s=30))
    open_station(settings, seed=False)
    connection = connect_insurer(settings)
    insurance = Insurance(connection.client, settings)
    who = SignedIn(*CASHIER, Role.CASHIER)

    class Sandbox:  # what insurer_helpers.admin needs of a running sandbox
        url = sandbox_url

    sold = []
    started = time.monotonic()
    for i in range(sales):
        co = Checkout(settings.station_id, who)
        insured = i % INSURED_EVERY == n % INSURED_EVERY
        if insured:
            person = ("P001", "P002")[i % 2]
            payload = admin(Sandbox, "/sandbox/admin/qr", {"person": person})["payload"]
            co.identify(insurance.identify_qr(payload, who), "clinic")
            insurance.set_diagnosis(
                co, "J06.900", "急性上呼吸道感染"
            )  # a walk-in clinic bill needs one
        for k in range(1 + (i + n) % 3):
            co.add(catalog.find_by_scan(ITEMS[(i + k + n) % len(ITEMS)]))
        if insured:
            insurance.presettle(co)
            insurance.settle(co)
        plan = co.start_payment()
        if not plan.complete:
            if i % 3 == 0:  # a round note: change is given
                plan.add(Method.CASH, Fen((plan.remaining.fen // 10_000 + 1) * 10_000))
            elif i % 3 == 1:
                plan.add(Method.WECHAT, plan.remaining, f"4200{n:02d}{i:08d}")
            else:
                plan.exact_cash()
        done = co.complete(plan)
        sold.append((done.sale_id, done.receipt_no, insured))
    elapsed = time.monotonic() - started
    connection.close()
    database.close()
    return {"station": settings.station_id, "sold": sold, "elapsed": elapsed}


def one(url: str, sql: str):
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()


@pytest.mark.slow
def test_counters_sell_at_once_on_one_postgresql_and_one_insurer(pg_database, tmp_path):
    from cashier.reports.eod import eod_report
    from cashier.services.station import open_station
    from cashier_sandbox import state
    from cashier_sandbox.server import make_insurer, start_in_thread

    base = settings_from_dict({}, data_dir=tmp_path / "setup")
    url = pg_database
    # The clinic's set-up, done once: schema, demo operators and catalog, every station.
    for n in range(1, COUNTERS + 1):
        open_station(station_settings(replace(base, database_url=url), n)).close()
    insurer = make_insurer(
        tmp_path / "insurer", paasid=base.insurer.paasid, secret=base.insurer.secret
    )
    sandbox = start_in_thread(insurer)
    context = multiprocessing.get_context("spawn")  # no fork of open connections/threads
    pool = ProcessPoolExecutor(max_workers=COUNTERS, mp_context=context)
    started = time.monotonic()
    try:
        futures = [
            pool.submit(
                counter, url, sandbox.url, str(tmp_path / f"c{n}"), n, SALES, str(base.key_path)
            )
            for n in range(1, COUNTERS + 1)
        ]
        _done, late = wait(futures, timeout=TIMEOUT_S)
        if late:
            for proc in list(pool._processes.values()):
                proc.kill()
            pytest.fail(f"{len(late)} of {COUNTERS} counters still selling after {TIMEOUT_S:.0f} s")
        results = [f.result() for f in futures]  # a counter's exception fails the test here
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        sandbox.stop()
        if not state.sandbox_db.is_closed():
            state.sandbox_db.close()
    wall = time.monotonic() - started
    total = COUNTERS * SALES
    insured = sum(1 for r in results for s in r["sold"] if s[2])
    print(
        f"\nload: {COUNTERS} counters x {SALES} sales = {total} sales ({insured} insured) "
        f"in {wall:.1f} s wall; per counter {min(r['elapsed'] for r in results):.1f}"
        f"–{max(r['elapsed'] for r in results):.1f} s; {total / wall:.0f} sales/s"
    )

    # every sale there, none twice
    assert sum(len(r["sold"]) for r in results) == total
    assert one(url, "SELECT count(*) FROM sale WHERE status = 'completed'")[0] == total
    assert one(url, "SELECT count(DISTINCT receipt_no), count(*) FROM sale") == (total, total)
    ids = {s[0] for r in results for s in r["sold"]}
    assert len(ids) == total
    # each station's receipt numbers gap-free: 1..SALES
    for r in results:
        row = one(
            url,
            "SELECT count(*), min(receipt_seq), max(receipt_seq), count(DISTINCT receipt_seq) "
            f"FROM sale WHERE station_id = '{r['station']}'",
        )
        assert row == (SALES, 1, SALES, SALES), r["station"]
    # msgids: never twice, every insurer call resolved
    calls, distinct = one(url, "SELECT count(*), count(DISTINCT msgid) FROM insurer_call")
    assert calls == distinct and calls >= insured  # each settlement (2207) journaled
    assert one(url, "SELECT max(value) FROM msgid_counter")[0] >= calls
    unresolved = (Status.PENDING.value, Status.IN_DOUBT.value)
    pending = one(url, f"SELECT count(*) FROM insurer_call WHERE status IN {unresolved}")
    assert pending == (0,)
    settled = one(url, "SELECT count(*), count(DISTINCT setl_id) FROM insured_settlement")
    assert settled == (insured, insured)

    # the end-of-day report equals the sums taken straight from the tables
    sales_total, sales_n = one(url, "SELECT sum(total), count(*) FROM sale")
    received = (
        one(url, "SELECT sum(amount) FROM tender")[0] - one(url, "SELECT sum(change) FROM sale")[0]
    )
    fund, acct, cash = one(
        url,
        "SELECT sum(fund_pay_sumamt), sum(acct_pay), sum(psn_cash_pay) FROM insured_settlement",
    )
    open_station(station_settings(replace(base, database_url=url), 1), seed=False)
    report = eod_report(date.today()).total
    assert report.sales == sales_n == total
    assert report.insured_sales == insured and report.selfpay_sales == total - insured
    assert report.sales_total == Fen(int(sales_total))
    assert report.received == Fen(int(received))
    assert report.settled.fund_pay_sumamt == Fen(int(fund))
    assert report.settled.acct_pay == Fen(int(acct))
    assert report.settled.psn_cash_pay == Fen(int(cash))
    # what the patients paid plus what the insurer pays is the whole of the sales
    assert report.received + report.settled.fund_pay_sumamt + report.settled.acct_pay == (
        report.sales_total
    )
    by_station = {f.station: f for f in eod_report(date.today()).stations}
    assert {s: f.sales for s, f in by_station.items()} == {r["station"]: SALES for r in results}
