"""The crash matrix of refunds, voids and shift closes (issue 17): the counter is killed
(SIGKILL) at each step of a refund of an insured clinic sale — before the 2208 is sent, after
it is sent, after its answer, after the local commit, while the slip prints, and a partial
refund between its cancellation and the new sale of the kept lines — or loses the 2208's
answer; it starts again, and the cashier finishes what is left. After every row the insurer
and the books agree, the refund is done exactly once, the patient's account is whole, every
slip is printed and the audit chain verifies. On SQLite, and on PostgreSQL in CI's second pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cashier.domain.money import Fen
from cashier_sandbox import state
from tests.support.crash_driver import PERSON, station_settings
from tests.support.crash_run import driver, expect_death
from tests.support.insurer import fault

START_BALANCE = Fen.parse("20.00")


@dataclass(frozen=True)
class RefundCase:
    name: str
    crash_at: str  # the refund's crash point (``none``: it runs to the end)
    partial: bool = False
    lost_answer: bool = False  # the 2208's answer is lost on the way (no crash)
    restart_says: str = ""  # a step the restart must report


REFUND_CASES = (
    RefundCase("no crash", "none"),
    RefundCase("before 2208 is sent", "before_send:2208"),
    RefundCase("after 2208 is sent", "after_send:2208"),
    RefundCase("after 2208's answer", "after_answer:2208"),
    RefundCase("2208's answer lost", "none", lost_answer=True),
    RefundCase("after the local commit", "refund_committed", restart_says="slip_printed"),
    RefundCase("while the slip prints", "printing:refund", restart_says="slip_printed"),
    RefundCase(
        "partial: between cancel and re-sale",
        "refund_committed",
        partial=True,
        restart_says="kept_to_sell_again",
    ),
    RefundCase("partial: no crash", "none", partial=True),
)


def check_refund_books(settings, case: RefundCase) -> str:
    """The promises, on the station's database and the sandbox's; the row's outcome."""
    from cashier.services import audit
    from cashier.services.refunds import pending_resales
    from cashier.services.station import open_station
    from cashier.store.models import InsuredSettlement, Refund, RefundIntent, Sale

    ctx = open_station(settings, seed=False)
    try:
        first = Sale.select().order_by(Sale.id).get()
        assert first.status == "refunded", f"the sale is {first.status}"
        refunds = list(Refund.select())
        assert len(refunds) == 1, f"{len(refunds)} refunds"
        refund = refunds[0]
        assert refund.sale_id == first.id and refund.printed
        assert not RefundIntent.select().where(RefundIntent.status == "pending").exists()
        assert pending_resales(settings.station_id) == []
        local = {
            s.setl_id: (s.medfee_sumamt, s.acct_pay)
            for s in InsuredSettlement.select().where(InsuredSettlement.status == "settled")
        }
        live = {
            s.setl_id: (s.medfee_sumamt, s.acct_pay)
            for s in state.Settlement.select().where(~state.Settlement.cancelled)
        }
        assert live == local, f"insurer {live} != counter {local}"
        original = InsuredSettlement.get(InsuredSettlement.sale == first.id)
        assert original.status == "cancelled"
        assert state.Settlement.get_by_id(original.setl_id).cancelled
        balance = state.Person.get_by_id(PERSON).balance
        assert balance == START_BALANCE - Fen.total(v[1] for v in local.values())
        assert audit.verify().ok
        if case.partial:
            kept = Sale.get_by_id(refund.resettled_sale_id)
            assert kept.status == "completed" and kept.total < first.total
            return f"refunded once, kept lines sold again ({kept.receipt_no})"
        assert not local
        return "refunded once, settlement cancelled"
    finally:
        ctx.close()


def run_refund_case(tmp: Path, case: RefundCase) -> str:
    from cashier_sandbox.server import make_insurer, start_in_thread

    sandbox = start_in_thread(make_insurer(tmp / "insurer"))
    sandbox.server.handle_error = lambda request, client_address: None
    try:
        state.Person.update(balance=START_BALANCE).where(state.Person.psn_no == PERSON).execute()
        settings = station_settings(tmp / "station", sandbox.url)
        sale = driver(settings.data_dir, sandbox.url, "none")
        assert sale.returncode == 0 and sale.reached("printed"), sale.stderr[-1500:]
        if case.lost_answer:
            fault(sandbox, "drop_after_commit", "2208")
        mode = "refund-partial" if case.partial else "refund"
        refund = driver(settings.data_dir, sandbox.url, case.crash_at, mode)
        if case.crash_at != "none":
            expect_death(refund, case.crash_at)
        elif not case.lost_answer:
            assert refund.returncode == 0 and refund.reached("printed"), refund.stderr[-1500:]
        restart = driver(settings.data_dir, sandbox.url, "none", "restart")
        assert restart.returncode == 0 and restart.reached("done"), restart.stderr[-1500:]
        if case.restart_says:
            assert restart.reached(case.restart_says), restart.steps
        finish = "finish-partial" if case.partial else "finish"
        done = driver(settings.data_dir, sandbox.url, "none", finish)
        assert done.returncode == 0 and done.reached("done"), done.stderr[-1500:]
        path = [
            f"restart: {s['step']} {s.get('outcome', '')}".strip()
            for s in restart.steps
            if s["step"] in ("refund_resumed", "slip_printed", "kept_to_sell_again")
        ]
        path += [f"then {s['step']}" for s in done.steps if s["step"] in ("refunded", "resold")]
        return f"{check_refund_books(settings, case)}; {', '.join(path) or 'nothing left'}"
    finally:
        sandbox.stop()
        state.sandbox_db.close()


def test_refund_crash_matrix(tmp_path, capsys, request, monkeypatch):
    from tests.support.tools import USE_POSTGRES

    rows, failures = [], []
    for n, case in enumerate(REFUND_CASES):
        if USE_POSTGRES:
            server = request.getfixturevalue("pg_server")
            monkeypatch.setenv("CASHIER_DATABASE_URL", server.url(server.create_database()))
        try:
            rows.append((case.name, run_refund_case(tmp_path / f"r{n}", case), "ok"))
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
            rows.append((case.name, str(exc).splitlines()[0][:100], "FAIL"))
    width = max(len(c.name) for c in REFUND_CASES)
    lines = ["", f"refund crash matrix on {'PostgreSQL' if USE_POSTGRES else 'SQLite'}"]
    lines += [f"{name:<{width}}  {outcome:<100}  {result}" for name, outcome, result in rows]
    with capsys.disabled():
        print("\n".join(lines))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("mode", "crash_at"),
    [("void", "void"), ("close", "shift_close"), ("close", "printing:document")],
)
def test_void_and_shift_close_are_all_or_nothing(tmp_path, monkeypatch, request, mode, crash_at):
    """Killed inside a void or a shift close, or while the Z prints: after the restart the
    books are whole (all of it or none), the audit chain verifies, and the work can be done."""
    from cashier.services import audit, shifts
    from cashier.services.station import open_station
    from cashier.store.models import AuditEntry, Sale, SaleLine, Shift
    from tests.support.tools import USE_POSTGRES

    if USE_POSTGRES:
        server = request.getfixturevalue("pg_server")
        monkeypatch.setenv("CASHIER_DATABASE_URL", server.url(server.create_database()))
    settings = station_settings(tmp_path / "station", "http://127.0.0.1:9")
    expect_death(driver(settings.data_dir, "-", crash_at, mode), crash_at)
    ctx = open_station(settings, seed=False)
    try:
        assert audit.verify().ok
        if mode == "void":
            assert not Sale.select().where(Sale.status == "voided").exists()
            assert not SaleLine.select().exists()
        elif crash_at == "shift_close":
            (shift,) = Shift.select()
            assert shift.status == "open" and shift.z_no is None
            assert not AuditEntry.select().where(AuditEntry.action == "shift.close").exists()
        else:  # the Z is closed and kept; F11 prints it again
            (shift,) = Shift.select()
            z = shifts.z_report_of(shift)
            assert shift.status == "closed" and z.audit_head
    finally:
        ctx.close()
    again = driver(settings.data_dir, "-", "none", mode)
    assert again.returncode == 0 and again.reached("done"), again.stderr[-1500:]
    ctx = open_station(settings, seed=False)
    try:
        assert audit.verify().ok
        if mode == "void":
            assert Sale.select().where(Sale.status == "voided").count() == 1
        else:
            assert Shift.select().where(Shift.status == "closed").exists()
    finally:
        ctx.close()
