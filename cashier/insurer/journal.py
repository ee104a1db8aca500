"""The insurer journal: every money-changing call is written down before it is sent.

A call's life: ``pending`` (written, maybe sent) → ``ok`` (answer read and
checked) or ``refused`` (the insurer said no: nothing happened) or ``failed``
(never left this machine) or ``in_doubt`` (sent, outcome unknown: timeout,
reset, a broken answer, a crash). An in-doubt call is never retried blindly:
:mod:`cashier.insurer.recovery` asks the insurer what happened (5203) and
reverses with 2601 what was committed but cannot go on, ending in
``committed``, ``not_committed`` or ``reversed``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cashier.store import keys
from cashier.store.models import InsuredSettlement, InsurerCall, MsgidCounter, database, utcnow

#: Calls that change money: journaled, never retried blindly.
MONEY_CHANGING = frozenset({"2207", "2208", "2102", "2103", "2601"})


class Status(StrEnum):
    PENDING = "pending"
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    COMMITTED = "committed"  # in doubt, then found done at the insurer
    NOT_COMMITTED = "not_committed"  # in doubt, then found not done
    REVERSED = "reversed"  # done at the insurer, then reversed with 2601

    @property
    def unresolved(self) -> bool:
        return self in (Status.PENDING, Status.IN_DOUBT)


#: Sequence numbers reserved by one commit: a call then costs no write of its own (each
#: commit is an fsync, milliseconds on a counter PC's disk; five calls scan to breakdown).
MSGID_BLOCK = 16
#: A reservation not used up within this long is dropped: ``make_msgid`` keeps the number
#: mod 10,000, so no number may be held while the clinic's counters use 10,000 more.
MSGID_BLOCK_TTL_S = 60.0

_block_lock = threading.Lock()


@dataclass
class _Block:
    database: object  # the database it was reserved in (tests switch databases)
    next: int
    last: int
    expires: float


_block: _Block | None = None


def next_msgid_seq() -> int:
    """A database-wide sequence number: unique across restarts and counters sharing the
    database. Numbers are reserved ``MSGID_BLOCK`` at a time, so they are unique but not
    consecutive; one reserved and not used is skipped, never reused."""
    global _block
    if database.in_transaction():  # a rollback would hand the reservation to another counter
        return _reserve(1)
    with _block_lock:
        now = time.monotonic()
        block = _block
        if (
            block is None
            or block.database is not database.obj
            or block.next > block.last
            or now > block.expires
        ):
            last = _reserve(MSGID_BLOCK)
            block = _Block(database.obj, last - MSGID_BLOCK + 1, last, now + MSGID_BLOCK_TTL_S)
            _block = block
        block.next += 1
        return block.next - 1


def _reserve(count: int) -> int:
    """Move the counter on by ``count``, committed; the last number reserved."""
    with database.atomic():
        MsgidCounter.update(value=MsgidCounter.value + count).where(MsgidCounter.id == 1).execute()
        return MsgidCounter.get_by_id(1).value


def begin(
    msgid: str,
    station: str,
    infno: str,
    operator: str,
    request: dict | str,
    context: dict[str, Any],
) -> InsurerCall:
    """Write the call down, committed, before anything is sent. The message is kept sealed
    with the station key (it holds the patient's ID number): :func:`request_of`."""
    text = request if isinstance(request, str) else json.dumps(request, ensure_ascii=False)
    text = keys.current().seal(text)
    with database.atomic():
        return InsurerCall.create(
            msgid=msgid,
            station=station,
            infno=infno,
            operator=operator,
            status=Status.PENDING.value,
            request=text,
            context=json.dumps(context, ensure_ascii=False, default=str),
        )


def finish(msgid: str, status: Status, *, response: str = "", error: str = "") -> None:
    response = keys.current().seal(response) if response else ""
    with database.atomic():
        InsurerCall.update(
            status=status.value, response=response, error=error[:500], updated_at=utcnow()
        ).where(InsurerCall.msgid == msgid).execute()


def request_of(call: InsurerCall) -> str:
    """The message as sent (unsealed)."""
    return keys.current().open(call.request)


def response_of(call: InsurerCall) -> str:
    """The answer as received (unsealed; empty when none was kept)."""
    return keys.current().open(call.response) if call.response else ""


def context_of(call: InsurerCall) -> dict[str, Any]:
    return json.loads(call.context or "{}")


def unresolved(station: str | None = None) -> list[InsurerCall]:
    """Calls whose outcome is not known, oldest first."""
    query = InsurerCall.select().where(
        InsurerCall.status.in_([Status.PENDING.value, Status.IN_DOUBT.value])
    )
    if station is not None:
        query = query.where(InsurerCall.station == station)
    return list(query.order_by(InsurerCall.created_at))


def setl_id_taken(setl_id: str) -> bool:
    """Whether a completed sale already holds this settlement number (an answer carrying it
    again belongs to another sale: refused, never stored over it)."""
    return (
        bool(setl_id)
        and InsuredSettlement.select().where(InsuredSettlement.setl_id == setl_id).exists()
    )
