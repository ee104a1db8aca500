"""Shifts: a station's drawer from the float to the blind count and the Z report. No UI."""

from __future__ import annotations

from cashier import audit
from cashier.money import Fen
from cashier.operators import SignedIn
from cashier.store.models import Shift


def open_shift_of(station_id: str) -> Shift | None:
    """The station's open shift (a station has one drawer: one open shift at a time)."""
    return (
        Shift.select()
        .where((Shift.station == station_id) & (Shift.status == "open"))
        .order_by(Shift.id.desc())
        .first()
    )


def shift_for_sale(station_id: str, who: SignedIn) -> int:
    """The open shift a sale belongs to; with none open, one is opened with no float
    (audited ``shift.auto_open``), so no sale is ever outside a shift. Call inside the
    sale's transaction."""
    shift = open_shift_of(station_id)
    if shift is not None:
        return shift.id
    shift = Shift.create(station=station_id, operator=who.code, float_amount=Fen(0))
    audit.record(station_id, "shift.auto_open", operator=who.code, subject=str(shift.id))
    return shift.id
