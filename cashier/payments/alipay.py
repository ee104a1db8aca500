"""Alipay 当面付 条码支付 through the OpenAPI gateway (``gateway.do``): ``alipay.trade.pay``
(``scene=bar_code``), ``alipay.trade.query``, ``alipay.trade.cancel``, ``alipay.trade.refund``
(``out_request_no``), ``alipay.trade.fastpay.refund.query``, and the day's bill through
``alipay.data.dataservice.bill.downloadurl.query``.

Requests are form posts signed RSA2 (SHA256withRSA over the sorted ``k=v&…`` of every
parameter but ``sign``) with the app's private key; each answer's ``*_response`` node is
verified, as the exact text it came in, against Alipay's public key before a word of it is
believed. A 服务商 adds ``app_auth_token``. Signing and verifying use ``cryptography``.
"""

from __future__ import annotations

import base64
import functools
import json
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime

from cashier.domain.money import Fen
from cashier.messages import say
from cashier.payments import Answer, InDoubt, Outcome, RefundAnswer, Reversal
from cashier.payments.bills import BillError, BillRow, alipay_rows
from cashier.payments.wire import get, post

#: sub_code → (outcome, the cashier's message); anything else of 40004 is a refusal.
SUB_CODES = {
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": (Outcome.REFUSED, say("pay.alipay.balance_low")),
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": (
        Outcome.REFUSED,
        say("pay.alipay.card_balance_low"),
    ),
    "ACQ.PAYMENT_AUTH_CODE_INVALID": (Outcome.REFUSED, say("pay.alipay.code_invalid")),
    "ACQ.TRADE_HAS_SUCCESS": (Outcome.UNKNOWN, say("pay.alipay.already_paid")),
    "ACQ.TRADE_HAS_CLOSE": (Outcome.CLOSED, say("pay.alipay.order_closed")),
    "ACQ.SYSTEM_ERROR": (Outcome.UNKNOWN, say("pay.alipay.system_busy")),
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR": (
        Outcome.REFUSED,
        say("pay.alipay.daily_limit"),
    ),
    "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT": (
        Outcome.REFUSED,
        say("pay.alipay.unverified"),
    ),
}
#: alipay.trade.query's trade_status → outcome
TRADE_STATUS = {
    "TRADE_SUCCESS": Outcome.PAID,
    "TRADE_FINISHED": Outcome.PAID,
    "WAIT_BUYER_PAY": Outcome.WAITING,
    "TRADE_CLOSED": Outcome.CLOSED,
}


def signing_text(params: dict[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")


@functools.lru_cache(maxsize=8)
def _private_key(pem: bytes):
    """Loaded once per key: loading checks the key, some 50 ms for RSA-2048 on a counter PC."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


@functools.lru_cache(maxsize=8)
def _public_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem)


def rsa2_sign(text: str, private_pem: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = _private_key(private_pem).sign(
        text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(text: str, signature: str, public_pem: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _public_key(public_pem)
    try:
        key.verify(
            base64.b64decode(signature), text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def response_node(body: str, method: str) -> tuple[dict, str, str]:
    """The ``*_response`` node of an answer, its exact text (what Alipay signed), and the
    signature; ValueError for anything else."""
    name = method.replace(".", "_") + "_response"
    if not name.endswith("_response") or f'"{name}"' not in body:
        name = "error_response"
    key = f'"{name}"'
    at = body.find(key)
    if at < 0:
        raise ValueError("no response node")
    start = body.index(":", at + len(key)) + 1
    while body[start] in " \t\r\n":
        start += 1
    node, end = json.JSONDecoder().raw_decode(body, start)
    if not isinstance(node, dict):
        raise ValueError("the response node is not an object")
    whole = json.loads(body)
    return node, body[start:end], str(whole.get("sign", ""))


@dataclass(frozen=True)
class App:
    url: str  # https://openapi.alipay.com/gateway.do, or the sandbox
    app_id: str
    private_key: bytes  # the app's RSA private key (PEM)
    alipay_public_key: bytes  # Alipay's public key (PEM)
    app_auth_token: str = ""  # a 服务商 acting for the clinic
    connect_timeout: float = 3.0
    read_timeout: float = 10.0


class Alipay:
    name = "alipay"

    def __init__(self, app: App) -> None:
        self.app = app

    def pay(self, out_trade_no: str, auth_code: str, amount: Fen, description: str) -> Answer:
        node = self._call(
            "alipay.trade.pay",
            out_trade_no=out_trade_no,
            scene="bar_code",
            auth_code=auth_code.strip(),
            subject=description[:40],
            total_amount=str(amount),
        )
        code = str(node.get("code", ""))
        if code == "10000":
            return self._paid(node)
        if code == "10003":
            return Answer(Outcome.WAITING, code, say("pay.alipay.waiting"))
        if code == "20000":
            return Answer(Outcome.UNKNOWN, code, say("pay.alipay.unavailable"))
        sub = str(node.get("sub_code", ""))
        outcome, message = SUB_CODES.get(sub, (Outcome.REFUSED, ""))
        return Answer(
            outcome, sub or code, message or _said(node, say("pay.alipay.said", value=sub or code))
        )

    def query(self, out_trade_no: str) -> Answer:
        node = self._call("alipay.trade.query", out_trade_no=out_trade_no)
        code = str(node.get("code", ""))
        if code == "40004" and node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return Answer(Outcome.NOT_FOUND, "ACQ.TRADE_NOT_EXIST", say("pay.alipay.no_order"))
        if code != "10000":
            return Answer(Outcome.UNKNOWN, str(node.get("sub_code") or code), _said(node, code))
        status = str(node.get("trade_status", ""))
        outcome = TRADE_STATUS.get(status, Outcome.UNKNOWN)
        if outcome is Outcome.PAID:
            return self._paid(node, status)
        return Answer(outcome, status, status)

    def reverse(self, out_trade_no: str) -> Reversal:
        node = self._call("alipay.trade.cancel", out_trade_no=out_trade_no)
        if str(node.get("code")) == "10000":
            return Reversal(done=True, retry=node.get("retry_flag") == "Y")
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return Reversal(done=True)
        return Reversal(
            done=False,
            retry=node.get("retry_flag") == "Y",
            message=_said(node, say("pay.alipay.cancel_failed")),
        )

    def refund(
        self, out_trade_no: str, out_refund_no: str, total: Fen, amount: Fen
    ) -> RefundAnswer:
        node = self._call(
            "alipay.trade.refund",
            out_trade_no=out_trade_no,
            out_request_no=out_refund_no,
            refund_amount=str(amount),
        )
        code = str(node.get("code", ""))
        if code == "10000":
            return RefundAnswer(
                accepted=True,
                done=node.get("fund_change") == "Y",
                message=say("pay.alipay.refunded"),
            )
        if code == "20000" or node.get("sub_code") == "ACQ.SYSTEM_ERROR":
            raise InDoubt(say("pay.alipay.refund_unknown"))
        return RefundAnswer(accepted=False, message=_said(node, say("pay.alipay.refund_refused")))

    def refund_query(self, out_trade_no: str, out_refund_no: str) -> RefundAnswer:
        node = self._call(
            "alipay.trade.fastpay.refund.query",
            out_trade_no=out_trade_no,
            out_request_no=out_refund_no,
        )
        if str(node.get("code")) != "10000":
            raise InDoubt(
                say(
                    "pay.alipay.refund_query_failed", value=node.get("sub_code") or node.get("code")
                )
            )
        if (
            node.get("refund_amount")
            and node.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS"
        ):
            return RefundAnswer(accepted=True, done=True, message=say("pay.alipay.refunded"))
        return RefundAnswer(accepted=False, message=say("pay.alipay.no_refund"))

    def bill(self, day: date) -> list[BillRow]:
        """The day's trade bill: a download address (valid for seconds), then the zip of
        GBK CSV files it points to. A day with no trades has no bill."""
        node = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            bill_type="trade",
            bill_date=day.isoformat(),
        )
        if str(node.get("code")) != "10000":
            if node.get("sub_code") == "isp.bill_not_exist":
                return []
            raise InDoubt(
                say("pay.alipay.bill_failed", value=_said(node, say("pay.alipay.unknown")))
            )
        url = str(node.get("bill_download_url", ""))
        if not url.startswith(("https://", "http://")):
            raise InDoubt(say("pay.alipay.no_bill_url"))
        try:
            return alipay_rows(get(url, self.app.connect_timeout, self.app.read_timeout * 3))
        except BillError as exc:
            raise InDoubt(str(exc)) from None

    # -- the wire --------------------------------------------------------------------------
    def _paid(self, node: dict, code: str = "10000") -> Answer:
        try:
            amount = Fen.parse(str(node.get("total_amount", "")))
        except Exception:
            raise InDoubt(say("pay.alipay.no_amount")) from None
        return Answer(
            Outcome.PAID, code, say("pay.alipay.paid"), str(node.get("trade_no", "")), amount
        )

    def _call(self, method: str, **biz: str) -> dict:
        a = self.app
        params = {
            "app_id": a.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "app_auth_token": a.app_auth_token,
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params = {k: v for k, v in params.items() if v != ""}
        params["sign"] = rsa2_sign(signing_text(params), a.private_key)
        parts = urllib.parse.urlsplit(a.url)
        raw = post(
            f"{parts.scheme}://{parts.netloc}",
            parts.path + "?charset=utf-8",
            urllib.parse.urlencode(params).encode(),
            a.connect_timeout,
            a.read_timeout,
            content_type="application/x-www-form-urlencoded;charset=utf-8",
        )
        try:
            node, text, signature = response_node(raw.decode("utf-8"), method)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InDoubt(say("pay.alipay.unreadable", exc=exc)) from None
        # Nothing unsigned is believed, a refusal no more than a success: a forged "余额不足"
        # would leave a paid order unrecorded.
        if not signature:
            raise InDoubt(say("pay.alipay.unsigned"), code="payment.bad_signature")
        if not rsa2_verify(text, signature, a.alipay_public_key):
            raise InDoubt(say("pay.alipay.bad_signature"), code="payment.bad_signature")
        return node


def _said(node: dict, fallback: str) -> str:
    return str(node.get("sub_msg") or node.get("msg") or "").strip()[:100] or fallback
