"""The payment sandbox: WeChat Pay's v2 付款码 gateway (``pay/micropay``, ``pay/orderquery``,
``secapi/pay/reverse``) with its real XML, HMAC-SHA256 signatures both ways and result codes.

It issues 付款码 of the real shape (18 digits, starting 10–15), each bound to a scenario —
``pay``, ``password`` (USERPAYING, paid at the second query), ``password-cancel`` (never
paid), ``insufficient``, ``expired``, ``system-error`` (charged, answered SYSTEMERROR),
``lost-answer`` (charged, the connection dropped), ``no-answer`` (the gateway hangs on pay
and query; reverse works) — and keeps a ledger of every trade (state in the data directory),
so a test or a script can compare it with the counter's books. The scenarios are counted in
calls, never in seconds: a test waits on what happened, not on time.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cashier.domain.money import Fen
from cashier.payments import wechat_v2
from cashier_sandbox.keys import rsa_private_key
from cashier_sandbox.wechat_v3 import DEMO_API_V3_KEY as DEMO_API_V3_KEY  # the training station's
from cashier_sandbox.wechat_v3 import V3Keys, WeChatV3Gateway

SCENARIOS = (
    "pay",
    "password",
    "password-cancel",
    "insufficient",
    "expired",
    "system-error",
    "lost-answer",
    "no-answer",
    "refund-lost",  # paid; the answer to its refund is lost on the way
    "late",  # USERPAYING; paid just as the reverse comes, too late to reverse (REVERSE_EXPIRE)
)
#: The sandbox merchant (its own test keys; a real merchant's come from WeChat Pay).
DEMO_APPID = "wx0000000000sandbox"
DEMO_MCH_ID = "1900000109"
DEMO_API_KEY = "sandboxsandboxsandboxsandbox0001"
#: How long ``no-answer`` holds a request (longer than any counter's read timeout).
HANG_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS paycode (
    code TEXT PRIMARY KEY, provider TEXT, scenario TEXT, used INTEGER DEFAULT 0,
    amount_limit INTEGER);
CREATE TABLE IF NOT EXISTS trade (
    out_trade_no TEXT PRIMARY KEY, provider TEXT, code TEXT, amount INTEGER,
    state TEXT, transaction_id TEXT, queries INTEGER DEFAULT 0, created REAL,
    ever_paid INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS refund (
    out_refund_no TEXT PRIMARY KEY, out_trade_no TEXT, amount INTEGER, refund_id TEXT,
    created REAL);
"""


@dataclass(frozen=True)
class Trade:
    provider: str
    out_trade_no: str
    amount: int  # fen
    state: str  # paid | waiting | reversed | closed
    transaction_id: str
    refunded: int = 0  # fen given back by refunds


class PaymentLedger:
    """The sandbox's books: codes issued and trades, in SQLite (thread-safe)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        if "amount_limit" not in {r[1] for r in self._db.execute("PRAGMA table_info(paycode)")}:
            self._db.execute("ALTER TABLE paycode ADD COLUMN amount_limit INTEGER")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(trade)")}
        if "ever_paid" not in columns:  # a ledger from before the bills
            self._db.execute("ALTER TABLE trade ADD COLUMN ever_paid INTEGER DEFAULT 0")
            self._db.execute("UPDATE trade SET ever_paid = 1 WHERE state = 'paid'")
        self._lock = threading.Lock()

    def sql(self, query: str, *args) -> list[tuple]:
        with self._lock:
            return self._db.execute(query, args).fetchall()

    def set_state(self, out_trade_no: str, state: str) -> None:
        """A trade's state now; ``paid`` sticks in ``ever_paid`` (a paid trade reversed is
        in the day's bill as paid and given back, one never paid is not)."""
        self.sql(
            "UPDATE trade SET state = ?, ever_paid = MAX(ever_paid, ?) WHERE out_trade_no = ?",
            state, int(state == "paid"), out_trade_no,
        )  # fmt: skip

    def open_trade(self, out: str, provider: str, code: str, amount: int, state: str,
                   trade_no: str) -> None:  # fmt: skip
        self.sql(
            "INSERT INTO trade (out_trade_no, provider, code, amount, state, transaction_id,"
            " queries, created, ever_paid) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            out, provider, code, amount, state, trade_no, time.time(), int(state == "paid"),
        )  # fmt: skip

    def issue(
        self, provider: str = "wechat", scenario: str = "pay", amount_limit: int | None = None
    ) -> str:
        """A fresh code of the provider's real shape: WeChat 18 digits starting 10–15,
        Alipay 18 digits starting 25–30 (Alipay's are 16–24). ``amount_limit`` (fen): what
        the payer's balance holds; a charge above it is refused as 余额不足."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}: {', '.join(SCENARIOS)}")
        heads = range(10, 16) if provider == "wechat" else range(25, 31)
        code = f"{secrets.choice(heads)}{secrets.randbelow(10**16):016d}"
        self.sql(
            "INSERT INTO paycode (code, provider, scenario, used, amount_limit)"
            " VALUES (?, ?, ?, 0, ?)",
            code, provider, scenario, amount_limit,
        )  # fmt: skip
        return code

    def short_of(self, code: str, amount: int) -> bool:
        """Whether the payer's balance (the code's limit) is less than ``amount`` fen."""
        row = self.sql("SELECT amount_limit FROM paycode WHERE code = ?", code)
        return bool(row) and row[0][0] is not None and amount > row[0][0]

    def scenario(self, out_trade_no: str) -> str:
        """The scenario of the code an order was paid with ("" for no such order)."""
        row = self.sql(
            "SELECT p.scenario FROM trade t JOIN paycode p ON p.code = t.code"
            " WHERE t.out_trade_no = ?",
            out_trade_no,
        )
        return row[0][0] if row else ""

    def queried(self, out_trade_no: str) -> str | None:
        """A query of the order, as both gateways count it: ``no-answer`` hangs, and
        ``password`` is paid at the second query. The state now (None: no such order)."""
        row = self.sql("SELECT state, queries FROM trade WHERE out_trade_no = ?", out_trade_no)
        if not row:
            return None
        state, queries = row[0]
        scenario = self.scenario(out_trade_no)
        if scenario == "no-answer":
            time.sleep(HANG_S)
        self.sql("UPDATE trade SET queries = queries + 1 WHERE out_trade_no = ?", out_trade_no)
        if state == "waiting" and scenario == "password" and queries + 1 >= 2:
            self.set_state(out_trade_no, "paid")
            state = "paid"
        return state

    def trades(self, provider: str | None = None) -> list[Trade]:
        rows = self.sql(
            "SELECT provider, out_trade_no, amount, state, transaction_id,"
            " (SELECT COALESCE(SUM(r.amount), 0) FROM refund r"
            "  WHERE r.out_trade_no = trade.out_trade_no) FROM trade"
            + (" WHERE provider = ?" if provider else "")
            + " ORDER BY created",
            *((provider,) if provider else ()),
        )
        return [Trade(*row) for row in rows]

    def close(self) -> None:
        self._db.close()


class Dropped(Exception):
    """Close the connection without an answer (the answer is lost)."""


class WeChatV2Gateway:
    """What api.mch.weixin.qq.com does with a v2 付款码 call, for the sandbox merchant."""

    def __init__(self, ledger: PaymentLedger, api_key: str = DEMO_API_KEY) -> None:
        self.ledger, self.api_key = ledger, api_key

    def handle(self, path: str, body: bytes) -> dict[str, str]:
        try:
            req = wechat_v2.from_xml(body)
        except ValueError:
            return {"return_code": "FAIL", "return_msg": "XML格式错误"}
        if req.get("sign") != wechat_v2.sign(req, self.api_key):
            return {"return_code": "FAIL", "return_msg": "签名错误"}
        if req.get("mch_id") != DEMO_MCH_ID or req.get("appid") != DEMO_APPID:
            return {"return_code": "FAIL", "return_msg": "appid和mch_id不匹配"}
        route = {
            "/pay/micropay": self._pay,
            "/pay/orderquery": self._query,
            "/secapi/pay/reverse": self._reverse,
            "/secapi/pay/refund": self._refund,
            "/pay/refundquery": self._refund_query,
        }.get(path)
        if route is None:
            return {"return_code": "FAIL", "return_msg": "接口不存在"}
        return {"return_code": "SUCCESS", "return_msg": "OK", **route(req)}

    def _pay(self, req: dict[str, str]) -> dict[str, str]:
        code, out = req.get("auth_code", ""), req.get("out_trade_no", "")
        try:
            amount = int(req.get("total_fee", ""))
        except ValueError:
            return _fail("PARAM_ERROR", "total_fee 应为整数（分）")
        if self.ledger.sql("SELECT 1 FROM trade WHERE out_trade_no = ?", out):
            state = self.ledger.sql("SELECT state FROM trade WHERE out_trade_no = ?", out)[0][0]
            if state == "paid":
                return _fail("ORDERPAID", "订单已支付")
            return _fail("ORDERREVERSED" if state == "reversed" else "SYSTEMERROR", state)
        found = self.ledger.sql("SELECT scenario, used FROM paycode WHERE code = ?", code)
        if not found or not (len(code) == 18 and code[:2] in {"10", "11", "12", "13", "14", "15"}):
            return _fail("AUTH_CODE_INVALID", "每个二维码仅限使用一次，请刷新再试")
        scenario, used = found[0]
        if used:
            return _fail("AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试")
        if scenario == "expired":
            return _fail("AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试")
        if scenario == "insufficient" or self.ledger.short_of(code, amount):
            return _fail("NOTENOUGH", "用户余额不足")
        self.ledger.sql("UPDATE paycode SET used = 1 WHERE code = ?", code)
        waiting = scenario in ("password", "password-cancel", "late")
        transaction_id = f"4200{secrets.randbelow(10**24):024d}"
        self.ledger.open_trade(
            out, "wechat", code, amount, "waiting" if waiting else "paid", transaction_id
        )
        if scenario == "no-answer":
            time.sleep(HANG_S)
        if scenario == "lost-answer":
            raise Dropped
        if scenario == "system-error":
            return _fail("SYSTEMERROR", "系统超时")
        if waiting:
            return _fail("USERPAYING", "需要用户输入支付密码")
        return self._trade_fields(out)

    def _query(self, req: dict[str, str]) -> dict[str, str]:
        out = req.get("out_trade_no", "")
        state = self.ledger.queried(out)
        if state is None:
            return _fail("ORDERNOTEXIST", "此交易订单号不存在")
        wx_state = {"paid": "SUCCESS", "waiting": "USERPAYING", "reversed": "REVOKED"}.get(
            state, "CLOSED"
        )
        fields = self._trade_fields(out) if state == "paid" else {"result_code": "SUCCESS"}
        return {**fields, "trade_state": wx_state, "trade_state_desc": wx_state}

    def _reverse(self, req: dict[str, str]) -> dict[str, str]:
        out = req.get("out_trade_no", "")
        row = self.ledger.sql("SELECT state FROM trade WHERE out_trade_no = ?", out)
        if row and self.ledger.scenario(out) == "late":
            self.ledger.set_state(out, "paid")
            return {**_fail("REVERSE_EXPIRE", "订单已超过撤销期限"), "recall": "N"}
        if row:
            self.ledger.set_state(out, "reversed")
        return {"result_code": "SUCCESS", "recall": "N"}

    def _refund(self, req: dict[str, str]) -> dict[str, str]:
        out, out_refund_no = req.get("out_trade_no", ""), req.get("out_refund_no", "")
        try:
            total, amount = int(req.get("total_fee", "")), int(req.get("refund_fee", ""))
        except ValueError:
            return _fail("PARAM_ERROR", "total_fee / refund_fee 应为整数（分）")
        row = self.ledger.sql("SELECT amount, state FROM trade WHERE out_trade_no = ?", out)
        if not row or row[0][1] != "paid":
            return _fail("ORDERNOTEXIST" if not row else "TRADE_STATE_ERROR", "订单状态错误")
        if total != row[0][0]:
            return _fail("PARAM_ERROR", "订单金额与原订单不符")
        earlier = self.ledger.sql(
            "SELECT amount, refund_id FROM refund WHERE out_refund_no = ?", out_refund_no
        )
        if earlier:  # the same refund asked again: answered as before, never paid twice
            if earlier[0][0] != amount:
                return _fail("PARAM_ERROR", "同一退款单号的金额与之前不同")
            return {"result_code": "SUCCESS", "out_refund_no": out_refund_no,
                    "refund_id": earlier[0][1], "refund_fee": str(amount)}  # fmt: skip
        (given,) = self.ledger.sql(
            "SELECT COALESCE(SUM(amount), 0) FROM refund WHERE out_trade_no = ?", out
        )[0]
        if amount <= 0 or given + amount > total:
            return _fail("NOTENOUGH", "退款金额大于可退金额")
        refund_id = f"5030{secrets.randbelow(10**24):024d}"
        self.ledger.sql(
            "INSERT INTO refund VALUES (?, ?, ?, ?, ?)",
            out_refund_no, out, amount, refund_id, time.time(),
        )  # fmt: skip
        if self.ledger.scenario(out) == "refund-lost":
            raise Dropped
        return {"result_code": "SUCCESS", "out_refund_no": out_refund_no,
                "refund_id": refund_id, "refund_fee": str(amount)}  # fmt: skip

    def _refund_query(self, req: dict[str, str]) -> dict[str, str]:
        row = self.ledger.sql(
            "SELECT amount, refund_id FROM refund WHERE out_refund_no = ?",
            req.get("out_refund_no", ""),
        )
        if not row:
            return _fail("REFUNDNOTEXIST", "退款订单查询失败")
        return {"result_code": "SUCCESS", "refund_count": "1", "refund_status_0": "SUCCESS",
                "refund_fee_0": str(row[0][0]), "refund_id_0": row[0][1]}  # fmt: skip

    def bill(self, body: bytes) -> bytes:
        """``pay/downloadbill`` (bill_type ALL): the day's trades and refunds as WeChat Pay
        writes them — every field starting with a back-tick, then the summary."""

        try:
            req = wechat_v2.from_xml(body)
        except ValueError:
            return self.answer({"return_code": "FAIL", "return_msg": "XML格式错误"})
        if req.get("sign") != wechat_v2.sign(req, self.api_key):
            return self.answer({"return_code": "FAIL", "return_msg": "签名错误"})
        text = self.bill_text(req.get("bill_date", ""))
        if text is None:
            return self.answer(
                {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}
            )
        return text

    def bill_text(self, day: str) -> bytes | None:
        """The day's (YYYYMMDD) bill file, v2's and v3's alike; None when it has no trade."""
        from datetime import datetime

        def on_day(created: float) -> bool:
            return datetime.fromtimestamp(created).strftime("%Y%m%d") == day

        header = (
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
            "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
            "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
            "费率备注"
        )
        lines, total, refunds = [header], 0, 0
        trades = self.ledger.sql(
            "SELECT out_trade_no, amount, state, transaction_id, created, ever_paid FROM trade"
            " WHERE provider = 'wechat' ORDER BY created"
        )
        for out, amount, state, transaction_id, created, ever_paid in trades:
            if not on_day(created) or not ever_paid:
                continue  # never paid: not in the bill
            when = datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S")
            yuan = str(Fen(amount))
            shown = "REVOKED" if state == "reversed" else "SUCCESS"  # paid, then reversed
            fields = [when, DEMO_APPID, DEMO_MCH_ID, "", "", transaction_id, out, "oUpF8uMuAJO",
                      "MICROPAY", shown, "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00",
                      "0.00", "", "", "门诊收费", "", "0.00", "0.60%", yuan, "0.00", ""]  # fmt: skip
            lines.append(",".join(f"`{f}" for f in fields))
            total += amount
            for out_refund_no, refund_amount, refund_id, _ in self.ledger.sql(
                "SELECT out_refund_no, amount, refund_id, created FROM refund"
                " WHERE out_trade_no = ?",
                out,
            ):
                back = str(Fen(refund_amount))
                fields = [when, DEMO_APPID, DEMO_MCH_ID, "", "", transaction_id, out,
                          "oUpF8uMuAJO", "MICROPAY", "REFUND", "OTHERS", "CNY", "0.00", "0.00",
                          refund_id, out_refund_no, back, "0.00", "ORIGINAL", "SUCCESS",
                          "门诊收费", "", "0.00", "0.60%", yuan, back, ""]  # fmt: skip
                lines.append(",".join(f"`{f}" for f in fields))
                refunds += refund_amount
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        count = len(lines) - 2
        lines.append(
            ",".join(
                f"`{v}"
                for v in (count, str(Fen(total)), str(Fen(refunds)), "0.00", "0.00",
                          str(Fen(total)), str(Fen(refunds)))
            )
        )  # fmt: skip
        if count == 0:
            return None
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def _trade_fields(self, out: str) -> dict[str, str]:
        amount, transaction_id = self.ledger.sql(
            "SELECT amount, transaction_id FROM trade WHERE out_trade_no = ?", out
        )[0]
        return {
            "result_code": "SUCCESS",
            "trade_type": "MICROPAY",
            "bank_type": "OTHERS",
            "fee_type": "CNY",
            "total_fee": str(amount),
            "cash_fee": str(amount),
            "transaction_id": transaction_id,
            "out_trade_no": out,
            "time_end": time.strftime("%Y%m%d%H%M%S"),
        }

    def answer(self, fields: dict[str, str]) -> bytes:
        signed = {
            "appid": DEMO_APPID,
            "mch_id": DEMO_MCH_ID,
            "nonce_str": secrets.token_hex(16),
            **fields,
        }
        if signed.get("return_code") == "SUCCESS":
            signed["sign"] = wechat_v2.sign(signed, self.api_key)
        return wechat_v2.to_xml(signed)


class AlipayGateway:
    """What openapi.alipay.com/gateway.do does with 当面付 条码支付 calls, for the sandbox app:
    form posts signed RSA2 with the app's key, answers signed with Alipay's."""

    def __init__(self, ledger: PaymentLedger, keys: AlipayKeys, base_url: str = "") -> None:
        self.ledger, self.keys = ledger, keys
        self.base_url = base_url  # where bill files are fetched (the sandbox's own address)
        self._files: dict[str, tuple[str, float]] = {}  # fileId → (bill day, issued at)

    def handle(self, body: bytes) -> tuple[str, dict]:
        from urllib.parse import parse_qsl

        from cashier.payments import alipay

        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        method = form.get("method", "")
        if not alipay.rsa2_verify(
            alipay.signing_text(form), form.get("sign", ""), self.keys.app_public
        ):
            return method, {"code": "40002", "msg": "Invalid Arguments",
                            "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}  # fmt: skip
        if form.get("app_id") != DEMO_ALIPAY_APP_ID:
            return method, {"code": "40002", "msg": "Invalid Arguments",
                            "sub_code": "isv.invalid-app-id", "sub_msg": "无效的AppID参数"}  # fmt: skip
        try:
            biz = json.loads(form.get("biz_content", "{}"))
        except ValueError:
            return method, _ali_fail("isv.invalid-parameter", "biz_content 不是 JSON")
        route = {
            "alipay.trade.pay": self._pay,
            "alipay.trade.query": self._query,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }.get(method)
        if route is None:
            return method, {"code": "40004", "msg": "Business Failed",
                            "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"}  # fmt: skip
        return method, route(biz)

    def answer(self, method: str, node: dict) -> bytes:
        from cashier.payments import alipay

        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        sign = alipay.rsa2_sign(text, self.keys.alipay_private)
        name = method.replace(".", "_") + "_response" if method else "error_response"
        return f'{{"{name}":{text},"sign":"{sign}"}}'.encode()

    def _pay(self, biz: dict) -> dict:
        code, out = str(biz.get("auth_code", "")), str(biz.get("out_trade_no", ""))
        try:
            amount = Fen.parse(str(biz.get("total_amount", ""))).fen
        except Exception:
            return _ali_fail("ACQ.INVALID_PARAMETER", "total_amount 不正确")
        if self.ledger.sql("SELECT 1 FROM trade WHERE out_trade_no = ?", out):
            return _ali_fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        found = self.ledger.sql("SELECT scenario, used FROM paycode WHERE code = ?", code)
        if not found or found[0][1] or found[0][0] == "expired":
            return _ali_fail("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败")
        scenario = found[0][0]
        if scenario == "insufficient" or self.ledger.short_of(code, amount):
            return _ali_fail("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
        self.ledger.sql("UPDATE paycode SET used = 1 WHERE code = ?", code)
        waiting = scenario in ("password", "password-cancel", "late")
        trade_no = f"2026{secrets.randbelow(10**24):024d}"
        self.ledger.open_trade(
            out, "alipay", code, amount, "waiting" if waiting else "paid", trade_no
        )
        if scenario == "no-answer":
            time.sleep(HANG_S)
        if scenario == "lost-answer":
            raise Dropped
        if scenario == "system-error":
            return {"code": "20000", "msg": "Service Currently Unavailable",
                    "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}  # fmt: skip
        if waiting:
            return {"code": "10003", "msg": "order success pay inprocess",
                    "out_trade_no": out, "trade_no": trade_no}  # fmt: skip
        return self._trade_fields(out)

    def _query(self, biz: dict) -> dict:
        out = str(biz.get("out_trade_no", ""))
        state = self.ledger.queried(out)
        if state is None:
            return _ali_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        status = {"paid": "TRADE_SUCCESS", "waiting": "WAIT_BUYER_PAY"}.get(state, "TRADE_CLOSED")
        fields = self._trade_fields(out) if state == "paid" else {"code": "10000", "msg": "Success"}
        return {**fields, "out_trade_no": out, "trade_status": status}

    def _cancel(self, biz: dict) -> dict:
        out = str(biz.get("out_trade_no", ""))
        row = self.ledger.sql("SELECT state FROM trade WHERE out_trade_no = ?", out)
        if not row:
            return _ali_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        action = "refund" if row[0][0] == "paid" else "close"
        self.ledger.set_state(out, "reversed")
        return {"code": "10000", "msg": "Success", "out_trade_no": out, "retry_flag": "N",
                "action": action}  # fmt: skip

    def _refund(self, biz: dict) -> dict:
        out, request_no = str(biz.get("out_trade_no", "")), str(biz.get("out_request_no", ""))
        try:
            amount = Fen.parse(str(biz.get("refund_amount", ""))).fen
        except Exception:
            return _ali_fail("ACQ.INVALID_PARAMETER", "refund_amount 不正确")
        row = self.ledger.sql("SELECT amount, state FROM trade WHERE out_trade_no = ?", out)
        if not row or row[0][1] != "paid":
            return _ali_fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        earlier = self.ledger.sql("SELECT amount FROM refund WHERE out_refund_no = ?", request_no)
        if earlier:  # the same out_request_no again: answered as before, never paid twice
            return {"code": "10000", "msg": "Success", "out_trade_no": out,
                    "refund_fee": str(Fen(earlier[0][0])), "fund_change": "N"}  # fmt: skip
        (given,) = self.ledger.sql(
            "SELECT COALESCE(SUM(amount), 0) FROM refund WHERE out_trade_no = ?", out
        )[0]
        if amount <= 0 or given + amount > row[0][0]:
            return _ali_fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        self.ledger.sql(
            "INSERT INTO refund VALUES (?, ?, ?, ?, ?)",
            request_no, out, amount, f"R{secrets.token_hex(8)}", time.time(),
        )  # fmt: skip
        if self.ledger.scenario(out) == "refund-lost":
            raise Dropped
        return {"code": "10000", "msg": "Success", "out_trade_no": out,
                "refund_fee": str(Fen(given + amount)), "fund_change": "Y"}  # fmt: skip

    def _refund_query(self, biz: dict) -> dict:
        row = self.ledger.sql(
            "SELECT amount FROM refund WHERE out_refund_no = ? AND out_trade_no = ?",
            str(biz.get("out_request_no", "")),
            str(biz.get("out_trade_no", "")),
        )
        if not row:  # Alipay answers 10000 with no refund_amount when there is none
            return {"code": "10000", "msg": "Success"}
        return {"code": "10000", "msg": "Success", "refund_amount": str(Fen(row[0][0])),
                "refund_status": "REFUND_SUCCESS"}  # fmt: skip

    def _bill_url(self, biz: dict) -> dict:
        """The day's bill as Alipay hands it out: a download address valid for 30 seconds."""
        from datetime import date

        kind, day = str(biz.get("bill_type", "")), str(biz.get("bill_date", ""))
        if kind not in ("trade", "signcustomer"):
            return _ali_fail("isv.invalid-parameter", "bill_type 不正确")
        try:
            date.fromisoformat(day)
        except ValueError:
            return _ali_fail("isp.bill_date_format_error", "账单日期格式不正确")
        if not self._bill_trades(day):
            return _ali_fail("isp.bill_not_exist", "账单不存在")
        file_id = secrets.token_hex(8)
        self._files[file_id] = (day, time.time())
        compact = day.replace("-", "")
        return {"code": "10000", "msg": "Success", "bill_download_url": (
            f"{self.base_url}/downloadBillFile.resource?bizType={kind}&userId={DEMO_ALIPAY_PID}"
            f"&fileType=csv.zip&bizDates={compact}&downloadFileName={DEMO_ALIPAY_PID}_{compact}"
            f".csv.zip&fileId={file_id}")}  # fmt: skip

    def _bill_trades(self, day: str) -> list[tuple]:
        from datetime import datetime

        rows = self.ledger.sql(
            "SELECT out_trade_no, amount, state, transaction_id, created FROM trade"
            " WHERE provider = 'alipay' AND ever_paid = 1 ORDER BY created"
        )
        return [r for r in rows if datetime.fromtimestamp(r[4]).date().isoformat() == day]

    def bill_file(self, query: str) -> bytes | None:
        """``downloadBillFile.resource``: the zip of the day's detail and summary, GBK CSV
        with Alipay's comment lines and tab-padded numbers (None: no such or expired file)."""
        import io
        from datetime import datetime
        from urllib.parse import parse_qs

        file_id = (parse_qs(query).get("fileId") or [""])[0]
        day, issued = self._files.get(file_id, ("", 0.0))
        if not day or time.time() - issued > 30:
            return None
        compact = day.replace("-", "")
        head = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
        span = (f"#起始日期：[{day[:4]}年{day[5:7]}月{day[8:]}日 00:00:00]   "
                f"终止日期：[{day[:4]}年{day[5:7]}月{day[8:]}日 23:59:59]")  # fmt: skip
        lines = ["#支付宝业务明细查询", f"#账号：[{DEMO_ALIPAY_PID}0156]", span,
                 "#" + "-" * 41 + "业务明细列表" + "-" * 40, head]  # fmt: skip
        paid = paid_count = back = back_count = 0

        def row(trade_no, out, kind, when, amount, request_no="") -> str:
            yuan = str(Fen(amount))
            fee = str(Fen(-(abs(amount) * 6 // 1000)))
            return ",".join([f"{trade_no}\t", f"{out}\t", kind, "门诊收费", when, when, "\t",
                             "\t", "\t", "\t", "159****5620\t", yuan, yuan, "0.00", "0.00",
                             "0.00", "0.00", "0.00", "", "0.00\t", "0.00",
                             f"{request_no}\t", fee, "0.00", ""])  # fmt: skip

        for out, amount, state, trade_no, created in self._bill_trades(day):
            when = datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(row(trade_no, out, "交易", when, amount))
            paid, paid_count = paid + amount, paid_count + 1
            refunds = self.ledger.sql(
                "SELECT out_refund_no, amount, created FROM refund WHERE out_trade_no = ?", out
            )
            if state == "reversed" and not refunds:  # cancelled after paying: refunded whole
                refunds = [(out, amount, created)]
            for request_no, refund_amount, refunded_at in refunds:
                at = datetime.fromtimestamp(refunded_at).strftime("%Y-%m-%d %H:%M:%S")
                lines.append(row(trade_no, out, "退款", at, -refund_amount, request_no))
                back, back_count = back + refund_amount, back_count + 1
        lines += [
            "#" + "-" * 41 + "业务明细列表结束" + "-" * 36,
            f"#交易合计：{paid_count}笔，商家实收：{Fen(paid)}元，商家优惠：0.00元",
            f"#退款合计：{back_count}笔，商家实收：-{Fen(back)}元，商家优惠：0.00元",
            "#",
            f"#导出时间：[{datetime.now():%Y年%m月%d日 %H:%M:%S}]",
        ]
        summary = [
            "#支付宝业务汇总查询", f"#账号：[{DEMO_ALIPAY_PID}0156]", span,
            "#" + "-" * 41 + "业务汇总列表" + "-" * 40,
            "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）",
            f"\t,\t,{paid_count},{back_count},{Fen(paid - back)},{Fen(paid - back)}",
            "#" + "-" * 41 + "业务汇总列表结束" + "-" * 36,
        ]  # fmt: skip
        out_file = io.BytesIO()
        with zipfile.ZipFile(out_file, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in (
                (f"{DEMO_ALIPAY_PID}0156_{compact}_业务明细.csv", lines),
                (f"{DEMO_ALIPAY_PID}0156_{compact}_业务明细(汇总).csv", summary),
            ):
                z.writestr(_GbkMember(name), ("\r\n".join(text) + "\r\n").encode("gbk"))
        return out_file.getvalue()

    def _trade_fields(self, out: str) -> dict:
        amount, trade_no = self.ledger.sql(
            "SELECT amount, transaction_id FROM trade WHERE out_trade_no = ?", out
        )[0]
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade_no,
            "out_trade_no": out,
            "buyer_logon_id": "159****5620",
            "total_amount": str(Fen(amount)),
            "receipt_amount": str(Fen(amount)),
            "gmt_payment": time.strftime("%Y-%m-%d %H:%M:%S"),
        }


def _ali_fail(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


DEMO_ALIPAY_APP_ID = "2021000000000001"
DEMO_ALIPAY_PID = "208800000000"  # the merchant's partner id is this and "0156"


class _GbkMember(zipfile.ZipInfo):
    """A zip member named in GBK without the UTF-8 flag, as Alipay's bill zips are."""

    def __init__(self, name: str) -> None:
        super().__init__(name, date_time=time.localtime()[:6])
        self.compress_type = zipfile.ZIP_DEFLATED

    def _encodeFilenameFlags(self):  # zipfile's own name, overridden
        return self.filename.encode("gbk"), self.flag_bits


@dataclass(frozen=True)
class AlipayKeys:
    """The sandbox app's RSA key pair and the sandbox Alipay's (PEM), made once per data
    directory: the training station signs with the app's and verifies with Alipay's."""

    app_private: bytes
    app_public: bytes
    alipay_private: bytes
    alipay_public: bytes


def alipay_keys(folder: Path) -> AlipayKeys:
    from cryptography.hazmat.primitives import serialization

    pems = {}
    for who in ("app", "alipay"):
        path = folder / f"{who}-private.pem"
        public = (
            rsa_private_key(path)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        pems[who] = (path.read_bytes(), public)
    return AlipayKeys(pems["app"][0], pems["app"][1], pems["alipay"][0], pems["alipay"][1])


def _fail(code: str, description: str) -> dict[str, str]:
    return {"result_code": "FAIL", "err_code": code, "err_code_des": description}


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A counter that hung up before its answer (a timeout, the no-answer scenario) is
        what a gateway sees every day: not worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@dataclass
class RunningPayments:
    server: ThreadingHTTPServer
    ledger: PaymentLedger
    alipay_keys: AlipayKeys
    wechat_v3: WeChatV3Gateway

    @property
    def wechat_v3_keys(self) -> V3Keys:
        """The v3 merchant's and platform's keys (made on first use)."""
        return self.wechat_v3.keys

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.ledger.close()


def start_in_thread(data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> RunningPayments:
    """Serve the payment gateways on a background thread (the training station, the tests)."""
    ledger = PaymentLedger(data_dir / "paysandbox.db")
    wechat = WeChatV2Gateway(ledger)
    keys = alipay_keys(data_dir / "paysandbox-keys")
    ali = AlipayGateway(ledger, keys)
    v3 = WeChatV3Gateway(wechat, data_dir / "paysandbox-keys", DEMO_MCH_ID, DEMO_APPID)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1024 * 1024))
            if self.path.startswith("/v3/"):
                self._v3("POST", body)
                return
            try:
                if self.path == "/pay/downloadbill":
                    answer, kind = wechat.bill(body), "text/plain"
                elif self.path.split("?")[0] == "/gateway.do":
                    answer, kind = ali.answer(*ali.handle(body)), "application/json"
                else:
                    answer, kind = wechat.answer(wechat.handle(self.path, body)), "text/xml"
            except Dropped:
                self.close_connection = True
                return  # nothing written: the answer is lost on the way
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def _v3(self, method: str, body: bytes) -> None:
            try:
                status, headers, answer = v3.handle(method, self.path, self.headers, body)
            except Dropped:
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self) -> None:
            if self.path.startswith("/v3/"):
                self._v3("GET", b"")
                return
            path, _, query = self.path.partition("?")
            answer = ali.bill_file(query) if path == "/downloadBillFile.resource" else None
            if answer is None:
                self.send_error(404, "file not found or expired")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/oct-stream")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = QuietServer((host, port), Handler)
    bound_host, bound_port = server.server_address[:2]
    ali.base_url = v3.base_url = f"http://{bound_host}:{bound_port}"
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sandbox-payments", daemon=True).start()
    return RunningPayments(server, ledger, keys, v3)
