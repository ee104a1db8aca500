"""The sale life cycle as a plain object, no UI.

A :class:`Checkout` holds the sale being rung up in memory; nothing of the sale
reaches the database until it ends (only claims that keep another counter off the same
thing: a visit's orders, a box's 追溯码). ``complete`` writes the sale, its lines, its
tenders, its receipt number, its boxes and batches, the documents it owes the insurer
and the e-receipt service, and its audit entry in one transaction, so a crash at any
point leaves either the whole sale or nothing. Voids are recorded the same way (no
receipt number: receipt numbers are gap-free and belong only to completed sales).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from cashier import faults
from cashier.domain import tax_number as tax_numbers
from cashier.domain.money import Fen
from cashier.domain.tender import Method, TenderPlan
from cashier.errors import InputError, NotAllowed
from cashier.messages import say
from cashier.receipts import InsuranceSummary, Receipt, ReceiptLine, ReceiptTender
from cashier.services import (
    audit,
    catalog,
    claims,
    clock,
    ebills,
    inventory,
    payments,
    shifts,
    stock,
    trace,
)
from cashier.services.operators import Role, SignedIn
from cashier.store.db import ConnectionLost
from cashier.store.models import (
    InsuredSettlement,
    Item,
    Outbox,
    PrintJob,
    ReceiptCounter,
    Sale,
    SaleLine,
    Tender,
    database,
    utcnow,
)

if TYPE_CHECKING:
    from cashier.services.patient import InsuredPart, Patient

MAX_QUANTITY = 9999


class State(StrEnum):
    OPEN = "open"
    TENDERING = "tendering"
    COMPLETED = "completed"
    VOIDED = "voided"


@dataclass(frozen=True)
class Line:
    item_id: int | None
    code: str
    name: str
    spec: str
    unit: str
    price: Fen
    quantity: int
    fee_category: str = ""
    list_class: str = ""
    med_list_codg: str = ""
    rx_flag: bool = False  # a prescription drug: sold on a prescription
    trac_required: bool = False  # each box's 追溯码 scanned before the bill is settled
    trace_codes: tuple[str, ...] = ()  # the boxes' codes, held by the bill (services.trace)
    trace_waived: str = ""  # a supervisor's documented exception ("9001: 追溯码破损")

    @property
    def amount(self) -> Fen:
        return self.price * self.quantity

    @property
    def trace_missing(self) -> int:
        """How many of the line's boxes still want their 追溯码."""
        if not self.trac_required or self.trace_waived:
            return 0
        return max(self.quantity - len(self.trace_codes), 0)

    @classmethod
    def of_sold(cls, line: SaleLine, quantity: int, codes: tuple[str, ...] = ()) -> Line:
        """A stored sale's line again (a refund's kept lines, sold anew, with their boxes)."""
        return cls(
            item_id=line.item_id,
            code=line.code,
            name=line.name,
            spec=line.spec,
            unit=line.unit,
            price=line.price,
            quantity=quantity,
            fee_category=line.fee_category,
            list_class=line.list_class,
            med_list_codg=line.med_list_codg,
            rx_flag=line.rx_flag,
            trac_required=line.trac_required,
            trace_codes=codes,
            trace_waived=line.trace_waived,
        )

    @classmethod
    def of(cls, item: Item, quantity: int = 1) -> Line:
        return cls(
            item_id=item.id,
            code=item.code,
            name=item.name,
            spec=item.spec,
            unit=item.unit,
            price=item.price,
            quantity=quantity,
            fee_category=item.fee_category,
            list_class=item.list_class,
            med_list_codg=item.med_list_codg,
            rx_flag=item.rx_flag,
            trac_required=item.trac_required,
        )


@dataclass(frozen=True)
class Prescription:
    """What a 处方药 is dispensed on: the prescription's number and doctor, and the
    pharmacist who checked it (a signed-in operator with a 执业资格证号)."""

    rxno: str
    doctor: str
    pharmacist_code: str
    pharmacist_name: str
    pharmacist_cert: str

    def to_json(self) -> dict[str, str]:
        return {
            "rxno": self.rxno,
            "prsc_dr_name": self.doctor,
            "phar_code": self.pharmacist_code,
            "phar_name": self.pharmacist_name,
            "phar_prac_cert_no": self.pharmacist_cert,
        }


@dataclass(frozen=True)
class Completed:
    """What the cashier sees after a sale ends."""

    sale_id: int
    receipt_no: str
    total: Fen
    paid: Fen
    change: Fen
    cash_taken: Fen
    clock_message: str = ""  # the system clock was found behind (say so at the counter)


@dataclass
class Checkout:
    """One sale at one station, from the first scan to completion or void."""

    station_id: str
    operator: SignedIn
    lines: list[Line] = field(default_factory=list)
    state: State = State.OPEN
    started_at: datetime = field(default_factory=utcnow)
    insured: InsuredPart | None = None  # set once a patient is identified
    key: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    #: Clinic orders on a bill the patient pays self-pay (the insured part dropped): billed
    #: by this sale all the same, never left pending to be charged again.
    selfpay_orders: tuple[int, ...] = ()
    #: Bumped by every change of the lines, the patient or the account choice: an answer
    #: about an older version (a pre-settlement sent before a scan) is not taken for this one.
    version: int = 0
    #: The insurer is settling this bill (2207 / 2102 on its way): nothing on it may change
    #: until it answers, or the settlement would cover other lines than the sale.
    settling: bool = False
    #: The prescription the bill's 处方药 are dispensed on (asked before settling).
    prescription: Prescription | None = None
    #: This station reports 进销存 to the insurer: the sale queues its 3505 documents.
    reports_inventory: bool = False
    #: This station issues 财政电子票据 (its 开票点 code): the sale queues its e-receipt.
    ebill_place: str | None = None
    #: The patient asked for a 数电发票: (buyer's name, tax number or ""); with the station's
    #: settings to issue it (``[receipts] provider = "tax"``).
    invoice_buyer: tuple[str, str] | None = None
    invoice_settings: object = None

    @property
    def due(self) -> Fen:
        """What the patient pays at the counter: the cash part once settled, else the total."""
        if self.insured is not None and self.insured.cash_due is not None:
            return self.insured.cash_due
        return self.total

    # -- ringing up -------------------------------------------------------------
    @property
    def total(self) -> Fen:
        return Fen.total(line.amount for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def _require_open(self) -> None:
        if self.settling:
            raise InputError(say("checkout.settling"))
        if self.state is not State.OPEN:
            raise InputError(say("checkout.ended_start_new"))
        if self.insured is not None and (self.insured.settled or self.insured.held_msgid):
            raise InputError(say("checkout.settled_no_change"))

    def _changed(self) -> None:
        self.version += 1
        if self.insured is not None:
            self.insured.lines_changed()

    # -- the patient ---------------------------------------------------------------
    def identify(self, patient: Patient, kind: str) -> InsuredPart:
        """Attach an identified patient; a different patient starts a new insured part."""
        from cashier.services.patient import InsuredPart

        self._require_open()
        part = self.insured
        if part is not None and part.patient.psn_no == patient.psn_no:
            # The same patient again (a fresh 医保码): keep the visit, take the new token.
            part.patient = patient
            part.presettlement = None
            self.version += 1
            return part
        if part is not None and part.order_ids:
            raise InputError(say("checkout.other_patient"))
        self.insured = InsuredPart(patient=patient, kind=kind, sale_key=self.key)
        self.version += 1
        return self.insured

    def load_orders(self, orders: list) -> int:
        """Add the lines of the patient's pending clinic orders; return how many orders."""
        from cashier.services import orders as clinic_orders

        part = self.insured
        if part is None or not orders:
            return 0
        new = [o for o in orders if o.id not in part.order_ids]
        # One visit, one counter: claimed before a line is added or anything sent.
        claims.claim(self.station_id, [o.id for o in new])
        for order in new:
            for item, quantity in clinic_orders.order_lines(order):
                self.add(item, quantity)
        if new and not part.order_ids:
            # The first order is the visit; what it leaves empty (a diagnosis typed at the
            # counter, say) is kept.
            first = new[0]
            ordered = {
                "order_no": first.order_no,
                "doctor_code": first.doctor_code,
                "doctor_name": first.doctor_name,
                "dept_code": first.dept_code,
                "dept_name": first.dept_name,
                "diag_code": first.diag_code,
                "diag_name": first.diag_name,
                "med_type": first.med_type,
            }
            part.visit = {**part.visit, **{k: v for k, v in ordered.items() if v}}
            part.mdtrt_id = part.mdtrt_id or first.mdtrt_id
        part.order_ids += tuple(o.id for o in new)
        return len(new)

    def to_selfpay(self) -> None:
        """Drop the patient: the same lines are paid as a self-pay sale (its orders too)."""
        self._require_open()
        if self.insured is not None:
            self.selfpay_orders += self.insured.order_ids
        self.insured = None
        self.version += 1

    def set_account(self, used: bool) -> None:
        """个人账户 on or off (``acct_used_flag``); the pre-settlement must be run again."""
        self._require_open()
        if self.insured is None:
            raise InputError(say("checkout.identify_first"))
        self.insured.acct_used = used
        self.insured.presettlement = None
        self.version += 1

    def scan(self, code: str) -> Line:
        """Add the item with this barcode or code; a repeat scan adds one more."""
        self._require_open()
        item = catalog.find_by_scan(code)
        if item is None:
            raise InputError(say("checkout.no_item", code=code.strip()))
        return self.add(item)

    def add(self, item: Item, quantity: int = 1) -> Line:
        """Add an item; the same item again increases its line's quantity."""
        self._require_open()
        _check_quantity(quantity)
        for i, line in enumerate(self.lines):
            if line.code == item.code and line.price == item.price:
                self.set_quantity(i, line.quantity + quantity)
                return self.lines[i]
        line = Line.of(item, quantity)
        self.lines.append(line)
        self._changed()
        return line

    def set_quantity(self, index: int, quantity: int) -> Line:
        self._require_open()
        _check_quantity(quantity)
        line = self.lines[index]
        kept, dropped = line.trace_codes[:quantity], line.trace_codes[quantity:]
        if dropped:  # fewer boxes: the last boxes scanned are put back
            trace.release(self.key, dropped)
        self.lines[index] = replace(line, quantity=quantity, trace_codes=kept)
        self._changed()
        return self.lines[index]

    def remove(self, index: int) -> Line:
        self._require_open()
        line = self.lines.pop(index)
        if line.trace_codes:
            trace.release(self.key, line.trace_codes)
        self._changed()
        return line

    def take_line(self, line: Line) -> None:
        """A line handed over whole (a refund's kept line, charged again): its boxes' codes
        are held by this bill."""
        self._require_open()
        for code in line.trace_codes:
            trace.hold(self.station_id, self.key, code)
        self.lines.append(line)
        self._changed()

    # -- 追溯码 and prescriptions -----------------------------------------------------------
    def add_trace(self, code: str, prefer: int | None = None) -> int:
        """One box's 追溯码: onto the preferred line if it still wants codes, else the first
        line that does; held by this bill at once. Returns the line's index."""
        self._require_open()
        for i, line in enumerate(self.lines):
            if code in line.trace_codes:
                raise trace.TraceRefused(
                    say("checkout.trace_twice", code=trace.shown(code), line=i + 1, name=line.name),
                    code="trace.twice",
                )
        wanting = [i for i, line in enumerate(self.lines) if line.trace_missing]
        if not wanting:
            key = "all_scanned" if any(ln.trac_required for ln in self.lines) else "not_needed"
            raise InputError(say(f"checkout.trace_{key}"), code="trace.not_wanted")
        index = prefer if prefer in wanting else wanting[0]
        trace.hold(self.station_id, self.key, code)
        line = self.lines[index]
        self.lines[index] = replace(line, trace_codes=(*line.trace_codes, code))
        return index

    def waive_trace(self, index: int, reason: str, supervisor: SignedIn) -> Line:
        """A supervisor's documented exception: the line's boxes without a code are sold
        all the same (a code torn off, a drug from before 码上放心). Audited at once."""
        self._require_open()
        if not supervisor.role.at_least(Role.SUPERVISOR):
            raise NotAllowed(say("checkout.waive_supervisor", label=supervisor.label))
        reason = " ".join(reason.split())
        if not reason:
            raise InputError(say("checkout.waive_reason"))
        line = self.lines[index]
        if not line.trace_missing:
            raise InputError(say("checkout.waive_nothing", name=line.name))
        waived = f"{supervisor.code}: {reason}"[:200]
        audit.record(
            self.station_id,
            "trace.waive",
            operator=self.operator.code,
            subject=line.code,
            approved_by=supervisor.code,
            boxes=line.trace_missing,
            reason=reason[:150],
            bill=self.key,
        )
        self.lines[index] = replace(line, trace_waived=waived)
        return self.lines[index]

    @property
    def needs_prescription(self) -> bool:
        return any(line.rx_flag for line in self.lines)

    def ask_invoice(self, name: str, tax_number: str, settings) -> None:
        """The patient wants a 数电发票: its buyer (a name; a company's tax number too)."""
        name, tax_number = " ".join(name.split()), tax_number.strip().upper()
        if not name or len(name) > 100:
            raise InputError(say("checkout.invoice_name"))
        if tax_number and not tax_numbers.valid(tax_number):
            raise InputError(say("checkout.invoice_tax_number"))
        if settings.receipts.provider != "tax":
            raise InputError(say("checkout.invoice_not_here"))
        self.invoice_buyer, self.invoice_settings = (name, tax_number), settings

    def set_prescription(self, rxno: str, doctor: str, pharmacist) -> Prescription:
        """The prescription the 处方药 are dispensed on; ``pharmacist`` an operator row with
        a 执业资格证号."""
        self._require_open()
        rxno, doctor = rxno.strip(), doctor.strip()
        if not rxno or len(rxno) > 40:
            raise InputError(say("checkout.rx_number"))
        if not doctor or len(doctor) > 50:
            raise InputError(say("checkout.rx_doctor"))
        if pharmacist is None or not pharmacist.prac_cert_no:
            raise InputError(say("checkout.rx_pharmacist"))
        self.prescription = Prescription(
            rxno, doctor, pharmacist.code, pharmacist.name, pharmacist.prac_cert_no
        )
        return self.prescription

    def dispensing_problem(self) -> tuple[str, str]:
        """Why the bill cannot be settled yet, as (code, message): boxes without their
        追溯码 (``trace.missing``), a 处方药 without its prescription (``rx.missing``); or
        ("", "")."""
        for line in self.lines:  # expired or recalled batches are never sold
            try:
                stock.check_sellable(line.item_id, line.name, line.quantity)
            except InputError as exc:
                return exc.code, str(exc)
        missing = [line for line in self.lines if line.trace_missing]
        if missing:
            shown = "，".join(
                say("checkout.trace_progress", name=ln.name, done=len(ln.trace_codes),
                    of=ln.quantity)
                for ln in missing[:3]
            )  # fmt: skip
            return "trace.missing", say(
                "checkout.trace_missing",
                boxes=sum(ln.trace_missing for ln in missing),
                lines=shown,
            )
        if self.needs_prescription and self.prescription is None:
            return "rx.missing", say("checkout.rx_missing")
        return "", ""

    def require_dispensable(self) -> None:
        code, problem = self.dispensing_problem()
        if code:
            raise InputError(problem, code=code)

    # -- ending -------------------------------------------------------------------
    def start_payment(self) -> TenderPlan:
        """The tenders for what the patient pays (the total, or the settled cash part)."""
        if self.state is not State.OPEN:
            raise InputError(say("checkout.ended_start_new"))
        if not self.lines:
            raise InputError(say("checkout.no_items"))
        if self.insured is not None and not self.insured.settled:
            raise InputError(say("checkout.settle_first"))
        self.require_dispensable()
        self.state = State.TENDERING
        return TenderPlan(self.due)

    def back_to_open(self) -> None:
        if self.state is State.TENDERING:
            self.state = State.OPEN

    def complete(self, plan: TenderPlan) -> Completed:
        """Write the sale, its lines, tenders, receipt number and audit entry in one transaction."""
        if self.state is not State.TENDERING:
            raise InputError(say("checkout.pay_first"))
        if plan.due != self.due:
            raise InputError(say("checkout.due_changed"))
        if not plan.complete:
            raise InputError(say("checkout.short", remaining=plan.remaining.display()))
        try:
            sale, now = self._write_sale(plan)
        except ConnectionLost:
            # The server went away during the transaction: its commit may or may not have
            # reached it. Looked up by the sale's own id once reconnected: kept once, never
            # twice; not there, it is written again (the server is back by then).
            sale = Sale.get_or_none(Sale.uid == self.key)
            if sale is None:
                sale, now = self._write_sale(plan)
            else:
                now = clock.Now(sale.closed_at)
        faults.crash_point("after_commit")  # the sale is committed, nothing printed
        self.state = State.COMPLETED
        return Completed(
            sale.id,
            sale.receipt_no,
            self.due,
            plan.paid,
            plan.change,
            plan.cash_taken(),
            clock_message=now.message,
        )

    def _write_sale(self, plan: TenderPlan):
        """The sale and all that goes with it, one transaction; (sale, the time it took)."""
        with database.atomic():
            seq = _next_receipt_seq(self.station_id)
            receipt_no = format_receipt_no(self.station_id, seq)
            shift = shifts.shift_for_sale(self.station_id, self.operator)
            # Never dated before the station's last record, whatever the system clock says.
            now = clock.station_now(self.station_id, operator=self.operator.code)
            sale = Sale.create(
                station=self.station_id,
                operator=self.operator.code,
                shift=shift.id,
                business_day=shift.business_day,
                status=State.COMPLETED.value,
                kind="selfpay" if self.insured is None else "insured",
                receipt_seq=seq,
                receipt_no=receipt_no,
                total=self.total,
                paid=plan.paid,
                change=plan.change,
                created_at=min(self.started_at, now.at),
                closed_at=now.at,
                uid=self.key,
                dispensing=json.dumps(self.prescription.to_json(), ensure_ascii=False)
                if self.prescription is not None
                else "",
            )
            self._write_lines(sale)
            # The boxes held by this bill are the sale's from now on (one box, one sale),
            # taken from the batches that expire first, and reported to the insurer.
            trace.sell(
                self.key, sale.id, [(n, ln.trace_codes) for n, ln in enumerate(self.lines, 1)]
            )
            batched = stock.batched(line.item_id for line in self.lines)
            if batched:  # a pharmacy's stock by batch: each such line takes its boxes
                ids = dict(
                    SaleLine.select(SaleLine.line_no, SaleLine.id)
                    .where(SaleLine.sale == sale.id)
                    .tuples()
                )
                for n, line in enumerate(self.lines, 1):
                    if line.item_id in batched:
                        stock.allocate(ids[n], line.item_id, line.name, line.quantity)
            Tender.insert_many(
                [
                    {
                        "sale": sale.id,
                        "seq": n,
                        "method": t.method.value,
                        "amount": t.amount,
                        "reference": t.reference,
                    }
                    for n, t in enumerate(plan.tenders, 1)
                ]
            ).execute()
            if self.insured is not None:
                self._write_settlement(sale)
            elif self.selfpay_orders:
                from cashier.services import orders as clinic_orders

                clinic_orders.mark_billed(self.selfpay_orders, sale.id)
                claims.release(self.station_id, self.selfpay_orders)
            if self.reports_inventory:  # 3505 per line and batch, with the settlement's setl_id
                certno = self.insured.patient.certno if self.insured is not None else ""
                inventory.queue_sale(sale, certno)
            if self.ebill_place is not None:  # its 财政电子票据, issued in the background
                ebills.queue_issue(sale, self.ebill_place)
            if self.invoice_buyer is not None and self.invoice_settings is not None:
                ebills.queue_invoice(sale, self.invoice_buyer, self.invoice_settings)
            # The bill's 付款码 charges belong to the sale from now on (never reversed at start).
            payments.attach_to_sale(self.key, sale.id)
            # The receipt is queued with the sale, so a crash before printing
            # leaves it waiting in the print queue, not forgotten.
            PrintJob.create(station=self.station_id, sale=sale.id, kind="receipt", status="queued")
            audit.record(
                self.station_id,
                "sale.complete",
                operator=self.operator.code,
                subject=receipt_no,
                total=str(self.total),
                paid=str(plan.paid),
                change=str(plan.change),
                methods=sorted({t.method.value for t in plan.tenders}),
                setl_id=self.insured.settlement.setlinfo.setl_id if self.insured else "",
                digest=audit.sale_digest(sale.id),
            )
        return sale, now

    def _write_settlement(self, sale: Sale) -> None:

        from cashier.insurer.protocol import dumps
        from cashier.services import orders as clinic_orders

        part = self.insured
        assert part is not None and part.settlement is not None
        s = part.settlement.setlinfo
        setlinfo = dumps(replace(s, certno=part.patient.certno_masked).to_json())
        InsuredSettlement.create(
            sale=sale.id,
            station=self.station_id,
            kind=part.kind,
            msgid=part.settle_msgid,
            setl_id=s.setl_id or "",
            mdtrt_id=part.mdtrt_id,
            psn_no=part.patient.psn_no,
            psn_name=part.patient.name_masked,
            certno=part.patient.certno_masked,
            insutype=part.patient.insu.insutype,
            psn_type=part.patient.insu.psn_type,
            insuplc_admdvs=part.patient.insu.insuplc_admdvs,
            med_type=part.med_type,
            clr_type=s.clr_type,
            acct_used=part.acct_used,
            medfee_sumamt=s.medfee_sumamt,
            fund_pay_sumamt=s.fund_pay_sumamt,
            hifp_pay=s.hifp_pay,
            acct_pay=s.acct_pay,
            acct_mulaid_pay=s.acct_mulaid_pay,
            psn_cash_pay=s.psn_cash_pay,
            balc=s.balc,
            cvlserv_pay=s.cvlserv_pay,
            hifes_pay=s.hifes_pay,
            hifmi_pay=s.hifmi_pay,
            hifob_pay=s.hifob_pay,
            maf_pay=s.maf_pay,
            oth_pay=s.oth_pay,
            hifdm_pay=s.hifdm_pay,
            othfund_pay=s.othfund_pay,
            visit=dumps(part.visit),
            setlinfo=setlinfo,
        )
        if part.order_ids:
            clinic_orders.mark_billed(part.order_ids, sale.id)
            claims.release(self.station_id, part.order_ids)

    def void(self, reason: str = "") -> int | None:
        """Abandon the sale. A sale with lines is recorded as voided and audited.

        Only a sale not yet completed is voided: a completed sale is never voided, by
        anyone — it is refunded (:mod:`cashier.services.refunds`, approved by a supervisor).
        No other path turns a stored sale into a void.
        """
        if self.state is State.COMPLETED:
            raise NotAllowed(say("checkout.completed_no_void"))
        if self.state is State.VOIDED:
            raise InputError(say("checkout.ended"))
        if self.settling:
            raise InputError(say("checkout.settling_no_void"))
        if self.insured is not None and (self.insured.settled or self.insured.held_msgid):
            raise InputError(say("checkout.settled_no_void"))
        self.state = State.VOIDED
        held = (self.insured.order_ids if self.insured is not None else ()) + self.selfpay_orders
        if held:
            claims.release(self.station_id, held)
        if any(line.trace_codes for line in self.lines):
            trace.release(self.key)
        if not self.lines:
            return None
        with database.atomic():
            shift = shifts.open_shift_of(self.station_id)
            now = clock.station_now(self.station_id, operator=self.operator.code)
            sale = Sale.create(
                station=self.station_id,
                operator=self.operator.code,
                shift=shift.id if shift is not None else None,
                business_day=(
                    shift.business_day or clock.local_day(shift.opened_at)
                    if shift is not None
                    else clock.local_day(now.at)
                ),
                status=State.VOIDED.value,
                total=self.total,
                created_at=min(self.started_at, now.at),
                closed_at=now.at,
                void_reason=reason[:200],
            )
            self._write_lines(sale)
            faults.crash_point("void")  # inside the void's transaction: all of it or none
            audit.record(
                self.station_id,
                "sale.void",
                operator=self.operator.code,
                subject=str(sale.id),
                total=str(self.total),
                lines=len(self.lines),
                reason=reason[:200],
            )
        return sale.id

    def _write_lines(self, sale: Sale) -> None:
        SaleLine.insert_many(
            [
                {
                    "sale": sale.id,
                    "line_no": n,
                    "item": line.item_id,
                    "code": line.code,
                    "name": line.name,
                    "spec": line.spec,
                    "unit": line.unit,
                    "quantity": line.quantity,
                    "price": line.price,
                    "amount": line.amount,
                    "fee_category": line.fee_category,
                    "list_class": line.list_class,
                    "med_list_codg": line.med_list_codg,
                    "rx_flag": line.rx_flag,
                    "trac_required": line.trac_required,
                    "trace_waived": line.trace_waived,
                }
                for n, line in enumerate(self.lines, 1)
            ]
        ).execute()


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InputError(say("checkout.whole_quantity"))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InputError(say("checkout.quantity_range", MAX_QUANTITY=MAX_QUANTITY))


def parse_quantity(text: str, *, most: int | None = None) -> int:
    """A quantity typed by the cashier (full-width digits accepted). ``most``: a quantity
    to give back, from 0 (not this line) to ``most``."""
    import unicodedata

    raw = unicodedata.normalize("NFKC", text).strip()
    if not (raw.isascii() and raw.isdigit()):
        raise InputError(say("checkout.not_quantity", text=text, MAX_QUANTITY=MAX_QUANTITY))
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(MAX_QUANTITY)):  # never int() a pasted digit run
        raise InputError(say("checkout.quantity_range", MAX_QUANTITY=MAX_QUANTITY))
    quantity = int(digits)
    if most is not None:
        if quantity > most:
            raise InputError(say("checkout.at_most", most=most))
        return quantity
    _check_quantity(quantity)
    return quantity


def format_receipt_no(station_id: str, seq: int) -> str:
    return f"{station_id}-{seq:08d}"


def _next_receipt_seq(station_id: str) -> int:
    """Bump the station's counter inside the caller's transaction: a rollback un-bumps it."""
    updated = (
        ReceiptCounter.update(last_no=ReceiptCounter.last_no + 1)
        .where(ReceiptCounter.station == station_id)
        .execute()
    )
    if not updated:
        ReceiptCounter.create(station=station_id, last_no=1)
        return 1
    return ReceiptCounter.get_by_id(station_id).last_no


# -- receipts of stored sales ---------------------------------------------------------
def receipt_for(
    sale: Sale, *, clinic_name: str, training: bool, reprint: int = 0, title: str = ""
) -> Receipt:
    """The receipt document of a completed sale, as stored."""
    op = sale.operator
    setl = sale.settlements.first()
    return Receipt(
        title=title or "收费票据",
        clinic_name=clinic_name,
        station_id=sale.station_id,
        receipt_no=sale.receipt_no,
        operator=f"{op.code} {op.name}",
        issued_at=sale.closed_at.replace(tzinfo=UTC).astimezone(),
        lines=tuple(
            ReceiptLine(
                name=ln.name,
                spec=ln.spec,
                unit=ln.unit,
                quantity=ln.quantity,
                price=ln.price,
                amount=ln.amount,
                fee_category=ln.fee_category,
                list_class=ln.list_class,
            )
            for ln in sale.lines.order_by(SaleLine.line_no)
        ),
        total=sale.total,
        tenders=tuple(
            ReceiptTender(
                Method(t.method).label, t.amount, receipt_reference(t.method, t.reference)
            )
            for t in sale.tenders.order_by(Tender.seq)
        ),
        paid=sale.paid,
        change=sale.change,
        reprint=reprint,
        training=training,
        patient=f"{setl.psn_name} {setl.certno}" if setl else "",
        insurance=insurance_summary(setl, sale_total=sale.total) if setl else None,
        **_ebill_fields(sale),
    )


def _ebill_fields(sale: Sale) -> dict:
    """The slip's e-receipt: where the patient finds it (its number, check code and QR)."""
    bill = ebills.of_sale(sale.id)
    if bill is None:
        waiting = (
            Outbox.select()
            .where((Outbox.sale == sale.id) & Outbox.infno.in_((ebills.ISSUE, ebills.TAX_ISSUE)))
            .exists()
        )
        return {"ebill": (say("checkout.ebill_waiting"),)} if waiting else {}
    if bill.kind == "tax":
        return {"ebill": (say("checkout.invoice_number", number=bill.number),)}
    return {
        "ebill": (
            say("checkout.ebill_number", batch_code=bill.batch_code, number=bill.number),
            say("checkout.ebill_check", check_code=bill.check_code),
        ),
        "ebill_qr": bill.qr,
    }


def insurance_summary(
    setl: InsuredSettlement, *, cancelled: bool = False, sale_total: Fen | None = None
) -> InsuranceSummary:
    """The insurance block of a receipt (or, ``cancelled``, of a refund slip); what the sale
    holds beyond the insurer's 医疗费 (``sale_total``) is its unmapped lines, paid in full."""
    from cashier.insurer.protocol import INSUTYPES, SetlInfo, loads

    try:
        info = SetlInfo.from_json(loads(setl.setlinfo))
        own, first, dedc = info.fulamt_ownpay_amt, info.preselfpay_amt, info.act_pay_dedc
    except Exception:  # a row from before the split was kept: the rest still prints
        own = first = dedc = Fen(0)
    return InsuranceSummary(
        fulamt_ownpay=own,
        preselfpay=first,
        deductible=dedc,
        insutype_name=INSUTYPES.get(setl.insutype, setl.insutype)
        + ("（已撤销）" if cancelled else ""),
        setl_id=setl.setl_id,
        mdtrt_id=setl.mdtrt_id,
        fund_pay=setl.hifp_pay,
        other_fund_pay=setl.fund_pay_sumamt - setl.hifp_pay,
        account_pay=setl.acct_pay,
        cash_part=setl.psn_cash_pay,
        balance_after=None if cancelled else setl.balc,
        mutual_aid_pay=setl.acct_mulaid_pay,
        unmapped=sale_total - setl.medfee_sumamt if sale_total is not None else Fen(0),
    )


def receipt_reference(method: str, reference: str) -> str:
    """What the receipt prints of a tender's reference: WeChat Pay's and Alipay's trade
    numbers whole (the patient quotes them to the provider); a card's, or a 付款码 kept as a
    reference before codes were charged, masked."""
    from cashier.devices.scanner import payment_code_issuer

    if method in ("wechat", "alipay") and not payment_code_issuer(reference):
        return reference
    return mask_reference(reference)


def mask_reference(reference: str) -> str:
    """Payment references are printed with their middle hidden (``4200****1234``)."""
    if len(reference) <= 8:
        return reference
    return reference[:4] + "*" * (len(reference) - 8) + reference[-4:]


def find_sale(receipt_no: str) -> Sale:
    sale = Sale.get_or_none(Sale.receipt_no == receipt_no.strip())
    if sale is None:
        raise InputError(say("checkout.no_receipt", receipt_no=receipt_no))
    return sale


def record_reprint(sale: Sale, by: SignedIn, station_id: str) -> int:
    """Count a reprint (重打) and audit it; return which reprint this is."""
    if sale.status != State.COMPLETED.value:
        raise NotAllowed(say("checkout.reprint_completed"))
    if by.code != sale.operator_id:
        by.require(Role.SUPERVISOR)
    with database.atomic():
        Sale.update(reprints=Sale.reprints + 1).where(Sale.id == sale.id).execute()
        n = Sale.get_by_id(sale.id).reprints
        audit.record(station_id, "sale.reprint", operator=by.code, subject=sale.receipt_no, n=n)
    return n


def last_completed(station_id: str) -> Sale | None:
    return (
        Sale.select()
        .where((Sale.station == station_id) & (Sale.status == State.COMPLETED.value))
        .order_by(Sale.receipt_seq.desc())
        .first()
    )


__all__ = [
    "Checkout",
    "Completed",
    "Line",
    "State",
    "find_sale",
    "format_receipt_no",
    "last_completed",
    "parse_quantity",
    "receipt_for",
    "record_reprint",
]
