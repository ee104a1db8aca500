"""Reconciliation with the insurer (3201 totals, 3202 details) over the training station's
sandbox on real HTTP: a day that matches, disagreements planted in the sandbox found one
by one with the local receipt, another day empty."""

from __future__ import annotations

import json
import time
import urllib.error
from datetime import date, datetime, timedelta

import pytest

from cashier.domain.money import Fen
from cashier.errors import InputError, NotAllowed
from cashier.insurer import protocol
from cashier.insurer.protocol import ReconDetail
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.reconcile import (
    Difference,
    MismatchKind,
    compare,
    local_settlements,
    parse_day,
    reconcile_day,
    utc_bounds,
)
from cashier.services.refunds import execute, plan_refund
from cashier.store.models import AuditEntry, InsuredSettlement, Sale
from cashier_sandbox import state
from tests.support.counter import (
    AMOXICILLIN,
    CEFIXIME,
    CLINIC,
    PHARMACY,
    TERBINAFINE,
    insured_sale,
    plant,
    qr,
    ring_up,
)
from tests.support.insurer import OPERATOR

fen = Fen.parse


def settlement_of(sale: Sale) -> InsuredSettlement:
    return InsuredSettlement.get(InsuredSettlement.sale == sale.id)


def today() -> date:
    return date.today()


def test_a_day_whose_settlements_all_match(insurer, settings, cashier_1001, supervisor_9001):
    a = insured_sale(insurer, settings, cashier_1001, "P001", AMOXICILLIN, CEFIXIME)
    b = insured_sale(insurer, settings, cashier_1001, "P004", AMOXICILLIN, TERBINAFINE)
    c = insured_sale(insurer, settings, cashier_1001, "P002", AMOXICILLIN, kind=PHARMACY)
    # Refunded in full: cancelled here and at the insurer, so neither side counts it.
    refunded = insured_sale(insurer, settings, cashier_1001, "P001", CEFIXIME)
    execute(
        settings, plan_refund(refunded), requested_by=cashier_1001, approved_by=supervisor_9001,
        completed_by=cashier_1001, reason="患者退药", insurance=Insurance(insurer.client, settings),
    )  # fmt: skip
    assert settlement_of(refunded).status == "cancelled"
    # Settled, then cancelled before the patient paid (2208): the insurer drops it, no local row.
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P004"), cashier_1001), CLINIC)
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN)
    insurance.presettle(co)
    insurance.settle(co)
    co.start_payment()
    insurance.cancel(co, "患者无法支付")
    assert state.Settlement.select().where(state.Settlement.cancelled == True).count() == 2  # noqa: E712

    result = reconcile_day(insurer.client, settings, today(), supervisor_9001)

    assert result.balanced and not result.mismatches
    assert result.fixmedins_code == settings.clinic_code
    by_group = {(g.insutype, g.clr_type): g for g in result.groups}
    assert list(by_group) == [("310", "11"), ("310", "41"), ("390", "11")]
    assert all(g.balanced and g.stmt_rslt == "0" for g in result.groups)
    rows = {s: settlement_of(s) for s in (a, b, c)}
    employee = by_group["310", "11"].ours
    assert employee.count == 1 and employee.medfee_sumamt == rows[a].medfee_sumamt
    assert employee.fund_pay_sumamt == rows[a].fund_pay_sumamt
    assert employee.acct_pay == rows[a].acct_pay
    assert by_group["390", "11"].ours.medfee_sumamt == b.total
    assert by_group["310", "41"].ours.acct_pay == rows[c].acct_pay == c.total
    assert sorted(m.receipt_no for m in result.matched) == sorted(s.receipt_no for s in (a, b, c))
    assert result.insurer_count == 3
    assert result.ours.medfee_sumamt == a.total + b.total + c.total
    entry = AuditEntry.select().where(AuditEntry.action == "insurer.reconcile").get()
    assert entry.operator == "9001" and entry.subject == today().isoformat()
    assert json.loads(entry.detail)["balanced"] is True

    with pytest.raises(NotAllowed):
        reconcile_day(insurer.client, settings, today(), cashier_1001)  # supervisors only


def test_planted_disagreements_are_each_found_with_the_receipt(
    insurer, settings, cashier_1001, supervisor_9001
):
    a = insured_sale(insurer, settings, cashier_1001, "P001", AMOXICILLIN, CEFIXIME)
    b = insured_sale(insurer, settings, cashier_1001, "P004", AMOXICILLIN)
    c = insured_sale(insurer, settings, cashier_1001, "P002", AMOXICILLIN, kind=PHARMACY)
    ra, rb = settlement_of(a), settlement_of(b)

    # 1. The insurer has a settlement the cashier never stored.
    lost = plant(insurer, kind="lost_here", fixmedins_code=settings.clinic_code, person="P003")
    lost_id = lost["setlinfo"]["setl_id"]
    # 2. The insurer's record of sale a says another total.
    moved = plant(insurer, kind="amount_differs", setl_id=ra.setl_id, delta="1.00")
    assert protocol.money(moved["after"]) == ra.medfee_sumamt + fen("1.00")
    # 3. The insurer cancelled sale b and the cashier never heard.
    plant(insurer, kind="cancelled_there", setl_id=rb.setl_id)
    # 4. A settlement this counter made whose sale never completed (a crash before tender).
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P005"), cashier_1001), CLINIC)
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN)
    insurance.presettle(co)
    crashed = insurance.settle(co).setlinfo.setl_id

    result = reconcile_day(insurer.client, settings, today(), supervisor_9001)

    assert not result.balanced
    verdicts = {(g.insutype, g.clr_type): g.balanced for g in result.groups}
    assert verdicts == {("310", "11"): False, ("390", "11"): False, ("310", "41"): True}
    assert [m.receipt_no for m in result.matched] == [c.receipt_no]
    assert result.insurer_count == 4  # a (moved), c, the planted one and the crashed one

    (differs,) = result.of_kind(MismatchKind.AMOUNT_DIFFERS)
    assert differs.receipt_no == a.receipt_no and differs.setl_id == ra.setl_id
    assert differs.differences == (
        Difference("medfee_sumamt", ra.medfee_sumamt, ra.medfee_sumamt + fen("1.00")),
    )
    assert "医疗费总额" in differs.summary and differs.local.sale_id == a.id

    (gone,) = result.of_kind(MismatchKind.MISSING_AT_INSURER)
    assert gone.receipt_no == b.receipt_no and gone.theirs is None
    assert gone.local.psn_name == rb.psn_name and "*" in gone.local.certno

    here = {m.setl_id: m for m in result.of_kind(MismatchKind.MISSING_HERE)}
    assert set(here) == {lost_id, crashed}
    assert here[lost_id].local is None and here[lost_id].receipt_no == ""
    assert here[lost_id].theirs.medfee_sumamt == fen("10.00")
    assert here[lost_id].msgid == lost["msgid"] and "没有" in here[lost_id].note
    assert "收费未完成" in here[crashed].note  # the journal knows the 2207 it sent

    # Another day: nothing here, nothing at the insurer.
    empty = reconcile_day(insurer.client, settings, today() - timedelta(days=1), supervisor_9001)
    assert empty.balanced and empty.groups == () and empty.mismatches == ()
    assert empty.insurer_count == 0 and empty.matched == ()


def test_planting_keeps_the_sandbox_consistent(insurer, settings, cashier_1001):
    before = state.Person.get_by_id("P003").balance
    lost = plant(
        insurer,
        kind="lost_here",
        fixmedins_code=settings.clinic_code,
        person="P003",
        clr_type="41",
        lines=[{"med_list_codg": "XJ01CAA870A002937171150", "pric": "12.50", "cnt": "2"}],
    )
    setlinfo = lost["setlinfo"]
    assert setlinfo["clr_type"] == "41" and protocol.money(setlinfo["medfee_sumamt"]) == fen(
        "25.00"
    )
    acct = protocol.money(setlinfo["acct_pay"])
    assert acct > Fen(0) and state.Person.get_by_id("P003").balance == before - acct
    setl_id = setlinfo["setl_id"]
    plant(insurer, kind="amount_differs", setl_id=setl_id, field="fund_pay_sumamt", delta="-0.01")
    # 5203 still answers the settlement as sent, and it adds up (the client checks it).
    looked_up = insurer.client.call(
        "5203", protocol.input_5203(psn_no="P003", setl_id=setl_id), operator=OPERATOR
    )
    assert protocol.money(looked_up["setlinfo"]["fund_pay_sumamt"]) == Fen(0)
    plant(insurer, kind="cancelled_there", setl_id=setl_id)
    assert state.Person.get_by_id("P003").balance == before  # cancelled: the account is whole

    for body, why in (
        ({"kind": "nonsense"}, "kind"),
        ({"kind": "amount_differs", "setl_id": setl_id, "field": "acct_pay"}, "field"),
        ({"kind": "amount_differs", "setl_id": "ST-NONE"}, "不存在"),
        ({"kind": "cancelled_there", "setl_id": setl_id}, "已撤销"),
        ({"kind": "lost_here", "fixmedins_code": settings.clinic_code, "person": "P007"}, "备案"),
    ):
        with pytest.raises(urllib.error.HTTPError) as caught:
            plant(insurer, **body)
        assert caught.value.code == 400
        assert why in json.loads(caught.value.read())["error"]


def test_the_day_is_the_one_the_insurer_books(insurer, settings, cashier_1001, monkeypatch):
    sale = insured_sale(insurer, settings, cashier_1001, "P001", AMOXICILLIN)
    row = settlement_of(sale)
    yesterday = today() - timedelta(days=1)
    start, _ = utc_bounds(today())
    # Paid a minute after midnight, settled by the insurer before it: still the insurer's day.
    setlinfo = json.loads(row.setlinfo)
    setlinfo["setl_time"] = f"{yesterday.isoformat()} 23:59:30"
    InsuredSettlement.update(
        settled_at=start + timedelta(minutes=1), setlinfo=json.dumps(setlinfo)
    ).where(InsuredSettlement.id == row.id).execute()
    assert [s.receipt_no for s in local_settlements(yesterday)] == [sale.receipt_no]
    assert local_settlements(today()) == []
    # Without the insurer's time, the local day of settled_at.
    InsuredSettlement.update(setlinfo="{}").where(InsuredSettlement.id == row.id).execute()
    assert [s.receipt_no for s in local_settlements(today())] == [sale.receipt_no]

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert utc_bounds(date(2026, 5, 1)) == (datetime(2026, 4, 30, 16), datetime(2026, 5, 1, 16))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_matching_rules(station):
    def detail(setl_id, msgid="", medfee="10.00", refd="0"):
        return ReconDetail(
            setl_id=setl_id, msgid=msgid, medfee_sumamt=fen(medfee), fund_pay_sumamt=Fen(0),
            acct_pay=Fen(0), refd_setl_flag=refd,
        )  # fmt: skip

    def ours(setl_id, msgid, medfee="10.00"):
        from cashier.services.reconcile import LocalSettlement

        return LocalSettlement(
            sale_id=1, receipt_no="R1", station="S", operator="1001", kind=CLINIC,
            status="settled", setl_id=setl_id, msgid=msgid, mdtrt_id="", insutype="310",
            clr_type="11", med_type="11", psn_name="张*", certno="1101**1", medfee_sumamt=fen(medfee),
            fund_pay_sumamt=Fen(0), acct_pay=Fen(0), psn_cash_pay=fen(medfee),
            sale_total=fen(medfee), settled_at=datetime(2026, 5, 1, 9), day=date(2026, 5, 1),
        )  # fmt: skip

    # by setl_id; by msgid when one side has no setl_id; a cancelled row at the insurer is none
    matched, mismatches = compare(
        [ours("S1", "M1"), ours("", "M2"), ours("S3", "M3")],
        [detail("S1", "MX"), detail("S2", "M2"), detail("S3", "M3", refd="1")],
    )
    assert [m.setl_id for m in matched] == ["S1", ""]
    assert [(m.kind, m.setl_id) for m in mismatches] == [(MismatchKind.MISSING_AT_INSURER, "S3")]
    # the same msgid with two different setl_ids is not a match
    matched, mismatches = compare([ours("S1", "M1")], [detail("S9", "M1")])
    assert matched == () and [m.kind for m in mismatches] == [
        MismatchKind.MISSING_AT_INSURER,
        MismatchKind.MISSING_HERE,
    ]


def test_typed_days():
    on = date(2026, 5, 2)
    assert parse_day("", today=on) == on
    assert parse_day("2026-05-01", today=on) == parse_day("20260501", today=on)
    assert parse_day("２０２６/5/1", today=on) == date(2026, 5, 1)
    with pytest.raises(InputError, match="不是日期"):
        parse_day("2026-13-01", today=on)
    with pytest.raises(InputError, match="未来"):
        parse_day("2026-05-03", today=on)
