"""Start-up recovery of settlements the insurer committed but no sale finished (design: "The
sale life cycle"): they are cancelled with the insurer (2208 / 2103), once, over real HTTP
against the sandbox insurer on loopback."""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

import pytest

from cashier.domain.money import Fen
from cashier.insurer import journal, protocol, recovery
from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.insurer.recovery import CancelOutcome
from cashier.services import audit
from cashier.services.station import recover_insurer_calls
from cashier.store.models import AuditEntry, InsuredSettlement, InsurerCall, Sale
from cashier_sandbox import state
from tests.support.insurer import (
    OPERATOR,
    Visit,
    fault,
    identify_by_qr,
    open_clinic_visit,
    settle_args,
    settle_pharmacy,
)

STATION = "TRAIN-01"
AMOXICILLIN = ("XJ01CAA870A002937171150", "12.50", "2")  # 甲类
CEFIXIME = ("XJ01DDA089A009462477698", "26.80", "1")  # 乙类 0.20


@pytest.fixture
def sandbox(insurer):
    return insurer.sandbox


@pytest.fixture
def client(insurer):
    return insurer.client


def money_state(psn_no: str) -> tuple[Fen, Fen, Fen]:
    p = state.Person.get_by_id(psn_no)
    return p.balance, p.deductible_used, p.pooled_paid


def settle_clinic(client, visit: Visit, total: Fen, sale_key: str = "SALE-1") -> dict:
    """2206 then 2207, journaled with the context the counter writes."""
    pre = client.call(
        "2206",
        protocol.input_2206(**settle_args(visit, total)),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )["setlinfo"]
    args = settle_args(visit, total)
    args.update(
        invono="",
        fulamt_ownpay_amt=protocol.money(pre["fulamt_ownpay_amt"]),
        overlmt_selfpay=protocol.money(pre["overlmt_selfpay"]),
        preselfpay_amt=protocol.money(pre["preselfpay_amt"]),
        inscp_scp_amt=protocol.money(pre["inscp_scp_amt"]),
    )
    return client.call(
        "2207",
        protocol.input_2207(**args),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={
            "psn_no": visit.psn_no,
            "mdtrt_id": visit.mdtrt_id,
            "sale_key": sale_key,
            "operator_name": OPERATOR[1],
            "kind": "clinic",
            "insuplc_admdvs": visit.insuplc_admdvs,
        },
    )


class Settled(NamedTuple):
    before: tuple[Fen, Fen, Fen]  # the person's money before the settlement
    visit: Visit
    total: Fen
    done: dict  # the 2207 output


def clinic_settled(client, sandbox, person: str = "P001") -> Settled:
    before = money_state(person)
    visit = identify_by_qr(client, sandbox, person)
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN, CEFIXIME])
    done = settle_clinic(client, visit, total)
    assert money_state(person) != before  # the insurer took the money
    return Settled(before, visit, total, done)


def cancel_at_counter(client, visit: Visit, setl_id: str, context: dict | None = None) -> None:
    client.call(
        "2208",
        protocol.input_2208(setl_id=setl_id, mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context=context,
    )


def sandbox_settlement(msgid: str) -> state.Settlement:
    return state.Settlement.get(state.Settlement.msgid == msgid)


def lookup(client, psn_no: str, setl_id: str) -> dict:
    return client.call(
        "5203", protocol.input_5203(psn_no=psn_no, setl_id=setl_id), operator=OPERATOR
    )


def assert_audit_clean(psn_no: str, token: str) -> None:
    certno = state.Person.get_by_id(psn_no).certno
    for entry in AuditEntry.select():
        assert certno not in entry.detail and token not in entry.detail
        assert certno not in entry.subject and token not in entry.subject
    assert audit.verify().ok


def test_clinic_settlement_never_tendered_is_cancelled_once(client, sandbox):
    before, visit, total, done = clinic_settled(client, sandbox)
    call = InsurerCall.get_by_id(done["_msgid"])
    assert [c.msgid for c in recovery.unfinished_settlements(STATION)] == [call.msgid]

    results = recovery.cancel_unfinished(client, STATION)

    setl_id = done["setlinfo"]["setl_id"]
    assert [(r.msgid, r.infno, r.status, r.setl_id) for r in results] == [
        (call.msgid, "2207", CancelOutcome.CANCELLED, setl_id)
    ]
    assert protocol.money(results[0].output["setlinfo"]["medfee_sumamt"]) == -total
    # The insurer's own records: cancelled by our 2208, looked up as refunded, the money back.
    row = sandbox_settlement(call.msgid)
    assert row.cancelled and row.cancel_msgid == results[0].cancel_msgid
    assert lookup(client, visit.psn_no, setl_id)["setlinfo"]["refd_setl_flag"] == "1"
    assert money_state("P001") == before
    # The cancellation is journaled as the original operator's, naming what it cancelled.
    cancel = InsurerCall.get_by_id(results[0].cancel_msgid)
    assert (cancel.infno, cancel.status, cancel.operator) == ("2208", Status.OK, OPERATOR[0])
    assert journal.context_of(cancel)["omsgid"] == call.msgid
    assert json.loads(journal.request_of(cancel))["opter_name"] == OPERATOR[1]
    entry = AuditEntry.get(AuditEntry.action == "insurer.cancel_unfinished")
    detail = json.loads(entry.detail)
    assert (entry.subject, detail["outcome"], detail["setl_id"]) == (
        call.msgid,
        "cancelled",
        setl_id,
    )
    assert detail["medfee_sumamt"] == str(total)
    assert_audit_clean(visit.psn_no, visit.cert_no)

    # A second run finds nothing and sends nothing.
    calls = InsurerCall.select().count()
    assert recovery.unfinished_settlements(STATION) == []
    assert recovery.cancel_unfinished(client, STATION) == []
    assert InsurerCall.select().count() == calls
    assert money_state("P001") == before

    # The patient can be settled again (with a fresh 医保码): the visit's fees are free again.
    again = identify_by_qr(client, sandbox, "P001")
    again.mdtrt_id = visit.mdtrt_id
    assert settle_clinic(client, again, total)["setlinfo"]["setl_id"] != setl_id


def test_pharmacy_settlement_never_tendered_is_cancelled_once(client, sandbox):
    before = money_state("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    done = settle_pharmacy(client, visit)
    assert money_state("P001")[0] == before[0] - Fen(2500)
    call = InsurerCall.get_by_id(done["_msgid"])
    assert journal.context_of(call)["mdtrt_id"] == ""

    results = recovery.cancel_unfinished(client, STATION)

    assert [(r.infno, r.status) for r in results] == [("2102", CancelOutcome.CANCELLED)]
    cancel = InsurerCall.get_by_id(results[0].cancel_msgid)
    assert cancel.infno == "2103" and cancel.status == Status.OK
    # The visit id came from the settlement's answer, not from the (empty) context.
    sent = json.loads(journal.request_of(cancel))["input"]["data"]
    assert sent["mdtrt_id"] == done["setlinfo"]["mdtrt_id"] != ""
    row = sandbox_settlement(call.msgid)
    assert row.cancelled and row.cancel_msgid == cancel.msgid
    assert (
        lookup(client, visit.psn_no, done["setlinfo"]["setl_id"])["setlinfo"]["refd_setl_flag"]
        == "1"
    )
    assert money_state("P001") == before
    assert recovery.cancel_unfinished(client, STATION) == []
    assert money_state("P001") == before
    assert_audit_clean(visit.psn_no, visit.cert_no)


def test_a_finished_sale_is_left_alone(client, sandbox):
    before, visit, total, done = clinic_settled(client, sandbox)
    info = protocol.Settlement.from_json(done).setlinfo
    sale = Sale.create(
        station=STATION,
        operator="1001",
        status="completed",
        kind="insured",
        receipt_seq=1,
        receipt_no="TRAIN-01-000001",
        total=total,
        paid=info.psn_cash_pay,
    )
    InsuredSettlement.create(
        sale=sale,
        station=STATION,
        kind="clinic",
        msgid=done["_msgid"],
        setl_id=info.setl_id,
        mdtrt_id=visit.mdtrt_id,
        psn_no=visit.psn_no,
        psn_name="张*三",
        certno="1101**********1234",
        insutype=visit.insutype,
        med_type="11",
        medfee_sumamt=info.medfee_sumamt,
        fund_pay_sumamt=info.fund_pay_sumamt,
        hifp_pay=info.hifp_pay,
        acct_pay=info.acct_pay,
        psn_cash_pay=info.psn_cash_pay,
        balc=info.balc,
        setlinfo=protocol.dumps(done["setlinfo"]),
    )
    settled = money_state("P001")
    assert recovery.unfinished_settlements(STATION) == []
    assert recovery.cancel_unfinished(client, STATION) == []
    assert not sandbox_settlement(done["_msgid"]).cancelled
    assert money_state("P001") == settled != before
    assert not InsurerCall.select().where(InsurerCall.infno == "2208").exists()


def test_one_cancelled_at_the_counter_is_left_alone(client, sandbox):
    before, visit, _, done = clinic_settled(client, sandbox)
    setl_id = done["setlinfo"]["setl_id"]
    # The counter cancels (the patient could not pay), as the contract says it journals it.
    cancel_at_counter(
        client,
        visit,
        setl_id,
        {
            "psn_no": visit.psn_no,
            "setl_id": setl_id,
            "mdtrt_id": visit.mdtrt_id,
            "omsgid": done["_msgid"],
            "insuplc_admdvs": visit.insuplc_admdvs,
            "sale_key": "SALE-1",
        },
    )
    assert money_state("P001") == before
    assert recovery.unfinished_settlements(STATION) == []
    assert recovery.cancel_unfinished(client, STATION) == []
    assert InsurerCall.select().where(InsurerCall.infno == "2208").count() == 1
    assert money_state("P001") == before


def test_in_doubt_settlement_found_committed_then_never_finished_is_cancelled(client, sandbox):
    before = money_state("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN, CEFIXIME])
    fault(sandbox, "drop_after_commit", "2207")  # the insurer commits; the answer is lost
    with pytest.raises(InsurerInDoubt):
        settle_clinic(client, visit, total)
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert sandbox_settlement(call.msgid)  # committed at the insurer
    # The counter resolved it and went on with the sale (as cashier/insured.py does) ...
    [resolution] = recovery.resolve_all(client, STATION, can_continue=lambda c, o: True)
    assert resolution.status == Status.COMMITTED
    stored = InsurerCall.get_by_id(call.msgid)
    assert "infcode" not in json.loads(
        journal.response_of(stored)
    )  # the 5203 output, not an envelope
    # ... and then the power went: no sale was written.
    results = recovery.cancel_unfinished(client, STATION)
    assert [(r.msgid, r.status) for r in results] == [(call.msgid, CancelOutcome.CANCELLED)]
    assert results[0].setl_id == resolution.output["setlinfo"]["setl_id"]
    assert sandbox_settlement(call.msgid).cancelled
    assert money_state("P001") == before
    assert recovery.cancel_unfinished(client, STATION) == []


def test_a_cancel_left_in_doubt_is_resolved_at_the_next_start_and_not_sent_again(
    client, sandbox, settings, insurer
):
    before, _, _, done = clinic_settled(client, sandbox)
    fault(sandbox, "drop_after_commit", "2208")  # the insurer cancels; the answer is lost
    with pytest.raises(InsurerUnavailable, match="稍后将再次核实"):
        recovery.cancel_unfinished(client, STATION)
    cancel = InsurerCall.get(InsurerCall.infno == "2208")
    assert cancel.status == Status.IN_DOUBT
    assert sandbox_settlement(done["_msgid"]).cancelled
    assert money_state("P001") == before

    # Next start: the 2208 is found done (5203 no longer finds the settlement); nothing resent.
    results = recover_insurer_calls(settings, insurer)
    assert [(r.msgid, r.infno, r.status) for r in results] == [
        (cancel.msgid, "2208", Status.COMMITTED)
    ]
    assert InsurerCall.select().where(InsurerCall.infno == "2208").count() == 1
    assert money_state("P001") == before
    assert recover_insurer_calls(settings, insurer) == []


def test_a_cancel_that_did_not_happen_is_sent_again_at_the_next_start(
    client, sandbox, settings, insurer
):
    before, _, _, done = clinic_settled(client, sandbox)
    fault(sandbox, "http500", "2208")  # a gateway error page: in doubt, nothing done
    with pytest.raises(InsurerUnavailable):
        recover_insurer_calls(settings, insurer)
    assert not sandbox_settlement(done["_msgid"]).cancelled

    results = recover_insurer_calls(settings, insurer)
    assert [(r.infno, r.status) for r in results] == [
        ("2208", Status.NOT_COMMITTED),
        ("2207", CancelOutcome.CANCELLED),
    ]
    assert sandbox_settlement(done["_msgid"]).cancel_msgid == results[1].cancel_msgid
    assert money_state("P001") == before
    assert recover_insurer_calls(settings, insurer) == []


def test_already_cancelled_at_the_insurer_counts_as_done(client, sandbox):
    before, visit, _, done = clinic_settled(client, sandbox)
    setl_id = done["setlinfo"]["setl_id"]
    # Cancelled by some other way the journal cannot tie to this settlement.
    cancel_at_counter(client, visit, setl_id)
    results = recovery.cancel_unfinished(client, STATION)
    assert [r.status for r in results] == [CancelOutcome.ALREADY_CANCELLED]
    assert "已撤销" in results[0].error
    assert InsurerCall.get_by_id(results[0].cancel_msgid).status == Status.REFUSED
    assert money_state("P001") == before  # given back once, not twice
    assert recovery.unfinished_settlements(STATION) == []
    assert recovery.cancel_unfinished(client, STATION) == []


def test_a_refused_cancel_is_reported_and_tried_again(client, sandbox):
    # A settlement the insurer does not know (say, its records were repaired by hand).
    msgid = protocol.make_msgid(
        client.caller.fixmedins_code, datetime.now(), journal.next_msgid_seq()
    )
    journal.begin(
        msgid,
        STATION,
        "2207",
        OPERATOR[0],
        "{}",
        {"psn_no": "P001", "mdtrt_id": "MD-GONE", "sale_key": "S9", "operator_name": OPERATOR[1]},
    )
    journal.finish(
        msgid,
        Status.COMMITTED,
        response=protocol.dumps({"setlinfo": {"setl_id": "ST-GONE", "mdtrt_id": "MD-GONE"}}),
    )
    [result] = recovery.cancel_unfinished(client, STATION)
    assert result.status == CancelOutcome.REFUSED and "不存在" in result.error
    assert [c.msgid for c in recovery.unfinished_settlements(STATION)] == [msgid]
    entry = AuditEntry.get(AuditEntry.action == "insurer.cancel_unfinished")
    assert json.loads(entry.detail)["outcome"] == "refused"


def test_start_up_looks_for_unfinished_settlements_even_with_nothing_in_doubt(
    client, sandbox, settings, insurer
):
    before, _, _, done = clinic_settled(client, sandbox)
    call = InsurerCall.get_by_id(done["_msgid"])
    assert journal.unresolved(STATION) == []
    # A settlement journaled after start-up began is a sale in progress, not an orphan.
    assert recovery.unfinished_settlements(STATION, before=call.created_at) == []
    # Another station's settlement is that station's business.
    assert recovery.unfinished_settlements("OTHER-02") == []

    results = recover_insurer_calls(settings, insurer)
    assert [(r.msgid, r.status) for r in results] == [(call.msgid, CancelOutcome.CANCELLED)]
    assert money_state("P001") == before
    assert recover_insurer_calls(settings, insurer) == []
