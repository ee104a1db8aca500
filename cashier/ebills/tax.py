"""数电发票 through a tax-service platform's open API (the common shape).

A call is ``POST <url>?senid=…&nonce=…&timestamp=…&appkey=…`` with the JSON body and the
headers ``accessToken``, ``userTax`` (the seller's tax number), ``method`` and
``X-Nuonuo-Sign``: the base64 HMAC-SHA1, keyed with the app secret, of
``a=services&l=v1&p=open&k=<appkey>&i=<senid>&n=<nonce>&t=<timestamp>&f=<body>``. The
answer is ``{code, describe, result}``; ``E0000`` is success.

- ``nuonuo.OpeMplatform.requestBillingNew``: an invoice (``invoiceType`` 1 blue, 2 red)
  for an ``orderNo`` (ours: the receipt number, or the refund number for a red one); the
  answer's ``invoiceSerialNum`` names it. An order number used once is refused (``E9106``).
- ``nuonuo.OpeMplatform.queryInvoiceResult``: by ``serialNos`` or ``orderNos``; ``status``
  2 issued (``allElectronicInvoiceNumber``, ``invoiceTime``, ``pdfUrl``), 20 still being
  issued, 22 failed (``failCause``).

So an invoice whose answer was lost is found by its order number, never issued twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass

from cashier.ebills import EBill, EBillError, EBillInDoubt
from cashier.ebills.http import post
from cashier.messages import say

SUCCESS, REPEATED_ORDER = "E0000", "E9106"
ISSUE_METHOD = "nuonuo.OpeMplatform.requestBillingNew"
QUERY_METHOD = "nuonuo.OpeMplatform.queryInvoiceResult"
DONE, PENDING, FAILED = "2", "20", "22"


def sign(secret: str, appkey: str, senid: str, nonce: str, timestamp: str, body: str) -> str:
    text = f"a=services&l=v1&p=open&k={appkey}&i={senid}&n={nonce}&t={timestamp}&f={body}"
    digest = hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class TaxService:
    url: str
    app_key: str
    app_secret: str
    access_token: str
    saler_tax_num: str
    timeout: float = 10.0

    def call(self, method: str, body: dict) -> tuple[str, str, object]:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        senid, nonce, stamp = (
            secrets.token_hex(16),
            str(secrets.randbelow(10**8)),
            str(int(time.time())),
        )
        query = urllib.parse.urlencode(
            {"senid": senid, "nonce": nonce, "timestamp": stamp, "appkey": self.app_key}
        )
        raw = post(
            self.url, f"?{query}" if "?" not in self.url else f"&{query}", text.encode("utf-8"),
            {
                "Content-Type": "application/json",
                "X-Nuonuo-Sign": sign(self.app_secret, self.app_key, senid, nonce, stamp, text),
                "accessToken": self.access_token,
                "userTax": self.saler_tax_num,
                "method": method,
            },
            self.timeout,
        )  # fmt: skip
        try:
            answer = json.loads(raw)
            return str(answer["code"]), str(answer.get("describe", "")), answer.get("result")
        except (ValueError, KeyError, TypeError) as exc:
            raise EBillInDoubt(say("ebills.tax.unreadable", exc=type(exc).__name__)) from None

    def issue(self, order: dict) -> EBill:
        """The invoice of ``order`` (blue or red), found by its order number when it was
        asked for before (a lost answer); still being issued: in doubt, asked again later."""
        code, words, _result = self.call(ISSUE_METHOD, {"order": order})
        if code not in (SUCCESS, REPEATED_ORDER):
            raise EBillError(say("ebills.tax.refused", code=code, words=words), result=code)
        return self.find(order["orderNo"])

    def find(self, order_no: str) -> EBill:
        code, words, result = self.call(
            QUERY_METHOD, {"orderNos": [order_no], "isOfferInvoiceDetail": "0"}
        )
        if code != SUCCESS or not isinstance(result, list) or not result:
            raise EBillInDoubt(say("ebills.tax.not_found", order_no=order_no, words=words))
        row = result[0]
        status = str(row.get("status", ""))
        if status == FAILED:
            raise EBillError(say("ebills.tax.failed", why=row.get("failCause", "")), result=status)
        if status != DONE:
            raise EBillInDoubt(say("ebills.tax.pending", order_no=order_no))
        return EBill(
            str(row.get("invoiceCode", "")),
            str(row.get("allElectronicInvoiceNumber") or row.get("invoiceNo", "")),
            str(row.get("checkCode", "")),
            str(row.get("invoiceTime", "")),
            str(row.get("pdfUrl", "")),
            str(row.get("pdfUrl", "")),
        )
