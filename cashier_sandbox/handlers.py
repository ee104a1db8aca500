"""The sandbox insurer's transactions: what each infno does to its state and answers.

Each handler takes the parsed request and returns the ``output`` node, or
raises :class:`Refused` (answered as ``infcode -1`` with its message).
Money-changing calls are idempotent by ``msgid``: a repeat gets the stored
answer and is never settled twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cashier.devices.scanner import is_trace_code
from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier.insurer import protocol
from cashier_sandbox import shapes, state
from cashier_sandbox.policy import (
    CatalogEntry,
    FeeLine,
    InsuredPerson,
    Policy,
    PolicyRefusal,
    SettlementRequest,
    SettlementResult,
    YearToDate,
    split_line,
)
from cashier_sandbox.state import (
    EVoucher,
    FeeDetail,
    Message,
    Person,
    Settlement,
    SignIn,
    Visit,
    sandbox_db,
)

INSUTYPE_NAMES = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "390": "城乡居民基本医疗保险",
    "392": "城乡居民大病医疗保险",
    "510": "生育保险",
}


class Refused(CashierError):
    """An answer with ``infcode -1`` and this message."""


@dataclass
class Transactions:
    policy: Policy
    catalog: dict[str, CatalogEntry]
    _catalog_cache: dict = field(default_factory=dict, repr=False)

    def table(self) -> dict[str, Callable[[protocol.Request], dict | None]]:
        return {
            "9001": self.sign_in,
            "9002": self.sign_out,
            "1101": self.person_info,
            "2201": self.register,
            "2203": self.upload_visit,
            "2204": self.upload_fees,
            "2205": self.delete_fees,
            "2206": self.pre_settle,
            "2207": self.settle,
            "2208": self.cancel,
            "2101": self.pharmacy_pre_settle,
            "2102": self.pharmacy_settle,
            "2103": self.cancel,
            "2601": self.reverse,
            "1301": self.catalog_file,
            "1302": self.catalog_file,
            "1305": self.catalog_file,
            "1312": self.catalog_query,
            "3301": self.map_items,
            "3302": self.unmap_item,
            "3501": self.stock_count,
            "3502": self.stock_change,
            "3503": self.purchase,
            "3504": self.purchase_return,
            "3507": self.withdraw,
            "3505": self.sale_or_return,
            "3506": self.sale_or_return,
            "3201": self.reconcile_totals,
            "3202": self.reconcile_details,
            "5203": self.lookup,
            "9101": self.upload_file,
            "9102": self.download_file,
        }

    # -- sign-in ------------------------------------------------------------------
    def sign_in(self, req: protocol.Request) -> dict:
        node = _node(req, "signIn")
        sign_no = datetime.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)
        SignIn.create(
            sign_no=sign_no,
            opter=str(node.get("opter_no", req.opter)),
            fixmedins_code=req.fixmedins_code,
        )
        return {"signinoutb": {"sign_no": sign_no, "sign_time": _now_text()}}

    def sign_out(self, req: protocol.Request) -> dict:
        node = _node(req, "signOut")
        SignIn.update(signed_out=True).where(
            SignIn.sign_no == str(node.get("sign_no", ""))
        ).execute()
        return {"signoutoutb": {"sign_time": _now_text()}}

    def check_signed_in(self, req: protocol.Request) -> None:
        if req.infno == "9001":
            return
        row = SignIn.get_or_none(SignIn.sign_no == req.sign_no)
        if row is None or row.signed_out or row.signed_at.date() != datetime.now().date():
            raise Refused("签到编号无效或已过期，请重新签到")

    # -- identification -------------------------------------------------------------
    def identify(self, cert_type: str, cert_no: str, card_sn: str = "") -> Person:
        cert_no = cert_no.strip()
        if cert_type == "01":
            voucher = EVoucher.get_or_none(EVoucher.ec_token == cert_no)
            if voucher is None:
                raise Refused("医保电子凭证无效，请让患者刷新医保码后重新出示")
            person = Person.get_by_id(voucher.psn_no)
            if not person.ec_activated:
                raise Refused(state.EC_NOT_ACTIVATED)
        elif cert_type == "02":
            person = Person.get_or_none(Person.certno == cert_no.upper())
            if person is None:
                raise Refused("未查询到该身份证号的参保信息")
        elif cert_type == "03":
            person = Person.get_or_none(Person.card_no == cert_no)
            if person is None or (card_sn and card_sn.upper() != person.card_sn):
                raise Refused("社会保障卡信息不符，请重新读卡")
            if person.card_status == "lost":
                raise Refused("该社会保障卡已挂失，请使用医保电子凭证或身份证")
        else:
            raise Refused(
                f"就诊凭证类型 {cert_type!r} 无效（01 医保电子凭证、02 身份证、03 社保卡）"
            )
        state.roll_year(person)
        return person

    def person_info(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        person = self.identify(
            str(data.get("mdtrt_cert_type", "")),
            str(data.get("mdtrt_cert_no", "")),
            str(data.get("card_sn", "")),
        )
        # Name and ID number, when sent, must be the person's: a card or code shown by someone else.
        name = str(data.get("psn_name") or "").strip()
        certno = str(data.get("certno") or "").strip().upper()
        id_card = str(data.get("psn_cert_type") or "01") == "01"
        if (name and name != person.name) or (certno and id_card and certno != person.certno):
            raise Refused("姓名与证件号码不符，请核对患者身份")
        return {
            "baseinfo": {
                "psn_no": person.psn_no,
                "psn_cert_type": "01",
                "certno": person.certno,
                "psn_name": person.name,
                "gend": person.gend,
                "naty": "01",
                "brdy": person.brdy,
                "age": person.age(),
            },
            "insuinfo": [
                {
                    # The personal account belongs to the main insurance; others show 0.
                    "balc": person.balance if insutype == person.insutype else Fen(0),
                    "insutype": insutype,
                    "psn_type": person.psn_type,
                    "psn_insu_stas": "1" if person.insured else "2",
                    "psn_insu_date": "2010-01-01",
                    "paus_insu_date": "" if person.insured else "2026-01-01",
                    "cvlserv_flag": "1" if person.cvlserv_flag else "0",
                    "insuplc_admdvs": person.insuplc_admdvs,
                    "emp_name": person.emp_name,
                }
                for insutype in person.insutypes
            ],
            "idetinfo": [],
        }

    def _insutype(self, person: Person, *sent: object) -> str:
        """The insurance a message settles: the first one sent, else the person's main one.

        It must be one the person holds, and one that settles on its own
        (320 公务员医疗补助 is paid within 310's settlement, never alone).
        """
        insutype = next((str(v) for v in sent if v), person.insutype)
        if insutype not in person.insutypes:
            named = " ".join(filter(None, (insutype, INSUTYPE_NAMES.get(insutype))))
            raise Refused(f"该人员未参加险种 {named}，请按人员信息（1101）返回的险种办理")
        try:
            self.policy.group_of(_insured(person, insutype))
        except PolicyRefusal as exc:
            raise Refused(str(exc)) from None
        return insutype

    # -- clinic visits ----------------------------------------------------------------------
    def register(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        person = self._person(str(data.get("psn_no", "")))
        cert_type = str(data.get("mdtrt_cert_type", ""))
        self.identify(cert_type, str(data.get("mdtrt_cert_no", "")))
        insutype = self._insutype(person, data.get("insutype"))
        caty = str(data.get("caty") or "")
        if caty[:3] not in protocol.CATY:
            raise Refused(f"科别 caty“{caty}”不是科别代码（如 A03 内科），请核对科室对照")
        mdtrt_id = f"MD{datetime.now():%Y%m%d}{state.next_number('mdtrt'):08d}"
        Visit.create(
            mdtrt_id=mdtrt_id,
            psn_no=person.psn_no,
            insutype=insutype,
            med_type=str(data.get("med_type", "11")),
            fixmedins_code=req.fixmedins_code,
            mdtrt_cert_type=cert_type,
            mdtrt_cert_no=str(data.get("mdtrt_cert_no", "")),
            begntime=str(data.get("begntime", "")),
        )
        return {
            "data": {
                "mdtrt_id": mdtrt_id,
                "psn_no": person.psn_no,
                "ipt_otp_no": str(data.get("ipt_otp_no", "")),
            }
        }

    def upload_visit(self, req: protocol.Request) -> dict:
        """2203 就诊信息上传: the visit's diagnosis (the first valid ``diseinfo`` row)."""
        info = _node(req, "mdtrtinfo")
        visit = self._visit(str(info.get("mdtrt_id", "")))
        if str(info.get("psn_no", "")) != visit.psn_no:
            raise Refused("人员编号与就诊信息不符")
        rows = req.input.get("diseinfo")
        if not isinstance(rows, list) or not rows:
            raise Refused("diseinfo 不能为空：门诊就诊须上传诊断")
        for row in rows:
            if not isinstance(row, dict):
                raise Refused("diseinfo 应为对象数组")
            for key in ("diag_type", "diag_srt_no", "diag_code", "diag_name", "diag_dept"):
                if not str(row.get(key) or ""):
                    raise Refused(f"诊断信息缺少 {key}")
        first = rows[0]
        Visit.update(diag_code=str(first["diag_code"]), diag_name=str(first["diag_name"])).where(
            Visit.mdtrt_id == visit.mdtrt_id
        ).execute()
        return {}

    def upload_fees(self, req: protocol.Request) -> dict:
        rows = req.input.get("feedetail")
        if not isinstance(rows, list) or not rows:
            raise Refused("feedetail 不能为空")
        lines, mdtrt_id, chrg_bchno = [], "", ""
        for row in rows:
            if isinstance(row, dict):
                for key in protocol.FEE_CLINIC_REQUIRED:
                    if not str(row.get(key) or ""):
                        raise Refused(f"费用明细 {row.get('feedetl_sn', '')} 缺少 {key}")
            line = _fee_line(row)
            mdtrt_id, chrg_bchno = str(row.get("mdtrt_id", "")), str(row.get("chrg_bchno", ""))
            lines.append(line)
        self._visit(mdtrt_id)  # the visit must exist
        with sandbox_db.atomic():
            for line in lines:
                FeeDetail.delete().where(
                    (FeeDetail.mdtrt_id == mdtrt_id)
                    & (FeeDetail.feedetl_sn == line.feedetl_sn)
                    & FeeDetail.setl_id.is_null()
                ).execute()
                FeeDetail.create(
                    mdtrt_id=mdtrt_id,
                    chrg_bchno=chrg_bchno,
                    feedetl_sn=line.feedetl_sn,
                    med_list_codg=line.med_list_codg,
                    cnt=str(line.cnt),
                    pric=line.pric,
                    amount=line.det_item_fee_sumamt,
                )
        return {
            "result": [
                _line_json(split_line(ln, self.catalog.get(ln.med_list_codg))) for ln in lines
            ]
        }

    def delete_fees(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        mdtrt_id, bchno = str(data.get("mdtrt_id", "")), str(data.get("chrg_bchno", ""))
        query = FeeDetail.delete().where(
            (FeeDetail.mdtrt_id == mdtrt_id) & FeeDetail.setl_id.is_null()
        )
        if bchno and bchno != "0000":
            query = query.where(FeeDetail.chrg_bchno == bchno)
        query.execute()
        return {}

    def _clinic_lines(self, mdtrt_id: str, chrg_bchno: str) -> tuple[FeeLine, ...]:
        query = FeeDetail.select().where(
            (FeeDetail.mdtrt_id == mdtrt_id) & FeeDetail.setl_id.is_null()
        )
        if chrg_bchno and chrg_bchno != "0000":
            query = query.where(FeeDetail.chrg_bchno == chrg_bchno)
        lines = tuple(
            FeeLine(f.feedetl_sn, f.med_list_codg, Decimal(f.cnt), f.pric, f.amount)
            for f in query.order_by(FeeDetail.id)
        )
        if not lines:
            raise Refused("该就诊没有待结算的费用明细，请先上传（2204）")
        return lines

    def _clinic_result(self, req, data: dict, visit: Visit, person: Person) -> SettlementResult:
        """The settlement of the visit's unsettled lines, checked against the total sent."""
        lines = self._clinic_lines(visit.mdtrt_id, str(data.get("chrg_bchno", "")))
        result = self._compute(
            person,
            visit.insutype,
            str(data.get("med_type") or visit.med_type),
            _flag(data.get("acct_used_flag")),
            lines,
            req,
        )
        _check_total(data, result)
        return result

    def _clinic_visit(self, data: dict) -> tuple[Visit, Person]:
        visit, person = self._clinic_visit_of(data)
        if not visit.diag_code:
            raise Refused("请先上传就诊信息（2203），门诊结算须有诊断")
        return visit, person

    def _clinic_visit_of(self, data: dict) -> tuple[Visit, Person]:
        """The visit, settled under the insurance this message names (else the registered one)."""
        visit = self._visit(str(data.get("mdtrt_id", "")))
        person = self._person(visit.psn_no)
        # In memory only: the answer and the settlement record carry the insurance settled.
        visit.insutype = self._insutype(person, data.get("insutype"), visit.insutype)
        return visit, person

    def pre_settle(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        visit, person = self._clinic_visit(data)
        result = self._clinic_result(req, data, visit, person)
        return {"setlinfo": self._setlinfo(result, person, visit, None, "11")}

    def settle(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        visit, person = self._clinic_visit(data)
        ec_token = self._usable_token(data)
        result = self._clinic_result(req, data, visit, person)
        return self._commit(req, person, visit, result, "11", ec_token, with_lines=False)

    # -- pharmacy ---------------------------------------------------------------------------
    def _pharmacy(self, req: protocol.Request) -> tuple[Person, dict, tuple[FeeLine, ...]]:
        info = _node(req, "druginfo")
        rows = req.input.get("drugdetail")
        if not isinstance(rows, list) or not rows:
            raise Refused("drugdetail 不能为空")
        person = self._person(str(info.get("psn_no", "")))
        self.identify(str(info.get("mdtrt_cert_type", "")), str(info.get("mdtrt_cert_no", "")))
        return person, info, tuple(_fee_line(r) for r in rows)

    def _pharmacy_result(self, req, info: dict, person: Person, lines, insutype: str):
        acct_used = _flag(info.get("acct_used_flag"))
        result = self._compute(person, insutype, "41", acct_used, lines, req)
        _check_total(info, result)
        return result

    def pharmacy_pre_settle(self, req: protocol.Request) -> dict:
        person, info, lines = self._pharmacy(req)
        insutype = self._insutype(person, info.get("insutype"))
        result = self._pharmacy_result(req, info, person, lines, insutype)
        visit = Visit(mdtrt_id="", psn_no=person.psn_no, insutype=insutype, med_type="41")
        return {
            "setlinfo": shapes.pharmacy(self._setlinfo(result, person, visit, None, "41")),
            "detlcutinfo": [_line_json(s) for s in result.lines],
        }

    def pharmacy_settle(self, req: protocol.Request) -> dict:
        person, info, lines = self._pharmacy(req)
        insutype = self._insutype(person, info.get("insutype"))
        ec_token = self._usable_token(info)
        result = self._pharmacy_result(req, info, person, lines, insutype)
        mdtrt_id = f"MD{datetime.now():%Y%m%d}{state.next_number('mdtrt'):08d}"
        visit = Visit.create(
            mdtrt_id=mdtrt_id,
            psn_no=person.psn_no,
            insutype=insutype,
            med_type="41",
            fixmedins_code=req.fixmedins_code,
            mdtrt_cert_type=str(info.get("mdtrt_cert_type", "")),
            mdtrt_cert_no=str(info.get("mdtrt_cert_no", "")),
            begntime=str(info.get("begntime", "")),
        )
        return self._commit(req, person, visit, result, "41", ec_token, with_lines=True)

    # -- settling, cancelling, reversing -----------------------------------------------------
    def _usable_token(self, data: dict) -> str:
        if str(data.get("mdtrt_cert_type", "")) != "01":
            return ""
        token = str(data.get("mdtrt_cert_no", ""))
        voucher = EVoucher.get_or_none(EVoucher.ec_token == token)
        if voucher is None:
            raise Refused("医保电子凭证无效，请让患者刷新医保码后重新出示")
        if voucher.used_setl_id:
            raise Refused("该医保码已用于一次结算，请让患者刷新医保码后重新出示")
        return token

    def _commit(
        self, req, person, visit, result: SettlementResult, clr_type, ec_token, *, with_lines
    ):
        setl_id = f"ST{datetime.now():%Y%m%d}{state.next_number('setl'):010d}"
        family = (
            Person.get_or_none(Person.psn_no == person.family_psn_no)
            if person.family_psn_no
            else None
        )
        own_pay = result.acct_pay - result.acct_mulaid_pay
        setlinfo = self._setlinfo(result, person, visit, setl_id, clr_type)
        if clr_type == "41":
            setlinfo = shapes.pharmacy(setlinfo)
        output: dict[str, Any] = {
            "setlinfo": setlinfo,
            "setldetail": [_fund_json(f) for f in result.fund_details],
        }
        if with_lines:
            output["detlcutinfo"] = [_line_json(s) for s in result.lines]
        with sandbox_db.atomic():
            Person.update(
                balance=Person.balance - own_pay,
                deductible_used=Person.deductible_used + result.act_pay_dedc,
                pooled_paid=Person.pooled_paid + result.hifp_pay,
            ).where(Person.psn_no == person.psn_no).execute()
            if family is not None and result.acct_mulaid_pay:
                Person.update(balance=Person.balance - result.acct_mulaid_pay).where(
                    Person.psn_no == family.psn_no
                ).execute()
            FeeDetail.update(setl_id=setl_id).where(
                (FeeDetail.mdtrt_id == visit.mdtrt_id) & FeeDetail.setl_id.is_null()
            ).execute()
            if ec_token:
                EVoucher.update(used_setl_id=setl_id).where(EVoucher.ec_token == ec_token).execute()
            Settlement.create(
                setl_id=setl_id,
                msgid=req.msgid,
                infno=req.infno,
                mdtrt_id=visit.mdtrt_id,
                psn_no=person.psn_no,
                fixmedins_code=req.fixmedins_code,
                insutype=visit.insutype,
                clr_type=clr_type,
                setl_date=datetime.now().strftime("%Y-%m-%d"),
                medfee_sumamt=result.medfee_sumamt,
                fund_pay_sumamt=result.fund_pay_sumamt,
                acct_pay=result.acct_pay,
                acct_mulaid_pay=result.acct_mulaid_pay,
                family_psn_no=family.psn_no if family else "",
                act_pay_dedc=result.act_pay_dedc,
                hifp_pay=result.hifp_pay,
                ec_token=ec_token,
                output=protocol.dumps(output),
            )
        return output

    def cancel(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        setl = Settlement.get_or_none(Settlement.setl_id == str(data.get("setl_id", "")))
        if setl is None or setl.psn_no != str(data.get("psn_no", setl.psn_no)):
            raise Refused("结算记录不存在")
        return self._undo(setl, req.msgid, infno=req.infno)

    def _undo(
        self, setl: Settlement, msgid: str, *, infno: str = "2208", reversal: bool = False
    ) -> dict:
        if setl.cancelled:
            raise Refused(f"结算 {setl.setl_id} 已撤销")
        original = protocol.loads(setl.output)["setlinfo"]
        own_pay = setl.acct_pay - setl.acct_mulaid_pay
        with sandbox_db.atomic():
            Person.update(
                balance=Person.balance + own_pay,
                deductible_used=Person.deductible_used - setl.act_pay_dedc,
                pooled_paid=Person.pooled_paid - setl.hifp_pay,
            ).where(Person.psn_no == setl.psn_no).execute()
            if setl.family_psn_no and setl.acct_mulaid_pay:
                Person.update(balance=Person.balance + setl.acct_mulaid_pay).where(
                    Person.psn_no == setl.family_psn_no
                ).execute()
            FeeDetail.update(setl_id=None).where(FeeDetail.setl_id == setl.setl_id).execute()
            if reversal and setl.ec_token:
                # A reversed settlement never happened: its e-voucher may still pay.
                EVoucher.update(used_setl_id=None).where(
                    EVoucher.ec_token == setl.ec_token
                ).execute()
            Settlement.update(cancelled=True, cancel_msgid=msgid).where(
                Settlement.setl_id == setl.setl_id
            ).execute()
        balc = Person.get_by_id(setl.psn_no).balance
        return {"setlinfo": shapes.cancellation(original, infno, balc=balc)}

    def reverse(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        omsgid, oinfno = str(data.get("omsgid", "")), str(data.get("oinfno", ""))
        setl = Settlement.get_or_none(Settlement.msgid == omsgid)
        if setl is not None and not setl.cancelled:
            self._undo(setl, req.msgid, reversal=True)
            return {}
        cancelled = Settlement.get_or_none(Settlement.cancel_msgid == omsgid)
        if cancelled is not None and oinfno in ("2208", "2103"):
            raise Refused("撤销交易不支持冲正，请重新结算")
        # Nothing was committed under that msgid. Leave a tombstone, so that the
        # original arriving late (a slow network) is refused, never settled.
        if stored_response(omsgid) is None:
            now = datetime.now()
            tombstone = protocol.build_response(
                {},
                infcode=-1,
                err_msg="该交易已冲正",
                when=now,
                inf_refmsgid=protocol.make_refmsgid(
                    state.DEFAULT_ADMVS, now, state.next_number("refmsg")
                ),
            )
            remember_response(omsgid, oinfno or "?", protocol.dumps(tombstone))
        return {}

    def lookup(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        query = Settlement.select().where(Settlement.psn_no == str(data.get("psn_no", "")))
        if data.get("setl_id"):
            query = query.where(Settlement.setl_id == str(data["setl_id"]))
        elif data.get("mdtrt_id"):
            query = query.where(Settlement.mdtrt_id == str(data["mdtrt_id"]))
        else:
            raise Refused("请提供 setl_id 或 mdtrt_id")
        setl = query.order_by(Settlement.created_at.desc()).first()
        if setl is None:
            raise Refused("未查询到结算信息")
        output = protocol.loads(setl.output)
        output["setlinfo"] = shapes.lookup(output["setlinfo"], cancelled=setl.cancelled)
        output.pop("detlcutinfo", None)
        return output

    # -- reconciliation ------------------------------------------------------------------------
    def _period(self, req, data):
        query = Settlement.select().where(
            (Settlement.fixmedins_code == req.fixmedins_code)
            & (Settlement.setl_date >= str(data.get("stmt_begndate", ""))[:10])
            & (Settlement.setl_date <= str(data.get("stmt_enddate", ""))[:10])
            & (Settlement.cancelled == False)  # noqa: E712
        )
        if data.get("insutype"):
            query = query.where(Settlement.insutype == str(data["insutype"]))
        if data.get("clr_type"):
            query = query.where(Settlement.clr_type == str(data["clr_type"]))
        return list(query)

    def reconcile_totals(self, req: protocol.Request) -> dict:
        data = _node(req, "data")
        rows = self._period(req, data)
        ours = (
            Fen.total(r.medfee_sumamt for r in rows),
            Fen.total(r.fund_pay_sumamt for r in rows),
            Fen.total(r.acct_pay for r in rows),
            len(rows),
        )
        theirs = (
            protocol.money(data.get("medfee_sumamt", 0)),
            protocol.money(data.get("fund_pay_sumamt", 0)),
            protocol.money(data.get("acct_pay", 0)),
            int(data.get("fixmedins_setl_cnt", 0)),
        )
        ok = ours == theirs
        return {
            "stmtinfo": {
                "setl_optins": str(data.get("setl_optins", "")),
                "stmt_rslt": "0" if ok else "1",
                "stmt_rslt_dscr": "对账一致"
                if ok
                else (
                    f"对账不一致：平台 {ours[3]} 笔，费用 {ours[0]}，基金 {ours[1]}，个账 {ours[2]}"
                ),
            }
        }

    # -- 进销存: purchases, sales, returns (3503, 3505, 3506) ----------------------------------
    def purchase(self, req: protocol.Request) -> None:
        """3503 采购: a batch in. The batch number is the document's key: sent again, it is
        refused as a repeat (the institution's retry after a lost answer)."""
        info = _node(req, "purcinfo")
        _require(info, "purcinfo", _PURCINFO_REQUIRED)
        count = _count(info, "purc_retn_cnt")
        key = f"3503:{req.fixmedins_code}:{info['fixmedins_bchno']}"
        self._keep_doc(key, req, info, +count)
        return None

    # -- the catalogs and the institution's mappings ----------------------------------------
    def _catalog(self, catalog: str) -> list[dict]:
        from cashier_sandbox.catalog import catalog_rows

        extra = int(state.setting("catalog_rows", "0") or 0)
        key = (catalog, extra)
        if key not in self._catalog_cache:
            self._catalog_cache[key] = catalog_rows(catalog, self.catalog, extra)
        return self._catalog_cache[key]

    def catalog_file(self, req: protocol.Request) -> dict:
        """1301 / 1302 / 1305: the file of the version after ``data.ver`` (one version a
        file), fetched with 9102; nothing newer: no file (an empty ``output``)."""
        from cashier.insurer.protocol.catalogs import catalog_line

        data = _node(req, "data")
        ver = str(data.get("ver") or "0").strip()
        if not ver.isdigit():
            raise Refused(f"版本号 {ver} 不正确")
        wanted = f"{int(ver) + 1:08d}"
        rows = [r for r in self._catalog(req.infno) if r["ver"] == wanted]
        if not rows:
            return {}
        text = "\n".join(catalog_line(req.infno, r) for r in rows) + "\n"
        name = f"{req.infno}_{wanted}.txt"
        return self._store_file(name.replace(".txt", ".zip"), protocol.zip_text(name, text))

    def catalog_query(self, req: protocol.Request) -> dict:
        """1312 目录信息查询: a page of the catalogs, by code, type and validity."""
        data = _node(req, "data")
        code = str(data.get("med_list_codg") or "")
        page = max(int(str(data.get("page_num") or 1)), 1)
        size = min(max(int(str(data.get("page_size") or 100)), 1), 1000)
        kinds = {"101": "1301", "102": "1302", "201": "1305"}
        wanted = kinds.get(str(data.get("list_type") or ""), None)
        rows = [
            r
            for c in ((wanted,) if wanted else ("1301", "1302", "1305"))
            for r in self._catalog(c)
            if not code or r["med_list_codg"] == code
        ]
        total = len(rows)
        chunk = rows[(page - 1) * size : page * size]
        return {
            "data": [
                {"med_list_codg": r["med_list_codg"], "vali_flag": r["vali_flag"],
                 "rid": r["rid"], "ver": r["ver"]}
                for r in chunk
            ],
            "recordCounts": total,
            "pageNum": page,
            "pageSize": size,
            "pages": (total + size - 1) // size,
            "firstPage": page == 1,
            "lastPage": page * size >= total,
        }  # fmt: skip

    def _known_code(self, code: str) -> bool:
        return code in self.catalog or any(
            r["med_list_codg"] == code for c in ("1301", "1302", "1305") for r in self._catalog(c)
        )

    def map_items(self, req: protocol.Request) -> None:
        """3301 目录对照上传: each row maps an item of the institution onto a catalog code."""
        rows = req.input.get("data")
        if not isinstance(rows, list) or not rows:
            raise Refused("data 不能为空")
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise Refused(f"data 第 {n} 条不是对象")
            _require(row, f"data[{n}]", ("fixmedins_hilist_id", "fixmedins_hilist_name",
                                         "list_type", "med_list_codg", "begndate"))  # fmt: skip
            if not self._known_code(str(row["med_list_codg"])):
                raise Refused(f"医疗目录编码 {row['med_list_codg']} 不存在")
        with sandbox_db.atomic():
            for row in rows:
                state.Mapping.insert(
                    key=f"{req.fixmedins_code}:{row['fixmedins_hilist_id']}:{row['list_type']}",
                    fixmedins_code=req.fixmedins_code,
                    hilist_id=str(row["fixmedins_hilist_id"]),
                    med_list_codg=str(row["med_list_codg"]),
                ).on_conflict_replace().execute()
        return None

    def unmap_item(self, req: protocol.Request) -> None:
        """3302 目录对照删除."""
        data = _node(req, "data")
        _require(data, "data", ("fixmedins_hilist_id", "list_type", "med_list_codg"))
        key = f"{req.fixmedins_code}:{data['fixmedins_hilist_id']}:{data['list_type']}"
        gone = (
            state.Mapping.delete()
            .where((state.Mapping.key == key)
                   & (state.Mapping.med_list_codg == str(data["med_list_codg"])))
            .execute()
        )  # fmt: skip
        if not gone:
            raise Refused("对照关系不存在")
        return None

    def stock_count(self, req: protocol.Request) -> None:
        """3501 盘存: a batch counted on a day (one count per batch and day)."""
        info = _node(req, "invinfo")
        _require(info, "invinfo", (*_INVINFO_REQUIRED, "invdate", "inv_cnt"))
        key = f"3501:{req.fixmedins_code}:{info['fixmedins_bchno']}:{info['invdate']}"
        self._keep_doc(key, req, info, 0)
        return None

    def stock_change(self, req: protocol.Request) -> None:
        """3502 库存变更: a batch's boxes in or out (盘盈 103, 盘亏 104, 报损 105 …)."""
        info = _node(req, "invinfo")
        _require(info, "invinfo", _INVINFO_REQUIRED + _CHANGE_REQUIRED)
        kind = str(info["inv_chg_type"])
        if kind not in _CHANGE_SIGNS:
            raise Refused(f"库存变更类型 {kind} 不在字典中")
        count = _count(info, "cnt")
        key = (
            f"3502:{req.fixmedins_code}:{info['fixmedins_bchno']}:{info['inv_chg_time']}:"
            f"{kind}:{count}"
        )
        self._keep_doc(key, req, info, _CHANGE_SIGNS[kind] * count)
        return None

    def purchase_return(self, req: protocol.Request) -> None:
        """3504 采购退货: boxes of a batch back to the supplier."""
        info = _node(req, "purcinfo")
        _require(info, "purcinfo", (*_INVINFO_REQUIRED, "purc_retn_cnt", "purc_retn_stoin_time"))
        count = _count(info, "purc_retn_cnt")
        if (
            not state.InventoryDoc.select()
            .where(
                (state.InventoryDoc.infno == "3503")
                & (state.InventoryDoc.fixmedins_code == req.fixmedins_code)
                & (state.InventoryDoc.fixmedins_bchno == info["fixmedins_bchno"])
            )
            .exists()
        ):
            raise Refused(f"批次 {info['fixmedins_bchno']} 没有采购记录，不能退货")
        key = f"3504:{req.fixmedins_code}:{info['fixmedins_bchno']}:{info['purc_retn_stoin_time']}"
        self._keep_doc(key, req, info, -count)
        return None

    def withdraw(self, req: protocol.Request) -> None:
        """3507 删除: the documents of a batch number and kind taken back (1 盘存, 2 库存
        变更, 3 采购/退货, 4 销售/退货)."""
        data = _node(req, "data")
        bchno = str(data.get("fixmedins_bchno") or "")
        kinds = {"1": ("3501",), "2": ("3502",), "3": ("3503", "3504"), "4": ("3505", "3506")}
        infnos = kinds.get(str(data.get("inv_data_type") or ""))
        if not bchno or infnos is None:
            raise Refused("fixmedins_bchno 和 inv_data_type（1–4）不能为空")
        taken = (
            state.InventoryDoc.update(deleted=True)
            .where(
                (state.InventoryDoc.fixmedins_code == req.fixmedins_code)
                & (state.InventoryDoc.fixmedins_bchno == bchno)
                & state.InventoryDoc.infno.in_(infnos)
                & (state.InventoryDoc.deleted == False)  # noqa: E712
            )
            .execute()
        )
        if not taken:
            raise Refused(f"批次 {bchno} 没有可删除的上报数据")
        return None

    def sale_or_return(self, req: protocol.Request) -> None:
        """3505 商品销售 / 3506 销售退货: one drug and batch of a retail document, each box's
        追溯码 in ``drugtracinfo`` (or, from older gateways, ``drug_trac_codg`` joined by
        commas). A code of the wrong shape is refused; a code sold (and not returned) is
        refused for a second sale; a return frees its boxes."""
        info = _node(req, "selinfo")
        _require(info, "selinfo", _SELINFO_REQUIRED)
        count = _count(info, "sel_retn_cnt")
        if str(info.get("mdtrt_setl_type")) == "1":
            setl_id = str(info.get("setl_id") or "")
            if not setl_id:
                raise Refused("医保结算时 setl_id 不能为空")
            if req.infno == "3505":
                setl = Settlement.get_or_none(Settlement.setl_id == setl_id)
                if setl is None or setl.fixmedins_code != req.fixmedins_code:
                    raise Refused(f"结算ID {setl_id} 不存在")
        codes = _trace_codes(info)
        for code in codes:
            if not is_trace_code(code):
                raise Refused(f"药品追溯码 {code} 格式不正确（应为 20 位码上放心追溯码或 GS1 码）")
        if len(set(codes)) != len(codes):
            raise Refused("同一单据中药品追溯码重复")
        if len(codes) > count:
            raise Refused(f"药品追溯码 {len(codes)} 个，多于销售/退货数量 {count}")
        doc = str(info.get("medins_prod_sel_no") or "") or (
            f"{info['rtal_docno']}:{info['fixmedins_bchno']}:{info['fixmedins_hilist_id']}"
        )
        key = f"{req.infno}:{req.fixmedins_code}:{doc}"
        if state.InventoryDoc.get_or_none(state.InventoryDoc.key == key) is not None:
            raise Refused("该单据已上传，请勿重复上传")
        boxes = {b.code: b for b in state.TracedBox.select().where(state.TracedBox.code.in_(codes))}
        for code in codes:
            box = boxes.get(code)
            if req.infno == "3505" and box is not None and box.sold:
                raise Refused(f"药品追溯码 {code} 已于单据 {box.rtal_docno} 销售，不能重复销售")
            if req.infno == "3506" and (
                box is None or not box.sold or box.fixmedins_code != req.fixmedins_code
            ):
                raise Refused(f"药品追溯码 {code} 没有本机构的销售记录，不能退货")
        with sandbox_db.atomic():
            self._keep_doc(key, req, info, -count if req.infno == "3505" else +count)
            for code in codes:
                state.TracedBox.insert(
                    code=code,
                    fixmedins_code=req.fixmedins_code,
                    rtal_docno=str(info["rtal_docno"]),
                    sold=req.infno == "3505",
                ).on_conflict_replace().execute()
        return None

    def _keep_doc(self, key: str, req: protocol.Request, info: dict, quantity: int) -> None:
        if state.InventoryDoc.get_or_none(state.InventoryDoc.key == key) is not None:
            raise Refused("该单据已上传，请勿重复上传")
        state.InventoryDoc.create(
            key=key,
            infno=req.infno,
            fixmedins_code=req.fixmedins_code,
            fixmedins_bchno=str(info.get("fixmedins_bchno") or ""),
            quantity=quantity,
            payload=protocol.dumps(info),
        )

    def upload_file(self, req: protocol.Request) -> dict:
        """9101: keep the file; its ``file_qury_no`` names it in 3202."""
        filename, data = protocol.uploaded_bytes(req.input.get("fsUploadIn"))
        if len(data) > protocol.MAX_TEXT_BYTES:
            raise Refused("上传文件过大")
        return self._store_file(filename, data)

    def _store_file(self, filename: str, data: bytes) -> dict:
        number = f"fsi/plc/{secrets.token_hex(15)}"
        state.StoredFile.create(file_qury_no=number, filename=filename, data=data)
        dld_endtime = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        return protocol.FileInfo(number, filename, dld_endtime).to_json()

    def reconcile_details(self, req: protocol.Request) -> dict:
        """3202: the counter's uploaded detail against the settlements here; the answer is a
        file (one row per settlement of the period here, cancelled ones flagged), named in
        ``fileinfo`` for 9102."""
        data = _node(req, "data")
        stored = state.StoredFile.get_or_none(
            state.StoredFile.file_qury_no == str(data.get("file_qury_no", ""))
        )
        if stored is None:
            raise Refused("file_qury_no 对应的文件不存在，请先上传明细文件（9101）")
        theirs = {row["setl_id"]: row for row in protocol.read_recon_upload(bytes(stored.data))}
        query = Settlement.select().where(
            (Settlement.fixmedins_code == req.fixmedins_code)
            & (Settlement.setl_date >= str(data.get("stmt_begndate", ""))[:10])
            & (Settlement.setl_date <= str(data.get("stmt_enddate", ""))[:10])
        )
        if data.get("clr_type"):
            query = query.where(Settlement.clr_type == str(data["clr_type"]))
        rows = []
        for s in query.order_by(Settlement.created_at):
            sent = theirs.get(s.setl_id)
            same = sent is not None and (
                sent["medfee_sumamt"],
                sent["fund_pay_sumamt"],
                sent["acct_pay"],
            ) == (s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay)
            rows.append(
                protocol.ReconDetail(
                    setl_id=s.setl_id,
                    msgid=s.msgid,
                    psn_no=s.psn_no,
                    mdtrt_id=s.mdtrt_id,
                    stmt_rslt="0" if same or s.cancelled else "1",
                    refd_setl_flag="1" if s.cancelled else "0",
                    memo="" if same or s.cancelled else ("金额不符" if sent else "医药机构无此笔"),
                    medfee_sumamt=s.medfee_sumamt,
                    fund_pay_sumamt=s.fund_pay_sumamt,
                    acct_pay=s.acct_pay,
                )
            )
        name = f"{req.fixmedins_code}{datetime.now():%Y%m%d%H%M%S}_3202"
        text = protocol.recon_result_file(rows)
        return {
            "fileinfo": self._store_file(f"{name}.txt.zip", protocol.zip_text(f"{name}.txt", text))
        }

    def download_file(self, req: protocol.Request) -> bytes:
        """9102: the file itself."""
        node = _node(req, "fsDownloadIn")
        stored = state.StoredFile.get_or_none(
            state.StoredFile.file_qury_no == str(node.get("file_qury_no", ""))
        )
        if stored is None or stored.filename != str(node.get("filename", "")):
            raise Refused("文件不存在或已过下载期限")
        return bytes(stored.data)

    # -- planted disagreements (POST /sandbox/admin/plant: tests and demos) -------------------
    def plant_lost_here(
        self,
        fixmedins_code: str,
        person_key: str,
        *,
        clr_type: str = "11",
        lines: list[dict] | None = None,
        acct_used: bool = True,
    ) -> dict:
        """A settlement the cashier never stored: settled here as the counter would (2201 +
        2204 + 2207, or 2102 when ``clr_type`` is 41), so the account, the year-to-date and
        the fee details all move as for any other; only no client ever hears of it.
        Returns ``setlinfo`` and the ``msgid`` it is recorded under."""
        if clr_type not in ("11", "41"):
            raise Refused("clr_type 应为 11（门诊）或 41（药店购药）")
        person = state.find_person(person_key)
        rows = [_plant_line(n, line) for n, line in enumerate(lines or [self._plant_default()], 1)]
        cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}
        begntime = _now_text()
        flag = "1" if acct_used else "0"
        if clr_type == "41":
            msgid = _plant_msgid(fixmedins_code)
            info = {"psn_no": person.psn_no, **cert, "begntime": begntime, "med_type": "41"}
            output = self.pharmacy_settle(
                _plant_request(
                    "2102",
                    msgid,
                    fixmedins_code,
                    person,
                    {"druginfo": {**info, "acct_used_flag": flag}, "drugdetail": rows},
                )
            )
        else:
            reg = self.register(
                _plant_request(
                    "2201",
                    _plant_msgid(fixmedins_code),
                    fixmedins_code,
                    person,
                    {
                        "data": {
                            "psn_no": person.psn_no,
                            **cert,
                            "begntime": begntime,
                            "caty": "A03",
                        }
                    },
                )
            )
            mdtrt_id = reg["data"]["mdtrt_id"]
            diagnosis = {"diag_type": "1", "diag_srt_no": "1", "diag_dept": "内科"}
            self.upload_visit(
                _plant_request(
                    "2203",
                    _plant_msgid(fixmedins_code),
                    fixmedins_code,
                    person,
                    {
                        "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no},
                        "diseinfo": [
                            {**diagnosis, "diag_code": "Z00.000", "diag_name": "健康查体"}
                        ],
                    },
                )
            )
            for row in rows:
                row.update(mdtrt_id=mdtrt_id, psn_no=person.psn_no, chrg_bchno="0001")
            self.upload_fees(
                _plant_request(
                    "2204",
                    _plant_msgid(fixmedins_code),
                    fixmedins_code,
                    person,
                    {"feedetail": rows},
                )
            )
            msgid = _plant_msgid(fixmedins_code)
            data = {
                "psn_no": person.psn_no,
                **cert,
                "med_type": "11",
                "mdtrt_id": mdtrt_id,
                "chrg_bchno": "0001",
                "acct_used_flag": flag,
            }
            output = self.settle(
                _plant_request("2207", msgid, fixmedins_code, person, {"data": data})
            )
        return {"msgid": msgid, **output}

    def _plant_default(self) -> dict:
        """One line of the first 甲类 entry of the 医保目录, 10.00 × 1."""
        code = next(
            (c.med_list_codg for c in self.catalog.values() if c.list_class == "甲"),
            next(iter(self.catalog), "PLANT0001"),
        )
        return {"med_list_codg": code, "pric": "10.00", "cnt": "1"}

    #: The amounts a planted disagreement may change. ``acct_pay`` is not one: a later
    #: 2208 / 2103 gives the account back what the record says it paid.
    PLANTABLE = ("medfee_sumamt", "fund_pay_sumamt")

    def plant_amount_differs(self, setl_id: str, field: str, delta: Fen) -> dict:
        """The insurer's record of a settlement says another amount: ``field`` moves by
        ``delta`` in what 3201 and 3202 count. The answer as sent (5203), the person's account
        and year-to-date, and what a cancellation gives back stay as they were."""
        if field not in self.PLANTABLE:
            raise Refused(f"field 应为 {' 或 '.join(self.PLANTABLE)}")
        if not delta:
            raise Refused("delta 不能为 0")
        setl = Settlement.get_or_none(Settlement.setl_id == setl_id)
        if setl is None:
            raise Refused(f"结算记录 {setl_id} 不存在")
        column = getattr(Settlement, field)
        Settlement.update({column: column + delta}).where(Settlement.setl_id == setl_id).execute()
        before = getattr(setl, field)
        return {"setl_id": setl_id, "field": field, "before": before, "after": before + delta}

    def plant_cancelled_there(self, setl_id: str) -> dict:
        """The insurer cancels a settlement (as a 2208 / 2103 would: the account and the
        year-to-date get their part back) and the cashier never hears of it."""
        setl = Settlement.get_or_none(Settlement.setl_id == setl_id)
        if setl is None:
            raise Refused(f"结算记录 {setl_id} 不存在")
        msgid = _plant_msgid(setl.fixmedins_code)
        self._undo(setl, msgid)
        return {"setl_id": setl_id, "cancel_msgid": msgid}

    # -- computing -----------------------------------------------------------------------------
    def _person(self, psn_no: str) -> Person:
        person = Person.get_or_none(Person.psn_no == psn_no)
        if person is None:
            raise Refused(f"人员编号 {psn_no} 不存在")
        state.roll_year(person)
        return person

    def _visit(self, mdtrt_id: str) -> Visit:
        visit = Visit.get_or_none(Visit.mdtrt_id == mdtrt_id)
        if visit is None:
            raise Refused(f"就诊 ID {mdtrt_id} 不存在，请先挂号（2201）")
        return visit

    def _compute(
        self,
        person: Person,
        insutype: str,
        med_type: str,
        acct_used: bool,
        lines,
        req,
        *,
        family: bool = True,
    ) -> SettlementResult:
        family_person = (
            Person.get_or_none(Person.psn_no == person.family_psn_no)
            if family and person.family_psn_no
            else None
        )
        request = SettlementRequest(
            person=_insured(person, insutype),
            ytd=YearToDate(person.deductible_used, person.pooled_paid),
            account_balance=person.balance,
            family_account_balance=family_person.balance if family_person else Fen(0),
            acct_used_flag=acct_used,
            med_type=med_type,
            hospital_level=state.hospital_level(req.fixmedins_code),
            mdtrtarea_admvs=req.mdtrtarea_admvs or state.DEFAULT_ADMVS,
            lines=tuple(lines),
        )
        try:
            return self.policy.settle(request, self.catalog)
        except PolicyRefusal as exc:
            raise Refused(str(exc)) from None

    def _setlinfo(self, r: SettlementResult, person: Person, visit, setl_id, clr_type) -> dict:
        return {
            "setl_id": setl_id,
            "mdtrt_id": visit.mdtrt_id or None,
            "psn_no": person.psn_no,
            "psn_name": person.name,
            "psn_cert_type": "01",
            "certno": person.certno,
            "gend": person.gend,
            "brdy": person.brdy,
            "age": person.age(),
            "insutype": visit.insutype,
            "psn_type": person.psn_type,
            "cvlserv_flag": "1" if person.cvlserv_flag else "0",
            "med_type": visit.med_type,
            "setl_time": _now_text(),
            "clr_type": clr_type,
            "clr_way": "1",
            "clr_optins": person.insuplc_admdvs,
            "medfee_sumamt": r.medfee_sumamt,
            "fulamt_ownpay_amt": r.fulamt_ownpay_amt,
            "overlmt_selfpay": r.overlmt_selfpay,
            "preselfpay_amt": r.preselfpay_amt,
            "inscp_scp_amt": r.inscp_scp_amt,
            "act_pay_dedc": r.act_pay_dedc,
            "hifp_pay": r.hifp_pay,
            "pool_prop_selfpay": r.pool_prop_selfpay,
            "cvlserv_pay": r.cvlserv_pay,
            "hifes_pay": r.hifes_pay,
            "hifmi_pay": r.hifmi_pay,
            "hifob_pay": r.hifob_pay,
            "maf_pay": r.maf_pay,
            "oth_pay": r.oth_pay,
            "fund_pay_sumamt": r.fund_pay_sumamt,
            "psn_part_amt": r.psn_part_amt,
            "acct_pay": r.acct_pay,
            "psn_cash_pay": r.psn_cash_pay,
            "hosp_part_amt": r.hosp_part_amt,
            "balc": r.balc,
            "acct_mulaid_pay": r.acct_mulaid_pay,
        }


def foreign_answer(output: dict) -> dict:
    """The answer with another person's, visit's and settlement's numbers (the ``foreign``
    fault): what a gateway that mixes up two counters' answers would send."""
    setlinfo = output.get("setlinfo")
    if not isinstance(setlinfo, dict):
        return output
    changed = dict(setlinfo)
    for key, prefix in (("psn_no", "PSN"), ("mdtrt_id", "MD"), ("setl_id", "ST")):
        if changed.get(key):
            changed[key] = f"{prefix}FOREIGN{secrets.token_hex(4)}"
    return {**output, "setlinfo": changed}


def broken_invariant(output: dict) -> dict:
    """The same answer with psn_cash_pay one fen off: for fault injection."""
    setlinfo = dict(output.get("setlinfo") or {})
    if "psn_cash_pay" in setlinfo:
        setlinfo["psn_cash_pay"] = protocol.money(setlinfo["psn_cash_pay"]) + Fen(1)
    return {**output, "setlinfo": setlinfo}


# -- helpers -------------------------------------------------------------------------------------
def _insured(person: Person, insutype: str) -> InsuredPerson:
    """The person as the policy sees them, settling under ``insutype``."""
    return InsuredPerson(
        psn_no=person.psn_no,
        insutype=insutype,
        retired=person.retired,
        age=person.age(),
        cvlserv_flag=person.cvlserv_flag,
        insuplc_admdvs=person.insuplc_admdvs,
        filing=person.filing,
        insured=person.insured,
    )


def _plant_msgid(fixmedins_code: str) -> str:
    """A msgid for a planted message: sequence 9000-9999, apart from a counter's low numbers."""
    return protocol.make_msgid(
        fixmedins_code, datetime.now(), 9000 + state.next_number("plant") % 1000
    )


def _plant_request(
    infno: str, msgid: str, fixmedins_code: str, person: Person, input: dict
) -> protocol.Request:
    return protocol.Request(
        infno=infno,
        msgid=msgid,
        sign_no="",
        insuplc_admdvs=person.insuplc_admdvs,
        mdtrtarea_admvs=state.DEFAULT_ADMVS,
        fixmedins_code=fixmedins_code,
        opter="sandbox",
        input=input,
        raw={},
    )


def _plant_line(n: int, line: Any) -> dict:
    """A planted fee line ``{"med_list_codg", "pric", "cnt"}`` as 2204 / 2102 carry it."""
    if not isinstance(line, dict) or not line.get("med_list_codg"):
        raise Refused("lines 的每一项应为 {med_list_codg, pric, cnt}")
    try:
        pric = protocol.money(line.get("pric", "10.00"), "pric")
        cnt = Decimal(str(line.get("cnt", "1")))
    except (CashierError, InvalidOperation):
        raise Refused(f"lines 第 {n} 项的单价或数量无效") from None
    return {
        "feedetl_sn": f"{n:04d}",
        "med_list_codg": str(line["med_list_codg"]),
        "medins_list_codg": str(line["med_list_codg"]),
        "cnt": str(cnt),
        "pric": pric,
        "det_item_fee_sumamt": pric.mul_ratio(cnt),
        "fee_ocur_time": _now_text(),
        "bilg_dept_codg": "A03",
        "bilg_dept_name": "内科",
        "bilg_dr_codg": "D000",
        "bilg_dr_name": "门诊医生",
        "hosp_appr_flag": "1",
        "rx_circ_flag": "0",
    }


#: Required in 3505 / 3506 ``selinfo`` (the interface's 必填 fields; ``setl_id`` too when
#: ``mdtrt_setl_type`` is 1, a settlement under insurance).
_SELINFO_REQUIRED = (
    "med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno",
    "prsc_dr_name", "phar_name", "phar_prac_cert_no", "hi_feesetl_type", "mdtrt_sn",
    "psn_cert_type", "manu_lotnum", "manu_date", "expy_end", "rx_flag", "trdn_flag",
    "rx_circ_flag", "rtal_docno", "sel_retn_cnt", "sel_retn_time", "sel_retn_opter_name",
    "mdtrt_setl_type",
)  # fmt: skip
_INVINFO_REQUIRED = (
    "med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno",
    "rx_flag",
)  # fmt: skip
_CHANGE_REQUIRED = ("inv_chg_type", "pric", "cnt", "inv_chg_time", "inv_chg_opter_name")
#: 库存变更类型: in (+1) or out (−1) of the institution's stock.
_CHANGE_SIGNS = {"101": 1, "102": -1, "103": 1, "104": -1, "105": -1, "106": 1, "107": -1}
_PURCINFO_REQUIRED = (
    "med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno",
    "manu_lotnum", "manu_date", "expy_end", "purc_retn_cnt", "purc_retn_stoin_time",
    "purc_retn_opter_name", "rx_flag",
)  # fmt: skip


def _require(info: dict, node: str, names: tuple[str, ...]) -> None:
    for name in names:
        if not str(info.get(name) if info.get(name) is not None else "").strip():
            raise Refused(f"{node}.{name} 不能为空")


def _count(info: dict, name: str) -> int:
    try:
        value = Decimal(str(info.get(name)))
    except InvalidOperation:
        raise Refused(f"{name} 不是数值") from None
    if value <= 0 or value != value.to_integral_value():
        raise Refused(f"{name} 应为正整数")
    return int(value)


def _trace_codes(info: dict) -> list[str]:
    nodes = info.get("drugtracinfo")
    if nodes is None:  # an older gateway's flat field
        flat = str(info.get("drug_trac_codg") or "")
        return [c.strip() for c in flat.split(",") if c.strip()]
    if not isinstance(nodes, list):
        raise Refused("drugtracinfo 应为数组")
    codes = []
    for n, node in enumerate(nodes, 1):
        code = str(node.get("drug_trac_codg") or "").strip() if isinstance(node, dict) else ""
        if not code:
            raise Refused(f"drugtracinfo 第 {n} 条缺少 drug_trac_codg")
        codes.append(code)
    return codes


def _node(req: protocol.Request, name: str) -> dict:
    node = req.input.get(name)
    if not isinstance(node, dict):
        raise Refused(f"缺少输入节点 {name}")
    return node


def _flag(value: Any) -> bool:
    return str(value) == "1"


def _now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _fee_line(row: Any) -> FeeLine:
    if not isinstance(row, dict):
        raise Refused("费用明细格式错误")
    try:
        cnt = Decimal(str(row.get("cnt")))
        if not cnt.is_finite() or cnt <= 0:
            raise InvalidOperation
    except InvalidOperation:
        raise Refused(f"费用明细 {row.get('feedetl_sn')} 的数量无效") from None
    try:
        pric = protocol.money(row.get("pric"))
        amount = protocol.money(row.get("det_item_fee_sumamt"))
    except CashierError as exc:
        raise Refused(f"费用明细 {row.get('feedetl_sn')}：{exc}") from None
    if pric < Fen(0) or amount < Fen(0):
        raise Refused(f"费用明细 {row.get('feedetl_sn')} 金额不能为负")
    if amount != pric.mul_ratio(cnt):
        raise Refused(f"费用明细 {row.get('feedetl_sn')}：明细金额 {amount} ≠ 单价 × 数量")
    return FeeLine(
        str(row.get("feedetl_sn", "")), str(row.get("med_list_codg", "")), cnt, pric, amount
    )


def _check_total(data: dict, result: SettlementResult) -> None:
    if "medfee_sumamt" in data and data["medfee_sumamt"] not in (None, ""):
        sent = protocol.money(data["medfee_sumamt"])
        if sent != result.medfee_sumamt:
            raise Refused(f"医疗费总额 {sent} 与明细合计 {result.medfee_sumamt} 不符")


def _line_json(s) -> dict:
    return {
        "feedetl_sn": s.feedetl_sn,
        "det_item_fee_sumamt": s.det_item_fee_sumamt,
        "selfpay_prop": s.selfpay_prop,
        "fulamt_ownpay_amt": s.fulamt_ownpay_amt,
        "overlmt_amt": s.overlmt_amt,
        "preselfpay_amt": s.preselfpay_amt,
        "inscp_scp_amt": s.inscp_scp_amt,
        "chrgitm_lv": s.chrgitm_lv,
    }


def _fund_json(f) -> dict:
    return {
        "fund_pay_type": f.fund_pay_type,
        "fund_pay_type_name": f.fund_pay_type_name,
        "inscp_scp_amt": f.inscp_scp_amt,
        "fund_payamt": f.fund_payamt,
        "crt_payb_lmt_amt": f.crt_payb_lmt_amt,
        "setl_proc_info": f.setl_proc_info,
    }


def stored_response(msgid: str) -> str | None:
    row = Message.get_or_none(Message.msgid == msgid)
    return row.response if row else None


def remember_response(msgid: str, infno: str, response: str) -> None:
    Message.insert(msgid=msgid, infno=infno, response=response).on_conflict_ignore().execute()
