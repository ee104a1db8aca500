"""The crash matrix of a 付款码 charge and of a refund through its channel (issue 18): the
counter is killed before the charge is sent, after it is sent, after its answer, after the
sale's commit and in the middle of a reverse; and before a channel refund is sent and after
it is sent. After the restart the payment sandbox's ledger equals the books: every trade
paid there belongs to a completed sale here, every refund there is journaled done here,
nothing is left pending. On SQLite, and on PostgreSQL in CI's second pass."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cashier_sandbox import payments as paysandbox
from tests.support.crash_driver import station_settings
from tests.support.crash_run import driver


@dataclass(frozen=True)
class PayCase:
    name: str
    crash_at: str
    scenario: str = "pay"
    refund: bool = False  # the crash is in a refund of a completed sale
    expected: str = ""


CASES = (
    PayCase("no crash", "none", expected="sale kept, paid once"),
    PayCase("before the charge is sent", "before_send:charge", expected="no sale, not charged"),
    PayCase("after the charge is sent", "after_send:payment", expected="no sale, reversed"),
    PayCase("after the charge's answer", "after_answer:charge", expected="no sale, reversed"),
    PayCase("after the local commit", "after_commit", expected="sale kept, paid once"),
    PayCase("during the reverse", "reverse", "password-cancel", expected="no sale, reversed"),
    PayCase(
        "refund: before it is sent", "before_send:refund", refund=True, expected="refunded once"
    ),
    PayCase(
        "refund: after it is sent", "after_send:payment", refund=True, expected="refunded once"
    ),
)


def run(data_dir: Path, url: str, crash_at: str, mode: str, scenario: str = "pay"):
    return driver(data_dir, url, crash_at, mode, scenario)


def wait_for_ledger(ledger, refund: bool) -> None:
    """A request sent by a process that then died still reaches the gateway: wait until the
    gateway has booked it, so the restart meets what the provider did."""
    for _ in range(500):
        rows = ledger.sql("SELECT COUNT(*) FROM refund" if refund else "SELECT COUNT(*) FROM trade")
        if rows[0][0]:
            return
        time.sleep(0.01)
    raise AssertionError("the request never reached the payment sandbox")


def books(settings, ledger) -> str:
    from cashier.services.station import open_station
    from cashier.store.models import PaymentCharge, PaymentRefund, Sale

    ctx = open_station(settings, seed=False)
    try:
        trades = ledger.trades()
        paid_there = {t.out_trade_no: t.amount for t in trades if t.state == "paid"}
        paid_here = {
            c.out_trade_no: c.amount.fen
            for c in PaymentCharge.select().where(PaymentCharge.state == "paid")
        }
        assert paid_there == paid_here, f"ledger {paid_there} != books {paid_here}"
        for c in PaymentCharge.select().where(PaymentCharge.state == "paid"):
            assert c.sale_id is not None and Sale.get_by_id(c.sale_id).status in (
                "completed",
                "refunded",
            ), f"{c.out_trade_no} paid without a sale"
        assert (
            not PaymentCharge.select()
            .where(PaymentCharge.state.in_(["pending", "in_doubt"]))
            .exists()
        )
        refunded_there = sum(t.refunded for t in trades)
        refunded_here = sum(
            r.amount.fen for r in PaymentRefund.select().where(PaymentRefund.state == "done")
        )
        assert refunded_there == refunded_here, f"refunds {refunded_there} != {refunded_here}"
        assert not PaymentRefund.select().where(PaymentRefund.state == "pending").exists()
        if refunded_there:
            assert refunded_there == sum(t.amount for t in trades if t.state == "paid")
            return "refunded once"
        sales = Sale.select().where(Sale.status == "completed").count()
        if sales:
            return "sale kept, paid once"
        return "no sale, reversed" if trades else "no sale, not charged"
    finally:
        ctx.close()


def run_case(tmp: Path, case: PayCase, provider: str) -> str:
    gateway = paysandbox.start_in_thread(tmp / "payments")
    if provider == "wechat-v3":
        assert gateway.wechat_v3_keys  # made before the driver reads them
    os.environ["CASHIER_PAY_LEDGER"] = str(tmp / "payments" / "paysandbox.db")
    os.environ["CASHIER_PAY_PROVIDER"] = provider
    try:
        settings = station_settings(tmp / "station", gateway.url)
        url = gateway.url
        if case.refund:
            sale = run(settings.data_dir, url, "none", "paycode")
            assert sale.returncode == 0 and sale.reached("printed"), sale.stderr[-1500:]
            first = run(settings.data_dir, url, case.crash_at, "paycode-refund")
        else:
            first = run(settings.data_dir, url, case.crash_at, "paycode", case.scenario)
        if case.crash_at == "none":
            assert first.returncode == 0, first.stderr[-1500:]
        else:
            assert first.returncode == -signal.SIGKILL, (case.crash_at, first.stderr[-1500:])
            if case.crash_at.startswith("after_send"):
                wait_for_ledger(gateway.ledger, case.refund)
        restart = run(settings.data_dir, url, "none", "paycode-restart")
        assert restart.returncode == 0 and restart.reached("done"), restart.stderr[-1500:]
        return books(settings, gateway.ledger)
    finally:
        gateway.stop()
        os.environ.pop("CASHIER_PAY_LEDGER", None)
        os.environ.pop("CASHIER_PAY_PROVIDER", None)


@pytest.mark.parametrize("provider", ["wechat", "wechat-v3", "alipay"])
def test_payment_code_crash_matrix(tmp_path, capsys, request, monkeypatch, provider):
    from tests.support.tools import USE_POSTGRES

    rows, failures = [], []
    for n, case in enumerate(CASES):
        if USE_POSTGRES:
            server = request.getfixturevalue("pg_server")
            monkeypatch.setenv("CASHIER_DATABASE_URL", server.url(server.create_database()))
        try:
            outcome = run_case(tmp_path / f"p{n}", case, provider)
            assert outcome == case.expected, f"ended with {outcome!r}"
            rows.append((case.name, outcome, "ok"))
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
            rows.append((case.name, str(exc).splitlines()[0][:80], "FAIL"))
    width = max(len(c.name) for c in CASES)
    where = "PostgreSQL" if USE_POSTGRES else "SQLite"
    lines = ["", f"付款码 crash matrix, {provider}, on {where}"]
    lines += [f"{name:<{width}}  {outcome:<80}  {result}" for name, outcome, result in rows]
    with capsys.disabled():
        print("\n".join(lines))
    assert not failures, "\n".join(failures)
