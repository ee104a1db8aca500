"""The station's clock: times that never go backwards, and the business day.

A counter PC's clock can be wrong and can be set back (by hand, by a time server after a
drift, by a dead CMOS battery). The books must not follow it: a receipt is never dated
before the station's previous one, a shift never closes before it opened, and a sale
belongs to the business day of the shift it was taken in (the local date the shift
opened), not to the date on the wall when it closed. A clock found behind the station's
last record is audited (``clock.back``, once per jump) and reported to the caller, so the
screen can ask for the clock to be set right.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from peewee import Select

from cashier.messages import say
from cashier.services import audit
from cashier.store.models import Refund, Sale, Shift, utcnow

#: A clock behind the station's last record by more than this is reported (and audited).
NOTICE = timedelta(seconds=2)
_STEP = timedelta(microseconds=1)

_behind: set[str] = set()  # stations whose clock was found behind and reported (this process)
_lock = threading.Lock()


@dataclass(frozen=True)
class Now:
    at: datetime  # naive UTC, as stored: never before the station's last record
    behind: timedelta | None = None  # how far the system clock is behind, when it is

    @property
    def message(self) -> str:
        if self.behind is None:
            return ""
        minutes = max(1, round(self.behind.total_seconds() / 60))
        return say("clock.behind", minutes=minutes)


def last_record(station_id: str) -> datetime | None:
    """The latest time the station has written (sales, voids, refunds, shifts): one
    statement, each kind's latest by its index (every sale's transaction asks)."""
    latest = {
        Sale.closed_at: Sale.select(Sale.closed_at)
        .where(Sale.station == station_id)
        .order_by(Sale.closed_at.desc()),
        Refund.created_at: Refund.select(Refund.created_at)
        .where(Refund.station == station_id)
        .order_by(Refund.created_at.desc()),
        Shift.opened_at: Shift.select(Shift.opened_at)
        .where(Shift.station == station_id)
        .order_by(Shift.opened_at.desc()),
        Shift.closed_at: Shift.select(Shift.closed_at)
        .where((Shift.station == station_id) & Shift.closed_at.is_null(False))
        .order_by(Shift.closed_at.desc()),
    }
    columns = [query.limit(1).alias(f"t{n}") for n, query in enumerate(latest.values())]
    row = Select(columns=columns).bind(Sale._meta.database).tuples().get()
    found = [field.python_value(value) for field, value in zip(latest, row, strict=True)]
    found = [value for value in found if value is not None]
    return max(found) if found else None


def station_now(station_id: str, *, operator: str = "") -> Now:
    """The time to record now at ``station_id`` (call inside the writing transaction)."""
    now = utcnow()
    last = last_record(station_id)
    if last is None or now > last:
        with _lock:
            _behind.discard(station_id)  # caught up: a later jump is reported again
        return Now(now)
    behind = last - now
    if behind > NOTICE:
        with _lock:
            first_time = station_id not in _behind
            _behind.add(station_id)
        if first_time:
            audit.record(
                station_id,
                "clock.back",
                operator=operator,
                subject=f"{behind.total_seconds():.0f}s",
                system=now.isoformat(timespec="seconds"),
                last=last.isoformat(timespec="seconds"),
            )
        return Now(last + _STEP, behind)
    return Now(last + _STEP)


def local_day(at: datetime) -> date:
    """The local calendar date of a stored (naive UTC) time."""
    return at.replace(tzinfo=UTC).astimezone().date()


def local_today() -> date:
    """Today's local calendar date (a batch's expiry is a local date)."""
    return local_day(utcnow())


def business_day(station_id: str) -> date:
    """The station's business day now: its open shift's, or (none open) today's."""
    shift = (
        Shift.select(Shift.business_day, Shift.opened_at)
        .where((Shift.station == station_id) & (Shift.status == "open"))
        .first()
    )
    if shift is not None:
        return shift.business_day or local_day(shift.opened_at)
    return local_day(station_now(station_id).at)
