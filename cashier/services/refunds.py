"""Refunds of completed sales, approved by a supervisor. No UI.

Every refund reverses the whole sale: its tenders go back by method (cash from
the drawer, electronic by the original reference) and, for an insured sale, the
settlement is cancelled whole with the insurer (2208 / 2103): the funds and the
personal account get their part back. A *partial* refund then sells the lines
the patient keeps again as a new sale — settled again with the insurer for an
insured sale, since the insurer does not refund part of a settlement — paid
from the original tenders (electronic ones kept first, so what goes back to
the patient is cash where it can be). The books stay simple: the original sale
is ``refunded``, the refund reverses it in full, and the new sale is an
ordinary sale; the patient's money is the difference.

Refused, with a reason: a sale that is not completed (voided, refunded
already), a sale of another day, quantities above what was sold, nothing to
refund, an approver who is not a supervisor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cashier import faults
from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import CashierError, InputError, NotAllowed
from cashier.messages import say
from cashier.receipts import Receipt, ReceiptLine, ReceiptTender
from cashier.services import audit, clock, ebills, inventory, payments, shifts, stock, trace
from cashier.services.checkout import Checkout, Line, insurance_summary
from cashier.services.operators import Role, SignedIn
from cashier.store.models import (
    InsuredSettlement,
    InsurerCall,
    Refund,
    RefundIntent,
    RefundLine,
    RefundTender,
    Sale,
    SaleLine,
    Tender,
    database,
    utcnow,
)


class ResaleFailed(CashierError):
    """The sale was refunded in full, but selling the kept lines again did not finish."""

    def __init__(self, refund_id: int, lines: list[Line], why: str) -> None:
        super().__init__(say("refunds.kept_not_recharged", why=why))
        self.refund_id, self.lines = refund_id, lines


@dataclass(frozen=True)
class PlanLine:
    sale_line_id: int
    name: str
    sold: int
    refund: int  # how many go back
    price: Fen
    codes_back: tuple[str, ...] = ()  # the returned boxes' 追溯码 (a traceable drug)

    @property
    def amount(self) -> Fen:
        return self.price * self.refund


@dataclass(frozen=True)
class RefundPlan:
    """What a refund will do, before anyone approves it."""

    sale_id: int
    receipt_no: str
    lines: tuple[PlanLine, ...]
    insured: bool
    paid_net: Fen  # what the patient paid over the tenders (change deducted)

    @property
    def full(self) -> bool:
        return all(line.refund == line.sold for line in self.lines)

    @property
    def total(self) -> Fen:
        """The refunded lines' amount (医疗费)."""
        return Fen.total(line.amount for line in self.lines)

    @property
    def needs_patient(self) -> bool:
        """A partial refund of an insured sale settles the kept lines again: the patient's
        医保码, card or ID number is needed for that."""
        return self.insured and not self.full


def find_refundable(receipt_no: str, *, today: datetime | None = None) -> Sale:
    """The sale with this receipt number, if it may be refunded today; else why not.

    "Today" is the business day (the open shift's, or the date with none open), not the
    wall clock's date: a sale ten minutes before midnight in a shift still open is
    today's, and a clock set back does not make a sale "tomorrow's"."""
    sale = Sale.get_or_none(Sale.receipt_no == receipt_no.strip())
    if sale is None:
        raise InputError(say("refunds.no_receipt", receipt_no=receipt_no.strip()))
    if sale.status == "refunded":
        raise InputError(say("refunds.refunded", receipt_no=sale.receipt_no))
    if sale.status != "completed":
        raise InputError(
            say("refunds.not_completed", receipt_no=sale.receipt_no, status=sale.status)
        )
    local_day = sale.business_day or clock.local_day(sale.closed_at)
    today_local = today.astimezone().date() if today else clock.business_day(sale.station_id)
    if local_day != today_local:
        raise InputError(say("refunds.other_day", receipt_no=sale.receipt_no, local_day=local_day))
    return sale


def plan_refund(
    sale: Sale,
    quantities: dict[int, int] | None = None,
    codes_back: dict[int, tuple[str, ...]] | None = None,
) -> RefundPlan:
    """The refund of ``quantities`` (sale line id → how many back); ``None``: everything.
    A traceable drug returned in part names the returned boxes by their 追溯码
    (``codes_back``: sale line id → codes); returned whole, its boxes are all of them."""
    lines = list(sale.lines.order_by(SaleLine.line_no))
    known = {line.id for line in lines}
    unknown = set(quantities or {}) - known
    if unknown:
        raise InputError(say("refunds.foreign_line"))
    sold_codes = trace.codes_of_sale(sale.id)
    planned = []
    for line in lines:
        back = line.quantity if quantities is None else quantities.get(line.id, 0)
        if isinstance(back, bool) or not isinstance(back, int) or back < 0:
            raise InputError(say("refunds.quantity_shape"))
        if back > line.quantity:
            raise InputError(
                say(
                    "refunds.over_quantity",
                    name=line.name,
                    back=back,
                    unit=line.unit,
                    quantity=line.quantity,
                )
            )
        codes = sold_codes.get(line.line_no, ())
        named = tuple(dict.fromkeys((codes_back or {}).get(line.id, ())))
        foreign = [c for c in named if c not in codes]
        if foreign:
            raise InputError(
                say("refunds.trace_foreign", code=trace.shown(foreign[0]), name=line.name),
                code="trace.foreign",
            )
        uncoded = line.quantity - len(codes)  # boxes sold under a supervisor's exception
        if back == line.quantity or not codes:
            named = codes if back == line.quantity else ()
        elif not back - uncoded <= len(named) <= back:
            raise InputError(
                say("refunds.trace_needed", name=line.name, back=back, named=len(named)),
                code="trace.missing",
            )
        planned.append(PlanLine(line.id, line.name, line.quantity, back, line.price, named))
    if not any(p.refund for p in planned):
        raise InputError(say("refunds.nothing_chosen"))
    tenders = list(sale.tenders)
    paid_net = Fen.total(t.amount for t in tenders) - sale.change
    insured = sale.settlements.where(InsuredSettlement.status == "settled").exists()
    return RefundPlan(sale.id, sale.receipt_no, tuple(planned), insured, paid_net)


def approve(station_id: str, code: str, pin: str) -> SignedIn:
    """A supervisor's own code and PIN, on the cashier's screen: who approves the refund."""
    from cashier.services import operators

    who = operators.authenticate(station_id, code.strip(), pin)
    if not who.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("refunds.not_supervisor", label=who.label))
    return who


@dataclass(frozen=True)
class RefundDone:
    refund_id: int
    refund_no: str
    back_to_patient: Fen  # net, over the tenders
    by_method: tuple[tuple[Method, Fen], ...]  # what goes back per method (net)
    new_receipt_no: str = ""  # the kept lines' new sale (partial)
    new_sale_id: int | None = None
    channels: tuple = ()  # payments.ChannelRefund: what went back through WeChat / Alipay


def execute(
    settings,
    plan: RefundPlan,
    *,
    requested_by: SignedIn,
    approved_by: SignedIn,
    completed_by: SignedIn,
    reason: str,
    insurance=None,
    patient=None,
    providers: dict | None = None,
) -> RefundDone:
    """Carry out an approved refund. The insurer first (a cancelled settlement is recorded
    at once), then the local books in one transaction, then the kept lines' new sale, then
    the money back through the 付款码 channels it came from (journaled, resumable)."""
    if not approved_by.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("refunds.needs_supervisor"))
    reason = reason.strip()
    if not reason:
        raise InputError(say("refunds.reason_needed"))
    sale = Sale.get_by_id(plan.sale_id)
    find_refundable(sale.receipt_no)  # still refundable (another counter may have refunded it)
    if shifts.open_shift_of(settings.station_id) is None:
        # Never a shift opened behind the cashier's back with no float, paying cash out of
        # a drawer nobody counted into (its X report would expect less than nothing).
        raise InputError(say("refunds.shift_closed"))
    channels = payments.provider_names_of(sale.id)
    missing = channels - set(providers or {})
    if missing:  # checked before anything moves: the insurer, the books, the channels
        raise InputError(say("refunds.payments_away"))
    settlement = sale.settlements.where(InsuredSettlement.status == "settled").first()
    if settlement is not None and plan.needs_patient and patient is None:
        raise InputError(say("refunds.identify_again"))
    cancel_msgid, intent = "", None
    if settlement is not None:
        if insurance is None:
            raise InputError(say("refunds.insurer_away"))
        # Committed before the insurer hears of it: a crash or a lost answer from here on
        # leaves a pending intent that the next start (or the next try) finishes.
        intent = _intent(sale, plan, requested_by, approved_by, completed_by, reason)
        cancel_msgid = _cancel_settlement(insurance, settlement, completed_by, sale)
        # The insurer cancelled, the books not yet: the next start finishes it (the intent).
        faults.crash_point("after_answer", "2103" if settlement.kind == "pharmacy" else "2208")
    refund, reversal = _record(
        settings,
        sale,
        plan,
        settlement,
        intent,
        requested_by=requested_by.code,
        approved_by=approved_by.code,
        completed_by=completed_by,
        reason=reason,
        cancel_msgid=cancel_msgid,
    )
    done = RefundDone(refund.id, refund.refund_no, refund.amount, _by_method(reversal, ()))
    faults.crash_point("refund_committed")  # in the books; a partial's kept lines not yet sold
    if plan.full:
        return _through_channels(done, sale, channels, providers, settings.station_id)
    kept = _kept_lines(sale, plan)
    try:
        completed = _resell(
            settings, kept, reversal, completed_by, insurance, patient, settlement, sale
        )
    except CashierError as exc:
        raise ResaleFailed(refund.id, kept, str(exc)) from None
    new_sale = Sale.get_by_id(completed.sale_id)
    Refund.update(resettled_sale=new_sale.id).where(Refund.id == refund.id).execute()
    kept_tenders = [(Method(t.method), t.amount) for t in new_sale.tenders]
    done = RefundDone(
        refund.id,
        refund.refund_no,
        refund.amount - completed.paid + completed.change,
        _by_method(reversal, kept_tenders),
        new_sale.receipt_no,
        new_sale.id,
    )
    return _through_channels(done, sale, channels, providers, settings.station_id)


def _through_channels(done: RefundDone, sale, channels, providers, station) -> RefundDone:
    """What goes back by WeChat / Alipay is sent back there (net of what the kept lines'
    new sale kept), each part journaled before it is sent."""
    back = {m.value: a for m, a in done.by_method if m.value in channels and a > Fen(0)}
    if not back:
        return done
    sent = payments.refund_channels(providers or {}, sale.id, done.refund_id, back, station)
    return replace(done, channels=tuple(sent))


def _intent(sale, plan, requested_by, approved_by, completed_by, reason) -> RefundIntent:
    """The refund's intent, committed; an earlier pending one of the same sale is taken over
    (a try that lost its answer is finished by the next, never blocked by it)."""
    quantities = json.dumps(
        {
            "quantities": {str(p.sale_line_id): p.refund for p in plan.lines},
            "codes_back": {str(p.sale_line_id): p.codes_back for p in plan.lines if p.codes_back},
        }
    )
    with database.atomic():
        RefundIntent.update(status="undone", closed_at=utcnow()).where(
            (RefundIntent.sale == sale.id) & (RefundIntent.status == "pending")
        ).execute()
        return RefundIntent.create(
            sale=sale.id,
            station=sale.station_id,
            quantities=quantities,
            requested_by=requested_by.code,
            approved_by=approved_by.code,
            completed_by=completed_by.code,
            completed_by_name=completed_by.name,
            reason=reason[:200],
        )


def _record(
    settings,
    sale: Sale,
    plan: RefundPlan,
    settlement: InsuredSettlement | None,
    intent: RefundIntent | None,
    *,
    requested_by: str,
    approved_by: str,
    completed_by: SignedIn,
    reason: str,
    cancel_msgid: str,
):
    """The refund in the books, one transaction: the sale refunded, its settlement cancelled,
    every tender reversed, audited, and the intent closed. Returns (refund, reversal)."""
    tenders = list(sale.tenders.order_by(Tender.seq))
    reversal = _net_tenders(tenders, sale.change)
    with database.atomic():
        seq = Refund.select().where(Refund.station == sale.station_id).count() + 1
        shift = shifts.shift_for_sale(settings.station_id, completed_by)
        now = clock.station_now(settings.station_id, operator=completed_by.code)
        refund = Refund.create(
            sale=sale.id,
            station=sale.station_id,
            shift=shift.id,
            business_day=shift.business_day,
            created_at=now.at,
            kind="full" if plan.full else "partial",
            requested_by=requested_by,
            approved_by=approved_by,
            completed_by=completed_by.code,
            reason=reason[:200],
            amount=Fen.total(amount for _, amount, _ in reversal),
            total=plan.total,
            acct_returned=settlement.acct_pay if settlement else Fen(0),
            fund_returned=settlement.fund_pay_sumamt if settlement else Fen(0),
            cancel_msgid=cancel_msgid,
            refund_no=f"{sale.station_id}-R{seq:07d}",
        )
        RefundLine.insert_many(
            [
                {"refund": refund.id, "sale_line": p.sale_line_id, "quantity": p.refund,
                 "amount": p.amount}
                for p in plan.lines
                if p.refund
            ]
        ).execute()  # fmt: skip
        RefundTender.insert_many(
            [
                {"refund": refund.id, "seq": n, "method": m.value, "amount": a, "reference": r}
                for n, (m, a, r) in enumerate(reversal, 1)
            ]
        ).execute()
        Sale.update(status="refunded").where(Sale.id == sale.id).execute()
        # Every box of the sale comes back to the books (the kept ones are sold again with
        # the kept lines' new sale), into its batch, and the insurer is told (3506).
        trace.give_back(sale.id, refund.id, [c for p in plan.lines for c in p.codes_back])
        stock.put_back(line.id for line in sale.lines)
        if settings.reports_inventory:
            inventory.queue_refund(refund, sale)
        if settings.ebill_place is not None:  # its e-receipt reversed (冲红)
            ebills.queue_write_off(refund, sale, settings.ebill_place)
        if settings.receipts.provider == "tax":  # its invoice, if it had one: a red one
            ebills.queue_red(refund, sale, settings)
        if settlement is not None:
            InsuredSettlement.update(status="cancelled", cancelled_at=utcnow()).where(
                InsuredSettlement.id == settlement.id
            ).execute()
        audit.record(
            settings.station_id,
            "sale.refund",
            operator=completed_by.code,
            subject=sale.receipt_no,
            refund_no=refund.refund_no,
            kind=refund.kind,
            requested_by=requested_by,
            approved_by=approved_by,
            amount=str(refund.amount),
            total=str(plan.total),
            setl_id=settlement.setl_id if settlement else "",
            reason=reason[:200],
            digest=audit.refund_digest(refund.id),
        )
        if intent is not None:
            RefundIntent.update(status="done", refund=refund.id, closed_at=utcnow()).where(
                RefundIntent.id == intent.id
            ).execute()
    return refund, reversal


def _cancellation_of(row: InsuredSettlement) -> InsurerCall | None:
    """The latest 2208 / 2103 journaled for this settlement (its context names the
    settlement's msgid as ``omsgid``)."""
    return (
        InsurerCall.select()
        .where(
            InsurerCall.infno.in_(("2208", "2103")),
            InsurerCall.context.contains(f'"omsgid": "{row.msgid}"'),
        )
        .order_by(InsurerCall.created_at.desc())
        .first()
    )


def _cancelled_before(insurance, row: InsuredSettlement) -> str | None:
    """The msgid of a cancellation an earlier try already got through (resolving it with
    the insurer when its answer was lost); ``None`` when there is none."""
    from cashier.insurer import recovery
    from cashier.insurer.journal import Status

    earlier = _cancellation_of(row)
    if earlier is None:
        return None
    status = Status(earlier.status)
    if status.unresolved:
        status = recovery.resolve(insurance.client, earlier).status
    return earlier.msgid if status in (Status.OK, Status.COMMITTED) else None


def _cancel_settlement(insurance, row: InsuredSettlement, who: SignedIn, sale: Sale) -> str:
    """2208 / 2103 once: a cancellation an earlier try got through is not sent again, and
    the insurer saying the settlement is cancelled already (已撤销) counts as done."""
    from cashier.insurer import protocol
    from cashier.services.insured import send_cancel

    earlier = _cancelled_before(insurance, row)
    if earlier is not None:
        return earlier
    try:
        return _send_cancel(send_cancel, insurance, row, who, sale)
    except protocol.InsurerError as exc:
        if exc.code == "insurer.already_cancelled" and row.setl_id in str(exc):
            return ""
        raise


def _send_cancel(send_cancel, insurance, row: InsuredSettlement, who: SignedIn, sale: Sale):
    return send_cancel(
        insurance.client,
        who,
        pharmacy=row.kind == "pharmacy",
        setl_id=row.setl_id,
        mdtrt_id=row.mdtrt_id,
        psn_no=row.psn_no,
        insuplc_admdvs=row.insuplc_admdvs,
        omsgid=row.msgid,
        sale_key=sale.receipt_no,
    )


def _net_tenders(tenders: list[Tender], change: Fen) -> list[tuple[Method, Fen, str]]:
    """Each tender as it paid toward the sale: cash less the change handed back."""
    out = []
    change_left = change
    for t in tenders:
        amount = t.amount
        if t.method == Method.CASH.value and change_left:
            taken = min(amount, change_left)
            amount, change_left = amount - taken, change_left - taken
        if amount:
            out.append((Method(t.method), amount, t.reference))
    return out


def _by_method(reversal, kept) -> tuple[tuple[Method, Fen], ...]:
    back: dict[Method, Fen] = {}
    for method, amount, _ in reversal:
        back[method] = back.get(method, Fen(0)) + amount
    for method, amount in kept:
        back[method] = back.get(method, Fen(0)) - amount
    return tuple((m, a) for m, a in back.items() if a)


def _kept_lines(sale: Sale, plan: RefundPlan) -> list[Line]:
    back = {p.sale_line_id: p for p in plan.lines}
    sold = trace.codes_of_sale(sale.id)
    kept = []
    for ln in sale.lines.order_by(SaleLine.line_no):
        p = back.get(ln.id)
        quantity = ln.quantity - (p.refund if p else 0)
        if quantity:
            codes = tuple(c for c in sold.get(ln.line_no, ()) if not p or c not in p.codes_back)
            kept.append(Line.of_sold(ln, quantity, codes))
    return kept


def _prescription_of(sale: Sale):
    """The prescription a sale's 处方药 were dispensed on (its kept lines go on it again)."""
    from cashier.services.checkout import Prescription

    if not sale.dispensing:
        return None
    rx = json.loads(sale.dispensing)
    return Prescription(
        rx["rxno"], rx["prsc_dr_name"], rx["phar_code"], rx["phar_name"], rx["phar_prac_cert_no"]
    )


def _resell(
    settings,
    kept: list[Line],
    reversal,
    who: SignedIn,
    insurance,
    patient,
    original,
    original_sale: Sale | None = None,
):
    """The kept lines as a new sale, paid from the original tenders (electronic first), under
    the original settlement's (``original``) department, doctor and diagnosis, and with its
    choice of the personal account (个人账户 off stays off)."""
    co = Checkout(
        settings.station_id,
        who,
        reports_inventory=settings.reports_inventory,
        ebill_place=settings.ebill_place,
    )
    for line in kept:
        co.take_line(line)  # the boxes the patient keeps, held by the new sale
    co.prescription = _prescription_of(original_sale) if original_sale is not None else None
    if patient is not None:
        part = co.identify(patient, settings.kind)
        if original is not None:
            part.visit = dict(json.loads(original.visit or "{}"))
            part.acct_used = original.acct_used
        insurance.presettle(co)
        insurance.settle(co)
    plan = co.start_payment()
    for method, amount, reference in sorted(reversal, key=lambda t: t[0] is Method.CASH):
        take = min(amount, plan.remaining)
        if take:
            plan.add(method, take, reference or say("refunds.original_way"))
    if not plan.complete:
        raise InputError(say("refunds.resettled_over", due=plan.due.display()))
    return co.complete(plan)


def pending_resales(station_id: str) -> list[Refund]:
    """Partial refunds whose kept lines were not charged again (the counter died, or the
    re-sale failed, between the cancellation and the new sale), oldest first."""
    return list(
        Refund.select()
        .where(
            (Refund.station == station_id)
            & (Refund.kind == "partial")
            & Refund.resettled_sale.is_null()
        )
        .order_by(Refund.id)
    )


def kept_lines_of(refund: Refund) -> list[Line]:
    """The lines a partial refund kept (to be charged again), with the boxes kept."""
    back = {rl.sale_line_id: rl.quantity for rl in refund.lines}
    codes = trace.kept_by_refund(refund.id)
    kept = []
    for ln in refund.sale.lines.order_by(SaleLine.line_no):
        quantity = ln.quantity - back.get(ln.id, 0)
        if quantity:
            kept.append(Line.of_sold(ln, quantity, codes.get(ln.line_no, ())))
    return kept


def resell_kept(settings, refund: Refund, who: SignedIn, insurance=None, patient=None):
    """Finish a partial refund left between its cancellation and the new sale: the kept lines
    sold again from the original tenders (insured again when the patient is identified)."""
    if refund.resettled_sale_id is not None:
        raise InputError(say("refunds.kept_recharged", refund_no=refund.refund_no))
    sale = refund.sale
    settlement = sale.settlements.first()
    reversal = _net_tenders(list(sale.tenders.order_by(Tender.seq)), sale.change)
    completed = _resell(
        settings, kept_lines_of(refund), reversal, who, insurance, patient, settlement, sale
    )
    Refund.update(resettled_sale=completed.sale_id).where(Refund.id == refund.id).execute()
    return completed


def print_slip(settings, refund_id: int, printer) -> object:
    """Print a refund's slip and remember it was printed (a slip a crash kept from the
    printer is printed at the next start: :func:`print_unprinted`)."""
    from cashier.services.printing import print_document

    refund = Refund.get_by_id(refund_id)
    slip = refund_receipt(refund, clinic_name=settings.clinic_name, training=settings.training)
    faults.crash_point("printing", "refund")
    printed = print_document(settings, slip, printer)
    Refund.update(printed=True).where(Refund.id == refund_id).execute()
    return printed


def print_unprinted(settings, printer) -> list[str]:
    """At start: every refund slip of this station not printed yet; their numbers."""
    done = []
    for refund in Refund.select().where(
        (Refund.station == settings.station_id) & (Refund.printed == False)  # noqa: E712
    ):
        print_slip(settings, refund.id, printer)
        done.append(refund.refund_no)
    return done


# -- refunds a crash or a lost answer left pending ---------------------------------------------
@dataclass(frozen=True)
class RefundResumed:
    sale_receipt_no: str
    outcome: str  # done | undone
    refund_no: str = ""
    kept_to_sell_again: bool = False  # a partial refund: the kept lines must be charged again

    @property
    def message(self) -> str:
        if self.outcome == "undone":
            return say("refunds.unfinished", sale_receipt_no=self.sale_receipt_no)
        note = say("refunds.kept_to_charge") if self.kept_to_sell_again else ""
        return say(
            "refunds.recorded_late",
            sale_receipt_no=self.sale_receipt_no,
            refund_no=self.refund_no,
            note=note,
        )


def finish_pending_refunds(settings, insurance) -> list[RefundResumed]:
    """Every pending refund intent of this station, oldest first: finished in the books when
    its cancellation committed at the insurer, undone when it did not. Raises what the client
    raises when the insurer cannot be asked now (the next start tries again)."""
    from cashier.services.operators import Role

    done = []
    pending = RefundIntent.select().where(
        (RefundIntent.station == settings.station_id) & (RefundIntent.status == "pending")
    )
    for intent in pending.order_by(RefundIntent.created_at):
        sale = Sale.get_by_id(intent.sale_id)
        settlement = sale.settlements.where(InsuredSettlement.status == "settled").first()
        if sale.status != "completed" or settlement is None:
            _close(intent, "undone")  # refunded or changed by another way meanwhile
            continue
        cancel_msgid = _cancelled_before(insurance, settlement)
        if cancel_msgid is None:
            _close(intent, "undone")
            done.append(RefundResumed(sale.receipt_no, "undone"))
            audit.record(
                settings.station_id, "refund.undone", operator=intent.completed_by,
                subject=sale.receipt_no,
            )  # fmt: skip
            continue
        stored = json.loads(intent.quantities)
        if "quantities" not in stored:  # an intent written before 追溯码 were kept
            stored = {"quantities": stored, "codes_back": {}}
        quantities = {int(k): v for k, v in stored["quantities"].items()}
        codes_back = {int(k): tuple(v) for k, v in stored["codes_back"].items()}
        plan = plan_refund(sale, quantities, codes_back)
        who = SignedIn(intent.completed_by, intent.completed_by_name, Role.CASHIER)
        refund, _ = _record(
            settings,
            sale,
            plan,
            settlement,
            intent,
            requested_by=intent.requested_by,
            approved_by=intent.approved_by,
            completed_by=who,
            reason=intent.reason,
            cancel_msgid=cancel_msgid,
        )
        done.append(RefundResumed(sale.receipt_no, "done", refund.refund_no, not plan.full))
    return done


def _close(intent: RefundIntent, status: str) -> None:
    RefundIntent.update(status=status, closed_at=utcnow()).where(
        RefundIntent.id == intent.id
    ).execute()


# -- the refund slip ---------------------------------------------------------------------------
def refund_receipt(refund: Refund, *, clinic_name: str, training: bool) -> Receipt:
    """The slip the patient signs: what went back, how, and who did it."""

    sale = refund.sale
    lines = tuple(
        ReceiptLine(
            name=rl.sale_line.name,
            spec=rl.sale_line.spec,
            unit=rl.sale_line.unit,
            quantity=rl.quantity,
            price=rl.sale_line.price,
            amount=rl.amount,
            fee_category=rl.sale_line.fee_category,
            list_class=rl.sale_line.list_class,
        )
        for rl in refund.lines.order_by(RefundLine.id)
    )
    reversal = [
        (Method(t.method), t.amount, t.reference) for t in refund.tenders.order_by(RefundTender.seq)
    ]
    kept = []
    footer = [f"原票据号 {sale.receipt_no}"]
    paid_before = Fen.total(amount for _, amount, _ in reversal)  # the patient's net payment
    reckoning = [("原单患者实付", paid_before)]
    if refund.resettled_sale_id:
        new = refund.resettled_sale
        kept = [(Method(t.method), t.amount) for t in new.tenders]
        footer.append(f"保留项目新票据号 {new.receipt_no}")
        reckoning.append(("减：保留项目重新收费", Fen.total(a for _, a in kept)))
    footer.append(
        f"申请 {_who(refund.requested_by)} · 审批 {_who(refund.approved_by)}"
        f" · 办理 {_who(refund.completed_by)}"
    )
    footer.append(f"原因：{refund.reason}")
    footer.append("患者签字：")
    back = _by_method(reversal, kept)
    setl = sale.settlements.first()
    insurance = insurance_summary(setl, cancelled=True) if setl is not None else None
    net = Fen.total(amount for _, amount in back)
    return Receipt(
        title="退款凭证",
        clinic_name=clinic_name,
        station_id=refund.station_id,
        receipt_no=refund.refund_no,
        operator=_who(refund.completed_by),
        issued_at=refund.created_at.replace(tzinfo=UTC).astimezone(),
        lines=lines,
        total=refund.total,
        total_label="退货项目金额",
        tenders=tuple(ReceiptTender(f"退{m.label}", a) for m, a in back),
        paid=net,
        change=Fen(0),
        paid_label="退还患者",
        reckoning=tuple(reckoning) if len(reckoning) > 1 else (),
        patient=f"{setl.psn_name} {setl.certno}" if setl else "",
        insurance=insurance,
        training=training,
        footer=tuple(footer),
    )


def _who(code: str) -> str:
    """An operator as a slip names them: 工号 and name."""
    from cashier.store.models import Operator

    row = Operator.get_or_none(Operator.code == code)
    return f"{code} {row.name}" if row is not None else code


__all__ = [
    "RefundDone",
    "RefundPlan",
    "ResaleFailed",
    "approve",
    "execute",
    "find_refundable",
    "plan_refund",
    "refund_receipt",
]
