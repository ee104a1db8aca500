"""The request and response envelopes: msgid, infno, sign_no, infcode, output."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cashier.insurer.protocol.codes import _ADMVS, _INF_TIME, _STAMP
from cashier.insurer.protocol.errors import (
    InsurerError,
    ProtocolError,
    _bad_request,
    _bad_setting,
    _transaction,
    _unreadable,
)
from cashier.insurer.protocol.jsonio import _parse_json, _shown
from cashier.insurer.protocol.reader import _json_kind, _Reader
from cashier.messages import say


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who sends: the institution, its area, and the operator at the counter."""

    fixmedins_code: str
    fixmedins_name: str
    mdtrtarea_admvs: str
    recer_sys_code: str = "YBXT"
    opter: str = ""
    opter_name: str = ""
    opter_type: str = "1"  # "1" counter staff, "2" self-service kiosk
    dev_no: str = ""
    dev_safe_info: str = ""
    cainfo: str = ""
    signtype: str = ""
    infver: str = "V1.0"
    fixmedins_soft_fcty: str = ""  # 软件厂商: sent only where the province asks for it
    insuplc_admdvs: str = ""  # the insured region sent when a call names none (before 1101)

    def __post_init__(self) -> None:
        _check_fixmedins_code(self.fixmedins_code)
        if not _ADMVS.fullmatch(self.mdtrtarea_admvs):
            raise _bad_setting(
                say("insurer.envelope.bad_mdtrtarea", mdtrtarea_admvs=self.mdtrtarea_admvs)
            )
        if self.opter_type not in ("1", "2"):
            raise _bad_setting(say("insurer.envelope.bad_opter_type", opter_type=self.opter_type))


def _check_fixmedins_code(code: object) -> None:
    if not isinstance(code, str) or len(code) != 12:
        raise _bad_setting(say("insurer.envelope.bad_fixmedins", code=code))


def make_msgid(fixmedins_code: str, when: datetime, seq: int) -> str:
    """``fixmedins_code`` (12) + ``yyyyMMddHHmmss`` (14) + ``seq`` mod 10000 (4): 30 chars."""
    _check_fixmedins_code(fixmedins_code)
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise TypeError("seq must be an int")
    return f"{fixmedins_code}{when.strftime(_STAMP)}{seq % 10_000:04d}"


def build_request(
    caller: Caller,
    infno: str,
    input: dict[str, Any],
    *,
    msgid: str,
    sign_no: str = "",
    insuplc_admdvs: str = "",
    when: datetime,
) -> dict[str, Any]:
    """One request message with every envelope field; write it with :func:`dumps`."""
    if not isinstance(infno, str) or not infno:
        raise ValueError("infno must be a non-empty str such as '2207'")
    if not isinstance(msgid, str) or len(msgid) != 30:
        raise ValueError(f"msgid must be 30 chars (make_msgid), got {msgid!r}")
    if not isinstance(input, dict):
        raise TypeError("input must be a dict of the transaction's nodes")
    insuplc_admdvs = insuplc_admdvs or caller.insuplc_admdvs
    if insuplc_admdvs and not _ADMVS.fullmatch(insuplc_admdvs):
        raise ProtocolError(
            say("insurer.envelope.bad_insuplc", insuplc_admdvs=insuplc_admdvs),
            detail=f"insuplc_admdvs={insuplc_admdvs!r}",
        )
    message = {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": caller.mdtrtarea_admvs,
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": caller.recer_sys_code,
        "dev_no": caller.dev_no,
        "dev_safe_info": caller.dev_safe_info,
        "cainfo": caller.cainfo,
        "signtype": caller.signtype,
        "infver": caller.infver,
        "opter_type": caller.opter_type,
        "opter": caller.opter,
        "opter_name": caller.opter_name,
        "inf_time": when.strftime(_INF_TIME),
        "fixmedins_code": caller.fixmedins_code,
        "fixmedins_name": caller.fixmedins_name,
        "sign_no": sign_no,
        "input": input,
    }
    if caller.fixmedins_soft_fcty:
        message["fixmedins_soft_fcty"] = caller.fixmedins_soft_fcty
    return message


@dataclass(frozen=True)
class Request:
    """A request as the sandbox receives it (:func:`parse_request`)."""

    infno: str
    msgid: str
    sign_no: str
    insuplc_admdvs: str
    mdtrtarea_admvs: str
    fixmedins_code: str
    opter: str
    input: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    opter_name: str = ""
    opter_type: str = ""
    fixmedins_name: str = ""
    inf_time: str = ""


def parse_request(body: bytes | str | dict[str, Any]) -> Request:
    """Read a request; :class:`ProtocolError` ("请求报文有误…") if it breaks the envelope.

    Required: ``infno``, ``msgid`` (30 chars), ``fixmedins_code``, ``input`` (an
    object). The other envelope fields may be missing or null (read as "").
    """
    if isinstance(body, dict):
        doc: Any = body
    else:
        try:
            doc = _parse_json(body)
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
    r = _Reader(doc, "请求报文", _bad_request)
    msgid = r.text("msgid", required=True)
    if len(msgid) != 30:
        raise _bad_request(say("insurer.envelope.bad_msgid", msgid=len(msgid)))
    if not isinstance(doc.get("input"), dict):
        raise _bad_request(say("insurer.envelope.no_input"))
    return Request(
        infno=r.text("infno", required=True),
        msgid=msgid,
        sign_no=r.text("sign_no"),
        insuplc_admdvs=r.text("insuplc_admdvs"),
        mdtrtarea_admvs=r.text("mdtrtarea_admvs"),
        fixmedins_code=r.text("fixmedins_code", required=True),
        opter=r.text("opter"),
        input=doc["input"],
        raw=doc,
        opter_name=r.text("opter_name"),
        opter_type=r.text("opter_type"),
        fixmedins_name=r.text("fixmedins_name"),
        inf_time=r.text("inf_time"),
    )


def make_refmsgid(admvs: str, when: datetime, serial: int) -> str:
    """``admvs`` (6) + ``yyyyMMddHHmmss`` (14) + ``serial`` mod 10¹⁰ (10): 30 chars."""
    if not isinstance(admvs, str) or not _ADMVS.fullmatch(admvs):
        raise _bad_setting(say("insurer.envelope.bad_admvs", admvs=admvs))
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise TypeError("serial must be an int")
    return f"{admvs}{when.strftime(_STAMP)}{serial % 10**10:010d}"


def _millis_stamp(when: datetime) -> str:
    return f"{when.strftime(_STAMP)}{when.microsecond // 1000:03d}"


def build_response(
    output: dict[str, Any] | None,
    *,
    infcode: int = 0,
    err_msg: str = "",
    warn_msg: str = "",
    inf_refmsgid: str,
    when: datetime,
) -> dict[str, Any]:
    """One answer message (the sandbox's); write it with :func:`dumps`. ``None`` output is null."""
    if infcode not in (0, -1) or isinstance(infcode, bool):
        raise ValueError(f"infcode must be 0 or -1, got {infcode!r}")
    if infcode == -1 and not err_msg:
        raise ValueError("a refusal (infcode -1) needs an err_msg for the operator")
    stamp = _millis_stamp(when)
    return {
        "infcode": infcode,
        "inf_refmsgid": inf_refmsgid,
        "refmsg_time": stamp,
        "respond_time": stamp,
        "err_msg": err_msg,
        "warn_msg": warn_msg,
        "output": output,
    }


@dataclass(frozen=True)
class Response:
    """A successful answer's envelope (:func:`parse_response_envelope`)."""

    infno: str
    output: dict[str, Any]
    warn_msg: str = ""
    inf_refmsgid: str = ""
    refmsg_time: str = ""
    respond_time: str = ""


def _infcode(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, -1):
        return value
    if isinstance(value, str) and value.strip() in ("0", "-1"):
        return int(value.strip())
    return None


def parse_response_envelope(body: bytes | str | dict[str, Any], infno: str) -> Response:
    """Read an answer to ``infno``: its output and envelope, or raise.

    ``infcode`` may be a number or a string (``0``/``"0"``, ``-1``/``"-1"``);
    ``-1`` raises :class:`InsurerError` carrying ``err_msg``; anything that
    cannot be read (not JSON, not an object, no or unknown ``infcode``, an
    ``output`` that is not an object) raises :class:`ProtocolError`. A missing
    or null ``output`` of a success is ``{}``.
    """
    name = _transaction(infno)
    if isinstance(body, dict):
        doc: Any = body
    else:
        try:
            doc = _parse_json(body)
        except ValueError as exc:
            raise _unreadable(f"{name}：{exc}") from None
    if not isinstance(doc, dict):
        raise _unreadable(say("insurer.envelope.not_object", name=name, value=_json_kind(doc)))
    if "infcode" not in doc:
        raise _unreadable(say("insurer.envelope.no_infcode", name=name))
    code = _infcode(doc["infcode"])
    if code is None:
        raise _unreadable(
            say("insurer.envelope.unknown_infcode", name=name, value=_shown(doc["infcode"]))
        )
    refmsgid = doc.get("inf_refmsgid")
    refmsgid = refmsgid if isinstance(refmsgid, str) else ""
    if code == -1:
        err_msg = doc.get("err_msg")
        if not isinstance(err_msg, str) or not err_msg.strip():
            err_msg = f"医保平台拒绝了 {name} 交易，但未说明原因，请联系医保科"
        raise InsurerError(err_msg.strip(), infno=infno, inf_refmsgid=refmsgid, code="-1")
    output = doc.get("output")
    if output is None:
        output = {}
    if not isinstance(output, dict):
        raise _unreadable(
            say("insurer.envelope.output_not_object", name=name, value=_json_kind(output))
        )

    def text(key: str) -> str:
        value = doc.get(key)
        return value if isinstance(value, str) else ""

    return Response(
        infno=infno,
        output=output,
        warn_msg=text("warn_msg"),
        inf_refmsgid=refmsgid,
        refmsg_time=text("refmsg_time"),
        respond_time=text("respond_time"),
    )


def parse_response(body: bytes | str | dict[str, Any], infno: str) -> dict[str, Any]:
    """The ``output`` of a successful answer to ``infno`` (see :func:`parse_response_envelope`)."""
    return parse_response_envelope(body, infno).output
