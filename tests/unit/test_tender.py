import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method, TenderError, TenderPlan


def test_split_tender_with_change():
    plan = TenderPlan(Fen(12345))
    plan.add(Method.WECHAT, Fen(5000), "4200001234567890")
    assert plan.remaining == Fen(7345)
    plan.add(Method.CASH, Fen(10000))
    assert plan.complete
    assert plan.change == Fen(2655)
    assert plan.cash_taken() == Fen(7345)


def test_electronic_cannot_overpay_or_go_without_reference():
    plan = TenderPlan(Fen(1000))
    with pytest.raises(TenderError, match="不能超过"):
        plan.add(Method.ALIPAY, Fen(1001), "2088")
    with pytest.raises(TenderError, match="参考号"):
        plan.add(Method.BANKCARD, Fen(500))
    plan.add(Method.OTHER, Fen(500))  # 其他: the reference is optional


def test_cannot_take_more_after_full_or_nonpositive():
    plan = TenderPlan(Fen(1000))
    with pytest.raises(TenderError):
        plan.add(Method.CASH, Fen(0))
    plan.exact_cash()
    assert plan.complete and plan.change == Fen(0)
    with pytest.raises(TenderError, match="已收足"):
        plan.add(Method.CASH, Fen(100))


def test_remove_tender():
    plan = TenderPlan(Fen(1000))
    plan.add(Method.CASH, Fen(400))
    plan.remove(0)
    assert plan.paid == Fen(0) and plan.remaining == Fen(1000)
