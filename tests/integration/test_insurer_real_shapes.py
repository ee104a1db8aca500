"""The client against the sandbox speaking what real gateways send, over HTTP on loopback:
cancellations with nulls, lookups in 5203's names, pharmacy answers without a hospital
share; answers that cannot be read, that belong to someone else, that trickle or that are
too large. Nothing is reversed unless the insurer said it committed."""

from __future__ import annotations

import pytest

from cashier.domain.money import Fen
from cashier.insurer import journal, protocol, recovery
from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.store.models import InsurerCall
from cashier_sandbox import state
from cashier_sandbox.server import make_insurer, start_in_thread
from tests.support.insurer import (
    OPERATOR,
    Visit,
    fault,
    identify_by_qr,
    new_client,
    open_clinic_visit,
    settle,
    settle_pharmacy,
)

AMOXICILLIN = ("XJ01CAA870A002937171150", "12.50", "2")  # 甲类


@pytest.fixture
def sandbox(tmp_path, empty_station):
    running = start_in_thread(make_insurer(tmp_path / "sandbox"))
    yield running
    running.stop()
    state.sandbox_db.close()


@pytest.fixture
def client(sandbox):
    return new_client(sandbox)


def clinic_visit(client, sandbox) -> tuple[Visit, Fen]:
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    return visit, total


def cancel(client, visit: Visit, setl_id: str, infno: str = "2208") -> dict:
    builder = protocol.input_2208 if infno == "2208" else protocol.input_2103
    return client.call(
        infno,
        builder(setl_id=setl_id, mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={"psn_no": visit.psn_no, "setl_id": setl_id, "mdtrt_id": visit.mdtrt_id},
    )


def the_call(infno: str) -> InsurerCall:
    return (
        InsurerCall.select()
        .where(InsurerCall.infno == infno)
        .order_by(InsurerCall.created_at.desc())
        .first()
    )


def reversals() -> int:
    return InsurerCall.select().where(InsurerCall.infno == "2601").count()


def cancelled_at_the_insurer(setl_id: str) -> bool:
    return state.Settlement.get_by_id(setl_id).cancelled


# -- the real shapes, end to end ----------------------------------------------------------------
def test_a_cancellation_answered_with_nulls_completes(client, sandbox):
    visit, total = clinic_visit(client, sandbox)
    _, done = settle(client, visit, total)
    setl_id = done["setlinfo"]["setl_id"]
    answer = cancel(client, visit, setl_id)
    raw = protocol.loads(journal.response_of(the_call("2208")))["output"]["setlinfo"]
    assert raw["psn_part_amt"] is None and raw["hosp_part_amt"] is None  # the real shape
    bill = protocol.Settlement.from_json(answer, negated=True)
    assert bill.setlinfo.medfee_sumamt == -total
    assert cancelled_at_the_insurer(setl_id)


def test_a_lost_cancellation_answer_is_resolved_by_5203(client, sandbox):
    visit, total = clinic_visit(client, sandbox)
    _, done = settle(client, visit, total)
    setl_id = done["setlinfo"]["setl_id"]
    fault(sandbox, "drop_after_commit", "2208")
    with pytest.raises(InsurerInDoubt):
        cancel(client, visit, setl_id)
    result = recovery.resolve(client, the_call("2208"))
    assert result.status == Status.COMMITTED  # 5203: refd_setl_flag 1
    assert cancelled_at_the_insurer(setl_id)


def test_a_cancellation_that_never_arrived_is_found_not_done(client, sandbox):
    visit, total = clinic_visit(client, sandbox)
    _, done = settle(client, visit, total)
    setl_id = done["setlinfo"]["setl_id"]
    fault(sandbox, "http500", "2208")
    with pytest.raises(InsurerInDoubt):
        cancel(client, visit, setl_id)
    assert recovery.resolve(client, the_call("2208")).status == Status.NOT_COMMITTED
    assert not cancelled_at_the_insurer(setl_id)


def test_a_pharmacy_sale_completes_and_is_cancelled_by_2103(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    output = settle_pharmacy(client, visit)
    raw = protocol.loads(journal.response_of(the_call("2102")))["output"]["setlinfo"]
    assert "hosp_part_amt" not in raw  # the real shape
    visit.mdtrt_id = output["setlinfo"]["mdtrt_id"]
    answer = cancel(client, visit, output["setlinfo"]["setl_id"], "2103")
    assert "cash_payamt" in answer["setlinfo"]
    assert protocol.Settlement.from_json(answer, negated=True).setlinfo.medfee_sumamt == Fen(-2500)


def test_an_unreadable_pharmacy_answer_is_looked_up_and_never_reversed(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    fault(sandbox, "break_invariant", "2102")
    with pytest.raises(InsurerInDoubt):
        settle_pharmacy(client, visit)
    call = the_call("2102")
    result = recovery.resolve(client, call, can_continue=lambda c, o: True)
    assert result.status == Status.COMMITTED
    setl_id = result.output["setlinfo"]["setl_id"]
    assert reversals() == 0 and not cancelled_at_the_insurer(setl_id)


def test_a_pharmacy_answer_that_never_came_is_reversed_by_its_msgid(client, sandbox):
    """No answer, so no number to look up by: 冲正 by msgid, committed or not."""
    visit = identify_by_qr(client, sandbox, "P001")
    fault(sandbox, "drop_after_commit", "2102")
    with pytest.raises(InsurerInDoubt):
        settle_pharmacy(client, visit)
    call = the_call("2102")
    assert recovery.resolve(client, call).status == Status.REVERSED
    assert reversals() == 1
    assert state.Settlement.select().where(~state.Settlement.cancelled).count() == 0


def test_an_unreadable_pharmacy_answer_naming_someone_else_holds_the_sale(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    fault(sandbox, "foreign", "2102")
    with pytest.raises(InsurerInDoubt):
        settle_pharmacy(client, visit)
    call = the_call("2102")
    with pytest.raises(recovery.Unresolvable, match=call.msgid):
        recovery.resolve(client, call)
    assert reversals() == 0
    assert Status(InsurerCall.get_by_id(call.msgid).status) == Status.IN_DOUBT
    assert state.Settlement.select().where(~state.Settlement.cancelled).count() == 1


def test_an_unreadable_settlement_with_an_unreadable_lookup_holds_the_bill(client, sandbox):
    visit, total = clinic_visit(client, sandbox)
    fault(sandbox, "break_invariant", "2207")
    fault(sandbox, "malformed", "5203")
    with pytest.raises(InsurerInDoubt):
        settle(client, visit, total)
    call = the_call("2207")
    with pytest.raises(recovery.Unresolvable, match="医保科"):
        recovery.resolve(client, call)
    assert reversals() == 0
    assert journal.Status(InsurerCall.get_by_id(call.msgid).status).unresolved
    # Asked again once the lookup can be read: committed, so start-up recovery reverses it.
    assert recovery.resolve(client, call).status == Status.REVERSED


def test_a_foreign_answer_is_refused_and_never_written_over_the_visit(client, sandbox):
    visit, total = clinic_visit(client, sandbox)
    fault(sandbox, "foreign", "2207")
    with pytest.raises(InsurerInDoubt):
        settle(client, visit, total)
    call = the_call("2207")
    assert "不属于本次请求" in call.error
    result = recovery.resolve(client, call, can_continue=lambda c, o: True)
    assert result.status == Status.COMMITTED
    assert result.output["setlinfo"]["mdtrt_id"] == visit.mdtrt_id
    assert "FOREIGN" not in result.output["setlinfo"]["setl_id"]


def test_a_trickling_answer_ends_at_the_deadline(sandbox):
    client = new_client(sandbox, read_timeout=5, deadline=1.0)
    visit, total = clinic_visit(client, sandbox)
    fault(sandbox, "drip", "2207", delay_ms=100)
    with pytest.raises(InsurerInDoubt, match="未收完应答"):
        settle(client, visit, total)
    assert Status(the_call("2207").status) == Status.IN_DOUBT


def test_an_answer_larger_than_the_cap_is_not_read(sandbox):
    client = new_client(sandbox, max_answer_bytes=1024 * 1024)
    visit, total = clinic_visit(client, sandbox)
    fault(sandbox, "huge", "2206")
    with pytest.raises(InsurerUnavailable, match="应答过大"):
        settle(client, visit, total)


def test_a_lookup_finding_another_total_is_not_taken_for_this_settlement(client, sandbox):
    """The visit was settled for other lines, and this 2207's answer was lost: 5203 by the
    visit finds a settlement, but not of what this call sent. Held, nothing reversed."""
    visit, total = clinic_visit(client, sandbox)
    fault(sandbox, "drop_after_commit", "2207")
    with pytest.raises(InsurerInDoubt):
        settle(client, visit, total)
    call = the_call("2207")
    request = protocol.loads(journal.request_of(call))
    request["input"]["data"]["medfee_sumamt"] = total + Fen(100)  # as if it had sent another
    InsurerCall.update(request=protocol.dumps(request)).where(
        InsurerCall.msgid == call.msgid
    ).execute()
    with pytest.raises(recovery.Unresolvable, match="金额不符"):
        recovery.resolve(client, InsurerCall.get_by_id(call.msgid))
    assert reversals() == 0
