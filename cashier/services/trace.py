"""药品追溯码: one box, one sale, whichever counter scans it.

A code scanned at the counter is *held* by its bill in the shared database at once (a
partial unique index: a code is held or sold once at most), so a second counter scanning
the same box is told where it is; it is *sold* with its sale (in the sale's transaction)
and *returned* with the refund that brings the box back, after which it may be sold again.

A hold dies with its bill: the bill voided, the line removed or shortened, and at the
station's next start every hold of the station from before (its bills are gone). A hold
of a station that no longer holds its station lock (the PC was switched off) is taken over.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import IntegrityError

from cashier.errors import InputError
from cashier.messages import say
from cashier.store.models import Sale, TraceCode, database, utcnow

HELD, SOLD, RETURNED = "held", "sold", "returned"
LIVE = (HELD, SOLD)


class TraceRefused(InputError):
    """This box's code cannot go on this bill (sold already, or on another bill)."""


def shown(code: str) -> str:
    """A code as the cashier reads it: long codes cut in the middle (…), never the markup."""
    return code if len(code) <= 24 else f"{code[:10]}…{code[-8:]}"


def hold(station_id: str, bill: str, code: str) -> None:
    """Hold ``code`` for ``bill``; else say which sale or counter has that box."""
    from cashier.services.locks import station_alive

    for _ in range(3):  # a row written or taken over meanwhile: read it again
        row = TraceCode.get_or_none((TraceCode.code == code) & TraceCode.state.in_(LIVE))
        if row is None:
            try:
                with database.atomic():
                    TraceCode.create(code=code, state=HELD, station=station_id, bill=bill)
                return
            except IntegrityError:
                continue
        if row.state == SOLD:
            sale = Sale.get_or_none(Sale.id == row.sale_id)
            raise TraceRefused(
                say(
                    "trace.sold",
                    code=shown(code),
                    receipt_no=sale.receipt_no if sale is not None else "?",
                ),
                code="trace.sold",
            )
        if row.bill == bill:
            raise TraceRefused(say("trace.twice", code=shown(code)), code="trace.twice")
        if row.station == station_id:
            raise TraceRefused(say("trace.parked", code=shown(code)), code="trace.held")
        if station_alive(row.station):
            raise TraceRefused(
                say("trace.elsewhere", code=shown(code), station=row.station), code="trace.held"
            )
        taken = (
            TraceCode.update(station=station_id, bill=bill, held_at=utcnow())
            .where((TraceCode.id == row.id) & (TraceCode.bill == row.bill))
            .execute()
        )
        if taken:
            return
    raise TraceRefused(say("trace.busy", code=shown(code)), code="trace.held")


def release(bill: str, codes: Iterable[str] | None = None) -> int:
    """Let the bill's holds go (all of them, or ``codes``)."""
    query = (TraceCode.bill == bill) & (TraceCode.state == HELD)
    if codes is not None:
        codes = list(codes)
        if not codes:
            return 0
        query &= TraceCode.code.in_(codes)
    return TraceCode.delete().where(query).execute()


def release_stale(station_id: str) -> int:
    """At the station's start: its bills from before are gone, and so are their holds."""
    return (
        TraceCode.delete()
        .where((TraceCode.station == station_id) & (TraceCode.state == HELD))
        .execute()
    )


def sell(bill: str, sale_id: int, lines: Iterable[tuple[int, tuple[str, ...]]]) -> None:
    """In the sale's transaction: the bill's held codes become the sale's. A code no longer
    held by this bill (taken over by another counter) refuses the sale, whole."""
    now = utcnow()
    for line_no, codes in lines:
        if not codes:
            continue
        moved = (
            TraceCode.update(state=SOLD, sale=sale_id, line_no=line_no, sold_at=now)
            .where(
                (TraceCode.bill == bill)
                & (TraceCode.state == HELD)
                & TraceCode.code.in_(list(codes))
            )
            .execute()
        )
        if moved != len(codes):
            raise TraceRefused(say("trace.lost_hold"), code="trace.held")


def give_back(sale_id: int, refund_id: int, back: Iterable[str]) -> int:
    """In the refund's transaction: every box of the sale leaves it; ``back`` are the boxes
    that came back, the others the patient keeps (sold again with the kept lines' new
    sale, which holds them anew)."""
    back = list(back)
    returned = (TraceCode.sale == sale_id) & (TraceCode.state == SOLD)
    TraceCode.update(state=RETURNED, refund=refund_id, back=False).where(
        returned & ~TraceCode.code.in_(back or [""])
    ).execute()
    return (
        TraceCode.update(state=RETURNED, refund=refund_id, back=True)
        .where(returned & TraceCode.code.in_(back or [""]))
        .execute()
    )


def kept_by_refund(refund_id: int) -> dict[int, tuple[str, ...]]:
    """Line number → the boxes the patient kept in a partial refund (sold again)."""
    out: dict[int, list[str]] = {}
    for row in (
        TraceCode.select(TraceCode.line_no, TraceCode.code)
        .where((TraceCode.refund == refund_id) & (TraceCode.back == False))  # noqa: E712
        .order_by(TraceCode.id)
    ):
        out.setdefault(row.line_no, []).append(row.code)
    return {k: tuple(v) for k, v in out.items()}


def codes_of_sale(sale_id: int) -> dict[int, tuple[str, ...]]:
    """Line number → the codes sold on it, in the order they were scanned."""
    out: dict[int, list[str]] = {}
    for row in (
        TraceCode.select(TraceCode.line_no, TraceCode.code)
        .where(TraceCode.sale == sale_id)
        .order_by(TraceCode.id)
    ):
        out.setdefault(row.line_no, []).append(row.code)
    return {k: tuple(v) for k, v in out.items()}
