"""Finding a sale after the fact (for a reprint, a refund, a question) and its audit trail."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from peewee import fn

from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier.store.models import AuditEntry, InsuredSettlement, Refund, Sale

_TIME = re.compile(r"([01]?\d|2[0-3])[:：]([0-5]\d)")


def _utc_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time()).astimezone().astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def find_sales(text: str, day: date | None = None, *, limit: int = 100) -> list[Sale]:
    """Sales of ``day`` (today by default) matching what the operator typed: a receipt number
    (or its end), an amount (``78.40``), a time (``10:35``, that minute ± 5), the last
    characters of the patient's ID number, or the patient's surname. Empty: the whole day."""
    text = unicodedata.normalize("NFKC", text).strip()
    start, end = _utc_bounds(day or date.today())
    query = Sale.select().where((Sale.closed_at >= start) & (Sale.closed_at < end))
    if text:
        query = query.where(_matching(text, day or date.today()))
    return list(query.order_by(Sale.closed_at.desc()).limit(limit))


def _matching(text: str, day: date):
    clock = _TIME.fullmatch(text)
    if clock:
        at = datetime.combine(day, time(int(clock[1]), int(clock[2]))).astimezone()
        at = at.astimezone(UTC).replace(tzinfo=None)
        return Sale.closed_at.between(at - timedelta(minutes=5), at + timedelta(minutes=6))
    if "." in text:
        try:
            amount = Fen.parse(text)
        except CashierError:
            amount = None
        if amount is not None:
            return (Sale.total == amount) | (Sale.paid == amount)
    if text.isascii():  # a receipt number or its end; or the end of an ID number
        return Sale.receipt_no.endswith(text.upper()) | _settled(
            InsuredSettlement.certno.endswith(text.upper())
        )
    return _settled(InsuredSettlement.psn_name.startswith(text[0]))


def _settled(condition):
    """The sale's settlement meets ``condition``: asked of each of the day's sales through
    the settlement's sale index, never of every settlement ever kept."""
    return fn.EXISTS(
        InsuredSettlement.select(InsuredSettlement.id).where(
            (InsuredSettlement.sale == Sale.id) & condition
        )
    )


def audit_trail(sale: Sale) -> list[AuditEntry]:
    """Every audit entry about this sale: its completion, reprints, settlement, refunds, void."""
    # A voided sale has no receipt number: its entries name its id.
    subjects = {sale.receipt_no} if sale.receipt_no else {str(sale.id)}
    subjects.update(s.setl_id for s in sale.settlements if s.setl_id)
    subjects.update(r.refund_no for r in Refund.select().where(Refund.sale == sale.id))
    return list(
        AuditEntry.select().where(AuditEntry.subject.in_(sorted(subjects))).order_by(AuditEntry.id)
    )
