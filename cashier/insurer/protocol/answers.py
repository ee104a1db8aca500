"""Answers, typed and checked: sign-in, person, registration, settlement, reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from cashier.domain.money import Fen
from cashier.insurer.protocol.codes import (
    AMOUNT_ALIASES,
    AMOUNTS_MAY_BE_ABSENT,
    FUNDS,
    SETLINFO_AMOUNTS,
)
from cashier.insurer.protocol.errors import ProtocolError, _inconsistent, _unreadable
from cashier.insurer.protocol.reader import _Reader
from cashier.messages import say


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
            raise _unreadable(say("insurer.answers.bad_age", age=age))
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
    hifdm_pay: Fen = Fen(0)
    othfund_pay: Fen = Fen(0)
    fund_pay_sumamt: Fen
    psn_part_amt: Fen
    acct_pay: Fen
    psn_cash_pay: Fen
    hosp_part_amt: Fen
    balc: Fen
    acct_mulaid_pay: Fen

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> SetlInfo:
        """Read ``setlinfo`` as real gateways send it; a malformed amount, or a missing one
        that every answer carries, raises :class:`ProtocolError`.

        Amounts may be numbers or strings; an amount under another real name is read under
        the interface's (:data:`AMOUNT_ALIASES`); the amounts of
        :data:`AMOUNTS_MAY_BE_ABSENT` may be missing or ``null``: ``psn_part_amt`` is then
        ``acct_pay + psn_cash_pay``, the others zero. Unknown fields are ignored. This reads
        only; call :meth:`check` (or use :meth:`Settlement.from_json`, which does) before
        showing it as a bill.
        """
        r = _Reader(node, "setlinfo", _unreadable)
        amounts = {k: _setl_amount(r, k) for k in SETLINFO_AMOUNTS}
        if amounts["psn_part_amt"] is None:
            amounts["psn_part_amt"] = amounts["acct_pay"] + amounts["psn_cash_pay"]
        return cls(
            setl_id=r.optional_text("setl_id"),
            mdtrt_id=r.optional_text("mdtrt_id"),
            **{k: r.text(k) for k in _SETLINFO_TEXT},
            age=r.decimal("age"),
            pool_prop_selfpay=r.decimal("pool_prop_selfpay", default=Decimal(0)),
            **{k: Fen(0) if v is None else v for k, v in amounts.items()},
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
                raise _inconsistent(
                    say("insurer.answers.reversal_positive", name=name, value=value)
                )
            if not negated and value < Fen(0):
                raise _inconsistent(say("insurer.answers.negative", name=name, value=value))
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
        funds = Fen.total(getattr(self, k) for k in FUNDS)
        if self.fund_pay_sumamt != funds:
            raise _inconsistent(
                f"fund_pay_sumamt {self.fund_pay_sumamt} ≠ {' + '.join(FUNDS)} = {funds}"
            )


def _setl_amount(r: _Reader, name: str) -> Fen | None:
    """One ``setlinfo`` amount under its own name or a real gateway's other name; ``None``
    when absent and allowed to be (:data:`AMOUNTS_MAY_BE_ABSENT`)."""
    for key in (name, *AMOUNT_ALIASES.get(name, ())):
        if r.node.get(key) not in (None, ""):
            return r.amount(key)
    if name in AMOUNTS_MAY_BE_ABSENT:
        return None
    return r.amount(name)  # raises: 缺少 name


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
            raise _inconsistent(
                say("insurer.answers.bad_selfpay_prop", sn=sn, selfpay_prop=self.selfpay_prop)
            )
        for name in _LINE_AMOUNTS:
            if getattr(self, name) < Fen(0):
                raise _inconsistent(
                    say(
                        "insurer.answers.line_negative", sn=sn, name=name, value=getattr(self, name)
                    )
                )
        rest = self.det_item_fee_sumamt - self.fulamt_ownpay_amt - self.overlmt_amt
        if self.inscp_scp_amt != rest - self.preselfpay_amt:
            raise _inconsistent(
                say(
                    "insurer.answers.bad_inscp",
                    sn=sn,
                    inscp_scp_amt=self.inscp_scp_amt,
                    value=rest - self.preselfpay_amt,
                )
            )
        allowed = {
            self.det_item_fee_sumamt.mul_ratio(self.selfpay_prop),
            rest.mul_ratio(self.selfpay_prop),
        }
        if self.preselfpay_amt not in allowed:
            raise _inconsistent(
                say(
                    "insurer.answers.bad_preselfpay",
                    sn=sn,
                    preselfpay_amt=self.preselfpay_amt,
                    selfpay_prop=self.selfpay_prop,
                    value=" 或 ".join(sorted(str(a) for a in allowed)),
                )
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
                    say(
                        "insurer.answers.lines_differ",
                        lines=lines,
                        medfee_sumamt=self.setlinfo.medfee_sumamt,
                    )
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
    psn_no: str = ""
    mdtrt_id: str = ""
    memo: str = ""

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> ReconDetail:
        r = _Reader(node, "3202 明细", _unreadable)
        return cls(
            setl_id=r.text("setl_id", required=True),
            msgid=r.text("msgid"),
            stmt_rslt=r.text("stmt_rslt"),
            medfee_sumamt=r.amount("medfee_sumamt"),
            fund_pay_sumamt=r.amount("fund_pay_sumamt"),
            acct_pay=r.amount("acct_pay"),
            refd_setl_flag=r.text("refd_setl_flag"),
            psn_no=r.text("psn_no"),
            mdtrt_id=r.text("mdtrt_id"),
            memo=r.text("memo"),
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
            "psn_no": self.psn_no,
            "mdtrt_id": self.mdtrt_id,
            "memo": self.memo,
        }


# -- an answer belongs to its request --------------------------------------------------------------
#: The settling and cancelling transactions: their answer is a settlement (``negated``: a
#: cancellation's amounts are negative).
SETTLEMENT_ANSWERS = {
    "2206": False,
    "2207": False,
    "2101": False,
    "2102": False,
    "5203": False,
    "2208": True,
    "2103": True,
}
#: The node of each transaction's input that names the person, visit, settlement and total.
_INPUT_NODE = {"2101": "druginfo", "2102": "druginfo"}
#: Transactions whose answer must carry the settlement's number.
_SETTLES = ("2207", "2102")


def check_answer(infno: str, input: Mapping[str, Any], output: dict[str, Any]) -> None:
    """Raise :class:`ProtocolError` unless ``output`` is a readable answer to ``input``.

    Every settlement answer is read and checked (:meth:`Settlement.from_json`); then it must
    belong to its request: the person (``psn_no``), the visit (``mdtrt_id``) and the
    settlement (``setl_id``) it names must be the ones asked about, and a settlement's total
    must be the total sent. A field the request did not name, or the answer leaves out, is not
    compared (a pharmacy's visit number comes in its 2102 answer). A settling answer without a
    settlement number cannot be cancelled or looked up and is refused too.
    """
    if infno == "2204":
        for row in output.get("result") or []:
            FeeLineResult.from_json(row).check()
        return
    if infno not in SETTLEMENT_ANSWERS:
        return
    bill = Settlement.from_json(output, negated=SETTLEMENT_ANSWERS[infno])
    asked = input.get(_INPUT_NODE.get(infno, "data"))
    asked = asked if isinstance(asked, Mapping) else {}
    got = bill.setlinfo
    for key in ("psn_no", "mdtrt_id", "setl_id"):
        want, have = str(asked.get(key) or ""), str(getattr(got, key) or "")
        if want and have and want != have:
            raise _foreign(say("insurer.answers.differs", key=key, want=want, have=have))
    if "medfee_sumamt" in asked and asked["medfee_sumamt"] is not None:
        want_total = Fen.from_json(asked["medfee_sumamt"])
        if got.medfee_sumamt != want_total:
            raise _foreign(
                say(
                    "insurer.answers.medfee_differs",
                    want_total=want_total,
                    medfee_sumamt=got.medfee_sumamt,
                )
            )
    if infno in _SETTLES and not got.setl_id:
        raise _unreadable(say("insurer.answers.no_setl_id"))


def _foreign(detail: str) -> ProtocolError:
    return _inconsistent(say("insurer.answers.not_ours", detail=detail))
