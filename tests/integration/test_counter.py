"""The counter service (issue 18, item 7): a bill's life cycle and its rules, in the core,
without a screen — the phases from open to completed; a 付款码 never kept as a reference;
leaving the payment step only with no tender standing; a charged tender given back by Del;
parked bills; when the cashier may log out. Each step is seen as an event."""

from __future__ import annotations

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import CashierError, InputError
from cashier.payments.wechat_v2 import Merchant, WeChatV2
from cashier.services import catalog, payments
from cashier.services.counter import (
    BillHeld,
    BillRecalled,
    CodeAsReference,
    CodeEnded,
    Counter,
    Phase,
    SaleCompleted,
    Tendered,
    TenderRemoved,
)
from cashier.services.station import PaymentsConnection
from cashier.store.models import PaymentCharge, Sale
from cashier_sandbox import payments as sandbox


@pytest.fixture
def gateway(tmp_path):
    running = sandbox.start_in_thread(tmp_path / "paysandbox")
    yield running
    running.stop()


@pytest.fixture
def counter(station, settings, cashier_1001, gateway):
    wechat = WeChatV2(Merchant(gateway.url, sandbox.DEMO_APPID, sandbox.DEMO_MCH_ID,
                               sandbox.DEMO_API_KEY))  # fmt: skip
    connection = PaymentsConnection({"wechat": wechat}, None)
    return Counter(settings.station_id, cashier_1001, payments=lambda: connection)


def kinds(counter) -> list[str]:
    return [type(e).__name__ for e in counter.events]


def test_a_bill_from_open_to_completed(counter):
    assert counter.phase is Phase.OPEN
    counter.scan("Y00001")
    assert counter.phase is Phase.PRICED
    plan = counter.start_payment()
    assert counter.phase is Phase.CHARGING
    counter.take(Method.CASH, plan.due + Fen(500))
    assert counter.ready_to_complete
    completed = counter.complete()
    assert completed.change == Fen(500) and Sale.get_by_id(completed.sale_id).status == "completed"
    assert counter.phase is Phase.OPEN and counter.last is completed and counter.plan is None
    assert kinds(counter) == ["BillChanged", "PaymentStarted", "Tendered", "SaleCompleted"]


def test_a_payment_code_is_never_a_reference(counter, gateway):
    counter.add(catalog.find_by_scan("Y00001"))
    plan = counter.start_payment()
    code = gateway.ledger.issue("wechat", "pay")
    with pytest.raises(CodeAsReference):
        counter.take(Method.BANKCARD, plan.due, code)
    assert not plan.tenders and not gateway.ledger.trades()


def test_leaving_the_payment_step_only_with_no_tender(counter):
    counter.add(catalog.find_by_scan("Y00001"))
    plan = counter.start_payment()
    counter.take(Method.CASH, Fen(100))
    with pytest.raises(InputError, match="Del"):
        counter.leave_payment()
    counter.remove_tender(0)
    counter.leave_payment()
    assert counter.phase is Phase.PRICED and counter.plan is None and not plan.tenders


def test_a_charged_code_is_a_tender_and_del_gives_it_back(counter, gateway, monkeypatch):
    monkeypatch.setattr(payments, "POLL_EVERY_S", 0.0)
    counter.add(catalog.find_by_scan("Y00001"))
    plan = counter.start_payment()
    code = gateway.ledger.issue("wechat", "pay")
    with pytest.raises(InputError, match="超过"):
        counter.check_code(code, plan.due + Fen(1))  # never more than is due
    provider, method, amount = counter.check_code(code, Fen(500))
    assert counter.charging and method is Method.WECHAT
    tender = counter.charge_code(provider, method, amount, code)
    assert not counter.charging and tender.amount == Fen(500) and counter.charged(0)
    # Not an orphan: the supervisor's resolution leaves a charge that stands as a tender.
    keep = counter.tendered_charges()
    assert payments.resolve_open({"wechat": provider}, counter.station_id, keep) == []
    assert isinstance(counter.events[-1], CodeEnded) and counter.events[-1].tender == tender
    removed = counter.remove_tender(0)
    assert removed == tender and isinstance(counter.events[-1], TenderRemoved)
    assert counter.events[-1].given_back
    assert gateway.ledger.trades()[0].state == "reversed"
    # The rest charged and the sale completed: the charge belongs to the sale.
    code = gateway.ledger.issue("wechat", "pay")
    counter.charge_code(*counter.check_code(code, None), code)
    completed = counter.complete()
    assert isinstance(counter.events[-1], SaleCompleted)
    paid = PaymentCharge.get(PaymentCharge.state == "paid")
    assert paid.sale_id == completed.sale_id and paid.amount == plan.due


def test_a_refused_code_leaves_the_step_open(counter, gateway, monkeypatch):
    monkeypatch.setattr(payments, "POLL_EVERY_S", 0.0)
    counter.add(catalog.find_by_scan("Y00001"))
    counter.start_payment()
    code = gateway.ledger.issue("wechat", "insufficient")
    with pytest.raises(CashierError, match="余额不足"):
        counter.charge_code(*counter.check_code(code, None), code)
    ended = counter.events[-1]
    assert isinstance(ended, CodeEnded) and ended.tender is None and "余额不足" in ended.message
    assert not counter.charging and counter.phase is Phase.CHARGING
    assert not any(isinstance(e, Tendered) for e in counter.events)


def test_parked_bills_and_logging_out(counter):
    assert counter.logout_refusal() == ""
    with pytest.raises(InputError, match="为空"):
        counter.hold()
    counter.add(catalog.find_by_scan("Y00001"))
    assert "作废" in counter.logout_refusal()
    first = counter.bill.key
    assert counter.hold() == 1 and counter.empty and isinstance(counter.events[-1], BillHeld)
    assert "挂单" in counter.logout_refusal()
    counter.add(catalog.find_by_scan("Y00004"))
    with pytest.raises(InputError, match="取单"):
        counter.recall(0)  # this bill first
    counter.void("test")
    counter.recall(0)
    assert counter.bill.key == first and isinstance(counter.events[-1], BillRecalled)
    assert not counter.parked


def test_cash_far_above_what_is_due_is_confirmed_first(counter):
    """Issue 19, item 2: 1250 typed for a ¥12.50 bill is asked about with the change shown;
    a ¥100 note for it, or any sensible amount, is not; ¥1000 or more over always is."""
    from cashier.services.counter import ConfirmCash

    counter.scan("Y00001")  # ¥12.50
    plan = counter.start_payment()
    with pytest.raises(ConfirmCash) as asked:
        counter.take(Method.CASH, Fen(125000))
    assert asked.value.change == Fen(123750) and "找零 ￥1237.50" in str(asked.value)
    assert not plan.tenders
    for fine in (Fen(10000), Fen(5000), Fen(2000)):
        counter.take(Method.CASH, fine)
        counter.remove_tender(0)
    counter.take(Method.CASH, Fen(125000), confirmed=True)
    assert plan.change == Fen(123750)
    counter.remove_tender(0)
    counter.cash_confirm_factor = 0  # asked for never
    counter.take(Method.CASH, Fen(125000))
    counter.remove_tender(0)
    counter.cash_confirm_factor = 1000  # a huge factor: ¥1000 over is still asked about
    with pytest.raises(ConfirmCash):
        counter.take(Method.CASH, Fen(101250))
