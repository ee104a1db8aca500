"""The insured checkout without a screen: identify, pre-settle, settle, tender, cancel —
over the training station's sandbox insurer on real HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError
from cashier.insurer import protocol
from cashier.insurer.client import InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.services import catalog
from cashier.services.checkout import Checkout, receipt_for
from cashier.services.insured import Insurance, SettlementHeld, advice, split_rows
from cashier.services.patient import parse_id_number
from cashier.store.models import InsuredSettlement, InsurerCall, Sale
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, CEFIXIME, TERBINAFINE, qr, ring_up
from tests.support.insurer import admin, fault


@pytest.fixture
def insurance(insurer, settings):
    return Insurance(insurer.client, settings)


def test_employee_clinic_visit_account_then_cash(insurer, insurance, settings, cashier_1001):
    co = Checkout(settings.station_id, cashier_1001)
    patient = insurance.identify_qr(qr(insurer, "P001"), cashier_1001)
    assert patient.name_masked == "张*" and patient.certno_masked == "1101**********001X"
    assert patient.insutype_name == "职工基本医疗保险" and patient.psn_type_name == "在职职工"
    assert not patient.cross_region(settings.admvs) and not patient.problems
    co.identify(patient, "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN, AMOXICILLIN, CEFIXIME, TERBINAFINE)
    pre = insurance.presettle(co)
    s = pre.setlinfo
    assert s.medfee_sumamt == co.total == Fen.parse("79.80")
    assert s.fulamt_ownpay_amt == Fen.parse("28.00")  # 丙类
    assert s.preselfpay_amt == Fen.parse("5.36")  # 26.80 × 0.20
    # the account pays the person's whole part: nothing in cash
    assert s.acct_pay == s.psn_part_amt and s.psn_cash_pay == Fen(0)
    rows = split_rows(co.lines, co.insured)
    assert [r.list_class for r in rows] == ["甲类", "乙类", "丙类"]
    assert rows[2].self_paid == Fen.parse("28.00") and rows[0].self_paid == Fen(0)

    # Without the account, the person pays in cash; F6 re-runs the pre-settlement.
    co.set_account(False)
    assert co.insured.presettlement is None
    pre = insurance.presettle(co)
    assert (
        pre.setlinfo.acct_pay == Fen(0) and pre.setlinfo.psn_cash_pay == pre.setlinfo.psn_part_amt
    )
    uploads = InsurerCall.select().count()
    bill = insurance.settle(co)
    assert bill.setlinfo.setl_id and bill.setlinfo.psn_cash_pay == pre.setlinfo.psn_cash_pay
    assert InsurerCall.select().count() == uploads + 1  # 2207 journaled (2204 was not sent again)
    with pytest.raises(InputError):
        co.add(catalog.find_by_scan(AMOXICILLIN))  # settled: the lines are frozen

    plan = co.start_payment()
    assert plan.due == bill.setlinfo.psn_cash_pay
    plan.add(Method.WECHAT, Fen.parse("10.00"), "4200000000202611230001")
    plan.add(Method.CASH, Fen.parse("100.00"))
    done = co.complete(plan)
    sale = Sale.get_by_id(done.sale_id)
    assert sale.kind == "insured" and sale.total == Fen.parse("79.80")
    row = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert row.setl_id == bill.setlinfo.setl_id and row.certno == "1101**********001X"
    assert row.psn_cash_pay + row.acct_pay + row.fund_pay_sumamt == row.medfee_sumamt
    # the sandbox's own books agree to the fen
    setl = state.Settlement.get(state.Settlement.setl_id == row.setl_id)
    assert (setl.medfee_sumamt, setl.acct_pay, setl.fund_pay_sumamt) == (
        row.medfee_sumamt,
        row.acct_pay,
        row.fund_pay_sumamt,
    )
    receipt = receipt_for(sale, clinic_name="诊所", training=True)
    assert receipt.insurance.setl_id == row.setl_id and receipt.patient.startswith("张*")
    assert receipt.insurance.cash_part == row.psn_cash_pay


def test_pharmacy_account_only_sale_completes_without_tender(insurer, settings, cashier_1001):
    settings = replace(settings, kind="pharmacy")
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P002"), cashier_1001), "pharmacy")
    ring_up(co, AMOXICILLIN, CEFIXIME)
    pre = insurance.presettle(co)
    assert pre.setlinfo.hifp_pay == Fen(0)  # pharmacies: no pooled fund
    assert pre.setlinfo.acct_pay == co.total and pre.setlinfo.psn_cash_pay == Fen(0)
    bill = insurance.settle(co)
    assert bill.setlinfo.mdtrt_id
    plan = co.start_payment()
    assert plan.due == Fen(0) and plan.complete
    done = co.complete(plan)
    row = InsuredSettlement.get(InsuredSettlement.sale == done.sale_id)
    assert row.kind == "pharmacy" and row.med_type == "41" and row.acct_pay == co.total


def test_patient_cannot_pay_settlement_is_cancelled(insurer, insurance, settings, cashier_1001):
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_id("110105199006070055", cashier_1001), "clinic")  # resident
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN, TERBINAFINE)
    insurance.presettle(co)
    bill = insurance.settle(co)
    co.start_payment()
    insurance.cancel(co, "患者无法支付")
    assert co.insured.settlement is None and co.state.value == "open"
    setl = state.Settlement.get(state.Settlement.setl_id == bill.setlinfo.setl_id)
    assert setl.cancelled
    # back to open: the lines can change again, and it can be voided
    co.add(catalog.find_by_scan(CEFIXIME))
    assert co.void("患者无法支付") is not None


def test_timeout_during_settlement_is_resolved_without_double_charge(
    insurer, insurance, settings, cashier_1001
):
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P001"), cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, CEFIXIME)
    co.set_account(False)
    insurance.presettle(co)
    fault(insurer.sandbox, "drop_after_commit", "2207")
    bill = insurance.settle(co)  # the answer is lost; 5203 finds it committed
    assert bill.setlinfo.setl_id
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.status == Status.COMMITTED.value
    assert state.Settlement.select().count() == 1
    plan = co.start_payment()
    plan.exact_cash()
    co.complete(plan)
    assert InsuredSettlement.get().msgid == call.msgid


def test_insurer_unreachable_holds_the_settlement(insurer, insurance, settings, cashier_1001):
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P001"), cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, CEFIXIME)
    insurance.presettle(co)
    fault(insurer.sandbox, "http500", "2207")  # a gateway error page: did it settle?
    fault(insurer.sandbox, "http500", "5203", count=5)  # and the insurer cannot be asked
    with pytest.raises(SettlementHeld) as caught:
        insurance.settle(co)
    assert "勿重复收费" in str(caught.value)
    with pytest.raises(InputError):
        co.void()
    admin(insurer.sandbox, "/sandbox/admin/fault", method="DELETE")
    with pytest.raises(InputError, match="未成功"):
        insurance.settle(co)  # asked again: not there (and reversed by msgid), nothing charged
    insurance.presettle(co)
    bill = insurance.settle(co)
    assert bill.setlinfo.setl_id and state.Settlement.select().count() == 1


def test_expired_and_reused_codes_say_refresh(insurer, insurance, settings, cashier_1001):
    payload = qr(insurer, "P001")
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(payload, cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN)
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    co.complete(plan)
    with pytest.raises(protocol.InsurerError) as caught:
        insurance.identify_qr(payload, cashier_1001)  # the same code again
    assert advice(caught.value).refresh_code
    expired = admin(insurer.sandbox, "/sandbox/admin/qr", {"person": "P001", "lifetime_s": 0})
    with pytest.raises(protocol.InsurerError) as caught:
        insurance.identify_qr(expired["payload"], cashier_1001)
    assert "过期" in str(caught.value) and advice(caught.value).refresh_code
    with pytest.raises(protocol.InsurerError) as caught:
        insurance.identify_qr("ybm:not-a-real-code-at-all-000", cashier_1001)
    assert advice(caught.value).next_step


def test_cross_region_without_filing_offers_selfpay(insurer, insurance, settings, cashier_1001):
    co = Checkout(settings.station_id, cashier_1001)
    patient = insurance.identify_id("110105198503300080", cashier_1001)  # P007, 深圳, no filing
    assert patient.cross_region(settings.admvs)
    co.identify(patient, "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    ring_up(co, AMOXICILLIN)
    with pytest.raises(Exception) as caught:
        insurance.presettle(co)
    tip = advice(caught.value)
    assert "备案" in tip.message and tip.offer_selfpay
    co.to_selfpay()
    plan = co.start_payment()
    assert plan.due == co.total


def test_id_number_checks_its_checksum():
    assert parse_id_number("11010519780312001x") == "11010519780312001X"
    with pytest.raises(InputError, match="校验"):
        parse_id_number("110105197803120011")
    with pytest.raises(InputError, match="18 位"):
        parse_id_number("1101")


def test_unreachable_insurer_advice_offers_selfpay():
    tip = advice(InsurerUnavailable("无法连接医保平台"))
    assert tip.offer_selfpay and "自费" in tip.next_step


def test_a_second_try_at_an_orders_visit_settles_only_its_own_lines(
    insurer, insurance, settings, cashier_1001
):
    from cashier.services import orders

    pending = orders.pending_for("11010519780312001X")  # P001's demo order
    first = Checkout(settings.station_id, cashier_1001)
    first.identify(insurance.identify_qr(qr(insurer, "P001"), cashier_1001), "clinic")
    insurance.set_diagnosis(first, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    first.load_orders(pending)
    insurance.presettle(first)  # registers the visit and uploads every line
    first.void("患者离开")
    again = Checkout(settings.station_id, cashier_1001)
    again.identify(insurance.identify_qr(qr(insurer, "P001"), cashier_1001), "clinic")
    insurance.set_diagnosis(again, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    again.load_orders(orders.pending_for("11010519780312001X"))
    assert again.insured.mdtrt_id == first.insured.mdtrt_id  # the same visit
    again.remove(0)  # one line fewer this time
    bill = insurance.presettle(again)
    assert bill.setlinfo.medfee_sumamt == again.total
