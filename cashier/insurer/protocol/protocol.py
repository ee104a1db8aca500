"""The national 医药机构接口 as messages: building, parsing and checking them.

Pure message work (no HTTP, no database), shared by the cashier's client and
the sandbox insurer so that both speak exactly the field names and codes of
``docs/insurer-interface.md``. Amounts are :class:`~cashier.domain.money.Fen` inside
and two-decimal JSON numbers outside; no float ever appears: :func:`loads`
reads JSON numbers as ``Decimal`` and :func:`dumps` writes ``Fen`` and
``Decimal`` as exact JSON numbers and refuses floats.

Every answer the cashier shows as a bill goes through a ``from_json`` that
checks it; an answer that is malformed or breaks an invariant raises
:class:`ProtocolError` and is never shown as a bill. A refusal by the insurer
(``infcode -1``) raises :class:`InsurerError` with the insurer's own words.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cashier.domain.money import Fen, MoneyError
from cashier.errors import CashierError

__all__ = [
    "ALL_UNSETTLED",
    "CHRGITM_LV",
    "EC_BUSINESS_OUTPATIENT",
    "EC_BUSINESS_PHARMACY",
    "FUND_PAY_TYPES",
    "INSUTYPES",
    "MDTRT_CERT_TYPES",
    "MED_TYPES",
    "RECON_DETAIL_NODE",
    "SETLINFO_AMOUNTS",
    "TIF_HEADERS",
    "TRANSACTIONS",
    "BaseInfo",
    "Caller",
    "EcIdentity",
    "FeeDetail",
    "FeeLineResult",
    "InsuInfo",
    "InsurerError",
    "PersonInfo",
    "ProtocolError",
    "ReconDetail",
    "ReconTotals",
    "Registration",
    "Request",
    "Response",
    "SetlDetail",
    "SetlInfo",
    "Settlement",
    "SignIn",
    "SignOut",
    "build_request",
    "build_response",
    "check_tif",
    "dumps",
    "ec_query_request",
    "input_1101",
    "input_2101",
    "input_2102",
    "input_2103",
    "input_2201",
    "input_2204",
    "input_2205",
    "input_2206",
    "input_2207",
    "input_2208",
    "input_2601",
    "input_3201",
    "input_3202",
    "input_5203",
    "input_9001",
    "input_9002",
    "loads",
    "make_msgid",
    "make_refmsgid",
    "money",
    "parse_request",
    "parse_response",
    "parse_response_envelope",
    "tif_headers",
    "tif_signature",
]

# -- code tables (docs/insurer-interface.md) ------------------------------------------------
TRANSACTIONS: dict[str, str] = {
    "9001": "签到",
    "9002": "签退",
    "1101": "人员信息获取",
    "2201": "门诊挂号",
    "2204": "门诊费用明细上传",
    "2205": "撤销费用明细",
    "2206": "门诊预结算",
    "2207": "门诊结算",
    "2208": "门诊结算撤销",
    "2101": "药店预结算",
    "2102": "药店结算",
    "2103": "药店结算撤销",
    "2601": "冲正",
    "3201": "对总账",
    "3202": "对明细账",
    "5203": "结算信息查询",
}
MDTRT_CERT_TYPES = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}
INSUTYPES = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "390": "城乡居民基本医疗保险",
    "392": "城乡居民大病",
    "510": "生育保险",
}
MED_TYPES = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "41": "定点药店购药"}
CHRGITM_LV = {"01": "甲类", "02": "乙类", "03": "丙类"}
FUND_PAY_TYPES = {
    "310100": "职工统筹基金",
    "310200": "职工个人账户",
    "320100": "公务员补助",
    "330100": "大额补助",
    "390100": "城乡居民基本",
    "390200": "城乡居民大病",
    "610100": "医疗救助",
    "999996": "医院垫付",
}
#: What the counter, receipts and reports call the ``setlinfo`` amounts.
SETLINFO_LABELS = {
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费",
    "overlmt_selfpay": "超限价自付",
    "preselfpay_amt": "先行自付",
    "hifp_pay": "统筹基金",
    "cvlserv_pay": "公务员补助",
    "hifes_pay": "企业补充",
    "hifmi_pay": "大病保险",
    "hifob_pay": "大额补助",
    "maf_pay": "医疗救助",
    "oth_pay": "其他基金",
    "fund_pay_sumamt": "基金支付合计",
    "acct_pay": "个人账户",
    "acct_mulaid_pay": "共济支付",
    "psn_cash_pay": "个人现金",
}
#: The funds other than the pooled one (统筹), in the order they are shown.
OTHER_FUNDS = ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
EC_BUSINESS_OUTPATIENT = "01301"  # 门诊结算
EC_BUSINESS_PHARMACY = "02121"  # 药店购药

#: Every amount of ``setlinfo``, in the doc's order (yuan, two decimals on the wire).
SETLINFO_AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
)
#: The funds whose sum is ``fund_pay_sumamt``.
_FUNDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")

#: 3202 has no standard JSON answer (the real platform returns a file); its rows go here.
RECON_DETAIL_NODE = "stmtdetail"

TIF_HEADERS = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")

_INF_TIME = "%Y-%m-%d %H:%M:%S"
_STAMP = "%Y%m%d%H%M%S"
_ADMVS = re.compile(r"[0-9]{6}")
_EC_TOKEN = re.compile(r"[0-9]{6}ec[0-9a-z]{30}")


# -- errors ------------------------------------------------------------------------------------
class ProtocolError(CashierError):
    """A message that breaks the interface: a malformed or inconsistent answer, or a
    request or setting that cannot be sent as the interface requires.

    ``str()`` is the message for the cashier; ``detail`` is the technical part alone.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class InsurerError(CashierError):
    """The insurer refused (``infcode -1``, or an e-voucher ``code`` other than 0).

    ``str()`` is the insurer's ``err_msg``, shown to the operator as it is.
    """

    def __init__(
        self, err_msg: str, *, infno: str = "", inf_refmsgid: str = "", code: str = ""
    ) -> None:
        super().__init__(err_msg)
        self.err_msg = err_msg
        self.infno = infno
        self.inf_refmsgid = inf_refmsgid
        self.code = code

    def __str__(self) -> str:
        return self.err_msg


def _unreadable(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保平台返回的数据无法识别（{detail}），请重试或联系医保科", detail=detail
    )


def _inconsistent(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保平台返回的数据不一致（{detail}），未作为账单显示，请重试或联系医保科",
        detail=detail,
    )


def _bad_request(detail: str) -> ProtocolError:
    return ProtocolError(f"请求报文有误（{detail}）", detail=detail)


def _bad_ec_answer(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保电子凭证服务返回的数据无法识别（{detail}），请重试或联系医保科", detail=detail
    )


def _bad_setting(detail: str) -> ProtocolError:
    return ProtocolError(f"医保接口设置有误：{detail}，请在设置中改正", detail=detail)


def _transaction(infno: str) -> str:
    name = TRANSACTIONS.get(infno)
    return f"{infno} {name}" if name else str(infno)


# -- JSON without floats ---------------------------------------------------------------------------
def dumps(obj: Any) -> str:
    """JSON text (UTF-8 characters, no ASCII escapes) in which no float can appear.

    ``Fen`` is written as a number with exactly two decimals (``Fen(1250)`` →
    ``12.50``), ``Decimal`` as its plain digits (``Decimal("0.10")`` → ``0.10``).
    A float raises ``TypeError``: every amount must already be exact.
    """
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def _encode(obj: Any, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, Fen):
        out.append(str(obj))  # always "-?digits.dd"
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"dumps: {obj!r} is not a JSON number")
        out.append(format(obj, "f"))
    elif isinstance(obj, float):
        raise TypeError("dumps refuses floats: use Fen for amounts and Decimal for ratios")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if not isinstance(key, str):
                raise TypeError(f"dumps: object keys must be str, not {type(key).__name__}")
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _encode(value, out)
        out.append("]")
    else:
        raise TypeError(f"dumps cannot write {type(obj).__name__}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} 不是 JSON 数值")


def _parse_json(text: str | bytes | bytearray) -> Any:
    """JSON with numbers as Decimal/int; ``ValueError`` with a short reason otherwise."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("不是 UTF-8 文本") from None
    if not isinstance(text, str):
        raise ValueError(f"不是 JSON 文本（{type(text).__name__}）")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列 {exc.msg}"
        ) from None
    except RecursionError:
        raise ValueError("JSON 嵌套过深") from None
    except InvalidOperation:  # Decimal() of a number whose exponent has no end in sight
        raise ValueError("JSON 数值超出范围") from None


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (never a float).

    Text that is not JSON raises :class:`ProtocolError`.
    """
    try:
        return _parse_json(text)
    except ValueError as exc:
        raise ProtocolError(f"报文{exc}", detail=str(exc)) from None


def _shown(value: object) -> str:
    if value is None:
        return "空值"
    return repr(value) if isinstance(value, str) else str(value)


def money(value: object, field: str = "金额") -> Fen:
    """A JSON amount (number or string, yuan, at most two decimals) as Fen.

    Anything else raises :class:`ProtocolError` naming ``field``.
    """
    try:
        return Fen.from_json(value)
    except MoneyError:
        raise ProtocolError(
            f"{field} 不是金额（元，最多两位小数）：{_shown(value)}",
            detail=f"{field}={_shown(value)}",
        ) from None


# -- reading JSON objects field by field -------------------------------------------------------
class _Reader:
    """One JSON object being read; failures name the node and field."""

    __slots__ = ("fail", "node", "where")

    def __init__(self, node: object, where: str, fail: Callable[[str], ProtocolError]) -> None:
        if not isinstance(node, dict):
            raise fail(f"{where} 应为 JSON 对象，实为 {_json_kind(node)}")
        self.node: dict[str, Any] = node
        self.where = where
        self.fail = fail

    def _missing(self, key: str) -> ProtocolError:
        return self.fail(f"{self.where} 缺少 {key}")

    def optional_text(self, key: str) -> str | None:
        value = self.node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # some gateways send codes as numbers
        raise self.fail(f"{self.where}.{key} 应为文本，实为 {_json_kind(value)}")

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.optional_text(key)
        if required and not value:
            raise self._missing(key)
        return value or ""

    def amount(self, key: str, *, default: Fen | None = None) -> Fen:
        value = self.node.get(key)
        if value is None or value == "":
            if default is None:
                raise self._missing(key)
            return default
        try:
            return Fen.from_json(value)
        except MoneyError:
            raise self.fail(
                f"{self.where}.{key} 不是金额（元，最多两位小数）：{_shown(value)}"
            ) from None

    def decimal(self, key: str, *, default: Decimal | None = None) -> Decimal | None:
        value = self.node.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise self.fail(f"{self.where}.{key} 不是数值：{_shown(value)}")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(f"{self.where}.{key} 不是数值：{_shown(value)}") from None
        if not number.is_finite():
            raise self.fail(f"{self.where}.{key} 不是数值：{_shown(value)}")
        return number

    def ratio(self, key: str) -> Decimal:
        number = self.decimal(key)
        if number is None:
            raise self._missing(key)
        return number

    def child(self, key: str) -> _Reader:
        if self.node.get(key) is None:
            raise self._missing(key)
        return _Reader(self.node[key], f"{key}", self.fail)

    def children(self, key: str) -> list[Any]:
        """A list node; missing or null is an empty list."""
        value = self.node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{key} 应为 JSON 数组，实为 {_json_kind(value)}")
        return value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, str):
        return "文本"
    if isinstance(value, int | Decimal | float):
        return "数值"
    if isinstance(value, list):
        return "数组"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__


def _time_text(value: datetime | str) -> str:
    return value.strftime(_INF_TIME) if isinstance(value, datetime) else str(value)


def _date_text(value: date | str) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else str(value)


# -- the envelope ------------------------------------------------------------------------------
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

    def __post_init__(self) -> None:
        _check_fixmedins_code(self.fixmedins_code)
        if not _ADMVS.fullmatch(self.mdtrtarea_admvs):
            raise _bad_setting(f"就医地行政区划应为 6 位数字（现为“{self.mdtrtarea_admvs}”）")
        if self.opter_type not in ("1", "2"):
            raise _bad_setting(f"操作员类别应为 1 或 2（现为“{self.opter_type}”）")


def _check_fixmedins_code(code: object) -> None:
    if not isinstance(code, str) or len(code) != 12:
        raise _bad_setting(f"定点医药机构编码应为 12 位（现为“{code}”）")


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
    if insuplc_admdvs and not _ADMVS.fullmatch(insuplc_admdvs):
        raise ProtocolError(
            f"参保地行政区划应为 6 位数字（现为“{insuplc_admdvs}”），请重新读取人员信息",
            detail=f"insuplc_admdvs={insuplc_admdvs!r}",
        )
    return {
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
        raise _bad_request(f"msgid 应为 30 位，实为 {len(msgid)} 位")
    if not isinstance(doc.get("input"), dict):
        raise _bad_request("缺少 input 节点或 input 不是 JSON 对象")
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
        raise _bad_setting(f"行政区划应为 6 位数字（现为“{admvs}”）")
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
        raise _unreadable(f"{name}：应答不是 JSON 对象，实为 {_json_kind(doc)}")
    if "infcode" not in doc:
        raise _unreadable(f"{name}：应答缺少 infcode")
    code = _infcode(doc["infcode"])
    if code is None:
        raise _unreadable(f"{name}：未知的 infcode {_shown(doc['infcode'])}")
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
        raise _unreadable(f"{name}：output 不是 JSON 对象，实为 {_json_kind(output)}")

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


# -- TIF gateway signature ---------------------------------------------------------------------
def tif_signature(timestamp: str, secret: str, nonce: str) -> str:
    """``hex(sha256(timestamp + secret + nonce + timestamp))``, lower case."""
    text = f"{timestamp}{secret}{nonce}{timestamp}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tif_headers(paasid: str, secret: str, *, now: int, nonce: str) -> dict[str, str]:
    """The TIF authentication headers for a request sent at unix time ``now``."""
    if not nonce:
        raise ValueError("nonce must not be empty")
    timestamp = str(int(now))
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(timestamp, secret, nonce),
    }


def check_tif(
    headers: Mapping[str, str], paasid: str, secret: str, *, now: int, max_skew: int = 300
) -> str | None:
    """``None`` when the TIF headers are right, else the reason (Chinese, for the operator).

    Header names are matched case-insensitively. An empty ``paasid`` accepts any.
    """
    got = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    for name in TIF_HEADERS:
        if not got.get(name):
            return f"网关认证失败：缺少请求头 {name}"
    if paasid and got["x-tif-paasid"] != paasid:
        return "网关认证失败：x-tif-paasid 不符，请检查医保接口设置"
    timestamp = got["x-tif-timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "网关认证失败：x-tif-timestamp 不是 unix 秒数"
    skew = abs(int(now) - int(timestamp))
    if skew > max_skew:
        return (
            f"网关认证失败：请求时间与医保平台相差 {skew} 秒（超过 {max_skew} 秒），"
            "请校准收银机时间后重试"
        )
    expected = tif_signature(timestamp, secret, got["x-tif-nonce"])
    if not hmac.compare_digest(got["x-tif-signature"].lower(), expected):
        return "网关认证失败：x-tif-signature 签名不正确，请检查医保接口密钥设置"
    return None


# -- answers: typed and checked -----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SignIn:
    """9001 output ``signinoutb``."""

    sign_no: str
    sign_time: str = ""

    @classmethod
    def from_json(cls, output: dict[str, Any]) -> SignIn:
        r = _Reader(output, "9001 output", _unreadable).child("signinoutb")
        return cls(sign_no=r.text("sign_no", required=True), sign_time=r.text("sign_time"))

    def to_json(self) -> dict[str, Any]:
        return {"signinoutb": {"sign_no": self.sign_no, "sign_time": self.sign_time}}


@dataclass(frozen=True, kw_only=True)
class SignOut:
    """9002 output ``signoutoutb``."""

    sign_time: str = ""

    @classmethod
    def from_json(cls, output: dict[str, Any]) -> SignOut:
        r = _Reader(output, "9002 output", _unreadable).child("signoutoutb")
        return cls(sign_time=r.text("sign_time"))

    def to_json(self) -> dict[str, Any]:
        return {"signoutoutb": {"sign_time": self.sign_time}}


_BASEINFO_TEXT = ("psn_no", "psn_cert_type", "certno", "psn_name", "gend", "naty", "brdy")


@dataclass(frozen=True, kw_only=True)
class BaseInfo:
    """1101 ``baseinfo``: who the person is."""

    psn_no: str
    psn_cert_type: str = ""
    certno: str = field(default="", repr=False)  # never in logs in full
    psn_name: str = ""
    gend: str = ""
    naty: str = ""
    brdy: str = ""
    age: Decimal | None = None  # the platform sends a number, sometimes with a decimal

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> BaseInfo:
        r = _Reader(node, "baseinfo", _unreadable)
        age = r.decimal("age")
        if age is not None and not 0 <= age <= 150:  # int(1E+999999999) would hang the counter
            raise _unreadable(f"baseinfo.age 不是年龄：{age}")
        return cls(
            psn_no=r.text("psn_no", required=True),
            **{k: r.text(k) for k in _BASEINFO_TEXT[1:]},
            age=age,
        )

    def to_json(self) -> dict[str, Any]:
        node: dict[str, Any] = {k: getattr(self, k) for k in _BASEINFO_TEXT}
        node["age"] = self.age
        return node


_INSUINFO_TEXT = (
    "insutype",
    "psn_type",
    "psn_insu_stas",
    "psn_insu_date",
    "paus_insu_date",
    "cvlserv_flag",
    "insuplc_admdvs",
    "emp_name",
)


@dataclass(frozen=True, kw_only=True)
class InsuInfo:
    """1101 ``insuinfo[]``: one insurance the person holds."""

    balc: Fen
    insutype: str
    psn_type: str = ""
    psn_insu_stas: str = ""
    psn_insu_date: str = ""
    paus_insu_date: str = ""
    cvlserv_flag: str = ""
    insuplc_admdvs: str = ""
    emp_name: str = ""

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> InsuInfo:
        r = _Reader(node, "insuinfo", _unreadable)
        return cls(
            balc=r.amount("balc"),
            insutype=r.text("insutype", required=True),
            **{k: r.text(k) for k in _INSUINFO_TEXT[1:]},
        )

    def to_json(self) -> dict[str, Any]:
        return {"balc": self.balc, **{k: getattr(self, k) for k in _INSUINFO_TEXT}}


@dataclass(frozen=True, kw_only=True)
class PersonInfo:
    """1101 output: ``baseinfo``, ``insuinfo[]``, ``idetinfo[]`` (kept as plain objects)."""

    baseinfo: BaseInfo
    insuinfo: tuple[InsuInfo, ...] = ()
    idetinfo: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_json(cls, output: dict[str, Any]) -> PersonInfo:
        r = _Reader(output, "1101 output", _unreadable)
        baseinfo = BaseInfo.from_json(r.child("baseinfo").node)
        insuinfo = tuple(InsuInfo.from_json(n) for n in r.children("insuinfo"))
        idetinfo = tuple(_Reader(n, "idetinfo", _unreadable).node for n in r.children("idetinfo"))
        return cls(baseinfo=baseinfo, insuinfo=insuinfo, idetinfo=idetinfo)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseinfo": self.baseinfo.to_json(),
            "insuinfo": [i.to_json() for i in self.insuinfo],
            "idetinfo": [dict(i) for i in self.idetinfo],
        }

    def insurance(self, insutype: str) -> InsuInfo | None:
        """The ``insuinfo`` entry of one insurance type, if the person holds it."""
        return next((i for i in self.insuinfo if i.insutype == insutype), None)


@dataclass(frozen=True, kw_only=True)
class Registration:
    """2201 output ``data``."""

    mdtrt_id: str
    psn_no: str = ""
    ipt_otp_no: str = ""

    @classmethod
    def from_json(cls, output: dict[str, Any]) -> Registration:
        r = _Reader(output, "2201 output", _unreadable).child("data")
        return cls(
            mdtrt_id=r.text("mdtrt_id", required=True),
            psn_no=r.text("psn_no"),
            ipt_otp_no=r.text("ipt_otp_no"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "data": {
                "mdtrt_id": self.mdtrt_id,
                "psn_no": self.psn_no,
                "ipt_otp_no": self.ipt_otp_no,
            }
        }


# Text fields of setlinfo, in the order to_json writes them (after setl_id, mdtrt_id).
_SETLINFO_TEXT = (
    "psn_no",
    "psn_name",
    "psn_cert_type",
    "certno",
    "gend",
    "brdy",
    "insutype",
    "psn_type",
    "cvlserv_flag",
    "med_type",
    "setl_time",
    "clr_type",
    "clr_way",
    "clr_optins",
)


@dataclass(frozen=True, kw_only=True)
class SetlInfo:
    """``setlinfo``: one settlement's split, every amount as Fen.

    :meth:`from_json` reads; :meth:`check` enforces the doc's invariants. A
    pre-settlement (2206/2101) has ``setl_id`` None; a pharmacy pre-settlement
    may have ``mdtrt_id`` None.
    """

    setl_id: str | None = None
    mdtrt_id: str | None = None
    psn_no: str = ""
    psn_name: str = ""
    psn_cert_type: str = ""
    certno: str = field(default="", repr=False)
    gend: str = ""
    brdy: str = ""
    age: Decimal | None = None
    insutype: str = ""
    psn_type: str = ""
    cvlserv_flag: str = ""
    med_type: str = ""
    setl_time: str = ""
    clr_type: str = ""
    clr_way: str = ""
    clr_optins: str = ""
    medfee_sumamt: Fen
    fulamt_ownpay_amt: Fen
    overlmt_selfpay: Fen
    preselfpay_amt: Fen
    inscp_scp_amt: Fen
    act_pay_dedc: Fen
    hifp_pay: Fen
    pool_prop_selfpay: Decimal = Decimal(0)
    cvlserv_pay: Fen
    hifes_pay: Fen
    hifmi_pay: Fen
    hifob_pay: Fen
    maf_pay: Fen
    oth_pay: Fen
    fund_pay_sumamt: Fen
    psn_part_amt: Fen
    acct_pay: Fen
    psn_cash_pay: Fen
    hosp_part_amt: Fen
    balc: Fen
    acct_mulaid_pay: Fen

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> SetlInfo:
        """Read ``setlinfo``; a missing or malformed amount raises :class:`ProtocolError`.

        This reads only; call :meth:`check` (or use :meth:`Settlement.from_json`,
        which does) before showing it as a bill.
        """
        r = _Reader(node, "setlinfo", _unreadable)
        return cls(
            setl_id=r.optional_text("setl_id"),
            mdtrt_id=r.optional_text("mdtrt_id"),
            **{k: r.text(k) for k in _SETLINFO_TEXT},
            age=r.decimal("age"),
            pool_prop_selfpay=r.decimal("pool_prop_selfpay", default=Decimal(0)),
            **{k: r.amount(k) for k in SETLINFO_AMOUNTS},
        )

    def to_json(self) -> dict[str, Any]:
        node: dict[str, Any] = {"setl_id": self.setl_id, "mdtrt_id": self.mdtrt_id}
        node.update((k, getattr(self, k)) for k in _SETLINFO_TEXT)
        node["age"] = self.age
        for k in SETLINFO_AMOUNTS:
            node[k] = getattr(self, k)
            if k == "hifp_pay":
                node["pool_prop_selfpay"] = self.pool_prop_selfpay
        return node

    def amounts(self) -> dict[str, Fen]:
        """Every amount by its field name, in :data:`SETLINFO_AMOUNTS` order."""
        return {k: getattr(self, k) for k in SETLINFO_AMOUNTS}

    def negated(self, *, balc: Fen | None = None) -> SetlInfo:
        """The cancellation answer's setlinfo: every amount negated except ``balc``,
        which is the account balance after the cancellation (``balc``, or kept)."""
        changes: dict[str, Any] = {k: -v for k, v in self.amounts().items() if k != "balc"}
        changes["balc"] = self.balc if balc is None else balc
        return replace(self, **changes)

    def check(self, *, negated: bool = False) -> None:
        """Raise :class:`ProtocolError` unless the invariants hold.

        - ``medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt``
        - ``psn_part_amt = acct_pay + psn_cash_pay``
        - ``fund_pay_sumamt`` = the sum of the seven funds (hifp … oth_pay)
        - no amount below zero; with ``negated`` (a 2208/2103 cancellation
          answer) no amount above zero. ``balc`` is a balance, not part of the
          split: never negative in a settlement, and not sign-checked in a
          cancellation, whose ``balc`` is the (positive) balance after it.
        """
        for name, value in self.amounts().items():
            if name == "balc" and negated:
                continue
            if negated and value > Fen(0):
                raise _inconsistent(f"撤销应答的 {name} 应为负数或零，实为 {value}")
            if not negated and value < Fen(0):
                raise _inconsistent(f"{name} 为负数 {value}")
        parts = self.fund_pay_sumamt + self.psn_part_amt + self.hosp_part_amt
        if self.medfee_sumamt != parts:
            raise _inconsistent(
                f"medfee_sumamt {self.medfee_sumamt} ≠ fund_pay_sumamt + psn_part_amt"
                f" + hosp_part_amt = {parts}"
            )
        person = self.acct_pay + self.psn_cash_pay
        if self.psn_part_amt != person:
            raise _inconsistent(
                f"psn_part_amt {self.psn_part_amt} ≠ acct_pay + psn_cash_pay = {person}"
            )
        funds = Fen.total(getattr(self, k) for k in _FUNDS)
        if self.fund_pay_sumamt != funds:
            raise _inconsistent(
                f"fund_pay_sumamt {self.fund_pay_sumamt} ≠ {' + '.join(_FUNDS)} = {funds}"
            )


_LINE_AMOUNTS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)


@dataclass(frozen=True, kw_only=True)
class FeeLineResult:
    """One line's split: 2204 ``result[]``, 2101/2102 ``detlcutinfo[]``."""

    feedetl_sn: str
    det_item_fee_sumamt: Fen
    selfpay_prop: Decimal
    fulamt_ownpay_amt: Fen
    overlmt_amt: Fen
    preselfpay_amt: Fen
    inscp_scp_amt: Fen
    chrgitm_lv: str = ""

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> FeeLineResult:
        r = _Reader(node, "费用明细结果", _unreadable)
        return cls(
            feedetl_sn=r.text("feedetl_sn", required=True),
            selfpay_prop=r.ratio("selfpay_prop"),
            chrgitm_lv=r.text("chrgitm_lv"),
            **{k: r.amount(k) for k in _LINE_AMOUNTS},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "feedetl_sn": self.feedetl_sn,
            "det_item_fee_sumamt": self.det_item_fee_sumamt,
            "selfpay_prop": self.selfpay_prop,
            "fulamt_ownpay_amt": self.fulamt_ownpay_amt,
            "overlmt_amt": self.overlmt_amt,
            "preselfpay_amt": self.preselfpay_amt,
            "inscp_scp_amt": self.inscp_scp_amt,
            "chrgitm_lv": self.chrgitm_lv,
        }

    def check(self) -> None:
        """Raise :class:`ProtocolError` unless the per-line invariants hold.

        ``inscp_scp_amt = det_item_fee_sumamt − fulamt_ownpay_amt − overlmt_amt
        − preselfpay_amt``, and ``preselfpay_amt`` is ``selfpay_prop`` times a
        base, ROUND_HALF_UP to the fen. The doc states the base as
        ``det_item_fee_sumamt``; the sandbox's policy (and real 乙类 practice)
        takes it after the parts already self-paid, ``det_item_fee_sumamt −
        fulamt_ownpay_amt − overlmt_amt`` — which is also the only reading under
        which a 丙类 line (``selfpay_prop`` 1, all of it ``fulamt_ownpay_amt``)
        has ``preselfpay_amt`` 0. Either base is accepted.
        """
        sn = self.feedetl_sn
        if not Decimal(0) <= self.selfpay_prop <= Decimal(1):
            raise _inconsistent(f"明细 {sn} 的 selfpay_prop {self.selfpay_prop} 不在 0 到 1 之间")
        for name in _LINE_AMOUNTS:
            if getattr(self, name) < Fen(0):
                raise _inconsistent(f"明细 {sn} 的 {name} 为负数 {getattr(self, name)}")
        rest = self.det_item_fee_sumamt - self.fulamt_ownpay_amt - self.overlmt_amt
        if self.inscp_scp_amt != rest - self.preselfpay_amt:
            raise _inconsistent(
                f"明细 {sn} 的 inscp_scp_amt {self.inscp_scp_amt} ≠ det_item_fee_sumamt"
                f" − fulamt_ownpay_amt − overlmt_amt − preselfpay_amt = {rest - self.preselfpay_amt}"
            )
        allowed = {
            self.det_item_fee_sumamt.mul_ratio(self.selfpay_prop),
            rest.mul_ratio(self.selfpay_prop),
        }
        if self.preselfpay_amt not in allowed:
            raise _inconsistent(
                f"明细 {sn} 的 preselfpay_amt {self.preselfpay_amt} ≠ 金额 × selfpay_prop"
                f" {self.selfpay_prop}（{' 或 '.join(sorted(str(a) for a in allowed))}）"
            )


@dataclass(frozen=True, kw_only=True)
class SetlDetail:
    """``setldetail[]``: what one fund paid."""

    fund_pay_type: str
    fund_pay_type_name: str = ""
    inscp_scp_amt: Fen = Fen(0)
    fund_payamt: Fen
    crt_payb_lmt_amt: Fen = Fen(0)
    setl_proc_info: str = ""

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> SetlDetail:
        r = _Reader(node, "setldetail", _unreadable)
        return cls(
            fund_pay_type=r.text("fund_pay_type", required=True),
            fund_pay_type_name=r.text("fund_pay_type_name"),
            inscp_scp_amt=r.amount("inscp_scp_amt", default=Fen(0)),
            fund_payamt=r.amount("fund_payamt"),
            crt_payb_lmt_amt=r.amount("crt_payb_lmt_amt", default=Fen(0)),
            setl_proc_info=r.text("setl_proc_info"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fund_pay_type": self.fund_pay_type,
            "fund_pay_type_name": self.fund_pay_type_name,
            "inscp_scp_amt": self.inscp_scp_amt,
            "fund_payamt": self.fund_payamt,
            "crt_payb_lmt_amt": self.crt_payb_lmt_amt,
            "setl_proc_info": self.setl_proc_info,
        }


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """The output of 2206/2207/2208, 2101/2102/2103 and 5203, read and checked."""

    setlinfo: SetlInfo
    setldetail: tuple[SetlDetail, ...] = ()
    detlcutinfo: tuple[FeeLineResult, ...] = ()

    @classmethod
    def from_json(cls, output: dict[str, Any], *, negated: bool = False) -> Settlement:
        """Read and :meth:`check` a settlement answer (``negated`` for 2208/2103)."""
        r = _Reader(output, "结算 output", _unreadable)
        settlement = cls(
            setlinfo=SetlInfo.from_json(r.child("setlinfo").node),
            setldetail=tuple(SetlDetail.from_json(n) for n in r.children("setldetail")),
            detlcutinfo=tuple(FeeLineResult.from_json(n) for n in r.children("detlcutinfo")),
        )
        settlement.check(negated=negated)
        return settlement

    def to_json(self) -> dict[str, Any]:
        return {
            "setlinfo": self.setlinfo.to_json(),
            "setldetail": [d.to_json() for d in self.setldetail],
            "detlcutinfo": [line.to_json() for line in self.detlcutinfo],
        }

    def check(self, *, negated: bool = False) -> None:
        """setlinfo's invariants, every line's, and the lines adding up to the total."""
        self.setlinfo.check(negated=negated)
        for line in self.detlcutinfo:
            line.check()
        if self.detlcutinfo:
            lines = Fen.total(line.det_item_fee_sumamt for line in self.detlcutinfo)
            total = -self.setlinfo.medfee_sumamt if negated else self.setlinfo.medfee_sumamt
            if lines != total:
                raise _inconsistent(
                    f"明细合计 {lines} ≠ medfee_sumamt {self.setlinfo.medfee_sumamt}"
                )


@dataclass(frozen=True, kw_only=True)
class ReconTotals:
    """3201 output ``stmtinfo``. ``stmt_rslt`` "0" is balanced (平), "1" not (不平)."""

    setl_optins: str = ""
    stmt_rslt: str
    stmt_rslt_dscr: str = ""

    @property
    def balanced(self) -> bool:
        return self.stmt_rslt in ("0", "000000")

    @classmethod
    def from_json(cls, output: dict[str, Any]) -> ReconTotals:
        r = _Reader(output, "3201 output", _unreadable).child("stmtinfo")
        return cls(
            setl_optins=r.text("setl_optins"),
            stmt_rslt=r.text("stmt_rslt", required=True),
            stmt_rslt_dscr=r.text("stmt_rslt_dscr"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stmtinfo": {
                "setl_optins": self.setl_optins,
                "stmt_rslt": self.stmt_rslt,
                "stmt_rslt_dscr": self.stmt_rslt_dscr,
            }
        }


@dataclass(frozen=True, kw_only=True)
class ReconDetail:
    """One 3202 row: how the insurer sees one settlement of the period."""

    setl_id: str
    msgid: str = ""
    stmt_rslt: str = ""
    medfee_sumamt: Fen
    fund_pay_sumamt: Fen
    acct_pay: Fen
    refd_setl_flag: str = ""

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> ReconDetail:
        r = _Reader(node, RECON_DETAIL_NODE, _unreadable)
        return cls(
            setl_id=r.text("setl_id", required=True),
            msgid=r.text("msgid"),
            stmt_rslt=r.text("stmt_rslt"),
            medfee_sumamt=r.amount("medfee_sumamt"),
            fund_pay_sumamt=r.amount("fund_pay_sumamt"),
            acct_pay=r.amount("acct_pay"),
            refd_setl_flag=r.text("refd_setl_flag"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "setl_id": self.setl_id,
            "msgid": self.msgid,
            "stmt_rslt": self.stmt_rslt,
            "medfee_sumamt": self.medfee_sumamt,
            "fund_pay_sumamt": self.fund_pay_sumamt,
            "acct_pay": self.acct_pay,
            "refd_setl_flag": self.refd_setl_flag,
        }

    @classmethod
    def rows_from_json(cls, output: dict[str, Any]) -> tuple[ReconDetail, ...]:
        """The rows of a 3202 output, under :data:`RECON_DETAIL_NODE` (required: an
        empty period is an empty list, so that a missing node is never read as "none")."""
        r = _Reader(output, "3202 output", _unreadable)
        if not isinstance(output.get(RECON_DETAIL_NODE), list):
            raise _unreadable(f"3202 output 缺少 {RECON_DETAIL_NODE} 数组")
        return tuple(cls.from_json(n) for n in r.children(RECON_DETAIL_NODE))

    @staticmethod
    def rows_to_json(rows: Iterable[ReconDetail]) -> dict[str, Any]:
        """A 3202 output holding ``rows``."""
        return {RECON_DETAIL_NODE: [row.to_json() for row in rows]}


# -- the e-voucher (医保码) -----------------------------------------------------------------
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
            raise _bad_ec_answer("缺少 code")
        code = answer["code"]
        if isinstance(code, bool) or not isinstance(code, int | str):
            raise _bad_ec_answer(f"code 应为数值或文本：{_shown(code)}")
        code_text = str(code).strip()
        if code_text != "0":
            message = answer.get("message")
            message = message.strip() if isinstance(message, str) else ""
            raise InsurerError(
                message or f"医保电子凭证查询失败（错误码 {code_text}），请让患者刷新医保码后重试",
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
            raise _bad_ec_answer("ecToken 格式不对（应为 6 位区划 + ec + 30 位小写字母数字）")
        return identity

    def to_json(self) -> dict[str, Any]:
        """A successful ``ec.query`` answer carrying this identity (the sandbox's)."""
        return {"code": 0, "message": "成功", "data": {k: getattr(self, k) for k in _EC_TEXT}}


# -- what the cashier sends: inputs ---------------------------------------------------------------
def _amount_arg(value: Fen, name: str) -> Fen:
    if not isinstance(value, Fen):
        raise TypeError(f"{name} must be Fen, not {type(value).__name__}")
    return value


def _flag_arg(value: bool | str, name: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value not in ("0", "1"):
        raise ValueError(f"{name} must be '0' or '1' (or a bool), got {value!r}")
    return value


def _cert_type_arg(value: str) -> str:
    if value not in MDTRT_CERT_TYPES:
        raise ValueError(
            f"mdtrt_cert_type must be one of {sorted(MDTRT_CERT_TYPES)}, got {value!r}"
        )
    return value


_FEE_TEXT = (
    "feedetl_sn",
    "mdtrt_id",
    "psn_no",
    "chrg_bchno",
    "fee_ocur_time",
    "med_list_codg",
    "medins_list_codg",
)
_FEE_EXTRA = ("bilg_dept_codg", "bilg_dept_name", "bilg_dr_codg", "bilg_dr_name", "hosp_appr_flag")


@dataclass(frozen=True, kw_only=True)
class FeeDetail:
    """One fee line the cashier uploads: 2204 ``feedetail[]``, 2101/2102 ``drugdetail[]``.

    ``det_item_fee_sumamt`` should be ``pric`` × ``cnt`` rounded half up (the
    sandbox refuses a line that is not). ``fee_ocur_time`` may be given as a
    datetime; it is kept as ``yyyy-MM-dd HH:mm:ss``.
    """

    feedetl_sn: str
    mdtrt_id: str = ""
    psn_no: str = ""
    chrg_bchno: str = ""
    fee_ocur_time: str = ""
    med_list_codg: str
    medins_list_codg: str = ""
    det_item_fee_sumamt: Fen
    cnt: Decimal
    pric: Fen
    bilg_dept_codg: str = ""
    bilg_dept_name: str = ""
    bilg_dr_codg: str = ""
    bilg_dr_name: str = ""
    hosp_appr_flag: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fee_ocur_time", _time_text(self.fee_ocur_time))
        if isinstance(self.cnt, int) and not isinstance(self.cnt, bool):
            object.__setattr__(self, "cnt", Decimal(self.cnt))
        if not isinstance(self.cnt, Decimal):
            raise TypeError("cnt must be Decimal or int")
        _amount_arg(self.det_item_fee_sumamt, "det_item_fee_sumamt")
        _amount_arg(self.pric, "pric")

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> FeeDetail:
        """Read one uploaded line (the sandbox's side): errors say "请求报文有误"."""
        r = _Reader(node, "费用明细", _bad_request)
        cnt = r.ratio("cnt")
        return cls(
            **{k: r.text(k) for k in _FEE_TEXT},
            det_item_fee_sumamt=r.amount("det_item_fee_sumamt"),
            cnt=cnt,
            pric=r.amount("pric"),
            **{k: r.text(k) for k in _FEE_EXTRA},
        )

    def to_json(self) -> dict[str, Any]:
        node: dict[str, Any] = {k: getattr(self, k) for k in _FEE_TEXT}
        node["det_item_fee_sumamt"] = self.det_item_fee_sumamt
        node["cnt"] = self.cnt
        node["pric"] = self.pric
        node.update((k, getattr(self, k)) for k in _FEE_EXTRA)
        return node


def _fee_lines(lines: Iterable[FeeDetail], name: str) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        if not isinstance(line, FeeDetail):
            raise TypeError(f"{name} takes FeeDetail lines, not {type(line).__name__}")
        rows.append(line.to_json())
    if not rows:
        raise ValueError(f"{name} needs at least one line")
    return rows


def input_9001(*, opter_no: str, mac: str, ip: str) -> dict[str, Any]:
    """签到."""
    return {"signIn": {"opter_no": opter_no, "mac": mac, "ip": ip}}


def input_9002(*, sign_no: str, opter_no: str) -> dict[str, Any]:
    """签退."""
    return {"signOut": {"sign_no": sign_no, "opter_no": opter_no}}


def input_1101(
    *,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    card_sn: str = "",
    psn_cert_type: str = "",
    certno: str = "",
    psn_name: str = "",
) -> dict[str, Any]:
    """人员信息获取 (``mdtrt_cert_type`` 01 ecToken, 02 ID number, 03 card number + card_sn)."""
    return {
        "data": {
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "card_sn": card_sn,
            "begntime": _time_text(begntime),
            "psn_cert_type": psn_cert_type,
            "certno": certno,
            "psn_name": psn_name,
        }
    }


def input_2201(
    *,
    psn_no: str,
    insutype: str,
    begntime: datetime | str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    ipt_otp_no: str,
    atddr_no: str,
    dr_name: str,
    dept_code: str,
    dept_name: str,
    caty: str,
) -> dict[str, Any]:
    """门诊挂号."""
    return {
        "data": {
            "psn_no": psn_no,
            "insutype": insutype,
            "begntime": _time_text(begntime),
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "ipt_otp_no": ipt_otp_no,
            "atddr_no": atddr_no,
            "dr_name": dr_name,
            "dept_code": dept_code,
            "dept_name": dept_name,
            "caty": caty,
        }
    }


def input_2204(*, feedetail: Iterable[FeeDetail]) -> dict[str, Any]:
    """门诊费用明细上传."""
    return {"feedetail": _fee_lines(feedetail, "feedetail")}


#: ``chrg_bchno`` for 2205 meaning every unsettled line of the visit.
ALL_UNSETTLED = "0000"


def input_2205(*, mdtrt_id: str, chrg_bchno: str, psn_no: str) -> dict[str, Any]:
    """撤销费用明细 (``chrg_bchno`` :data:`ALL_UNSETTLED` = all unsettled lines)."""
    return {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno, "psn_no": psn_no}}


def _settle_data(
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
) -> dict[str, Any]:
    return {
        "psn_no": psn_no,
        "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
        "mdtrt_cert_no": mdtrt_cert_no,
        "med_type": med_type,
        "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
        "psn_setlway": psn_setlway,
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": chrg_bchno,
        "acct_used_flag": _flag_arg(acct_used_flag, "acct_used_flag"),
        "insutype": insutype,
    }


def input_2206(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
) -> dict[str, Any]:
    """门诊预结算."""
    return {
        "data": _settle_data(
            psn_no,
            mdtrt_cert_type,
            mdtrt_cert_no,
            med_type,
            medfee_sumamt,
            psn_setlway,
            mdtrt_id,
            chrg_bchno,
            acct_used_flag,
            insutype,
        )
    }


def input_2207(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
    invono: str,
    fulamt_ownpay_amt: Fen,
    overlmt_selfpay: Fen,
    preselfpay_amt: Fen,
    inscp_scp_amt: Fen,
) -> dict[str, Any]:
    """门诊结算: 2206's fields plus the invoice number and the pre-settlement's split."""
    data = _settle_data(
        psn_no,
        mdtrt_cert_type,
        mdtrt_cert_no,
        med_type,
        medfee_sumamt,
        psn_setlway,
        mdtrt_id,
        chrg_bchno,
        acct_used_flag,
        insutype,
    )
    data["invono"] = invono
    data["fulamt_ownpay_amt"] = _amount_arg(fulamt_ownpay_amt, "fulamt_ownpay_amt")
    data["overlmt_selfpay"] = _amount_arg(overlmt_selfpay, "overlmt_selfpay")
    data["preselfpay_amt"] = _amount_arg(preselfpay_amt, "preselfpay_amt")
    data["inscp_scp_amt"] = _amount_arg(inscp_scp_amt, "inscp_scp_amt")
    return {"data": data}


def input_2208(*, setl_id: str, mdtrt_id: str, psn_no: str) -> dict[str, Any]:
    """门诊结算撤销."""
    return {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}


def _pharmacy(
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    medfee_sumamt: Fen,
    invono: str,
    insutype: str,
    acct_used_flag: bool | str,
    med_type: str,
    drugdetail: Iterable[FeeDetail],
) -> dict[str, Any]:
    return {
        "druginfo": {
            "psn_no": psn_no,
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "begntime": _time_text(begntime),
            "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
            "invono": invono,
            "insutype": insutype,
            "acct_used_flag": _flag_arg(acct_used_flag, "acct_used_flag"),
            "med_type": med_type,
        },
        "drugdetail": _fee_lines(drugdetail, "drugdetail"),
    }


def input_2101(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    medfee_sumamt: Fen,
    insutype: str,
    acct_used_flag: bool | str,
    drugdetail: Iterable[FeeDetail],
    invono: str = "",
    med_type: str = "41",
) -> dict[str, Any]:
    """药店预结算 (and, as :data:`input_2102`, 药店结算): ``druginfo`` + ``drugdetail[]``."""
    return _pharmacy(
        psn_no,
        mdtrt_cert_type,
        mdtrt_cert_no,
        begntime,
        medfee_sumamt,
        invono,
        insutype,
        acct_used_flag,
        med_type,
        drugdetail,
    )


#: 药店结算 sends the same ``druginfo`` + ``drugdetail[]`` as 2101 (with ``invono``).
input_2102 = input_2101


def input_2103(*, setl_id: str, mdtrt_id: str, psn_no: str) -> dict[str, Any]:
    """药店结算撤销."""
    return {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}


def input_2601(*, psn_no: str, omsgid: str, oinfno: str) -> dict[str, Any]:
    """冲正 of the message ``omsgid`` (transaction ``oinfno``)."""
    if len(omsgid) != 30:
        raise ValueError(f"omsgid must be the original 30-char msgid, got {omsgid!r}")
    return {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": oinfno}}


def _recon_data(
    insutype: str,
    clr_type: str,
    setl_optins: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    acct_pay: Fen,
    fixmedins_setl_cnt: int,
) -> dict[str, Any]:
    if isinstance(fixmedins_setl_cnt, bool) or not isinstance(fixmedins_setl_cnt, int):
        raise TypeError("fixmedins_setl_cnt must be an int")
    return {
        "data": {
            "insutype": insutype,
            "clr_type": clr_type,
            "setl_optins": setl_optins,
            "stmt_begndate": _date_text(stmt_begndate),
            "stmt_enddate": _date_text(stmt_enddate),
            "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
            "fund_pay_sumamt": _amount_arg(fund_pay_sumamt, "fund_pay_sumamt"),
            "acct_pay": _amount_arg(acct_pay, "acct_pay"),
            "fixmedins_setl_cnt": fixmedins_setl_cnt,
        }
    }


def input_3201(
    *,
    insutype: str,
    clr_type: str,
    setl_optins: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    acct_pay: Fen,
    fixmedins_setl_cnt: int,
) -> dict[str, Any]:
    """对总账: the cashier's totals for the period (dates ``yyyy-MM-dd``)."""
    return _recon_data(
        insutype,
        clr_type,
        setl_optins,
        stmt_begndate,
        stmt_enddate,
        medfee_sumamt,
        fund_pay_sumamt,
        acct_pay,
        fixmedins_setl_cnt,
    )


def input_3202(
    *,
    insutype: str,
    clr_type: str,
    setl_optins: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    acct_pay: Fen,
    fixmedins_setl_cnt: int,
) -> dict[str, Any]:
    """对明细账: the same period, totals and count as 3201; the answer lists settlements."""
    return _recon_data(
        insutype,
        clr_type,
        setl_optins,
        stmt_begndate,
        stmt_enddate,
        medfee_sumamt,
        fund_pay_sumamt,
        acct_pay,
        fixmedins_setl_cnt,
    )


def input_5203(*, psn_no: str, setl_id: str = "", mdtrt_id: str = "") -> dict[str, Any]:
    """结算信息查询 by ``setl_id`` or ``mdtrt_id``."""
    if not (setl_id or mdtrt_id):
        raise ValueError("5203 needs setl_id or mdtrt_id")
    return {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}
