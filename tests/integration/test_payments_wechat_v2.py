"""WeChat Pay 付款码 (API v2) over HTTP against the payment sandbox, charged exactly once
(issue 18, first part): paid; a password typed, then paid; a password never typed, reversed;
insufficient balance and an expired code refused with their messages; a system error and a
lost answer resolved by query and charged once; a gateway that never answers, reversed.
The sandbox's ledger and the counter's journal agree after each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.money import Fen
from cashier.payments import Outcome, wechat_v2
from cashier.payments.wechat_v2 import Merchant, WeChatV2
from cashier.services import payments
from cashier.services.payments import ChargeRefused, ChargeUndone
from cashier.store.models import PaymentCharge
from cashier_sandbox import payments as sandbox

DUE = Fen(1250)


@pytest.fixture
def gateway(tmp_path):
    running = sandbox.start_in_thread(tmp_path / "paysandbox")
    yield running
    running.stop()


@pytest.fixture
def wechat(gateway):
    return WeChatV2(
        Merchant(
            gateway.url,
            sandbox.DEMO_APPID,
            sandbox.DEMO_MCH_ID,
            sandbox.DEMO_API_KEY,
            read_timeout=2.0,
        )
    )


def pay(wechat, gateway, scenario: str, *, asked=None, amount: Fen = DUE):
    code = gateway.ledger.issue("wechat", scenario)
    return payments.charge(
        wechat, station="TRAIN-01", bill="BILL1", operator="1001", amount=amount,
        auth_code=code, due=DUE, keep_waiting=asked, pause=lambda s: None,
    )  # fmt: skip


def books_agree(gateway) -> None:
    """The sandbox's ledger and the journal: every trade paid there is paid here, once."""
    paid_there = {t.out_trade_no: t.amount for t in gateway.ledger.trades() if t.state == "paid"}
    paid_here = {c.out_trade_no: c.amount.fen for c in PaymentCharge.select() if c.state == "paid"}
    assert paid_there == paid_here
    assert (
        not PaymentCharge.select().where(PaymentCharge.state.in_(["pending", "in_doubt"])).exists()
    )


def test_signature_and_xml_are_the_real_ones():
    params = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "body": "test",
              "nonce_str": "ibuaiVcKdpRxkhJA", "device_info": "1000"}  # fmt: skip
    signed = wechat_v2.sign(params, "192006250b4c09247ec02edce69f6a2d")
    assert len(signed) == 64 and signed == signed.upper()
    assert wechat_v2.sign({**params, "empty": ""}, "192006250b4c09247ec02edce69f6a2d") == signed
    assert wechat_v2.from_xml(wechat_v2.to_xml({"a": "<&>"})) == {"a": "<&>"}
    with pytest.raises(ValueError):
        wechat_v2.from_xml(b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>')


def test_paid(station, wechat, gateway):
    charged = pay(wechat, gateway, "pay")
    assert charged.amount == DUE and charged.trade_no.startswith("4200")
    assert PaymentCharge.get_by_id(charged.out_trade_no).state == "paid"
    assert "*" in PaymentCharge.get_by_id(charged.out_trade_no).code  # never kept whole
    books_agree(gateway)


def test_a_password_typed_then_paid(station, wechat, gateway):
    asked = []
    charged = pay(wechat, gateway, "password", asked=lambda n: asked.append(n) or True)
    assert charged.amount == DUE and asked  # the screen was asked whether to keep waiting
    books_agree(gateway)


def test_a_password_never_typed_is_reversed(station, wechat, gateway):
    with pytest.raises(ChargeUndone, match="已撤销"):
        pay(wechat, gateway, "password-cancel")
    (trade,) = gateway.ledger.trades()
    assert trade.state == "reversed"
    assert PaymentCharge.get().state == "reversed"
    books_agree(gateway)


def test_the_cashier_gives_up_waiting_and_it_is_reversed(station, wechat, gateway):
    with pytest.raises(ChargeUndone):
        pay(wechat, gateway, "password-cancel", asked=lambda n: n < 2)
    assert gateway.ledger.trades()[0].state == "reversed"


@pytest.mark.parametrize(
    ("scenario", "says"), [("insufficient", "余额不足"), ("expired", "已过期")]
)
def test_refused_with_its_message(station, wechat, gateway, scenario, says):
    with pytest.raises(ChargeRefused, match=says):
        pay(wechat, gateway, scenario)
    assert PaymentCharge.get().state == "failed" and not gateway.ledger.trades()
    books_agree(gateway)


@pytest.mark.parametrize("scenario", ["system-error", "lost-answer"])
def test_in_doubt_is_resolved_by_query_and_charged_once(station, wechat, gateway, scenario):
    charged = pay(wechat, gateway, scenario)
    assert charged.amount == DUE
    assert [t.state for t in gateway.ledger.trades()] == ["paid"]
    books_agree(gateway)


def test_a_gateway_that_never_answers_is_reversed(station, wechat, gateway, monkeypatch):
    monkeypatch.setattr(sandbox, "HANG_S", 1.0)  # longer than the counter's read timeout
    fast = WeChatV2(replace(wechat.m, read_timeout=0.2))
    with pytest.raises(ChargeUndone):
        pay(fast, gateway, "no-answer")
    assert gateway.ledger.trades()[0].state == "reversed"
    books_agree(gateway)


def test_more_than_is_due_is_refused_before_anything_is_sent(station, wechat, gateway):
    with pytest.raises(Exception, match="超过应收"):
        pay(wechat, gateway, "pay", amount=DUE + Fen(1))
    assert not PaymentCharge.select().exists() and not gateway.ledger.trades()


def test_a_forged_answer_is_not_believed(station, gateway, wechat):
    wrong = WeChatV2(replace(wechat.m, api_key="0" * 32))  # our key is not the gateway's
    with pytest.raises(ChargeRefused, match="签名"):
        pay(wrong, gateway, "pay")
    assert not gateway.ledger.trades()


def test_a_connection_refused_is_not_sent(station, wechat):
    nowhere = WeChatV2(replace(wechat.m, url="http://127.0.0.1:1"))
    code = "134567890123456789"
    with pytest.raises(ChargeRefused, match="未扣款"):
        payments.charge(nowhere, station="TRAIN-01", bill="B", operator="1001", amount=DUE,
                        auth_code=code, due=DUE, pause=lambda s: None)  # fmt: skip
    assert PaymentCharge.get().state == "failed"
    assert Outcome.PAID == "paid"
