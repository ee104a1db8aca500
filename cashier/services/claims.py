"""One visit, one counter: a clinic visit's orders are claimed in the shared database by the
counter that loads them, before anything is sent to the insurer.

Another counter that loads the same orders is told where they are being paid and cannot
settle them; a claim dies with its counter: a claim whose station no longer holds its
station lock (:func:`cashier.services.locks.hold_station`: the process ended, the PC was
switched off) is taken over. The claims go when the sale completes (in its transaction),
when the bill is voided or cleared, and at the station's next start.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import IntegrityError

from cashier.errors import InputError
from cashier.messages import say
from cashier.store.models import Claim, database, utcnow


class ClaimedElsewhere(InputError):
    """The visit is being paid at another counter."""

    def __init__(self, station: str) -> None:
        super().__init__(say("claims.elsewhere", station=station))
        self.station = station


def _key(order_id: int) -> str:
    return f"order:{order_id}"


def claim(station_id: str, order_ids: Iterable[int]) -> None:
    """Claim the orders for ``station_id`` (all or none), or say which live counter has them."""
    from cashier.services.locks import station_alive

    keys = [_key(i) for i in order_ids]
    if not keys:
        return
    with database.atomic():
        for key in keys:
            for _ in range(3):  # a row inserted or taken over meanwhile: read it again
                row = Claim.get_or_none(Claim.key == key)
                if row is None:
                    try:
                        with database.atomic():
                            Claim.create(key=key, station=station_id, claimed_at=utcnow())
                        break
                    except IntegrityError:
                        continue
                if row.station == station_id:
                    break
                if station_alive(row.station):
                    raise ClaimedElsewhere(row.station)
                taken = (
                    Claim.update(station=station_id, claimed_at=utcnow())
                    .where((Claim.key == key) & (Claim.station == row.station))
                    .execute()
                )
                if taken:
                    break
            else:
                raise InputError(say("claims.claimed"))


def holds(station_id: str, order_ids: Iterable[int]) -> None:
    """Before a settlement is sent: every order is still this station's (else why not)."""
    keys = [_key(i) for i in order_ids]
    if not keys:
        return
    for row in Claim.select().where(Claim.key.in_(keys)):
        if row.station != station_id:
            raise ClaimedElsewhere(row.station)
    missing = set(keys) - {
        k for (k,) in Claim.select(Claim.key).where(Claim.key.in_(keys)).tuples()
    }
    if missing:  # lost (a restart of this station cleared them): claim again
        claim(station_id, [int(k.split(":", 1)[1]) for k in missing])


def release(station_id: str, order_ids: Iterable[int]) -> None:
    """Let the orders go (the sale completed, or the bill was voided or cleared)."""
    keys = [_key(i) for i in order_ids]
    if keys:
        Claim.delete().where(Claim.key.in_(keys) & (Claim.station == station_id)).execute()


def release_all(station_id: str) -> int:
    """At the station's start: its bills from before are gone, and so are its claims."""
    return Claim.delete().where(Claim.station == station_id).execute()
