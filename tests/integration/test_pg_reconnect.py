"""A database server that comes and goes (issue 17, item 11): on a PostgreSQL counter, the
server restarted or stopped and started while a bill is open, while a sale completes and
during a refund: no traceback, nothing lost, nothing twice, and the counter goes on by
itself once the server is back."""

from __future__ import annotations

import threading

import pytest

from cashier.domain.tender import Method
from cashier.errors import CashierError
from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.refunds import approve, execute, find_refundable, plan_refund
from cashier.store import connect
from cashier.store.db import ConnectionLost, on_connection_lost
from cashier.store.models import Refund, Sale, database
from tests.support.counter import AMOXICILLIN, CEFIXIME
from tests.support.tools import USE_POSTGRES

pytestmark = pytest.mark.skipif(not USE_POSTGRES, reason="PostgreSQL's server going away")


def bill(settings, who) -> tuple[Checkout, object]:
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan(AMOXICILLIN))
    co.add(catalog.find_by_scan(CEFIXIME))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.remaining)
    return co, plan


def kill_my_connection() -> None:
    """What a server restart does to this counter's connection, at an exact moment."""
    import psycopg

    pid = database.connection().info.backend_pid
    params = database.obj.connect_params
    with psycopg.connect(autocommit=True, dbname=database.obj.database, **params) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_restart_while_a_bill_is_open(station, settings, cashier_1001, pg_server):
    seen = []
    on_connection_lost(lambda: seen.append(1))
    co, plan = bill(settings, cashier_1001)
    pg_server.restart()
    done = co.complete(plan)  # the BEGIN finds the connection gone: re-opened, then the sale
    assert Sale.select().count() == 1 and Sale.get().receipt_no == done.receipt_no
    assert seen  # the screen was told 数据库连接中断，正在重连…


def test_stopped_during_completion_then_started(station, settings, cashier_1001, pg_server):
    co, plan = bill(settings, cashier_1001)
    pg_server.stop_server()
    try:
        with pytest.raises(ConnectionLost, match="重连"):
            co.complete(plan)  # a clear message; the bill and its payment stay
        with pytest.raises(CashierError):
            catalog.find_by_scan(AMOXICILLIN)  # a scan says so too, never a traceback
    finally:
        pg_server.start_server()
    done = co.complete(plan)  # the same press again, once the server is back
    assert [s.receipt_no for s in Sale.select()] == [done.receipt_no]


def test_connection_lost_inside_the_sale_is_written_once(
    station, settings, cashier_1001, monkeypatch
):
    from cashier.services import audit

    real = audit.sale_digest
    calls = []

    def dying_digest(sale_id):
        calls.append(sale_id)
        if len(calls) == 1:
            kill_my_connection()  # mid-transaction: nothing of it is committed
        return real(sale_id)

    monkeypatch.setattr(audit, "sale_digest", dying_digest)
    co, plan = bill(settings, cashier_1001)
    done = co.complete(plan)
    assert len(calls) == 2  # the first transaction died; the sale was written once after it
    assert [s.receipt_no for s in Sale.select()] == [done.receipt_no]


def test_a_commit_whose_answer_is_lost_is_kept_once(station, settings, cashier_1001, monkeypatch):
    db = database.obj
    real_commit = type(db).commit
    lost = []

    def commit_then_lose_the_answer(self):
        real_commit(self)
        if not lost:
            lost.append(1)
            kill_my_connection()
            raise ConnectionLost()

    monkeypatch.setattr(type(db), "commit", commit_then_lose_the_answer)
    co, plan = bill(settings, cashier_1001)
    done = co.complete(plan)  # looked up by its own id: found, not written again
    assert lost and [s.receipt_no for s in Sale.select()] == [done.receipt_no]


def test_a_refund_through_a_lost_connection(station, settings, cashier_1001, monkeypatch):
    from cashier.services import audit

    co, plan = bill(settings, cashier_1001)
    sale = Sale.get_by_id(co.complete(plan).sale_id)
    supervisor = approve(settings.station_id, "9001", "9999")
    real = audit.refund_digest
    monkeypatch.setattr(audit, "refund_digest", lambda rid: (kill_my_connection(), real(rid))[1])
    refund = plan_refund(find_refundable(sale.receipt_no))
    with pytest.raises(ConnectionLost):
        execute(settings, refund, requested_by=cashier_1001, approved_by=supervisor,
                completed_by=cashier_1001, reason="退药")  # fmt: skip
    monkeypatch.setattr(audit, "refund_digest", real)
    assert Sale.get_by_id(sale.id).status == "completed" and not Refund.select().exists()
    execute(settings, plan_refund(find_refundable(sale.receipt_no)), requested_by=cashier_1001,
            approved_by=supervisor, completed_by=cashier_1001, reason="退药")  # fmt: skip
    assert Refund.select().count() == 1 and Sale.get_by_id(sale.id).status == "refunded"


def test_the_start_waits_for_the_server(station, settings, pg_server):
    said = []
    database.close()
    pg_server.stop_server()
    result = {}

    def start() -> None:
        try:
            result["db"] = connect(settings.db_url, wait_s=300, on_wait=said.append)
        except Exception as exc:
            result["error"] = exc

    starter = threading.Thread(target=start)
    starter.start()
    try:
        while not said and starter.is_alive():  # until it says it is waiting
            starter.join(0.05)
    finally:
        pg_server.start_server()
    starter.join()
    assert "error" not in result and said and "等待数据库服务器" in said[0]
    assert Sale.select().count() == 0
