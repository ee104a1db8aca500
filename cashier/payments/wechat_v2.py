"""WeChat Pay 付款码支付, API v2: ``pay/micropay``, ``pay/orderquery``, ``secapi/pay/reverse``.

XML both ways (answers parsed with defusedxml), amounts in fen, every request signed with
HMAC-SHA256 over the sorted non-empty parameters and ``&key=`` the merchant's API key, and
every answer's signature checked the same way before a word of it is believed. A 服务商
(service provider) adds ``sub_mch_id`` (and ``sub_appid`` when it has one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cashier.domain.money import Fen
from cashier.messages import say
from cashier.payments import Answer, InDoubt, Outcome, RefundAnswer, Reversal
from cashier.payments.bills import BillRow, wechat_rows
from cashier.payments.wire import post

PATHS = {
    "pay": "/pay/micropay",
    "query": "/pay/orderquery",
    "reverse": "/secapi/pay/reverse",
    "refund": "/secapi/pay/refund",
    "refund_query": "/pay/refundquery",
    "bill": "/pay/downloadbill",
}

#: micropay's err_code → (outcome, the cashier's message)
PAY_CODES = {
    "USERPAYING": (Outcome.WAITING, say("pay.wechat_v2.waiting")),
    "SYSTEMERROR": (Outcome.UNKNOWN, say("pay.wechat_v2.system_busy")),
    "BANKERROR": (Outcome.UNKNOWN, say("pay.wechat_v2.bank_error")),
    "ORDERPAID": (Outcome.UNKNOWN, say("pay.wechat_v2.already_paid")),
    "NOTENOUGH": (Outcome.REFUSED, say("pay.wechat_v2.balance_low")),
    "AUTHCODEEXPIRE": (Outcome.REFUSED, say("pay.wechat_v2.code_expired")),
    "AUTH_CODE_INVALID": (Outcome.REFUSED, say("pay.wechat_v2.code_invalid")),
    "AUTH_CODE_ERROR": (Outcome.REFUSED, say("pay.wechat_v2.code_wrong")),
    "ORDERREVERSED": (Outcome.CLOSED, say("pay.wechat_v2.order_reversed")),
    "ORDERCLOSED": (Outcome.CLOSED, say("pay.wechat_v2.order_closed")),
    "BUYER_MISMATCH": (Outcome.REFUSED, say("pay.wechat_v2.buyer_mismatch")),
    "TRADE_ERROR": (Outcome.REFUSED, say("pay.wechat_v2.trade_error")),
}

#: orderquery's trade_state → outcome
TRADE_STATES = {
    "SUCCESS": Outcome.PAID,
    "REFUND": Outcome.PAID,  # paid, then (part) refunded: it was charged
    "USERPAYING": Outcome.WAITING,
    "NOTPAY": Outcome.WAITING,
    "CLOSED": Outcome.CLOSED,
    "REVOKED": Outcome.CLOSED,
    "PAYERROR": Outcome.REFUSED,
}


def sign(params: dict[str, str], api_key: str) -> str:
    """The v2 signature (sign_type HMAC-SHA256): upper-case hex."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] != "" and k != "sign")
    text += f"&key={api_key}"
    return hmac.new(api_key.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def to_xml(params: dict[str, str]) -> bytes:
    from xml.sax.saxutils import escape

    body = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in params.items() if v != "")
    return f"<xml>{body}</xml>".encode()


def from_xml(raw: bytes) -> dict[str, str]:
    """An answer's fields; raises ValueError for anything that is not a flat ``<xml>``."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(raw)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != "xml":
        raise ValueError(f"root <{root.tag}>")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Merchant:
    url: str  # https://api.mch.weixin.qq.com, or the sandbox
    appid: str
    mch_id: str
    api_key: str
    sub_mch_id: str = ""  # a 服务商's sub-merchant
    sub_appid: str = ""
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    #: The merchant's API certificate and key (apiclient_cert.pem, apiclient_key.pem): the
    #: secapi calls (reverse, refund) present them; WeChat Pay refuses those calls without.
    cert_file: str = ""
    key_file: str = ""


class WeChatV2:
    """One merchant's v2 client."""

    name = "wechat"

    def __init__(self, merchant: Merchant) -> None:
        self.m = merchant

    # -- the calls -----------------------------------------------------------------------
    def pay(self, out_trade_no: str, auth_code: str, amount: Fen, description: str) -> Answer:
        a = self._call(
            "pay",
            body=description[:40],
            out_trade_no=out_trade_no,
            total_fee=str(amount.fen),
            spbill_create_ip="127.0.0.1",
            auth_code=auth_code.strip(),
        )
        if a.get("return_code") != "SUCCESS":
            return Answer(
                Outcome.REFUSED,
                "RETURN_FAIL",
                _said(a.get("return_msg"), say("pay.wechat_v2.refused")),
            )
        if a.get("result_code") == "SUCCESS":
            return self._paid(a)
        code = a.get("err_code", "")
        outcome, message = PAY_CODES.get(code, (Outcome.REFUSED, ""))
        return Answer(
            outcome,
            code,
            message or _said(a.get("err_code_des"), say("pay.wechat_v2.said", code=code)),
        )

    def query(self, out_trade_no: str) -> Answer:
        a = self._call("query", out_trade_no=out_trade_no)
        if a.get("return_code") != "SUCCESS":
            raise InDoubt(
                say(
                    "pay.wechat_v2.query_failed",
                    value=_said(a.get("return_msg"), say("pay.wechat_v2.comm_failed")),
                ),
                code=return_code(a.get("return_msg", "")),
            )
        if a.get("result_code") != "SUCCESS":
            code = a.get("err_code", "")
            if code == "ORDERNOTEXIST":
                return Answer(Outcome.NOT_FOUND, code, say("pay.wechat_v2.no_order"))
            return Answer(
                Outcome.UNKNOWN,
                code,
                _said(a.get("err_code_des"), say("pay.wechat_v2.query_failed_short")),
            )
        state = a.get("trade_state", "")
        outcome = TRADE_STATES.get(state, Outcome.UNKNOWN)
        if outcome is Outcome.PAID:
            return self._paid(a, code=state)
        return Answer(outcome, state, _said(a.get("trade_state_desc"), state))

    def reverse(self, out_trade_no: str) -> Reversal:
        a = self._call("reverse", out_trade_no=out_trade_no)
        if a.get("return_code") != "SUCCESS":
            raise InDoubt(
                say(
                    "pay.wechat_v2.reverse_failed",
                    value=_said(a.get("return_msg"), say("pay.wechat_v2.comm_failed")),
                )
            )
        if a.get("result_code") == "SUCCESS":
            return Reversal(done=True, retry=a.get("recall") == "Y")
        code = a.get("err_code", "")
        if code == "REVERSE_EXPIRE":
            return Reversal(done=False, too_late=True, message=say("pay.wechat_v2.too_late"))
        if code in ("ORDERNOTEXIST", "TRADE_STATE_ERROR") and a.get("recall") != "Y":
            return Reversal(
                done=code == "ORDERNOTEXIST", message=_said(a.get("err_code_des"), code)
            )
        return Reversal(done=False, retry=True, message=_said(a.get("err_code_des"), code))

    def refund(
        self, out_trade_no: str, out_refund_no: str, total: Fen, amount: Fen
    ) -> RefundAnswer:
        """Money back to the payer's WeChat (the same out_refund_no never refunds twice)."""
        a = self._call(
            "refund",
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
            total_fee=str(total.fen),
            refund_fee=str(amount.fen),
        )
        if a.get("return_code") != "SUCCESS":
            raise InDoubt(
                say(
                    "pay.wechat_v2.refund_failed",
                    value=_said(a.get("return_msg"), say("pay.wechat_v2.comm_failed")),
                )
            )
        if a.get("result_code") == "SUCCESS":
            return RefundAnswer(accepted=True, message=say("pay.wechat_v2.refund_accepted"))
        code = a.get("err_code", "")
        if code in ("SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED"):
            raise InDoubt(say("pay.wechat_v2.refund_unknown", code=code))
        return RefundAnswer(accepted=False, message=_said(a.get("err_code_des"), code))

    def refund_query(self, out_trade_no: str, out_refund_no: str) -> RefundAnswer:
        a = self._call("refund_query", out_refund_no=out_refund_no)
        if a.get("return_code") != "SUCCESS":
            raise InDoubt(
                say(
                    "pay.wechat_v2.refund_query_failed",
                    value=_said(a.get("return_msg"), say("pay.wechat_v2.comm_failed")),
                )
            )
        if a.get("result_code") != "SUCCESS":
            code = a.get("err_code", "")
            if code == "REFUNDNOTEXIST":
                return RefundAnswer(accepted=False, message=say("pay.wechat_v2.no_refund"))
            raise InDoubt(say("pay.wechat_v2.refund_query_code", code=code))
        status = a.get("refund_status_0", "")
        if status in ("SUCCESS", "PROCESSING"):
            return RefundAnswer(accepted=True, done=status == "SUCCESS", message=status)
        return RefundAnswer(
            accepted=False, message=say("pay.wechat_v2.refund_state", value=status or "失败")
        )

    def bill(self, day) -> list[BillRow]:
        """The day's bill (bill_type ALL): WeChat Pay sends CSV text whose fields start with
        a back-tick, then a summary; an empty day answers 'No Bill Exist'."""
        m = self.m
        params = {
            "appid": m.appid,
            "mch_id": m.mch_id,
            "sub_mch_id": m.sub_mch_id,
            "nonce_str": secrets.token_hex(16),
            "sign_type": "HMAC-SHA256",
            "bill_date": f"{day:%Y%m%d}",
            "bill_type": "ALL",
        }
        params["sign"] = sign(params, m.api_key)
        raw = post(m.url, PATHS["bill"], to_xml(params), m.connect_timeout, m.read_timeout,
                   content_type="text/xml; charset=utf-8")  # fmt: skip
        text = raw.decode("utf-8", "replace")
        if text.lstrip().startswith("<xml>"):
            answer = from_xml(raw)
            if (
                "No Bill Exist" in answer.get("return_msg", "")
                or answer.get("error_code") == "20002"
            ):
                return []
            raise InDoubt(
                say(
                    "pay.wechat_v2.bill_failed",
                    value=_said(answer.get("return_msg"), say("pay.wechat_v2.unknown")),
                )
            )
        return wechat_rows(text)

    # -- the wire --------------------------------------------------------------------------
    def _paid(self, a: dict[str, str], code: str = "SUCCESS") -> Answer:
        try:
            amount = Fen(int(a.get("total_fee", "")))
        except ValueError:
            raise InDoubt(say("pay.wechat_v2.no_amount")) from None
        return Answer(
            Outcome.PAID, code, say("pay.wechat_v2.paid"), a.get("transaction_id", ""), amount
        )

    def _call(self, what: str, **fields: str) -> dict[str, str]:
        m = self.m
        params = {
            "appid": m.appid,
            "mch_id": m.mch_id,
            "sub_appid": m.sub_appid,
            "sub_mch_id": m.sub_mch_id,
            "nonce_str": secrets.token_hex(16),
            "sign_type": "HMAC-SHA256",
            **fields,
        }
        params["sign"] = sign(params, m.api_key)
        secure = PATHS[what].startswith("/secapi/") and m.cert_file
        raw = post(
            m.url,
            PATHS[what],
            to_xml(params),
            m.connect_timeout,
            m.read_timeout,
            content_type="text/xml; charset=utf-8",
            client_cert=(m.cert_file, m.key_file or m.cert_file) if secure else None,
        )
        try:
            answer = from_xml(raw)
        except ValueError as exc:
            raise InDoubt(say("pay.wechat_v2.unreadable", exc=exc)) from None
        if answer.get("return_code") == "SUCCESS" or "sign" in answer:
            if not hmac.compare_digest(answer.get("sign", ""), sign(answer, m.api_key)):
                raise InDoubt(say("pay.wechat_v2.bad_signature"), code="payment.bad_signature")
        return answer


def return_code(return_msg: str) -> str:
    """What a v2 ``return_code FAIL`` is about: WeChat Pay says it in words alone
    (``return_msg``), read here once into a code."""
    if "签名" in return_msg:
        return "payment.bad_signature"
    if "mch_id" in return_msg or "appid" in return_msg or "商户" in return_msg:
        return "payment.wrong_merchant"
    return "payment.refused"


def _said(text: str | None, fallback: str) -> str:
    return (text or "").strip()[:100] or fallback
