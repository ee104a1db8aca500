"""财政电子票据 through the common vendor interface.

A request is ``{appid, data, noise, version, sign}``: ``data`` the business JSON in base64,
``noise`` a one-time random string, ``sign`` the upper-case MD5 of
``appid=…&data=…&noise=…&key=…&version=1.0`` (the key is the clinic's, never sent). The
answer's ``data`` is base64 JSON: ``result`` (``S0000`` = success) and ``message``, itself
base64 JSON (the bill, or the service's words); the answer is signed the same way and its
signature checked. Methods (the path): ``invEBillOutpatient`` to issue an outpatient
receipt, ``writeOffEBill`` to reverse one (冲红), ``getEBillStatesByBillInfo`` to ask about
one (by its number, or by our business number ``busNo`` when the issuing answer was lost).

A receipt whose answer was lost is asked for by its ``busNo`` before it is issued again;
and a business number issued once is refused as a repeat (``E3001``) with the bill it has,
which counts as issued: either way it is issued once, never twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

from cashier.ebills import EBill, EBillError, EBillInDoubt
from cashier.ebills.http import post
from cashier.messages import say

VERSION = "1.0"
SUCCESS = "S0000"
#: A business number already issued (answered with its bill); a bill already reversed.
REPEAT, ALREADY_REVERSED = "E3001", "E3002"
#: No bill for what was asked (``getEBillStatesByBillInfo``).
NOT_FOUND = "E4001"


def sign(appid: str, data: str, noise: str, key: str, version: str = VERSION) -> str:
    text = f"appid={appid}&data={data}&noise={noise}&key={key}&version={version}"
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def b64json(value: dict) -> str:
    return base64.b64encode(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode()


def unb64json(text: str) -> dict:
    return json.loads(base64.b64decode(text).decode("utf-8"))


@dataclass(frozen=True)
class FiscalService:
    url: str
    appid: str
    key: str
    timeout: float = 10.0

    def call(self, method: str, data: dict) -> tuple[str, dict]:
        """(result, message) of one call; the answer's signature checked."""
        payload = b64json(data)
        noise = secrets.token_hex(16)
        body = {
            "appid": self.appid,
            "data": payload,
            "noise": noise,
            "version": VERSION,
            "sign": sign(self.appid, payload, noise, self.key),
        }
        raw = post(
            self.url, f"/{method}", json.dumps(body).encode("utf-8"),
            {"Content-Type": "application/json"}, self.timeout,
        )  # fmt: skip
        try:
            answer = json.loads(raw)
            expected = sign(self.appid, answer["data"], answer["noise"], self.key)
            if answer.get("sign") != expected:
                raise EBillInDoubt(say("ebills.fiscal.bad_signature"))
            inner = unb64json(answer["data"])
            result = str(inner.get("result", ""))
            message = inner.get("message", "")
            try:
                detail = unb64json(message) if message else {}
            except (ValueError, TypeError):
                detail = {"msg": str(message)}
        except (ValueError, KeyError, TypeError) as exc:
            raise EBillInDoubt(say("ebills.fiscal.unreadable", exc=type(exc).__name__)) from None
        return result, detail

    def issue(self, data: dict) -> EBill:
        """An outpatient receipt (``invEBillOutpatient``); a repeat of ``busNo`` answers the
        bill already issued."""
        result, detail = self.call("invEBillOutpatient", data)
        if result in (SUCCESS, REPEAT) and detail.get("billNo"):
            return _bill(detail)
        raise EBillError(say("ebills.fiscal.refused", result=result, msg=detail.get("msg", "")),
                         result=result)  # fmt: skip

    def write_off(self, data: dict) -> EBill:
        """The red receipt reversing one (``writeOffEBill``); reversed already: that one."""
        result, detail = self.call("writeOffEBill", data)
        if result in (SUCCESS, ALREADY_REVERSED) and detail.get("eScarletBillNo"):
            return EBill(
                detail["eScarletBillBatchCode"], detail["eScarletBillNo"],
                detail.get("eScarletRandom", ""), detail.get("createTime", ""),
                detail.get("billQRCode", ""), detail.get("pictureUrl", ""),
            )  # fmt: skip
        raise EBillError(say("ebills.fiscal.refused", result=result, msg=detail.get("msg", "")),
                         result=result)  # fmt: skip

    def find(self, bus_no: str) -> EBill | None:
        """The receipt issued for our business number (``getEBillStatesByBillInfo`` by
        ``busNo``), or ``None`` when the service holds none: asked before issuing again
        when an earlier try's answer was lost."""
        result, detail = self.call("getEBillStatesByBillInfo", {"busNo": bus_no})
        if result == NOT_FOUND:
            return None
        if result == SUCCESS and detail.get("billNo"):
            return _bill(detail)
        raise EBillError(say("ebills.fiscal.refused", result=result, msg=detail.get("msg", "")),
                         result=result)  # fmt: skip


def _bill(detail: dict) -> EBill:
    return EBill(
        str(detail["billBatchCode"]), str(detail["billNo"]), str(detail.get("random", "")),
        str(detail.get("createTime", "")), str(detail.get("billQRCode", "")),
        str(detail.get("pictureUrl", "")),
    )  # fmt: skip
