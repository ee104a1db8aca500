"""Shifts: a station's drawer from the float to the blind count and the Z report. No UI.

A station has one drawer, so it has at most one open shift; every sale completed
there belongs to it (:func:`shift_for_sale` opens one with no float when none is).
:func:`figures` is the X report: live, read with SQL aggregates, closing nothing.
:func:`close_shift` takes the cashier's blind count (counted cash and the
electronic totals from the terminals), then computes what the books expect and
records the variance per method — short is negative, never forced to zero — and
freezes the numbered Z report as JSON in the shift. Expected cash is
float + cash taken − change − cash refunds − payouts; each electronic method
expects what it took less what it refunded.

A shift still open from an earlier day is *stale*: only a supervisor closes it.
Only the shift's own operator or a supervisor closes a shift or pays out of it.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from peewee import JOIN, fn

from cashier import faults
from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError, NotAllowed
from cashier.messages import say
from cashier.receipts.shift_report import ReportRow, ReportSection, ShiftReport
from cashier.services import audit, clock
from cashier.services.operators import Role, SignedIn
from cashier.store.models import (
    InsuredSettlement,
    Operator,
    Payout,
    Refund,
    RefundTender,
    Sale,
    Shift,
    ShiftCount,
    Tender,
    database,
)

#: The methods a count asks for and a report lists, in this order.
METHODS: tuple[Method, ...] = tuple(Method)

OPEN, CLOSED = "open", "closed"
MAX_REASON = 200


# -- the figures (X report) ---------------------------------------------------------------


@dataclass(frozen=True)
class MethodFigures:
    """One payment method over a shift."""

    method: Method
    taken: Fen  # handed over by patients (cash before change)
    change: Fen  # handed back as change (cash only)
    refunded: Fen  # given back by refunds done in this shift
    payouts: Fen  # taken out of the drawer (cash only)
    expected: Fen  # what the drawer / terminal should hold: float (cash) + taken − the rest


@dataclass(frozen=True)
class InsuredFigures:
    """What the insurer settled for the shift's sales, and what refunds returned to it."""

    settlements: int
    medfee: Fen  # 医疗费总额 (medfee_sumamt)
    fund_pay: Fen  # 基金支付 (fund_pay_sumamt: 统筹 and every other fund)
    acct_pay: Fen  # 个人账户
    cash_pay: Fen  # 个人现金 (psn_cash_pay: what the patients paid at the counter)
    fund_returned: Fen  # back to the funds by refunds done in this shift
    acct_returned: Fen  # back to personal accounts by refunds done in this shift


@dataclass(frozen=True)
class OperatorFigures:
    """One operator's part of a shift (a supervisor may ring up sales in a cashier's shift)."""

    code: str
    name: str
    sales: int
    total: Fen  # 医疗费 of the sales (insured and self-paid)
    collected: Fen  # paid at the counter, change deducted
    fund_pay: Fen
    acct_pay: Fen
    refunds: int
    refunded: Fen  # given back over the tenders by refunds this operator did


@dataclass(frozen=True)
class ShiftFigures:
    """The X report: a shift's figures as of ``as_of``. Data only; see :func:`figures`."""

    shift_id: int
    station_id: str
    operator: str
    operator_name: str
    opened_at: datetime  # local time
    as_of: datetime  # local time
    float_amount: Fen
    sales: int
    refunds: int
    voids: int
    payout_count: int
    payouts: Fen
    methods: tuple[MethodFigures, ...]  # every method of METHODS, in that order
    insured: InsuredFigures
    operators: tuple[OperatorFigures, ...]

    def of(self, method: Method) -> MethodFigures:
        return next(m for m in self.methods if m.method is method)

    @property
    def expected(self) -> dict[Method, Fen]:
        return {m.method: m.expected for m in self.methods}

    @property
    def cash_expected(self) -> Fen:
        return self.of(Method.CASH).expected


def figures(shift: Shift, *, now: datetime | None = None) -> ShiftFigures:
    """The shift's figures (the X report), from SQL aggregates; nothing is changed.

    Sales are the shift's sales (refunded ones included: their money was taken,
    and the refund gives it back); refunds are those done in this shift; voids
    have no shift, so they are the station's voids while the shift was open.
    """
    shift_sales = (Sale.shift == shift.id) & (Sale.status != "voided")

    sale_count, change = (
        Sale.select(fn.COUNT(Sale.id), _sum(Sale.change)).where(shift_sales).tuples().get()
    )
    taken = dict(
        Tender.select(Tender.method, _sum(Tender.amount))
        .join(Sale, on=(Tender.sale == Sale.id))
        .where(shift_sales)
        .group_by(Tender.method)
        .tuples()
    )
    refunded = dict(
        RefundTender.select(RefundTender.method, _sum(RefundTender.amount))
        .join(Refund, on=(RefundTender.refund == Refund.id))
        .where(Refund.shift == shift.id)
        .group_by(RefundTender.method)
        .tuples()
    )
    refund_count, fund_returned, acct_returned = (
        Refund.select(fn.COUNT(Refund.id), _sum(Refund.fund_returned), _sum(Refund.acct_returned))
        .where(Refund.shift == shift.id)
        .tuples()
        .get()
    )
    payout_count, payouts = (
        Payout.select(fn.COUNT(Payout.id), _sum(Payout.amount))
        .where(Payout.shift == shift.id)
        .tuples()
        .get()
    )
    # Voids belong to the shift they were made in (the clock may have been set back
    # meanwhile); a void made with no shift open belongs to none.
    voids = Sale.select().where((Sale.shift == shift.id) & (Sale.status == "voided")).count()
    settlements, medfee, fund_pay, acct_pay, cash_pay = (
        InsuredSettlement.select(
            fn.COUNT(InsuredSettlement.id),
            _sum(InsuredSettlement.medfee_sumamt),
            _sum(InsuredSettlement.fund_pay_sumamt),
            _sum(InsuredSettlement.acct_pay),
            _sum(InsuredSettlement.psn_cash_pay),
        )
        .join(Sale, on=(InsuredSettlement.sale == Sale.id))
        .where(shift_sales)
        .tuples()
        .get()
    )

    methods = []
    for method in METHODS:
        cash = method is Method.CASH
        m_taken = _fen(taken.get(method.value))
        m_change = _fen(change) if cash else Fen(0)
        m_refunded = _fen(refunded.get(method.value))
        m_payouts = _fen(payouts) if cash else Fen(0)
        start = shift.float_amount if cash else Fen(0)
        methods.append(
            MethodFigures(
                method,
                m_taken,
                m_change,
                m_refunded,
                m_payouts,
                start + m_taken - m_change - m_refunded - m_payouts,
            )
        )
    operator = shift.operator
    return ShiftFigures(
        shift_id=shift.id,
        station_id=shift.station_id,
        operator=operator.code,
        operator_name=operator.name,
        opened_at=_local(shift.opened_at),
        as_of=(now or datetime.now()).astimezone(),
        float_amount=shift.float_amount,
        sales=sale_count,
        refunds=refund_count,
        voids=voids,
        payout_count=payout_count,
        payouts=_fen(payouts),
        methods=tuple(methods),
        insured=InsuredFigures(
            settlements,
            _fen(medfee),
            _fen(fund_pay),
            _fen(acct_pay),
            _fen(cash_pay),
            _fen(fund_returned),
            _fen(acct_returned),
        ),
        operators=_operator_figures(shift, shift_sales),
    )


def _operator_figures(shift: Shift, shift_sales) -> tuple[OperatorFigures, ...]:
    sales = {
        code: row
        for code, *row in Sale.select(
            Sale.operator,
            Operator.name,
            fn.COUNT(Sale.id),
            _sum(Sale.total),
            _sum(Sale.paid - Sale.change),
            _sum(InsuredSettlement.fund_pay_sumamt),
            _sum(InsuredSettlement.acct_pay),
        )
        .join(Operator, on=(Sale.operator == Operator.code))
        .join(InsuredSettlement, JOIN.LEFT_OUTER, on=(InsuredSettlement.sale == Sale.id), src=Sale)
        .where(shift_sales)
        .group_by(Sale.operator, Operator.name)
        .tuples()
    }
    refunds = {
        code: row
        for code, *row in Refund.select(
            Refund.completed_by, Operator.name, fn.COUNT(Refund.id), _sum(Refund.amount)
        )
        .join(Operator, on=(Refund.completed_by == Operator.code))
        .where(Refund.shift == shift.id)
        .group_by(Refund.completed_by, Operator.name)
        .tuples()
    }
    out = []
    for code in sorted(sales.keys() | refunds.keys()):
        if code in sales:
            name, count, total, collected, fund_pay, acct_pay = sales[code]
        else:  # refunds only
            name, count, total, collected, fund_pay, acct_pay = refunds[code][0], 0, *[None] * 4
        _, refund_count, refunded = refunds.get(code, (name, 0, None))
        out.append(
            OperatorFigures(
                code,
                name,
                count,
                _fen(total),
                _fen(collected),
                _fen(fund_pay),
                _fen(acct_pay),
                refund_count,
                _fen(refunded),
            )
        )
    return tuple(out)


def _sum(column):
    """SUM as a raw number: SQLite gives int, PostgreSQL a Decimal; :func:`_fen` reads both."""
    return fn.SUM(column).coerce(False)


def _fen(value: Any) -> Fen:
    """An aggregate of fen (None when there were no rows) as :class:`Fen`."""
    return Fen(0) if value is None else Fen(int(value))


def _local(stored: datetime) -> datetime:
    """A stored timestamp (naive UTC) in local time."""
    return stored.replace(tzinfo=UTC).astimezone()


# -- opening, and the station's shift -------------------------------------------------------


def open_shift_of(station_id: str) -> Shift | None:
    """The station's open shift (a station has one drawer: one open shift at a time)."""
    return (
        Shift.select()
        .where((Shift.station == station_id) & (Shift.status == OPEN))
        .order_by(Shift.id.desc())
        .first()
    )


def shift_for_sale(station_id: str, who: SignedIn) -> Shift:
    """The open shift a sale belongs to (and its business day); with none open, one is
    opened with no float (audited ``shift.auto_open``), so no sale is ever outside a shift.
    Call inside the sale's transaction."""
    shift = open_shift_of(station_id)
    if shift is not None:
        if shift.business_day is None:
            shift.business_day = clock.local_day(shift.opened_at)
        return shift
    now = clock.station_now(station_id, operator=who.code)
    shift = Shift.create(
        station=station_id,
        operator=who.code,
        float_amount=Fen(0),
        opened_at=now.at,
        business_day=clock.local_day(now.at),
    )
    audit.record(station_id, "shift.auto_open", operator=who.code, subject=str(shift.id))
    return shift


def open_shift(station_id: str, who: SignedIn, float_amount: Fen) -> Shift:
    """Open the station's shift with the float counted into the drawer (audited
    ``shift.open``). Refused while the station has a shift open."""
    if not isinstance(float_amount, Fen):
        raise TypeError("float_amount must be Fen")
    if float_amount < Fen(0):
        raise InputError(say("shifts.float_negative"))
    with database.atomic():
        current = open_shift_of(station_id)
        if current is not None:
            raise InputError(
                say(
                    "shifts.already_open",
                    station_id=station_id,
                    operator_id=current.operator_id,
                    opened_at=_local(current.opened_at),
                )
            )
        now = clock.station_now(station_id, operator=who.code)
        shift = Shift.create(
            station=station_id,
            operator=who.code,
            float_amount=float_amount,
            opened_at=now.at,
            business_day=clock.local_day(now.at),
        )
        audit.record(
            station_id,
            "shift.open",
            operator=who.code,
            subject=str(shift.id),
            float_amount=str(float_amount),
        )
    return shift


@dataclass(frozen=True)
class ShiftInfo:
    """What the shift screen shows about an open shift."""

    shift_id: int
    station_id: str
    operator: str
    operator_name: str
    opened_at: datetime  # local time
    float_amount: Fen
    stale: bool  # opened before today: flagged, a supervisor closes it


def shift_info(shift: Shift, *, now: datetime | None = None) -> ShiftInfo:
    return ShiftInfo(
        shift.id,
        shift.station_id,
        shift.operator.code,
        shift.operator.name,
        _local(shift.opened_at),
        shift.float_amount,
        is_stale(shift, now=now),
    )


def is_stale(shift: Shift, *, now: datetime | None = None) -> bool:
    """Open, and opened on an earlier (local) day than ``now``."""
    today = (now or datetime.now()).astimezone().date()
    return shift.status == OPEN and _local(shift.opened_at).date() < today


def stale_shifts(now: datetime | None = None, *, station_id: str | None = None) -> list[Shift]:
    """Shifts still open that were opened before today (local date): left open at the end
    of a day, flagged, to be closed by a supervisor. Every station's, or one station's."""
    local_now = (now or datetime.now()).astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    cutoff = midnight.astimezone(UTC).replace(tzinfo=None)
    where = (Shift.status == OPEN) & (Shift.opened_at < cutoff)
    if station_id is not None:
        where &= Shift.station == station_id
    return list(Shift.select().where(where).order_by(Shift.opened_at))


def needs_supervisor(shift: Shift, who: SignedIn, *, now: datetime | None = None) -> bool:
    """Whether closing ``shift`` at ``who``'s counter needs a supervisor's code and PIN:
    another operator's shift, or a stale one, when ``who`` is not a supervisor."""
    if who.role.at_least(Role.SUPERVISOR):
        return False
    return shift.operator_id != who.code or is_stale(shift, now=now)


def _closer(
    shift: Shift, who: SignedIn, supervisor: SignedIn | None, now: datetime | None
) -> SignedIn:
    """Who answers for the close (the shift's cashier, or the supervisor); else NotAllowed."""
    if supervisor is not None and not supervisor.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("shifts.not_supervisor", label=supervisor.label))
    approver = supervisor or who
    if approver.role.at_least(Role.SUPERVISOR):
        return approver
    if shift.operator_id != who.code:
        raise NotAllowed(say("shifts.others_shift", operator_id=shift.operator_id))
    if is_stale(shift, now=now):
        raise NotAllowed(say("shifts.stale"))
    return who


def _require_open(shift: Shift) -> Shift:
    fresh = Shift.get_by_id(shift.id)
    if fresh.status != OPEN:
        raise InputError(say("shifts.closed_z", id=shift.id, z_no=fresh.z_no))
    return fresh


# -- the X report and payouts ----------------------------------------------------------------


def x_report(shift: Shift, who: SignedIn, *, now: datetime | None = None) -> ShiftFigures:
    """The live X report of an open shift, audited ``shift.x_report``. Supervisors only: it
    shows what the drawer should hold, and the cashier's count at close is blind."""
    if not who.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("shifts.x_supervisor"))
    shift = _require_open(shift)
    result = figures(shift, now=now)
    audit.record(
        shift.station_id,
        "shift.x_report",
        operator=who.code,
        subject=str(shift.id),
        cash_expected=str(result.cash_expected),
    )
    return result


def payout(shift: Shift, who: SignedIn, amount: Fen, reason: str) -> Payout:
    """Take cash out of the drawer for something other than a refund (audited
    ``shift.payout``). Refused above the cash the drawer should hold."""
    if not isinstance(amount, Fen):
        raise TypeError("amount must be Fen")
    reason = reason.strip()
    if amount <= Fen(0):
        raise InputError(say("shifts.payout_positive"))
    if not reason:
        raise InputError(say("shifts.payout_reason"))
    if len(reason) > MAX_REASON:
        raise InputError(say("shifts.reason_too_long", MAX_REASON=MAX_REASON))
    with database.atomic():
        shift = _require_open(shift)
        if shift.operator_id != who.code:
            who.require(Role.SUPERVISOR)
        cash = figures(shift).cash_expected
        if amount > cash:
            raise InputError(
                say("shifts.payout_over_cash", amount=amount.display(), cash=cash.display())
            )
        row = Payout.create(shift=shift.id, operator=who.code, amount=amount, reason=reason)
        audit.record(
            shift.station_id,
            "shift.payout",
            operator=who.code,
            subject=str(shift.id),
            amount=str(amount),
            reason=reason,
        )
    return row


# -- closing: the blind count and the Z report -----------------------------------------------


@dataclass(frozen=True)
class MethodCount:
    """One method at close: what was counted, what the books expected, and the difference."""

    method: Method
    counted: Fen
    expected: Fen
    variance: Fen  # counted − expected: short is negative


@dataclass(frozen=True)
class ZReport:
    """A closed shift, frozen: everything its printed Z report shows."""

    z_no: int
    number: str  # printed, e.g. TRAIN-01-Z000001
    closed_at: datetime  # local time
    closed_by: str  # the cashier, or the supervisor who closed it
    closed_by_name: str
    stale: bool  # left open past its day and closed by a supervisor
    figures: ShiftFigures
    counts: tuple[MethodCount, ...]  # every method of METHODS, in that order
    audit_head: str = ""  # the audit chain's head after the close (printed; issue 17)

    def count_of(self, method: Method) -> MethodCount:
        return next(c for c in self.counts if c.method is method)

    @property
    def variance(self) -> Fen:
        return Fen.total(c.variance for c in self.counts)

    def to_json(self) -> str:
        return json.dumps({"version": 1, **_plain(self)}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ZReport:
        data = json.loads(text)
        data.pop("version", None)
        return _typed(cls, data)


def format_z_no(station_id: str, z_no: int) -> str:
    return f"{station_id}-Z{z_no:06d}"


def close_shift(
    shift: Shift,
    counts: dict[Method, Fen],
    who: SignedIn,
    *,
    supervisor: SignedIn | None = None,
    now: datetime | None = None,
) -> ZReport:
    """Close ``shift`` with the blind count ``counts`` (a method left out was counted 0).

    The counted figures come in first; only then are the expected ones computed and the
    variance (counted − expected) recorded per method in ``ShiftCount`` — never forced to
    zero. The Z number (gap-free per station), the frozen Z report, the shift's status and
    the audit entry ``shift.close`` commit in one transaction. Another operator's shift or
    a stale one needs a supervisor: ``who`` itself, or ``supervisor`` (code and PIN checked
    by the caller with :func:`cashier.services.operators.authenticate`).
    """
    counted = _checked_counts(counts)
    closer = _closer(shift, who, supervisor, now)
    stale = is_stale(shift, now=now)
    with database.atomic():
        # Never before it opened, nor before the station's last record (a clock set back).
        closed_at = clock.station_now(shift.station_id, operator=who.code).at
        # Claims the shift (and, on SQLite, the write lock): a second close finds it closed.
        claimed = (
            Shift.update(status=CLOSED, closed_at=closed_at, closed_by=closer.code)
            .where((Shift.id == shift.id) & (Shift.status == OPEN))
            .execute()
        )
        if not claimed:
            _require_open(shift)  # says which Z closed it
            raise InputError(say("shifts.closed", id=shift.id))
        shift = Shift.get_by_id(shift.id)
        result = figures(shift, now=now)
        lines = tuple(
            MethodCount(m.method, counted[m.method], m.expected, counted[m.method] - m.expected)
            for m in result.methods
        )
        z_no = _next_z_no(shift.station_id)
        report = ZReport(
            z_no=z_no,
            number=format_z_no(shift.station_id, z_no),
            closed_at=_local(closed_at),
            closed_by=closer.code,
            closed_by_name=closer.name,
            stale=stale,
            figures=result,
            counts=lines,
        )
        ShiftCount.insert_many(
            [
                {
                    "shift": shift.id,
                    "method": c.method.value,
                    "counted": c.counted,
                    "expected": c.expected,
                    "variance": c.variance,
                }
                for c in lines
            ]
        ).execute()
        faults.crash_point("shift_close")  # inside the close's transaction: all of it or none
        entry = audit.record(
            shift.station_id,
            "shift.close",
            operator=who.code,
            subject=report.number,
            shift=shift.id,
            shift_operator=shift.operator_id,
            supervisor=supervisor.code if supervisor else "",
            stale=stale,
            counted={c.method.value: str(c.counted) for c in lines},
            expected={c.method.value: str(c.expected) for c in lines},
            variance={c.method.value: str(c.variance) for c in lines},
        )
        report = replace(report, audit_head=f"#{entry.id} {entry.hash[:16]}")
        Shift.update(z_no=z_no, z_report=report.to_json()).where(Shift.id == shift.id).execute()
    return report


def _checked_counts(counts: dict[Method, Fen]) -> dict[Method, Fen]:
    out = {method: Fen(0) for method in METHODS}
    for method, amount in counts.items():
        if not isinstance(method, Method):
            raise TypeError(f"count keys are Method, not {type(method).__name__}")
        if not isinstance(amount, Fen):
            raise TypeError("counted amounts must be Fen")
        if amount < Fen(0):
            raise InputError(say("shifts.count_negative", label=method.label))
        out[method] = amount
    return out


def _next_z_no(station_id: str) -> int:
    """The station's next Z number, inside the close's transaction: a rollback leaves no gap."""
    last = (
        Shift.select(fn.MAX(Shift.z_no)).where(Shift.station == station_id).scalar()
    )  # the unique (station, z_no) index refuses a duplicate from a racing close
    return (last or 0) + 1


def z_report_of(shift: Shift) -> ZReport:
    """The frozen Z report of a closed shift, as stored at close."""
    if shift.status != CLOSED or not shift.z_report:
        raise InputError(say("shifts.no_z", id=shift.id))
    return ZReport.from_json(shift.z_report)


def recent_z_reports(
    station_id: str, *, who: SignedIn, limit: int = 20
) -> list[tuple[Shift, ZReport]]:
    """The station's latest closed shifts with their Z reports, newest first. A cashier
    sees only their own shifts; another cashier's shift is a supervisor's to see."""
    where = (Shift.station == station_id) & (Shift.status == CLOSED)
    if not who.role.at_least(Role.SUPERVISOR):
        where &= Shift.operator == who.code
    rows = Shift.select().where(where).order_by(Shift.z_no.desc()).limit(limit)
    return [(row, z_report_of(row)) for row in rows]


def reprint_z(shift: Shift, who: SignedIn) -> int:
    """Count a reprint (重打) of a shift's Z report and audit it; which reprint this is.
    Another operator's Z is reprinted by a supervisor."""
    report = z_report_of(shift)
    if shift.operator_id != who.code:
        who.require(Role.SUPERVISOR)
    with database.atomic():
        Shift.update(reprints=Shift.reprints + 1).where(Shift.id == shift.id).execute()
        n = Shift.get_by_id(shift.id).reprints
        audit.record(
            shift.station_id, "shift.reprint_z", operator=who.code, subject=report.number, n=n
        )
    return n


# -- the printed documents ----------------------------------------------------------------------


def x_document(result: ShiftFigures, *, clinic_name: str, training: bool) -> ShiftReport:
    """The X report as a printable document (marked: the shift is not closed)."""
    return ShiftReport(
        title="交班报表（X，未结班）",
        clinic_name=clinic_name,
        station_id=result.station_id,
        number=f"{result.station_id}-S{result.shift_id:06d}-X{result.as_of:%H%M%S}",
        fields=(
            *_header(result),
            ("截至", f"{result.as_of:%Y-%m-%d %H:%M:%S}"),
        ),
        sections=(*_sections(result), *_insured_and_operators(result)),
        training=training,
        footer=("X 报表仅供核对，不结班",),
    )


def z_document(
    report: ZReport, *, clinic_name: str, training: bool, reprint: int = 0
) -> ShiftReport:
    """The Z report as a printable document, from the frozen report only."""
    result = report.figures
    counts = []
    for c in report.counts:
        if c.method is not Method.CASH and not (c.counted or c.expected):
            continue
        word = "短款" if c.variance < Fen(0) else "长款" if c.variance > Fen(0) else "无差额"
        counts += [
            ReportRow(c.method.label, style="bold"),
            ReportRow("实点", c.counted.display(), indent=2),
            ReportRow("应有", c.expected.display(), indent=2),
            ReportRow(f"差额（{word}）", c.variance.display(), "bold", indent=2),
        ]
    counts.append(ReportRow("差额合计", report.variance.display(), "big"))
    return ShiftReport(
        title="结班报表（Z）",
        clinic_name=clinic_name,
        station_id=result.station_id,
        number=report.number,
        fields=(
            *_header(result),
            ("结班", f"{report.closed_at:%Y-%m-%d %H:%M:%S}"),
            ("结班人", f"{report.closed_by} {report.closed_by_name}"),
            *((("审计链", report.audit_head),) if report.audit_head else ()),
        ),
        sections=(
            *_sections(result),
            ReportSection("盲点结果（实点 − 应有）", tuple(counts)),
            *_insured_and_operators(result),
            *_ebills(result.shift_id),
        ),
        notice="跨日未交班，由收费组长结班" if report.stale else "",
        reprint=reprint,
        training=training,
    )


def _ebills(shift_id: int) -> tuple[ReportSection, ...]:
    """The e-receipts of the shift's sales: how many issued, their numbers' range, how many
    still on their way (read when printed: a reprint says what has been issued since)."""
    from cashier.services import ebills
    from cashier.store.models import EBillRecord, Outbox

    issued = [
        number
        for (number,) in EBillRecord.select(EBillRecord.number)
        .join(Sale, on=(EBillRecord.sale == Sale.id))
        .where((Sale.shift == shift_id) & ~EBillRecord.red)
        .order_by(EBillRecord.number)
        .tuples()
    ]
    waiting = (
        Outbox.select()
        .join(Sale, on=(Outbox.sale == Sale.id))
        .where((Sale.shift == shift_id) & (Outbox.infno == ebills.ISSUE)
               & Outbox.status.in_(("queued", "in_doubt", "refused")))
        .count()
    )  # fmt: skip
    if not issued and not waiting:
        return ()
    rows = [ReportRow("已开具", f"{len(issued)} 张")]
    if issued:
        rows.append(ReportRow("号码", f"{issued[0]}–{issued[-1]}", indent=2))
    rows.append(ReportRow("待开具", f"{waiting} 张", "bold" if waiting else "normal"))
    return (ReportSection("财政电子票据", tuple(rows)),)


def _header(result: ShiftFigures) -> tuple[tuple[str, str], ...]:
    return (
        ("收款员", f"{result.operator} {result.operator_name}"),
        ("开班", f"{result.opened_at:%Y-%m-%d %H:%M:%S}"),
    )


def _sections(result: ShiftFigures) -> tuple[ReportSection, ...]:
    summary = ReportSection(
        "概况",
        (
            ReportRow("收费笔数", str(result.sales)),
            ReportRow("退款笔数", str(result.refunds)),
            ReportRow("作废笔数", str(result.voids)),
            ReportRow("备用金", result.float_amount.display()),
            ReportRow(f"支出（{result.payout_count} 笔）", result.payouts.display()),
        ),
    )
    rows = []
    for m in result.methods:
        cash = m.method is Method.CASH
        if not cash and not (m.taken or m.refunded):
            continue
        rows.append(ReportRow(m.method.label, style="bold"))
        if cash:
            rows.append(ReportRow("备用金", result.float_amount.display(), indent=2))
        rows.append(ReportRow("收入", m.taken.display(), indent=2))
        if cash:
            rows.append(ReportRow("找零", (-m.change).display(), indent=2))
        rows.append(ReportRow("退款", (-m.refunded).display(), indent=2))
        if cash:
            rows.append(ReportRow("支出", (-m.payouts).display(), indent=2))
        rows.append(ReportRow("应有", m.expected.display(), "bold", indent=2))
    return (summary, ReportSection("收款方式", tuple(rows)))


def _insured_and_operators(result: ShiftFigures) -> tuple[ReportSection, ...]:
    out = []
    ins = result.insured
    if ins.settlements or ins.fund_returned or ins.acct_returned:
        out.append(
            ReportSection(
                "医保",
                (
                    ReportRow("结算笔数", str(ins.settlements)),
                    ReportRow("医疗费总额", ins.medfee.display()),
                    ReportRow("基金支付", ins.fund_pay.display()),
                    ReportRow("个人账户", ins.acct_pay.display()),
                    ReportRow("个人现金", ins.cash_pay.display()),
                    ReportRow("退款退回基金", ins.fund_returned.display()),
                    ReportRow("退款退回个人账户", ins.acct_returned.display()),
                ),
            )
        )
    rows = []
    for op in result.operators:
        rows += [
            ReportRow(f"{op.code} {op.name}", style="bold"),
            ReportRow(f"收费 {op.sales} 笔 医疗费", op.total.display(), indent=2),
            ReportRow("实收", op.collected.display(), indent=2),
        ]
        if op.fund_pay or op.acct_pay:
            rows.append(ReportRow("基金支付", op.fund_pay.display(), indent=2))
            rows.append(ReportRow("个人账户", op.acct_pay.display(), indent=2))
        if op.refunds:
            rows.append(ReportRow(f"退款 {op.refunds} 笔", (-op.refunded).display(), indent=2))
    if rows:
        out.append(ReportSection("按操作员", tuple(rows)))
    return tuple(out)


# -- JSON of frozen reports ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A report as JSON-ready values: amounts as yuan text, times as ISO text."""
    if isinstance(value, Fen):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _typed(kind: Any, value: Any) -> Any:
    """:func:`_plain`'s output read back as ``kind`` (a dataclass, Fen, datetime, …)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_typed(item, v) for v in value)
    if kind is Fen:
        return Fen.from_json(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(
            **{
                f.name: _typed(hints[f.name], value[f.name])
                for f in fields(kind)
                if f.name in value
            }
        )
    return value


__all__ = [
    "METHODS",
    "InsuredFigures",
    "MethodCount",
    "MethodFigures",
    "OperatorFigures",
    "ShiftFigures",
    "ShiftInfo",
    "ZReport",
    "close_shift",
    "figures",
    "format_z_no",
    "is_stale",
    "needs_supervisor",
    "open_shift",
    "open_shift_of",
    "payout",
    "recent_z_reports",
    "reprint_z",
    "shift_for_sale",
    "shift_info",
    "stale_shifts",
    "x_document",
    "x_report",
    "z_document",
    "z_report_of",
]
