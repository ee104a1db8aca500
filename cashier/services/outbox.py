"""The outbox: documents for the outside services (the insurer's 进销存 3501–3507, the
e-receipts and e-invoices) committed with the local change they report, sent in the
background, exactly once, in order within their batch. Who each goes to is
``services.senders``'; the outbox keeps, orders and retries.

A document is written in the same transaction as the sale, refund or delivery it reports,
so a crash leaves both or neither. The sender (:func:`send_due`, run by the counter's
background worker and by ``cashier outbox send``) never blocks the counter:

- a document waits behind the earlier unsent documents of its batch (a sale is never
  reported before the delivery it came from, a return never before its sale);
- no network, or an answer lost: tried again later (5 s, 10 s, 20 s … up to 10 minutes);
  a service that holds a document already says so (the insurer's 重复上传, a receipt's
  repeated business number, an invoice's order number), and that answer counts as
  delivered, so a document whose answer was lost is kept once, never twice; a service not
  there holds back its own documents only;
- refused by its service: kept with its reason for a supervisor (``cashier outbox list``,
  the 上报队列 screen), who sends it again once the cause is fixed, or drops it (audited).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cashier.errors import CashierError, InputError
from cashier.messages import say
from cashier.services import audit
from cashier.store import keys
from cashier.store.models import Outbox, database, utcnow

QUEUED, SENT, REFUSED, IN_DOUBT, DROPPED = "queued", "sent", "refused", "in_doubt", "dropped"
UNSENT = (QUEUED, IN_DOUBT, REFUSED)
BACKOFF_S, BACKOFF_MAX_S = 5, 600
#: What the insurer answers for a document it already holds (its words: no code is given).
DUPLICATE = "inventory.duplicate"


def enqueue(
    infno: str,
    doc_no: str,
    batch: str,
    payload: dict,
    *,
    station: str,
    operator: str,
    sale: int | None = None,
    refund: int | None = None,
) -> None:
    """Queue a document (call inside the transaction of the change it reports). Its
    ``input`` node is sealed with the station key: it holds the patient's ID number."""
    Outbox.create(
        doc_no=doc_no,
        infno=infno,
        batch=batch[:60],
        station=station,
        operator=operator,
        payload=keys.current().seal(json.dumps(payload, ensure_ascii=False)),
        status=QUEUED,
        sale=sale,
        refund=refund,
    )


def payload_of(doc: Outbox) -> dict:
    return json.loads(keys.current().open(doc.payload))


@dataclass
class SendReport:
    sent: int = 0
    refused: int = 0
    waiting: int = 0  # still to send after this pass (no network, lost answer, behind another)
    error: str = ""  # why sending stopped (no network …), for a notice


def send_due(
    send: Callable[[Outbox, dict], dict],
    *,
    station: str | None = None,
    batch: str | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> SendReport:
    """Send what is due, oldest first, each batch in order (only ``batch``'s, when named).
    ``send(document, body)`` is the service call (``services.senders``); it raises as the
    insurer's client and the e-receipt services do."""
    from cashier.ebills import EBillError, EBillInDoubt, EBillNotSent
    from cashier.insurer import protocol
    from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable

    now = now or utcnow()
    report = SendReport()
    blocked: set[str] = set()
    down: set[str] = set()  # the services not there this time (the insurer, fiscal, tax)
    query = Outbox.select().where(Outbox.status.in_(UNSENT)).order_by(Outbox.id).limit(limit)
    if station is not None:
        query = query.where(Outbox.station == station)
    if batch is not None:
        query = query.where(Outbox.batch == batch)
    for doc in list(query):
        if doc.batch in blocked or _service(doc) in down:
            continue
        if doc.status == REFUSED or doc.next_try_at > now:
            blocked.add(doc.batch)  # its batch-mates wait behind it
            continue
        try:
            output = send(doc, payload_of(doc))
        except EBillError as exc:
            _mark(doc, REFUSED, str(exc))
            blocked.add(doc.batch)
            report.refused += 1
            continue
        except protocol.InsurerError as exc:
            if exc.code == DUPLICATE:  # the insurer holds it already: an earlier try's
                _sent(doc, "", note=str(exc))
                report.sent += 1
                continue
            _mark(doc, REFUSED, str(exc))
            blocked.add(doc.batch)
            report.refused += 1
            continue
        except (
            InsurerUnavailable, InsurerInDoubt, protocol.ProtocolError, EBillNotSent, EBillInDoubt
        ) as exc:  # fmt: skip
            _retry_later(doc, str(exc), now)
            report.error = str(exc)
            if isinstance(exc, InsurerUnavailable | EBillNotSent):
                down.add(_service(doc))  # not there: its other documents wait too
            blocked.add(doc.batch)
            continue
        _sent(doc, output_msgid(output))
        report.sent += 1
    left = Outbox.select().where(Outbox.status.in_((QUEUED, IN_DOUBT)))
    report.waiting = (left.where(Outbox.station == station) if station else left).count()
    return report


def _service(doc: Outbox) -> str:
    """Which service a document goes to: ``fiscal``, ``tax`` or the insurer."""
    head, dot, _ = doc.infno.partition(".")
    return head if dot else "insurer"


def output_msgid(output: dict | None) -> str:
    return str((output or {}).get("_msgid", ""))


def _sent(doc: Outbox, msgid: str, note: str = "") -> None:
    Outbox.update(
        status=SENT, sent_at=utcnow(), msgid=msgid, last_error=note[:500], attempts=doc.attempts + 1
    ).where(Outbox.id == doc.id).execute()


def _mark(doc: Outbox, status: str, why: str) -> None:
    Outbox.update(status=status, last_error=why[:500], attempts=doc.attempts + 1).where(
        Outbox.id == doc.id
    ).execute()


def _retry_later(doc: Outbox, why: str, now: datetime) -> None:
    wait = min(BACKOFF_S * 2 ** min(doc.attempts, 10), BACKOFF_MAX_S)
    Outbox.update(
        status=IN_DOUBT if doc.status == IN_DOUBT else QUEUED,
        attempts=doc.attempts + 1,
        last_error=why[:500],
        next_try_at=now + timedelta(seconds=wait),
    ).where(Outbox.id == doc.id).execute()


def label(status: str) -> str:
    return say(f"outbox.status.{status}")


def waiting(station: str | None = None) -> list[Outbox]:
    """Every document not yet delivered (queued, in doubt, refused), oldest first."""
    query = Outbox.select().where(Outbox.status.in_(UNSENT)).order_by(Outbox.id)
    if station is not None:
        query = query.where(Outbox.station == station)
    return list(query)


def counts(station: str | None = None) -> dict[str, int]:
    out = {QUEUED: 0, IN_DOUBT: 0, REFUSED: 0}
    for doc in waiting(station):
        out[doc.status] += 1
    return out


def retry(doc_id: int, station: str, by: str) -> None:
    """A refused document sent again (its cause fixed): at once, audited."""
    doc = _unsent(doc_id)
    with database.atomic():
        Outbox.update(status=QUEUED, next_try_at=utcnow()).where(Outbox.id == doc.id).execute()
        audit.record(station, "outbox.retry", operator=by, subject=doc.doc_no)


def drop(doc_id: int, station: str, by: str, reason: str) -> None:
    """A document the insurer will never take, given up by a supervisor (audited)."""
    reason = " ".join(reason.split())
    if not reason:
        raise InputError(say("outbox.drop_reason"))
    doc = _unsent(doc_id)
    with database.atomic():
        Outbox.update(status=DROPPED, last_error=reason[:500]).where(Outbox.id == doc.id).execute()
        audit.record(station, "outbox.drop", operator=by, subject=doc.doc_no, reason=reason[:150])


def _unsent(doc_id: int) -> Outbox:
    doc = Outbox.get_or_none(Outbox.id == doc_id)
    if doc is None or doc.status not in UNSENT:
        raise CashierError(say("outbox.no_such", doc_id=doc_id))
    return doc
