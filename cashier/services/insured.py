"""The insurer's side of a sale: identify the patient, pre-settle, settle, cancel. No UI.

A :class:`Patient` comes from a scanned 医保码 (``ec.query`` then 1101 with
``mdtrt_cert_type 01``), a social-security card (1101, ``03`` + ``card_sn``)
or a typed ID number (1101, ``02``). :class:`Insurance` then runs the clinic
flow (2201 registration once per visit, 2204 fee lines — 2205 first when the
lines changed —, 2206 pre-settlement, 2207 settlement, 2208 cancellation) or
the pharmacy flow (2101, 2102, 2103) on a :class:`~cashier.services.checkout.Checkout`,
whose :class:`InsuredPart` holds what the insurer said. Settlement and
cancellation go through the journal; a settlement left in doubt is resolved
(5203, 2601) before anything else happens to the sale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cashier import faults
from cashier.domain.money import Fen
from cashier.errors import CashierError, InputError, describe
from cashier.insurer import protocol
from cashier.insurer.protocol import PersonInfo, Settlement
from cashier.messages import say
from cashier.services import audit, claims
from cashier.services.patient import (
    InsuredPart,
    Patient,
    parse_id_number,
    usual_insurance,
)

if TYPE_CHECKING:
    from cashier.config import Settings
    from cashier.devices.cardreader import CardData
    from cashier.insurer.client import InsurerClient
    from cashier.services.checkout import Checkout, Completed, Line
    from cashier.services.operators import SignedIn


class BillChangedMeanwhile(InputError):
    """An answer about an older version of the bill (it changed while the insurer answered)."""


class DiagnosisNeeded(InputError):
    """A walk-in clinic bill has no diagnosis; the insurer settles no visit without one."""


class SettlementHeld(CashierError):
    """The insurer has not confirmed a settlement: the sale waits until the journal knows."""


@dataclass(frozen=True)
class SplitRow:
    """One line's insured / self-pay split, for the per-line view."""

    name: str
    amount: Fen
    list_class: str
    selfpay_prop: Decimal | None
    self_paid: Fen  # 全自费 + 超限价 + 先行自付
    in_range: Fen


# -- talking to the insurer ---------------------------------------------------------------------
class Insurance:
    """One station's insured checkout over an :class:`InsurerClient`."""

    def __init__(self, client: InsurerClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def _op(self, who: SignedIn) -> tuple[str, str]:
        return (who.code, who.name)

    # -- identification -------------------------------------------------------------------
    def identify_qr(self, payload: str, who: SignedIn) -> Patient:
        business = (
            protocol.EC_BUSINESS_PHARMACY
            if self.settings.kind == "pharmacy"
            else protocol.EC_BUSINESS_OUTPATIENT
        )
        ident = self.client.ec_query(payload.strip(), business)
        return self._person("01", ident.ecToken, who)

    def identify_card(self, card: CardData, who: SignedIn) -> Patient:
        if card.expired():
            raise InputError(say("insured.card_expired", expiry_date=card.expiry_date))
        return self._person(
            "03", card.card_no, who, card_sn=card.card_sn, psn_name=card.name.strip()
        )

    def identify_id(self, text: str, who: SignedIn) -> Patient:
        certno = parse_id_number(text)
        return self._person("02", certno, who, certno=certno)

    def _person(
        self,
        cert_type: str,
        cert_no: str,
        who: SignedIn,
        *,
        card_sn: str = "",
        certno: str = "",
        psn_name: str = "",
    ) -> Patient:
        output = self.client.call(
            "1101",
            protocol.input_1101(
                mdtrt_cert_type=cert_type,
                mdtrt_cert_no=cert_no,
                card_sn=card_sn,
                begntime=datetime.now(),
                psn_cert_type="01" if certno else "",
                certno=certno,
                psn_name=psn_name,
            ),
            operator=self._op(who),
        )
        person = PersonInfo.from_json(output)
        return Patient(cert_type, cert_no, person, usual_insurance(person), card_sn)

    # -- pre-settlement -----------------------------------------------------------------------
    def presettle(self, co: Checkout) -> Settlement:
        """2201 (once) + 2204 (when the lines changed) + 2206; or 2101 at a pharmacy."""
        part = _part(co)
        if part.held_msgid:
            raise SettlementHeld(say("insured.check_previous"))
        if part.settled:
            raise InputError(say("insured.settled_take_cash"))
        if not co.lines:
            raise InputError(say("insured.no_items"))
        if part.patient.problems:
            raise InputError(part.patient.problems[0], code="insurance.not_here")
        if not insured_lines(co):
            raise InputError(say("insured.nothing_mapped"), code="catalog.unmapped")
        claims.holds(co.station_id, part.order_ids)  # one visit, one counter: before any call
        who = self._op(co.operator)
        where = part.patient.insu.insuplc_admdvs
        version = co.version
        if part.kind == "pharmacy":
            output = self.client.call(
                "2101",
                protocol.input_2101(**self._pharmacy_args(co)),
                operator=who,
                insuplc_admdvs=where,
            )
            bill = Settlement.from_json(output)
            part.line_results = {r.feedetl_sn: r for r in bill.detlcutinfo}
        else:
            self._upload(co, part, who, where)
            output = self.client.call(
                "2206",
                protocol.input_2206(**self._clinic_args(co, part)),
                operator=who,
                insuplc_admdvs=where,
            )
            bill = Settlement.from_json(output)
        if co.version != version or co.insured is not part:
            # Scanned, removed or re-chosen while the insurer answered: this answer is about
            # a bill that is no longer on screen. Never shown against the bill as it is now.
            raise BillChangedMeanwhile(say("insured.changed_meanwhile"))
        _check_total(bill, insured_total(co))
        part.own_amount = co.total - insured_total(co)
        part.presettlement = bill
        return bill

    def set_diagnosis(self, co: Checkout, code: str, name: str) -> None:
        """The diagnosis of a walk-in clinic bill, as the cashier typed it (2203)."""
        code, name = code.strip().upper(), name.strip()
        if not code or not name:
            raise InputError(say("insured.diagnosis_needed"))
        if len(code) > 20 or len(name) > 100:
            raise InputError(say("insured.diagnosis_too_long"))
        part = _part(co)
        part.visit = {**part.visit, "diag_code": code, "diag_name": name}

    def _visit_field(self, part: InsuredPart, key: str) -> str:
        """The order's department or doctor, else the station's walk-in default."""
        walk_in = self.settings.walk_in
        default = {
            "dept_code": walk_in.dept_code,
            "dept_name": walk_in.dept_name,
            "doctor_code": walk_in.doctor_code,
            "doctor_name": walk_in.doctor_name,
        }[key]
        return part.visit.get(key) or default

    def _caty(self, dept_code: str) -> str:
        """The 科别 of a department: mapped in ``[departments]``, else the code itself when it
        is one (``A03``, ``A03.04``), else the station's default."""
        if dept_code in self.settings.departments:
            return self.settings.departments[dept_code]
        if dept_code[:3] in protocol.CATY and len(dept_code) in (3, 6):
            return dept_code
        return self.settings.walk_in.caty

    def _upload(self, co: Checkout, part: InsuredPart, who, where) -> None:
        if not part.mdtrt_id:
            visit = part.visit
            dept_code = self._visit_field(part, "dept_code")
            doctor_code = self._visit_field(part, "doctor_code")
            if not dept_code or not doctor_code:
                raise InputError(say("insured.no_visit_defaults"))
            caty = self._caty(dept_code)
            if not caty:
                raise InputError(say("insured.no_caty", dept_code=dept_code))
            if not visit.get("diag_code") or not visit.get("diag_name"):
                raise DiagnosisNeeded(say("insured.no_diagnosis"))
            reg = protocol.Registration.from_json(
                self.client.call(
                    "2201",
                    protocol.input_2201(
                        psn_no=part.patient.psn_no,
                        insutype=part.patient.insu.insutype,
                        begntime=datetime.now(),
                        mdtrt_cert_type=part.patient.cert_type,
                        mdtrt_cert_no=part.patient.cert_no,
                        ipt_otp_no=visit.get("order_no") or part.sale_key,
                        atddr_no=doctor_code,
                        dr_name=self._visit_field(part, "doctor_name"),
                        dept_code=dept_code,
                        dept_name=self._visit_field(part, "dept_name"),
                        caty=caty,
                    ),
                    operator=who,
                    insuplc_admdvs=where,
                )
            )
            part.mdtrt_id, part.registered_here = reg.mdtrt_id, True
            self.client.call(
                "2203",
                protocol.input_2203(
                    mdtrt_id=reg.mdtrt_id,
                    psn_no=part.patient.psn_no,
                    med_type=part.med_type,
                    begntime=datetime.now(),
                    diag_code=visit["diag_code"],
                    diag_name=visit["diag_name"],
                    diag_dept=self._visit_field(part, "dept_name"),
                    dise_dor_no=doctor_code,
                    dise_dor_name=self._visit_field(part, "doctor_name"),
                    diag_time=datetime.now(),
                ),
                operator=who,
                insuplc_admdvs=where,
            )
            if part.order_ids:
                from cashier.services import orders

                for order_id in part.order_ids:
                    orders.set_mdtrt_id(order_id, reg.mdtrt_id)
        snapshot = tuple((ln.code, ln.price, ln.quantity) for _, ln in insured_lines(co))
        if snapshot == part.uploaded:
            return
        if part.uploaded is not None or not part.registered_here:
            # Lines uploaded before (by this sale, or by an earlier try at the same visit)
            # must not be settled with these: 2205 takes back every unsettled line.
            self.client.call(
                "2205",
                protocol.input_2205(
                    mdtrt_id=part.mdtrt_id,
                    chrg_bchno=protocol.ALL_UNSETTLED,
                    psn_no=part.patient.psn_no,
                ),
                operator=who,
                insuplc_admdvs=where,
            )
        part.uploaded = None
        batch = part.batch + 1
        output = self.client.call(
            "2204",
            protocol.input_2204(feedetail=self._fee_lines(co, part.mdtrt_id, batch)),
            operator=who,
            insuplc_admdvs=where,
        )
        results = [protocol.FeeLineResult.from_json(r) for r in output.get("result") or []]
        part.line_results = {r.feedetl_sn: r for r in results}
        part.uploaded, part.batch = snapshot, batch

    def _fee_lines(self, co: Checkout, mdtrt_id: str, batch: int) -> list[protocol.FeeDetail]:
        part = _part(co)
        now = datetime.now()
        clinic = part.kind == "clinic"
        dept_code = self._visit_field(part, "dept_code") if clinic else ""
        dept_name = self._visit_field(part, "dept_name") if clinic else ""
        doctor_code = self._visit_field(part, "doctor_code") if clinic else ""
        doctor_name = self._visit_field(part, "doctor_name") if clinic else ""
        return [
            protocol.FeeDetail(
                feedetl_sn=feedetl_sn(n),
                mdtrt_id=mdtrt_id,
                psn_no=part.patient.psn_no,
                chrg_bchno=f"{batch:04d}" if mdtrt_id else "",
                fee_ocur_time=now,
                med_list_codg=line.med_list_codg,
                medins_list_codg=line.code,
                det_item_fee_sumamt=line.amount,
                cnt=Decimal(line.quantity),
                pric=line.price,
                bilg_dept_codg=dept_code,
                bilg_dept_name=dept_name,
                bilg_dr_codg=doctor_code,
                bilg_dr_name=doctor_name,
                acord_dept_codg=dept_code,
                acord_dept_name=dept_name,
                orders_dr_code=doctor_code,
                orders_dr_name=doctor_name,
                rxno=part.sale_key if part.kind == "pharmacy" else "",
            )
            for n, line in insured_lines(co)  # numbered as on the bill
        ]

    def _clinic_args(self, co: Checkout, part: InsuredPart) -> dict[str, Any]:
        return dict(
            psn_no=part.patient.psn_no,
            mdtrt_cert_type=part.patient.cert_type,
            mdtrt_cert_no=part.patient.cert_no,
            med_type=part.med_type,
            medfee_sumamt=insured_total(co),
            psn_setlway="01",
            mdtrt_id=part.mdtrt_id,
            chrg_bchno=f"{part.batch:04d}",
            acct_used_flag=part.acct_used,
            insutype=part.patient.insu.insutype,
        )

    def _pharmacy_args(self, co: Checkout) -> dict[str, Any]:
        part = _part(co)
        return dict(
            psn_no=part.patient.psn_no,
            mdtrt_cert_type=part.patient.cert_type,
            mdtrt_cert_no=part.patient.cert_no,
            begntime=co.started_at,
            medfee_sumamt=insured_total(co),
            insutype=part.patient.insu.insutype,
            acct_used_flag=part.acct_used,
            drugdetail=self._fee_lines(co, "", 0),
            med_type="41",
        )

    # -- settlement ----------------------------------------------------------------------------
    def settle(self, co: Checkout) -> Settlement:
        """2207 / 2102 through the journal, on an up-to-date pre-settlement.

        A settlement left in doubt is resolved at once (5203; reversed with
        2601 when not found); if the insurer cannot be asked now the sale is
        held (:class:`SettlementHeld`) and :meth:`settle` asks again.
        """
        from cashier.insurer.client import InsurerInDoubt

        part = _part(co)
        if part.settled:
            return part.settlement  # type: ignore[return-value]
        if part.held_msgid:
            return self._resolve_held(co, part)
        co.require_dispensable()  # every box's 追溯码, the prescription: before the insurer
        pre = part.presettlement
        if pre is None:
            raise InputError(say("insured.presettle_first"))
        claims.holds(co.station_id, part.order_ids)  # still this counter's visit
        who = self._op(co.operator)
        where = part.patient.insu.insuplc_admdvs
        context = {
            "psn_no": part.patient.psn_no,
            "mdtrt_id": part.mdtrt_id,
            "sale_key": part.sale_key,
            "operator_name": co.operator.name,
            "kind": part.kind,
            "insuplc_admdvs": where,
        }
        if part.kind == "pharmacy":
            infno, message = "2102", protocol.input_2102(**self._pharmacy_args(co))
        else:
            s = pre.setlinfo
            infno = "2207"
            message = protocol.input_2207(
                **self._clinic_args(co, part),
                invono="",
                fulamt_ownpay_amt=s.fulamt_ownpay_amt,
                overlmt_selfpay=s.overlmt_selfpay,
                preselfpay_amt=s.preselfpay_amt,
                inscp_scp_amt=s.inscp_scp_amt,
            )
        co.settling = True  # the bill as sent is the bill settled: frozen until the answer
        try:
            try:
                output = self.client.call(
                    infno, message, operator=who, insuplc_admdvs=where, context=context
                )
            except InsurerInDoubt as exc:
                part.held_msgid = exc.msgid
                return self._resolve_held(co, part)
            faults.crash_point("after_answer", infno)  # journaled ok, the sale not yet told
            return self._settled(co, part, output, str(output.get("_msgid", "")))
        finally:
            co.settling = False

    def _resolve_held(self, co: Checkout, part: InsuredPart) -> Settlement:
        from cashier.insurer import journal, recovery
        from cashier.insurer.client import InsurerUnavailable
        from cashier.store.models import InsurerCall

        call = InsurerCall.get_by_id(part.held_msgid)
        status = journal.Status(call.status)
        if status.unresolved:
            try:
                result = recovery.resolve(self.client, call, can_continue=lambda c, o: True)
            except recovery.Unresolvable as exc:
                raise SettlementHeld(str(exc)) from None
            except (InsurerUnavailable, protocol.InsurerError, protocol.ProtocolError) as exc:
                raise SettlementHeld(say("insured.unchecked", exc=exc)) from None
            status, output = result.status, result.output
        else:
            output = recovery.settlement_output(call)
        part.held_msgid = ""
        if status in (journal.Status.OK, journal.Status.COMMITTED) and output is not None:
            return self._settled(co, part, output, call.msgid)
        part.presettlement = None
        raise InputError(say("insured.not_settled_checked"))

    def _settled(self, co: Checkout, part: InsuredPart, output: dict, msgid: str) -> Settlement:
        bill = Settlement.from_json(output)
        _check_total(bill, insured_total(co))
        part.own_amount = co.total - insured_total(co)
        part.settlement, part.settle_msgid = bill, msgid
        if bill.setlinfo.mdtrt_id:
            part.mdtrt_id = bill.setlinfo.mdtrt_id
        if bill.detlcutinfo:
            part.line_results = {r.feedetl_sn: r for r in bill.detlcutinfo}
        audit.record(
            co.station_id,
            "insured.settle",
            operator=co.operator.code,
            subject=bill.setlinfo.setl_id or "",
            msgid=msgid,
            mdtrt_id=part.mdtrt_id,
            medfee=str(bill.setlinfo.medfee_sumamt),
            fund=str(bill.setlinfo.fund_pay_sumamt),
            acct=str(bill.setlinfo.acct_pay),
            cash=str(bill.setlinfo.psn_cash_pay),
        )
        return bill

    def complete(self, co: Checkout, plan) -> Completed:
        """Complete an insured sale; when its local save is refused because its orders went
        elsewhere meanwhile, its settlement is cancelled at the insurer at once (journaled,
        2208 / 2103) and the cashier is told: never a settlement with no sale."""
        from cashier.services.orders import OrdersGone

        try:
            return co.complete(plan)
        except OrdersGone as exc:
            part = co.insured
            if part is None or part.settlement is None:
                raise
            try:
                self.cancel(co, say("insured.orders_taken"))
            except Exception as cancel_exc:
                raise InputError(
                    say("insured.not_cancelled", exc=exc, cancel_exc=cancel_exc)
                ) from None
            raise InputError(say("insured.cancelled", exc=exc)) from None

    def cancel(self, co: Checkout, reason: str) -> None:
        """2208 / 2103: undo a settlement the patient did not pay for; the sale goes back to open."""
        part = _part(co)
        bill = part.settlement
        if bill is None:
            raise InputError(say("insured.nothing_to_cancel"))
        setl = bill.setlinfo
        send_cancel(
            self.client,
            co.operator,
            pharmacy=part.kind == "pharmacy",
            setl_id=setl.setl_id or "",
            mdtrt_id=part.mdtrt_id,
            psn_no=part.patient.psn_no,
            insuplc_admdvs=part.patient.insu.insuplc_admdvs,
            omsgid=part.settle_msgid,
            sale_key=part.sale_key,
        )
        audit.record(
            co.station_id,
            "insured.cancel",
            operator=co.operator.code,
            subject=setl.setl_id or "",
            msgid=part.settle_msgid,
            reason=reason[:200],
            cash=str(setl.psn_cash_pay),
        )
        part.settlement, part.settle_msgid, part.presettlement = None, "", None
        if part.kind == "pharmacy":
            part.mdtrt_id = ""
        co.back_to_open()


def send_cancel(
    client: InsurerClient,
    who: SignedIn,
    *,
    pharmacy: bool,
    setl_id: str,
    mdtrt_id: str,
    psn_no: str,
    insuplc_admdvs: str,
    omsgid: str,
    sale_key: str,
) -> str:
    """2208 (clinic) / 2103 (pharmacy) through the journal; returns the cancel's msgid.
    ``omsgid`` names the settlement's own message, so recovery knows it is cancelled."""
    infno = "2103" if pharmacy else "2208"
    builder = protocol.input_2103 if pharmacy else protocol.input_2208
    output = client.call(
        infno,
        builder(setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=psn_no),
        operator=(who.code, who.name),
        insuplc_admdvs=insuplc_admdvs,
        context={
            "psn_no": psn_no,
            "setl_id": setl_id,
            "mdtrt_id": mdtrt_id,
            "omsgid": omsgid,
            "insuplc_admdvs": insuplc_admdvs,
            "sale_key": sale_key,
            "operator_name": who.name,
        },
    )
    return str(output.get("_msgid", ""))


def feedetl_sn(n: int) -> str:
    return f"{n:04d}"


def split_rows(lines: Sequence[Line], part: InsuredPart) -> list[SplitRow]:
    """Each line with what the insurer said of it (2204 ``result`` / 2101 ``detlcutinfo``)."""
    rows = []
    for n, line in enumerate(lines, 1):
        r = part.line_results.get(feedetl_sn(n))
        if r is None:
            rows.append(SplitRow(line.name, line.amount, line.list_class, None, Fen(0), Fen(0)))
            continue
        cls = protocol.CHRGITM_LV.get(r.chrgitm_lv, line.list_class)
        self_paid = r.fulamt_ownpay_amt + r.overlmt_amt + r.preselfpay_amt
        rows.append(
            SplitRow(
                line.name, r.det_item_fee_sumamt, cls, r.selfpay_prop, self_paid, r.inscp_scp_amt
            )
        )
    return rows


def insured_lines(co: Checkout) -> list[tuple[int, Line]]:
    """The bill's lines the insurer settles, with their number on the bill: those with a
    valid 医保目录 mapping (``services.insurer_catalogs``). The others are never sent."""
    from cashier.services import insurer_catalogs

    good = insurer_catalogs.valid_codes(ln.med_list_codg for ln in co.lines)
    return [(n, ln) for n, ln in enumerate(co.lines, 1) if ln.med_list_codg in good]


def insured_total(co: Checkout) -> Fen:
    return Fen.total(ln.amount for _, ln in insured_lines(co))


def _part(co: Checkout) -> InsuredPart:
    if co.insured is None:
        raise InputError(say("insured.identify_first"))
    return co.insured


def _check_total(bill: Settlement, total: Fen) -> None:
    if bill.setlinfo.medfee_sumamt != total:
        raise protocol.ProtocolError(
            say(
                "insured.total_differs",
                medfee_sumamt=bill.setlinfo.medfee_sumamt.display(),
                total=total.display(),
            )
        )


# -- what to tell the cashier ---------------------------------------------------------------------
@dataclass(frozen=True)
class Advice:
    message: str
    next_step: str = ""
    offer_selfpay: bool = False
    refresh_code: bool = False

    def __str__(self) -> str:
        return f"{self.message}\n{self.next_step}" if self.next_step else self.message


_SELFPAY = say("insured.selfpay_hint")


def advice(exc: BaseException) -> Advice:
    """A failure of an insured step as the cashier should read it: what happened, what next."""
    from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable

    text = describe(exc)
    if isinstance(exc, SettlementHeld | InsurerInDoubt):
        return Advice(text, say("insured.held"), offer_selfpay=False)
    if isinstance(exc, InsurerUnavailable):
        return Advice(text, say("insured.retry_later", SELFPAY=_SELFPAY[1:]), offer_selfpay=True)
    code = getattr(exc, "code", "")  # switched on, never the message's words
    if code == "evoucher.stale":
        return Advice(text, say("insured.refresh_code"), refresh_code=True)
    if code == "insurance.not_here":
        return Advice(text, _SELFPAY, offer_selfpay=True)
    if code == "card.lost":
        return Advice(text, say("insured.show_code"))
    if isinstance(exc, protocol.ProtocolError):
        return Advice(text, say("insured.retry_f5", SELFPAY=_SELFPAY), offer_selfpay=True)
    return Advice(text)


# -- what the breakdown panel shows ---------------------------------------------------------------
def breakdown_rows(s: protocol.SetlInfo, own: Fen | None = None) -> list[tuple[str, Fen]]:
    """The split as the cashier reads it, top to bottom; the cash part is last (with the
    lines the insurer was not asked about, ``own``: no valid 医保目录 mapping)."""
    rows = [("医疗费总额", s.medfee_sumamt), ("全自费", s.fulamt_ownpay_amt)]
    if s.overlmt_selfpay:
        rows.append(("超限价自付", s.overlmt_selfpay))
    rows.append(("先行自付", s.preselfpay_amt))
    rows.append(("医保统筹支付", s.hifp_pay))
    if s.act_pay_dedc:  # why 统筹 pays little or nothing: the deductible this visit met
        rows.append(("其中计入起付线", s.act_pay_dedc))
    rows.extend(
        (protocol.SETLINFO_LABELS[name], getattr(s, name))
        for name in protocol.OTHER_FUNDS
        if getattr(s, name)
    )
    rows.append(("个人账户支付", s.acct_pay))
    if s.acct_mulaid_pay:
        rows.append(("共济支付", s.acct_mulaid_pay))
    own = own or Fen(0)
    if own:
        rows.append(("未对照项目（自费）", own))
    rows.append(("现金部分（应收）", s.psn_cash_pay + own))
    return rows
