"""Refunds: full and partial, self-pay and insured (over the sandbox on HTTP), and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError, NotAllowed
from cashier.receipts.layout import receipt_text_lines
from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.refunds import approve, execute, find_refundable, plan_refund, refund_receipt
from cashier.store.models import (
    AuditEntry,
    InsuredSettlement,
    InsurerCall,
    Refund,
    RefundTender,
    Sale,
    SaleLine,
    Tender,
)
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, CEFIXIME, TERBINAFINE, qr

fen = Fen.parse


@pytest.fixture
def supervisor(station, settings):
    return approve(settings.station_id, "9001", "9999")


def self_pay_sale(settings, who, *codes, tenders=((Method.CASH, "100.00", ""),)):
    co = Checkout(settings.station_id, who)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    for method, amount, ref in tenders:
        plan.add(
            method, min(fen(amount), plan.remaining) if method != Method.CASH else fen(amount), ref
        )
    return Sale.get_by_id(co.complete(plan).sale_id)


def net_cash(sale) -> Fen:
    return Fen.total(t.amount for t in sale.tenders if t.method == "cash") - sale.change


def test_full_self_pay_refund_reverses_every_tender(station, settings, cashier_1001, supervisor):
    sale = self_pay_sale(
        settings,
        cashier_1001,
        AMOXICILLIN,
        CEFIXIME,
        tenders=((Method.WECHAT, "20.00", "4200000000000001"), (Method.CASH, "50.00", "")),
    )
    plan = plan_refund(find_refundable(sale.receipt_no))
    assert plan.full and not plan.insured and plan.total == sale.total
    done = execute(
        settings, plan, requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="患者退药",
    )  # fmt: skip
    assert dict(done.by_method) == {
        Method.WECHAT: fen("20.00"),
        Method.CASH: sale.total - fen("20.00"),
    }
    assert done.back_to_patient == sale.total and done.new_receipt_no == ""
    refund = Refund.get_by_id(done.refund_id)
    assert (refund.requested_by, refund.approved_by, refund.completed_by) == (
        "1001",
        "9001",
        "1001",
    )
    assert Sale.get_by_id(sale.id).status == "refunded"
    refs = {t.method: t.reference for t in RefundTender.select()}
    assert refs["wechat"] == "4200000000000001"  # electronic money goes back by its reference
    assert AuditEntry.select().where(AuditEntry.action == "sale.refund").count() == 1
    with pytest.raises(InputError, match="已退款"):
        find_refundable(sale.receipt_no)
    slip = "\n".join(
        t
        for _, t in receipt_text_lines(
            refund_receipt(refund, clinic_name="诊所", training=True), 42
        )
    )
    assert "退款凭证" in slip and sale.receipt_no in slip and "退还患者" in slip


def test_partial_self_pay_refund_sells_the_kept_lines_again(
    station, settings, cashier_1001, supervisor
):
    sale = self_pay_sale(
        settings, cashier_1001, AMOXICILLIN, AMOXICILLIN, CEFIXIME,
        tenders=((Method.WECHAT, "30.00", "4200000000000002"), (Method.CASH, "30.00", "")),
    )  # fmt: skip
    lines = {ln.code: ln for ln in sale.lines}
    plan = plan_refund(sale, {lines["Y00001"].id: 1})  # one box of amoxicillin back
    assert not plan.full and plan.total == fen("12.50")
    done = execute(
        settings, plan, requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="多开一盒",
    )  # fmt: skip
    assert done.back_to_patient == fen("12.50")
    assert dict(done.by_method) == {Method.CASH: fen("12.50")}  # cash back, WeChat kept
    new = Sale.get(Sale.receipt_no == done.new_receipt_no)
    assert new.total == sale.total - fen("12.50") and new.status == "completed"
    assert [(ln.code, ln.quantity) for ln in new.lines.order_by(SaleLine.line_no)] == [
        ("Y00001", 1),
        ("Y00004", 1),
    ]
    # the books: what stays with the clinic is what the kept lines cost
    refunded = Fen.total(t.amount for t in RefundTender.select())
    taken = Fen.total(t.amount for t in Tender.select()) - Fen.total(
        s.change for s in Sale.select()
    )
    assert taken - refunded == new.total


def test_refusals(station, settings, cashier_1001, supervisor):
    sale = self_pay_sale(settings, cashier_1001, AMOXICILLIN)
    line = sale.lines.first()
    with pytest.raises(InputError, match="超过原单数量"):
        plan_refund(sale, {line.id: 2})
    with pytest.raises(InputError, match="没有选择"):
        plan_refund(sale, {line.id: 0})
    with pytest.raises(NotAllowed):
        approve(settings.station_id, "1001", "1234")  # a cashier cannot approve
    plan = plan_refund(sale)
    with pytest.raises(NotAllowed):
        execute(settings, plan, requested_by=cashier_1001, approved_by=cashier_1001,
                completed_by=cashier_1001, reason="x")  # fmt: skip
    with pytest.raises(InputError, match="原因"):
        execute(settings, plan, requested_by=cashier_1001, approved_by=supervisor,
                completed_by=cashier_1001, reason=" ")  # fmt: skip
    # A sale of yesterday's business day (its shift's), whatever its time says.
    Sale.update(business_day=sale.business_day - timedelta(days=1)).where(
        Sale.id == sale.id
    ).execute()
    with pytest.raises(InputError, match="只能退当日"):
        find_refundable(sale.receipt_no)
    with pytest.raises(InputError, match="没有收据号"):
        find_refundable("NOPE-1")
    assert not Refund.select().exists()


def insured_sale(insurer, settings, who, person, *codes, acct_used=True):
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, who)
    co.identify(insurance.identify_qr(qr(insurer, person), who), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    co.set_account(acct_used)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.add(Method.CASH, plan.remaining + fen("10.00"))
    return insurance, Sale.get_by_id(co.complete(plan).sale_id)


def test_full_refund_of_an_insured_sale_cancels_the_settlement(
    insurer, settings, cashier_1001, supervisor
):
    before = state.Person.get_by_id("P001").balance
    insurance, sale = insured_sale(
        insurer, settings, cashier_1001, "P001", AMOXICILLIN, TERBINAFINE
    )
    row = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert row.acct_pay > Fen(0) and state.Person.get_by_id("P001").balance == before - row.acct_pay
    done = execute(
        settings, plan_refund(sale), requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="患者要求", insurance=insurance,
    )  # fmt: skip
    assert state.Person.get_by_id("P001").balance == before  # the account has its money back
    assert state.Settlement.get(state.Settlement.setl_id == row.setl_id).cancelled
    assert InsuredSettlement.get_by_id(row.id).status == "cancelled"
    assert InsurerCall.get(InsurerCall.infno == "2208").status == "ok"
    refund = Refund.get_by_id(done.refund_id)
    assert refund.acct_returned == row.acct_pay and refund.fund_returned == row.fund_pay_sumamt
    assert done.back_to_patient == row.psn_cash_pay


def test_partial_refund_of_an_insured_sale_cancels_and_settles_again(
    insurer, settings, cashier_1001, supervisor
):
    insurance, sale = insured_sale(
        insurer, settings, cashier_1001, "P004", AMOXICILLIN, CEFIXIME, TERBINAFINE
    )
    old = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    lines = {ln.code: ln for ln in sale.lines}
    plan = plan_refund(sale, {lines[TERBINAFINE].id: 1})  # the 丙类 spray goes back
    assert plan.needs_patient
    with pytest.raises(InputError, match="医保码"):
        execute(settings, plan, requested_by=cashier_1001, approved_by=supervisor,
                completed_by=cashier_1001, reason="退药", insurance=insurance)  # fmt: skip
    patient = insurance.identify_qr(qr(insurer, "P004"), cashier_1001)
    done = execute(
        settings, plan, requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="退药", insurance=insurance, patient=patient,
    )  # fmt: skip
    new = InsuredSettlement.get(InsuredSettlement.sale == done.new_sale_id)
    assert new.medfee_sumamt == old.medfee_sumamt - fen("28.00")
    assert done.back_to_patient == old.psn_cash_pay - new.psn_cash_pay
    theirs = {s.setl_id: s.cancelled for s in state.Settlement.select()}
    assert theirs == {old.setl_id: True, new.setl_id: False}


def test_after_a_partial_insured_refund_insurer_account_drawer_and_report_agree(
    insurer, settings, cashier_1001, supervisor
):
    from datetime import date

    from cashier.reports.eod import eod_report
    from cashier.services import shifts

    shift = shifts.open_shift(settings.station_id, cashier_1001, fen("100.00"))
    before = state.Person.get_by_id("P001").balance
    state.Person.update(balance=fen("20.00")).where(state.Person.psn_no == "P001").execute()
    insurance, sale = insured_sale(insurer, settings, cashier_1001, "P001", AMOXICILLIN, CEFIXIME)
    old = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert old.acct_pay == fen("20.00") and old.psn_cash_pay > Fen(0)
    lines = {ln.code: ln for ln in sale.lines}
    patient = insurance.identify_qr(qr(insurer, "P001"), cashier_1001)
    done = execute(
        settings, plan_refund(sale, {lines[CEFIXIME].id: 1}), requested_by=cashier_1001,
        approved_by=supervisor, completed_by=cashier_1001, reason="退药",
        insurance=insurance, patient=patient,
    )  # fmt: skip
    new = InsuredSettlement.get(InsuredSettlement.sale == done.new_sale_id)
    # the insurer: one settlement cancelled, one standing, for the kept line
    theirs = {s.setl_id: s.cancelled for s in state.Settlement.select()}
    assert theirs == {old.setl_id: True, new.setl_id: False}
    assert new.medfee_sumamt == fen("12.50")
    # the account: back to its 20.00, then the kept line's account part taken again
    assert state.Person.get_by_id("P001").balance == fen("20.00") - new.acct_pay
    # the drawer: float + what the patient paid in cash, less what went back
    paid_cash = net_cash(sale)
    back_cash = dict(done.by_method).get(Method.CASH, Fen(0))
    assert shifts.figures(shift).cash_expected == fen("100.00") + paid_cash - back_cash
    assert back_cash == old.psn_cash_pay - new.psn_cash_pay
    # the report: net takings and net funds are the kept line's
    day = eod_report(date.today()).total
    assert day.net_total == new.medfee_sumamt
    assert day.net_takings == new.psn_cash_pay
    assert day.net_fund("acct_pay") == new.acct_pay
    assert day.net_fund("fund_pay_sumamt") == new.fund_pay_sumamt
    state.Person.update(balance=before).where(state.Person.psn_no == "P001").execute()


def test_a_partial_insured_refund_keeps_the_account_choice_and_its_slip_adds_up(
    insurer, settings, cashier_1001, supervisor
):
    """Issue 19, item 3: the original sale had the personal account off, so the kept lines
    are settled again with it off; the slip shows the returned items' amount apart from
    what goes back, and reckons the latter: the patient's net payment less what the kept
    items cost again is what the patient gets back."""
    insurance, sale = insured_sale(
        insurer, settings, cashier_1001, "P001", AMOXICILLIN, CEFIXIME, acct_used=False
    )
    old = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert not old.acct_used and old.acct_pay == Fen(0)
    lines = {ln.code: ln for ln in sale.lines}
    plan = plan_refund(sale, {lines[CEFIXIME].id: 1})
    patient = insurance.identify_qr(qr(insurer, "P001"), cashier_1001)
    done = execute(
        settings, plan, requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="退药", insurance=insurance, patient=patient,
    )  # fmt: skip
    new = InsuredSettlement.get(InsuredSettlement.sale == done.new_sale_id)
    assert not new.acct_used and new.acct_pay == Fen(0)
    slip = refund_receipt(Refund.get_by_id(done.refund_id), clinic_name="诊所", training=True)
    assert slip.total_label == "退货项目金额" and slip.total == plan.total
    (paid_before, before), (kept_label, kept) = slip.reckoning
    assert paid_before == "原单患者实付" and before == sale.paid - sale.change
    assert kept_label.startswith("减：保留项目") and kept == Sale.get_by_id(
        done.new_sale_id
    ).total - (new.fund_pay_sumamt + new.acct_pay)
    assert slip.paid == before - kept == done.back_to_patient
    assert sum((t.amount for t in slip.tenders), Fen(0)) == slip.paid
    text = "\n".join(t for _, t in receipt_text_lines(slip, 40))
    assert "退货项目金额" in text and "原单患者实付" in text and "1001 " in text
