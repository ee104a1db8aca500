"""Crash safety (issue 7, design rule 6): the counter process is killed (SIGKILL) at each step
of an insured clinic visit and started again; every run must end with the books balanced,
the insurer and the database agreeing, no settlement charged twice and no completed sale lost.
And a power cut in the middle of committing writes leaves a whole SQLite database.

The sandbox insurer runs in this process (``start_in_thread``), so it outlives the counter;
the counter is ``tests/support/crash_driver.py`` in a subprocess, armed with ``CASHIER_CRASH_AT``
(:mod:`cashier.faults`). See docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cashier.domain.money import Fen
from cashier.services import orders
from cashier_sandbox import state
from tests.support.crash_driver import PERSON, station_settings
from tests.support.crash_run import ROOT, Run, driver, expect_death

START_BALANCE = Fen.parse("20.00")  # the account pays part, cash the rest


@dataclass(frozen=True)
class Case:
    name: str
    visit_crash: str  # the crash point of the visit (``none``: it runs to the end)
    restart_crashes: tuple[str, ...] = ()  # crash points of restarts that die too
    sale_kept: bool = False  # the visit's sale must survive (committed before the crash)
    expected: str = ""  # what the restart must end with, as the table says it
    kind: str = "clinic"  # pharmacy: 2101 / 2102 / 2103 instead of 2206 / 2207 / 2208


CASES = (
    Case("no crash", "none", sale_kept=True, expected="sale kept, receipt printed"),
    Case(
        "before 2207 is sent",
        "before_send:2207",
        expected="2207 not_committed (5203 none, 2601 tombstone), no sale",
    ),
    Case(
        "after 2207 is sent",
        "after_send:2207",
        expected="2207 reversed (5203 found it, 2601), no sale",
    ),
    Case(
        "after 2207's answer",
        "after_answer:2207",
        expected="settlement cancelled (2208), no sale",
    ),
    Case("during tender", "tender", expected="settlement cancelled (2208), no sale"),
    Case(
        "after the local commit",
        "after_commit",
        sale_kept=True,
        expected="sale kept, receipt printed at restart",
    ),
    Case(
        "during printing",
        "printing",
        sale_kept=True,
        expected="sale kept, receipt printed at restart",
    ),
    # The restart dies too, in the middle of its own recovery, and starts again.
    Case(
        "answer, then restart dies before 2208 is sent",
        "after_answer:2207",
        ("before_send:2208",),
        expected="settlement cancelled (2208), no sale",
    ),
    Case(
        "answer, then restart dies after 2208 is sent",
        "after_answer:2207",
        ("after_send:2208",),
        expected="settlement cancelled (2208), no sale",
    ),
    Case(
        "2207 sent, then restart dies after 2601 is sent",
        "after_send:2207",
        ("after_send:2601",),
        # The first restart's 2601 reversed it; the second sees that 2601 in the journal,
        # finishes it and marks the 2207 reversed: no second 2601, no second lookup.
        expected="2207 reversed (5203 found it, 2601), no sale",
    ),
    Case(
        "printing, then restart dies printing too",
        "printing",
        ("printing",),
        sale_kept=True,
        expected="sale kept, receipt printed at restart",
    ),
    # A pharmacy sale: 2102's visit id comes in its answer, so an in-doubt 2102 is
    # reversed by msgid (2601) whether or not the insurer committed it.
    Case(
        "pharmacy: before 2102 is sent",
        "before_send:2102",
        expected="2102 reversed (2601 by msgid), none at insurer, no sale",
        kind="pharmacy",
    ),
    Case(
        "pharmacy: after 2102 is sent",
        "after_send:2102",
        expected="2102 reversed (2601 by msgid), cancelled at insurer, no sale",
        kind="pharmacy",
    ),
    Case(
        "pharmacy: after 2102's answer",
        "after_answer:2102",
        expected="settlement cancelled (2103), no sale",
        kind="pharmacy",
    ),
    Case(
        "pharmacy: during tender",
        "tender",
        expected="settlement cancelled (2103), no sale",
        kind="pharmacy",
    ),
    Case(
        "pharmacy: after the local commit",
        "after_commit",
        sale_kept=True,
        expected="sale kept, receipt printed at restart",
        kind="pharmacy",
    ),
)


# -- running the counter -------------------------------------------------------------------------
# -- checking the books ------------------------------------------------------------------------
@dataclass
class Books:
    sales: int
    settlement: str  # what became of the visit's first 2207
    receipt: str
    recovery: str


def check_books(settings, case: Case, visit: Run, restart: Run) -> Books:
    """Every promise of docs/reliability.md, on the station database and the sandbox's."""
    from cashier.insurer import journal, recovery
    from cashier.services import audit
    from cashier.services.station import open_station
    from cashier.store.models import ClinicOrder, InsuredSettlement, InsurerCall, PrintJob, Sale

    ctx = open_station(settings, seed=False)
    try:
        station = settings.station_id
        completed = list(Sale.select().where(Sale.status == "completed").order_by(Sale.receipt_seq))
        # Receipt numbers gap-free; every sale whole and balanced to the fen.
        assert [s.receipt_seq for s in completed] == list(range(1, len(completed) + 1))
        local = {}
        for sale in completed:
            assert Fen.total(ln.amount for ln in sale.lines) == sale.total
            assert Fen.total(t.amount for t in sale.tenders) == sale.paid
            setl = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
            assert setl.medfee_sumamt == sale.total
            assert setl.fund_pay_sumamt + setl.acct_pay + setl.psn_cash_pay == sale.total
            assert sale.paid - sale.change == setl.psn_cash_pay
            assert setl.setl_id not in local, f"{setl.setl_id} charged twice"
            local[setl.setl_id] = (setl.medfee_sumamt, setl.fund_pay_sumamt, setl.acct_pay)
            # Printed exactly once, as the original, and the receipt is there.
            assert sale.printed, f"{sale.receipt_no} not printed"
            jobs = PrintJob.select().where(PrintJob.sale == sale.id, PrintJob.kind == "receipt")
            assert [j.status for j in jobs] == ["printed"], [j.status for j in jobs]
            assert (settings.receipts_dir / f"{sale.receipt_no}.pdf").exists()
        # The insurer and the database agree, one to one by setl_id, to the fen.
        live = {
            s.setl_id: (s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay)
            for s in state.Settlement.select().where(
                state.Settlement.cancelled == False  # noqa: E712 - SQL
            )
        }
        assert live == local, f"insurer {live} != counter {local}"
        # No visit settled twice at the insurer.
        visits = [s.mdtrt_id for s in state.Settlement.select().where(~state.Settlement.cancelled)]
        assert len(visits) == len(set(visits))
        # The patient's account: what the completed sales took, no more, no less.
        balance = state.Person.get_by_id(PERSON).balance
        assert balance == START_BALANCE - Fen.total(v[2] for v in local.values())
        # Nothing left in doubt, nothing settled and abandoned.
        assert journal.unresolved(station) == []
        assert recovery.unfinished_settlements(station) == []
        # A sale committed before the crash is never lost.
        kept = 2 if case.sale_kept else 1  # the visit's own sale + the one after the restart
        assert len(completed) == kept, f"{len(completed)} sales, {kept} expected"
        if visit.reached("completed"):
            first = next(s for s in visit.steps if s["step"] == "completed")
            assert Sale.get_by_id(first["sale_id"]).receipt_no == first["receipt_no"]
        if case.kind == "clinic":
            # The doctor's order is billed once, by the first sale that completed (the visit's
            # own, or the try after the restart), whose lines it gave.
            order = ClinicOrder.get(orders.of_patient("11010519780312001X"))
            assert order.status == "billed" and order.sale_id == completed[0].id
        assert audit.verify().ok
        call = (
            InsurerCall.select()
            .where(InsurerCall.infno.in_(("2207", "2102")))
            .order_by(InsurerCall.created_at)
            .first()
        )
        theirs = state.Settlement.get_or_none(state.Settlement.msgid == call.msgid)
        at_insurer = "none" if theirs is None else "cancelled" if theirs.cancelled else "live"
        return Books(
            sales=len(completed),
            settlement=f"{call.infno}/{call.status}/{at_insurer}",
            receipt="printed at restart"
            if any(s["step"] == "reprinted" for s in restart.steps)
            else ("printed" if visit.reached("printed") else "-"),
            recovery=", ".join(
                f"{s['infno']} {s['outcome']}" for s in restart.steps if s["step"] == "recovered"
            )
            or "-",
        )
    finally:
        ctx.close()


def outcome_of(case: Case, books: Books) -> str:
    """The restart's end, in the table's words, from what the databases hold."""
    infno, status, at_insurer = books.settlement.split("/")
    if case.sale_kept:
        return f"sale kept, receipt {books.receipt}"
    if infno == "2102":
        if status == "reversed":
            return f"2102 reversed (2601 by msgid), {at_insurer} at insurer, no sale"
        if status == "ok" and at_insurer == "cancelled":
            return "settlement cancelled (2103), no sale"
        return f"2102 {status}, insurer {at_insurer}"
    if status == "not_committed" and at_insurer == "none":
        return "2207 not_committed (5203 none, 2601 tombstone), no sale"
    if status == "reversed" and at_insurer == "cancelled":
        return "2207 reversed (5203 found it, 2601), no sale"
    if status == "not_committed" and at_insurer == "cancelled":
        return "2207 reversed (2601, journal says not_committed), no sale"
    if status == "ok" and at_insurer == "cancelled":
        return "settlement cancelled (2208), no sale"
    return f"2207 {status}, insurer {at_insurer}"


def run_case(tmp: Path, case: Case) -> tuple[Books, str]:
    from cashier_sandbox.server import make_insurer, start_in_thread

    sandbox = start_in_thread(make_insurer(tmp / "insurer"))
    # A counter killed while the insurer answers leaves it a broken pipe: expected, not news.
    sandbox.server.handle_error = lambda request, client_address: None
    try:
        state.Person.update(balance=START_BALANCE).where(state.Person.psn_no == PERSON).execute()
        settings = station_settings(tmp / "station", sandbox.url, case.kind)
        visit = driver(settings.data_dir, sandbox.url, case.visit_crash, kind=case.kind)
        if case.visit_crash == "none":
            assert visit.returncode == 0 and visit.reached("printed"), visit.stderr[-1500:]
        else:
            expect_death(visit, case.visit_crash)
        for crash_at in case.restart_crashes:
            expect_death(
                driver(settings.data_dir, sandbox.url, crash_at, "restart", case.kind), crash_at
            )
        restart = driver(settings.data_dir, sandbox.url, "none", "restart", case.kind)
        assert restart.returncode == 0 and restart.reached("done"), restart.stderr[-1500:]
        # The counter sells again after the restart: the same patient, a fresh 医保码.
        again = driver(settings.data_dir, sandbox.url, "none", kind=case.kind)
        assert again.returncode == 0 and again.reached("printed"), again.stderr[-1500:]
        books = check_books(settings, case, visit, restart)
        return books, outcome_of(case, books)
    finally:
        sandbox.stop()
        state.sandbox_db.close()


def test_crash_matrix(tmp_path, capsys, request, monkeypatch):
    """On SQLite, or (CASHIER_TEST_DB=postgres) each case on its own PostgreSQL database."""
    from tests.support.tools import USE_POSTGRES

    rows, failures = [], []
    for n, case in enumerate(CASES):
        if USE_POSTGRES:
            server = request.getfixturevalue("pg_server")
            monkeypatch.setenv("CASHIER_DATABASE_URL", server.url(server.create_database()))
        try:
            books, outcome = run_case(tmp_path / f"case{n}", case)
            assert outcome == case.expected, f"ended with {outcome!r}"
            rows.append((case, outcome, books, "ok"))
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
            rows.append((case, str(exc).splitlines()[0][:60], None, "FAIL"))
    width = max(len(c.name) for c in CASES)
    database = "PostgreSQL" if USE_POSTGRES else "SQLite"
    lines = [
        "",
        f"crash matrix on {database} (the counter's database; the insurer is the sandbox's)",
        f"{'step':<{width}}  {'outcome after restart':<62}  {'recovery':<36}  result",
        "-" * (width + 110),
    ]
    for case, outcome, books, result in rows:
        recovery = books.recovery if books else ""
        lines.append(f"{case.name:<{width}}  {outcome:<62}  {recovery:<36}  {result}")
    with capsys.disabled():
        print("\n".join(lines))
    assert not failures, "\n".join(failures)


# -- power loss on SQLite --------------------------------------------------------------------
@pytest.mark.sqlite_only("a power cut during SQLite's own writes")
def test_kill_during_committing_writes_leaves_a_whole_database(tmp_path, capsys):
    """SIGKILL a process completing self-pay sales back to back, at a random moment, five
    times over the same database: it opens, passes integrity_check, every sale in it is
    whole, receipt numbers are gap-free and no sale the process reported completed is lost."""
    from cashier.services import audit
    from cashier.services.station import open_station
    from cashier.store.models import PrintJob, ReceiptCounter, Sale, SaleLine, Tender, database

    settings = station_settings(tmp_path / "station", "http://127.0.0.1:9")
    open_station(settings).close()  # seed once, so each run starts writing at once
    rng = random.Random(7)
    reported: list[str] = []
    env = {k: v for k, v in os.environ.items() if k != "CASHIER_CRASH_AT"}
    for _ in range(5):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.crash_driver",
                str(settings.data_dir),
                "-",
                "none",
                "selfpay-loop",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        target = rng.randint(5, 40)
        seen = 0
        for line in proc.stdout:
            step = json.loads(line)
            if step["step"] == "sale":
                reported.append(step["receipt_no"])
                seen += 1
                if seen >= target:
                    break
        time.sleep(rng.random() * 0.02)  # somewhere inside the next sale's transaction
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, stderr[-1500:]

        con = sqlite3.connect(settings.data_dir / "cashier.db")
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
        ctx = open_station(settings, seed=False)
        try:
            assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
            sales = list(Sale.select().order_by(Sale.receipt_seq))
            assert all(s.status == "completed" for s in sales)
            seqs = [s.receipt_seq for s in sales]
            assert seqs == list(range(1, len(sales) + 1))
            assert ReceiptCounter.get_by_id(settings.station_id).last_no == len(sales)
            for s in sales:
                lines = list(SaleLine.select().where(SaleLine.sale == s.id))
                tenders = list(Tender.select().where(Tender.sale == s.id))
                assert lines and tenders
                assert Fen.total(ln.amount for ln in lines) == s.total
                assert Fen.total(t.amount for t in tenders) == s.paid
                assert s.paid - s.change == s.total
                assert PrintJob.select().where(PrintJob.sale == s.id).count() == 1
            have = {s.receipt_no for s in sales}
            assert set(reported) <= have, f"lost: {sorted(set(reported) - have)}"
            assert audit.verify().ok
        finally:
            ctx.close()
    with capsys.disabled():
        print(
            f"\npower cut x5 during committing writes: {len(have)} sales whole, "
            f"{len(reported)} reported all present, integrity ok, receipts gap-free"
        )


@pytest.mark.parametrize("name", ["before_send:2207", "after_commit"])
def test_an_unarmed_crash_point_does_nothing(name, monkeypatch):
    from cashier import faults

    monkeypatch.setattr(faults, "_AT", None)
    faults.crash_point(name)
    monkeypatch.setattr(faults, "_AT", "somewhere_else")
    faults.crash_point("before_send", "2207")
    faults.crash_point("after_send", lambda: "2207")
