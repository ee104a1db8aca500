"""A sandbox of the finance bureau's e-receipt service (财政电子票据) as its common vendor
interface speaks it: signed requests (upper-case MD5 of ``appid=…&data=…&noise=…&key=…&
version=1.0``), base64 JSON inside, ``S0000`` for success and its error codes, signed
answers; a business number (``busNo``) issued once is answered as a repeat (``E3001``) with
its bill. Faults as the insurer's: ``timeout``, ``drop_after_commit`` (the bill issued, the
answer lost), ``refuse`` (``E9999``), for the next calls of a method.

Its bills are kept in ``ebills.json`` in the data directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cashier_sandbox.payments import QuietServer


def sign(appid: str, data: str, noise: str, key: str, version: str = "1.0") -> str:
    """The service's own reading of the interface's signature (not the counter's code)."""
    text = f"appid={appid}&data={data}&noise={noise}&key={key}&version={version}"
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


DEMO_APPID = "TRAIN-EBILL-APP"
DEMO_KEY = "train-ebill-key-0123456789abcdef"
_REQUIRED = ("busNo", "busType", "payer", "busDateTime", "placeCode", "payee", "author",
             "totalAmt", "chargeDetail", "payChannelDetail")  # fmt: skip


class Refusal(Exception):
    def __init__(self, result: str, msg: str, detail: dict | None = None) -> None:
        super().__init__(msg)
        self.result, self.msg, self.detail = result, msg, detail or {}


class Lost(Exception):
    """The bill was kept; the answer is not sent."""


@dataclass
class _Book:
    """What a sandbox service keeps (in a JSON file of the data directory), its faults for
    the next calls of a method, and the lock its threads share."""

    path: Path
    kept: dict[str, dict] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[str] = field(default_factory=list)  # the methods asked, in order (tests read)

    def __post_init__(self) -> None:
        if self.path.exists():
            self.kept = json.loads(self.path.read_text(encoding="utf-8"))

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.kept, ensure_ascii=False), encoding="utf-8")

    def fault(self, method: str) -> str:
        for f in self.faults:
            if f["method"] in (method, "*") and f["count"] > 0:
                f["count"] -= 1
                return f["kind"]
        return ""


@dataclass
class FiscalBook(_Book):
    appid: str = DEMO_APPID
    key: str = DEMO_KEY

    @property
    def bills(self) -> dict[str, dict]:  # busNo → bill
        return self.kept

    # -- the service ------------------------------------------------------------------------
    def handle(self, method: str, body: bytes) -> bytes:
        try:
            request = json.loads(body)
            data_text = request["data"]
            if request.get("appid") != self.appid:
                raise Refusal("E0002", "appid 不存在")
            if request.get("sign") != sign(self.appid, data_text, request["noise"], self.key,
                                           request.get("version", "1.0")):  # fmt: skip
                raise Refusal("E0001", "签名错误")
            data = json.loads(base64.b64decode(data_text).decode("utf-8"))
        except Refusal as exc:
            return self._answer(exc.result, {"msg": exc.msg})
        except (ValueError, KeyError, TypeError):
            return self._answer("E0003", {"msg": "请求报文格式错误"})
        self.calls.append(method)
        kind = self.fault(method)
        if kind == "timeout":
            time.sleep(30)
        if kind == "refuse":
            return self._answer("E9999", {"msg": "系统繁忙，请稍后重试"})
        try:
            with self.lock:
                detail = {
                    "invEBillOutpatient": self._issue,
                    "writeOffEBill": self._write_off,
                    "getEBillStatesByBillInfo": self._state,
                }[method](data)
        except KeyError:
            return self._answer("E0004", {"msg": f"接口 {method} 不存在"})
        except Refusal as exc:
            return self._answer(exc.result, {"msg": exc.msg, **exc.detail})
        if kind == "drop_after_commit":
            raise Lost
        return self._answer("S0000", detail)

    def _answer(self, result: str, message: dict) -> bytes:
        inner = {"result": result, "message": _b64(message)}
        data = _b64(inner)
        noise = secrets.token_hex(16)
        return json.dumps(
            {"data": data, "noise": noise, "sign": sign(self.appid, data, noise, self.key)}
        ).encode("utf-8")

    def _issue(self, data: dict) -> dict:
        missing = [k for k in _REQUIRED if data.get(k) in (None, "", [])]
        if missing:
            raise Refusal("E2001", f"{missing[0]} 不能为空")
        bus_no = str(data["busNo"])
        if bus_no in self.bills:
            raise Refusal("E3001", "业务流水号重复：该业务已开具电子票据", self.bills[bus_no])
        total = _amount(data["totalAmt"], "totalAmt")
        charged = sum((_amount(c.get("amt"), "chargeDetail.amt") for c in data["chargeDetail"]),
                      Decimal(0))  # fmt: skip
        if charged != total:
            raise Refusal("E2002", f"收费项目金额合计 {charged} 与总金额 {total} 不符")
        paid = sum((_amount(p.get("payChannelValue"), "payChannelValue")
                    for p in data["payChannelDetail"]), Decimal(0))  # fmt: skip
        insured = _amount(data.get("fundPay") or "0", "fundPay") + _amount(
            data.get("accountPay") or "0", "accountPay"
        )
        if paid + insured != total:
            raise Refusal("E2003", f"交费渠道 {paid} 加医保支付 {insured} 与总金额 {total} 不符")
        number = len(self.bills) + 1
        bill = {
            "billBatchCode": "11060126",
            "billNo": f"{number:010d}",
            "random": secrets.token_hex(3),
            "createTime": datetime.now().strftime("%Y%m%d%H%M%S%f")[:17],
            "billQRCode": f"https://ebill.sandbox/verify?no={number:010d}",
            "pictureUrl": f"https://ebill.sandbox/bill/{number:010d}.pdf",
            "busNo": bus_no,
            "totalAmt": str(total),
            "state": "1",
        }
        self.bills[bus_no] = bill
        self._save()
        return bill

    def _find(self, data: dict) -> dict:
        if data.get("busNo"):
            bill = self.bills.get(str(data["busNo"]))
        else:
            bill = next((b for b in self.bills.values()
                         if b["billBatchCode"] == data.get("billBatchCode")
                         and b["billNo"] == data.get("billNo")), None)  # fmt: skip
        if bill is None:
            raise Refusal("E4001", "票据不存在")
        return bill

    def _write_off(self, data: dict) -> dict:
        if not data.get("reason"):
            raise Refusal("E2001", "reason 不能为空")
        bill = self._find(data)
        if bill["state"] == "2":
            raise Refusal("E3002", "该票据已冲红", bill["red"])
        red = {
            "eScarletBillBatchCode": "11060127",
            "eScarletBillNo": f"R{bill['billNo']}",
            "eScarletRandom": secrets.token_hex(3),
            "createTime": datetime.now().strftime("%Y%m%d%H%M%S%f")[:17],
            "billQRCode": f"https://ebill.sandbox/verify?no=R{bill['billNo']}",
            "pictureUrl": f"https://ebill.sandbox/bill/R{bill['billNo']}.pdf",
        }
        bill["state"], bill["red"] = "2", red
        self._save()
        return red

    def _state(self, data: dict) -> dict:
        bill = self._find(data)
        return {k: v for k, v in bill.items() if k != "red"}


def _b64(value: dict) -> str:
    return base64.b64encode(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode()


def _amount(value, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Refusal("E2002", f"{name} 不是金额") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise Refusal("E2002", f"{name} 超过两位小数")
    return amount


# -- 数电发票: the tax-service platform's open API -----------------------------------------
DEMO_APP_KEY = "TRAINAPPKEY"
DEMO_APP_SECRET = "train-app-secret"
DEMO_TOKEN = "train-access-token"
DEMO_SALER_TAX_NUM = "91110105MA0000000Y"


def tax_sign(secret: str, appkey: str, senid: str, nonce: str, timestamp: str, body: str) -> str:
    """The platform's own reading of its signature (not the counter's code)."""
    import hmac

    text = f"a=services&l=v1&p=open&k={appkey}&i={senid}&n={nonce}&t={timestamp}&f={body}"
    digest = hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class TaxBook(_Book):
    @property
    def orders(self) -> dict[str, dict]:  # orderNo → invoice
        return self.kept

    def handle(self, query: dict[str, str], headers, body: bytes) -> bytes:
        text = body.decode("utf-8")
        method = headers.get("method", "")
        if (
            query.get("appkey") != DEMO_APP_KEY
            or headers.get("accessToken") != DEMO_TOKEN
            or headers.get("userTax") != DEMO_SALER_TAX_NUM
        ):
            return _tax_answer("E1007", "应用或令牌无效")
        expected = tax_sign(DEMO_APP_SECRET, DEMO_APP_KEY, query.get("senid", ""),
                            query.get("nonce", ""), query.get("timestamp", ""), text)  # fmt: skip
        if headers.get("X-Nuonuo-Sign") != expected:
            return _tax_answer("E1008", "签名错误")
        kind = self.fault(method)
        if kind == "timeout":
            time.sleep(30)
        if kind == "refuse":
            return _tax_answer("E9999", "系统繁忙")
        try:
            data = json.loads(text)
        except ValueError:
            return _tax_answer("E1001", "请求体不是 JSON")
        with self.lock:
            if method == "nuonuo.OpeMplatform.requestBillingNew":
                answer = self._bill(data.get("order") or {})
            elif method == "nuonuo.OpeMplatform.queryInvoiceResult":
                answer = self._query(data)
            else:
                answer = _tax_answer("E1002", f"方法 {method} 不存在")
        if kind == "drop_after_commit":
            raise Lost
        return answer

    def _bill(self, order: dict) -> bytes:
        for name in ("buyerName", "salerTaxNum", "orderNo", "invoiceDate", "clerk",
                     "invoiceType", "invoiceLine", "invoiceDetail"):  # fmt: skip
            if order.get(name) in (None, "", []):
                return _tax_answer("E9101", f"{name} 不能为空")
        if order["orderNo"] in self.orders:
            return _tax_answer("E9106", "订单编号重复")
        detail = order["invoiceDetail"]
        red = str(order["invoiceType"]) == "2"
        if red:
            blue = next((o for o in self.orders.values()
                         if o["allElectronicInvoiceNumber"] == order.get("invoiceNum")), None)  # fmt: skip
            if blue is None or blue.get("reddened"):
                return _tax_answer("E9107", "原蓝字发票不存在或已冲红")
            blue["reddened"] = True
        for n, line in enumerate(detail, 1):
            try:
                amount = Decimal(str(line["taxIncludedAmount"]))
                price, num = Decimal(str(line["price"])), Decimal(str(line["num"]))
            except (KeyError, InvalidOperation):
                return _tax_answer("E9102", f"第 {n} 行明细金额有误")
            if abs(price * num).quantize(Decimal("0.01")) != abs(amount) or (red and amount > 0):
                return _tax_answer("E9103", f"第 {n} 行 单价×数量 与含税金额不符")
        number = f"{26110000000000000000 + len(self.orders) + 1}"
        self.orders[order["orderNo"]] = {
            "serialNo": secrets.token_hex(10),
            "orderNo": order["orderNo"],
            "status": "2",
            "allElectronicInvoiceNumber": number,
            "invoiceTime": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "pdfUrl": f"https://invoice.sandbox/{number}.pdf",
            "invoiceType": str(order["invoiceType"]),
        }
        self._save()
        return _tax_answer("E0000", "开票提交成功",
                           {"invoiceSerialNum": self.orders[order["orderNo"]]["serialNo"]})  # fmt: skip

    def _query(self, data: dict) -> bytes:
        wanted = set(data.get("orderNos") or [])
        serials = set(data.get("serialNos") or [])
        found = [
            o for o in self.orders.values() if o["orderNo"] in wanted or o["serialNo"] in serials
        ]
        return _tax_answer("E0000", "查询成功", found)


def _tax_answer(code: str, describe: str, result=None) -> bytes:
    return json.dumps({"code": code, "describe": describe, "result": result},
                      ensure_ascii=False).encode("utf-8")  # fmt: skip


@dataclass
class RunningEBills:
    server: ThreadingHTTPServer
    book: FiscalBook
    tax: TaxBook

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/medical-ebill/api"

    @property
    def tax_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/open/v1/services"

    def fault(self, kind: str, method: str = "*", count: int = 1) -> None:
        for book in (self.book, self.tax):
            with book.lock:
                book.faults.append({"kind": kind, "method": method, "count": count})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_in_thread(data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> RunningEBills:
    book = FiscalBook(data_dir / "ebills.json")
    tax = TaxBook(data_dir / "invoices.json")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1024 * 1024))
            path, _, query = self.path.partition("?")
            try:
                if path.startswith("/open/v1/services"):
                    params = dict(urllib.parse.parse_qsl(query))
                    answer = tax.handle(params, self.headers, body)
                else:
                    answer = book.handle(path.rstrip("/").rsplit("/", 1)[-1], body)
            except Lost:
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = QuietServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sandbox-ebills", daemon=True).start()
    return RunningEBills(server, book, tax)
