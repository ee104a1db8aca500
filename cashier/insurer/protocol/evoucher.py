"""The e-voucher (医保码): the ec.query request and its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cashier.insurer.protocol.codes import _EC_TOKEN
from cashier.insurer.protocol.errors import InsurerError, _bad_ec_answer
from cashier.insurer.protocol.jsonio import _parse_json, _shown
from cashier.insurer.protocol.reader import _Reader
from cashier.messages import say


def ec_query_request(
    org_id: str,
    qr_code: str,
    business_type: str,
    *,
    operator_id: str = "",
    operator_name: str = "",
    office_id: str = "",
    office_name: str = "",
) -> dict[str, Any]:
    """The ``ec.query`` body for a scanned 医保码 (``business_type`` 01301 门诊 / 02121 药店)."""
    if not (isinstance(business_type, str) and len(business_type) == 5 and business_type.isdigit()):
        raise ValueError(f"business_type must be 5 digits such as '01301', got {business_type!r}")
    return {
        "orgId": org_id,
        "transType": "ec.query",
        "data": {
            "orgId": org_id,
            "businessType": business_type,
            "operatorId": operator_id,
            "operatorName": operator_name,
            "officeId": office_id,
            "officeName": office_name,
            "ecQrCode": qr_code,
        },
    }


_EC_TEXT = ("idNo", "idType", "userName", "ecToken", "insuOrg", "ecIndexNo", "gender", "birthday")


@dataclass(frozen=True, kw_only=True)
class EcIdentity:
    """Who a 医保码 belongs to (the ``ec.query`` answer's ``data``)."""

    idNo: str = field(default="", repr=False)  # never in logs in full
    idType: str = ""
    userName: str = ""
    ecToken: str = field(repr=False)
    insuOrg: str = ""
    ecIndexNo: str = ""
    gender: str = ""
    birthday: str = ""

    @classmethod
    def from_json(cls, answer: dict[str, Any]) -> EcIdentity:
        """Read ``{code, message, data}``; ``data`` may be an object or a JSON string.

        ``code`` other than 0 (number or string) raises :class:`InsurerError`
        with ``message``; a malformed answer or ``ecToken`` raises :class:`ProtocolError`.
        """
        _Reader(answer, "医保码应答", _bad_ec_answer)  # an object, or ProtocolError
        if "code" not in answer:
            raise _bad_ec_answer(say("insurer.evoucher.no_code"))
        code = answer["code"]
        if isinstance(code, bool) or not isinstance(code, int | str):
            raise _bad_ec_answer(say("insurer.evoucher.bad_code", value=_shown(code)))
        code_text = str(code).strip()
        if code_text != "0":
            message = answer.get("message")
            message = message.strip() if isinstance(message, str) else ""
            raise InsurerError(
                message or say("insurer.evoucher.query_failed", code=code_text),
                infno="ec.query",
                code=code_text,
            )
        data = answer.get("data")
        if isinstance(data, str):
            try:
                data = _parse_json(data)
            except ValueError as exc:
                raise _bad_ec_answer(f"data {exc}") from None
        d = _Reader(data, "data", _bad_ec_answer)
        identity = cls(**{k: d.text(k) for k in _EC_TEXT})
        if not _EC_TOKEN.fullmatch(identity.ecToken):
            raise _bad_ec_answer(say("insurer.evoucher.bad_ec_token"))
        return identity

    def to_json(self) -> dict[str, Any]:
        """A successful ``ec.query`` answer carrying this identity (the sandbox's)."""
        return {"code": 0, "message": "成功", "data": {k: getattr(self, k) for k in _EC_TEXT}}
