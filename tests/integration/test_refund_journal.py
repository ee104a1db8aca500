"""Refunds as safe as sales (issue 17, item 1): the refund's intent is committed before the
2208 is sent; a lost answer, a crash or a retry never leaves the insurer cancelled and the
books not, and a retry is never blocked by its own earlier attempt. Over HTTP against the
sandbox on loopback."""

from __future__ import annotations

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.insurer.client import InsurerInDoubt
from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.refunds import approve, execute, plan_refund
from cashier.services.station import recover_insurer_calls
from cashier.store.models import InsuredSettlement, InsurerCall, Refund, RefundIntent, Sale
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, TERBINAFINE, qr
from tests.support.insurer import fault


@pytest.fixture
def supervisor(station, settings):
    return approve(settings.station_id, "9001", "9999")


def insured_sale(insurer, settings, who):
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, who)
    co.identify(insurance.identify_qr(qr(insurer, "P001"), who), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    for code in (AMOXICILLIN, TERBINAFINE):
        co.add(catalog.find_by_scan(code))
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.add(Method.CASH, plan.remaining)
    return insurance, Sale.get_by_id(co.complete(plan).sale_id)


def refund(settings, sale, insurance, cashier, supervisor):
    return execute(
        settings, plan_refund(sale), requested_by=cashier, approved_by=supervisor,
        completed_by=cashier, reason="患者要求", insurance=insurance,
    )  # fmt: skip


def books_and_insurer_agree(sale: Sale, setl_id: str) -> None:
    cancelled_there = state.Settlement.get(state.Settlement.setl_id == setl_id).cancelled
    row = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert cancelled_there == (row.status == "cancelled")
    assert cancelled_there == (Sale.get_by_id(sale.id).status == "refunded")
    assert not RefundIntent.select().where(RefundIntent.status == "pending").exists()


def test_a_lost_cancellation_answer_is_finished_by_the_next_try(
    insurer, settings, cashier_1001, supervisor
):
    insurance, sale = insured_sale(insurer, settings, cashier_1001)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id
    before = state.Person.get_by_id("P001").balance
    fault(insurer.sandbox, "drop_after_commit", "2208")
    with pytest.raises(InsurerInDoubt):
        refund(settings, sale, insurance, cashier_1001, supervisor)
    # The insurer cancelled; the books do not know yet, and say the refund is pending.
    assert state.Settlement.get(state.Settlement.setl_id == setl_id).cancelled
    assert RefundIntent.get(RefundIntent.sale == sale.id).status == "pending"
    done = refund(settings, sale, insurance, cashier_1001, supervisor)  # the cashier tries again
    assert InsurerCall.select().where(InsurerCall.infno == "2208").count() == 1  # not resent
    assert Refund.get_by_id(done.refund_id).cancel_msgid
    books_and_insurer_agree(sale, setl_id)
    assert state.Person.get_by_id("P001").balance > before  # the account part went back once


def test_a_lost_cancellation_answer_is_finished_at_the_next_start(
    insurer, settings, cashier_1001, supervisor
):
    insurance, sale = insured_sale(insurer, settings, cashier_1001)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id
    fault(insurer.sandbox, "drop_after_commit", "2208")
    with pytest.raises(InsurerInDoubt):
        refund(settings, sale, insurance, cashier_1001, supervisor)
    resumed = recover_insurer_calls(settings, insurer)
    messages = [r.message for r in resumed if hasattr(r, "message")]
    assert any("补记退款" in m for m in messages)
    books_and_insurer_agree(sale, setl_id)
    assert Refund.get(Refund.sale == sale.id).completed_by == cashier_1001.code
    assert recover_insurer_calls(settings, insurer) == []  # nothing left to do


def test_a_cancellation_that_never_arrived_leaves_the_sale_as_it_was(
    insurer, settings, cashier_1001, supervisor
):
    insurance, sale = insured_sale(insurer, settings, cashier_1001)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id
    fault(insurer.sandbox, "http500", "2208")  # nothing done there
    with pytest.raises(InsurerInDoubt):
        refund(settings, sale, insurance, cashier_1001, supervisor)
    resumed = recover_insurer_calls(settings, insurer)
    assert any(getattr(r, "outcome", "") == "undone" for r in resumed)
    books_and_insurer_agree(sale, setl_id)
    assert Sale.get_by_id(sale.id).status == "completed"
    done = refund(settings, sale, insurance, cashier_1001, supervisor)  # and it can be refunded
    assert Refund.get_by_id(done.refund_id)
    books_and_insurer_agree(sale, setl_id)


def test_the_insurer_saying_already_cancelled_finishes_the_refund(
    insurer, settings, cashier_1001, supervisor
):
    insurance, sale = insured_sale(insurer, settings, cashier_1001)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id
    from tests.support.insurer import admin

    admin(insurer.sandbox, "/sandbox/admin/plant", {"kind": "cancelled_there", "setl_id": setl_id})
    done = refund(settings, sale, insurance, cashier_1001, supervisor)
    assert Refund.get_by_id(done.refund_id).acct_returned > Fen(0)
    books_and_insurer_agree(sale, setl_id)


def test_a_refund_that_died_after_the_insurer_answered_is_finished_at_the_next_start(
    insurer, settings, cashier_1001, supervisor, monkeypatch
):
    """The process dies between the 2208's answer and the local commit (here: the commit
    fails once): the intent and the journal say what happened, and the start finishes it."""
    from cashier.services import refunds

    insurance, sale = insured_sale(insurer, settings, cashier_1001)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id
    real = refunds._record

    def dies(*args, **kwargs):
        raise KeyboardInterrupt  # not a CashierError: nothing catches it on the way out

    monkeypatch.setattr(refunds, "_record", dies)
    with pytest.raises(KeyboardInterrupt):
        refund(settings, sale, insurance, cashier_1001, supervisor)
    assert InsurerCall.get(InsurerCall.infno == "2208").status == "ok"
    assert Sale.get_by_id(sale.id).status == "completed"  # the books do not know yet
    monkeypatch.setattr(refunds, "_record", real)
    resumed = recover_insurer_calls(settings, insurer)
    assert [r.outcome for r in resumed if hasattr(r, "outcome")] == ["done"]
    books_and_insurer_agree(sale, setl_id)
    assert InsurerCall.select().where(InsurerCall.infno == "2208").count() == 1
