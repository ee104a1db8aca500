"""The append-only, hash-chained audit log.

Each entry stores the hash of the one before it, and its own hash over its
content and that link; the single ``AuditHead`` row names the last entry, so
an edited, inserted or deleted row (the last one included) breaks the chain.
Entries are written in the caller's transaction: a sale and its audit entry
commit together or not at all. No full ID number or token ever goes in.

From the entry ``audit.keyed`` on (``AuditHead.keyed_from``), each hash is an
HMAC with the station key (:mod:`cashier.store.keys`), kept outside the
database: whoever can write the database but has not the key cannot recompute
the chain after an edit. Each completed sale's and refund's entry carries a
digest of the sale as stored (lines, tenders, settlement), so a sale edited
without touching the log is found too (:func:`verify`). The chain's head is
printed on every Z report and end-of-day report (:func:`head_label`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cashier.messages import say
from cashier.store import keys
from cashier.store.db import GENESIS_HASH
from cashier.store.models import (
    AuditEntry,
    AuditHead,
    InsuredSettlement,
    Refund,
    RefundLine,
    RefundTender,
    Sale,
    SaleLine,
    Tender,
    database,
    utcnow,
)


def _entry_hash(
    key,
    prev_hash: str,
    at: datetime,
    station: str,
    operator: str,
    action: str,
    subject: str,
    detail: str,
) -> str:
    body = json.dumps(
        [
            prev_hash,
            at.isoformat(timespec="microseconds"),
            station,
            operator,
            action,
            subject,
            detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    return key.mac(body) if key is not None else hashlib.sha256(body).hexdigest()


def record(
    station: str, action: str, *, operator: str = "", subject: str = "", **detail: Any
) -> AuditEntry:
    """Append one entry (inside the caller's transaction, or its own). A subject longer than
    its column (a file's whole path, say) keeps its end, where the name is: PostgreSQL
    refuses a value too long where SQLite stores it, and the hash covers what is stored."""
    size = AuditEntry.subject.max_length
    if len(subject) > size:
        subject = "…" + subject[-(size - 1) :]
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    with database.atomic():
        # Locks the head row (PostgreSQL) / the database (SQLite) until commit,
        # so concurrent counters append one after another.
        AuditHead.update(last_id=AuditHead.last_id).where(AuditHead.id == 1).execute()
        head = AuditHead.get_by_id(1)
        at = utcnow()
        key = keys.current() if head.key_id else None
        entry_hash = _entry_hash(
            key, head.last_hash, at, station, operator, action, subject, detail_text
        )
        entry = AuditEntry.create(
            at=at,
            station=station,
            operator=operator,
            action=action,
            subject=subject,
            detail=detail_text,
            prev_hash=head.last_hash,
            hash=entry_hash,
        )
        AuditHead.update(last_id=entry.id, last_hash=entry_hash).where(AuditHead.id == 1).execute()
    return entry


@dataclass(frozen=True)
class AuditCheck:
    entries: int
    first_bad_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and not self.problem


def ensure_keyed(key: keys.StationKey, station: str) -> None:
    """Key the chain with the station key from now on (once per database), or check that
    the key given is the one the chain is keyed with."""
    head = AuditHead.get_by_id(1)
    if head.key_id == key.key_id:
        return
    if not head.key_id and AuditEntry.select().where(AuditEntry.action == "audit.keyed").exists():
        return  # the mark was cleared in the database: never re-keyed over it (verify says so)
    if head.key_id:
        raise keys.StationKeyError(say("audit.foreign_key", path=key.path, name=key.path.name))
    with database.atomic():
        claimed = (
            AuditHead.update(key_id=key.key_id)
            .where((AuditHead.id == 1) & (AuditHead.key_id == ""))
            .execute()
        )
        if not claimed:  # another counter keyed it a moment ago
            return ensure_keyed(key, station)
        entry = record(station, "audit.keyed", key_id=key.key_id)
        AuditHead.update(keyed_from=entry.id).where(AuditHead.id == 1).execute()


def head_label() -> str:
    """The chain's head as printed on Z and end-of-day reports: the last entry's number and
    the start of its hash. A chain rewritten afterwards no longer ends so."""
    head = AuditHead.get_or_none(AuditHead.id == 1)
    if head is None or not head.last_id:
        return "#0"
    return f"#{head.last_id} {head.last_hash[:16]}"


def _digest(parts: list) -> str:
    body = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


_SETTLEMENT_MONEY = (
    "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay",
    "psn_cash_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "oth_pay", "hifdm_pay", "othfund_pay",
)  # fmt: skip


def sale_digest(sale_id: int) -> str:
    """What a completed sale is, as stored: its money, lines, tenders and settlement (not
    its status, which a refund changes, nor its reprint count)."""
    sale = Sale.get_by_id(sale_id)
    lines = (
        SaleLine.select(SaleLine.line_no, SaleLine.code, SaleLine.name, SaleLine.quantity,
                        SaleLine.price, SaleLine.amount, SaleLine.list_class,
                        SaleLine.med_list_codg)
        .where(SaleLine.sale == sale_id)
        .order_by(SaleLine.line_no)
        .tuples()
    )  # fmt: skip
    tenders = (
        Tender.select(Tender.seq, Tender.method, Tender.amount, Tender.reference)
        .where(Tender.sale == sale_id)
        .order_by(Tender.seq)
        .tuples()
    )
    settlement = InsuredSettlement.get_or_none(InsuredSettlement.sale == sale_id)
    insured = (
        [settlement.setl_id, *(getattr(settlement, f) for f in _SETTLEMENT_MONEY)]
        if settlement is not None
        else []
    )
    return _digest(
        [
            sale.station_id, sale.receipt_no, sale.operator_id, sale.kind, sale.total,
            sale.paid, sale.change, sale.closed_at.isoformat(timespec="microseconds"),
            [list(r) for r in lines], [list(r) for r in tenders], insured,
        ]
    )  # fmt: skip


def refund_digest(refund_id: int) -> str:
    """What a refund is, as stored: its money, its lines and the tenders given back."""
    refund = Refund.get_by_id(refund_id)
    lines = (
        RefundLine.select(RefundLine.sale_line, RefundLine.quantity, RefundLine.amount)
        .where(RefundLine.refund == refund_id)
        .order_by(RefundLine.sale_line)
        .tuples()
    )
    tenders = (
        RefundTender.select(RefundTender.seq, RefundTender.method, RefundTender.amount,
                            RefundTender.reference)
        .where(RefundTender.refund == refund_id)
        .order_by(RefundTender.seq)
        .tuples()
    )  # fmt: skip
    return _digest(
        [
            refund.refund_no, refund.sale_id, refund.kind, refund.amount, refund.total,
            refund.acct_returned, refund.fund_returned, refund.approved_by,
            [list(r) for r in lines], [list(r) for r in tenders],
        ]
    )  # fmt: skip


def verify(key: keys.StationKey | None = None) -> AuditCheck:
    """Walk the chain from the start; name the first entry that does not hold. Then check
    every completed sale and refund against the digest its entry carries."""
    key = key or keys.current_or_none()
    head = AuditHead.get_or_none(AuditHead.id == 1)
    keyed_from = head.keyed_from if head is not None and head.key_id else 0
    first_keyed = (
        AuditEntry.select(AuditEntry.id)
        .where(AuditEntry.action == "audit.keyed")
        .order_by(AuditEntry.id)
        .first()
    )
    if first_keyed is not None and first_keyed.id != keyed_from:
        return AuditCheck(0, first_keyed.id, say("audit.key_start_altered"))
    if keyed_from:
        if key is None:
            return AuditCheck(0, None, say("audit.no_key_here"))
        if key.key_id != head.key_id:
            return AuditCheck(0, None, say("audit.foreign_key_here"))
    prev_hash = GENESIS_HASH
    count = 0
    last_id = 0
    digests: dict[tuple[str, str], str] = {}
    for entry in AuditEntry.select().order_by(AuditEntry.id).iterator():
        count += 1
        if entry.prev_hash != prev_hash:
            return AuditCheck(count, entry.id, say("audit.link_broken"))
        keyed = bool(keyed_from) and entry.id >= keyed_from
        if keyed and entry.id == keyed_from and entry.action != "audit.keyed":
            return AuditCheck(count, entry.id, say("audit.start_altered"))
        expected = _entry_hash(
            key if keyed else None,
            entry.prev_hash,
            entry.at,
            entry.station,
            entry.operator,
            entry.action,
            entry.subject,
            entry.detail,
        )
        if not hmac.compare_digest(entry.hash, expected):
            return AuditCheck(count, entry.id, say("audit.entry_altered"))
        if entry.action in ("sale.complete", "sale.refund"):
            detail = json.loads(entry.detail or "{}")
            if "digest" in detail:
                name = detail.get("refund_no") if entry.action == "sale.refund" else entry.subject
                digests[(entry.action, str(name))] = detail["digest"]
        prev_hash = entry.hash
        last_id = entry.id
    if head is None or head.last_hash != prev_hash or head.last_id != last_id:
        bad = (head.last_id if head else None) or last_id or None
        return AuditCheck(count, bad, say("audit.tail_deleted"))
    return _check_records(count, digests, keyed_from)


def _check_records(count: int, digests: dict[tuple[str, str], str], keyed_from: int) -> AuditCheck:
    """Each sale and refund recorded since the chain was keyed matches its entry's digest,
    and has one (a row written past the log is found)."""
    first_at = None
    if keyed_from:
        first = AuditEntry.get_or_none(AuditEntry.id == keyed_from)
        first_at = first.at if first is not None else None
    sales = Sale.select(Sale.id, Sale.receipt_no, Sale.closed_at).where(
        Sale.status.in_(["completed", "refunded"])
    )
    for sale_id, receipt_no, closed_at in sales.tuples().iterator():
        want = digests.get(("sale.complete", str(receipt_no)))
        if want is None:
            if first_at is not None and closed_at > first_at:
                return AuditCheck(count, None, say("audit.sale_unaudited", receipt_no=receipt_no))
            continue
        if sale_digest(sale_id) != want:
            return AuditCheck(count, None, say("audit.sale_altered", receipt_no=receipt_no))
    for refund_id, refund_no in Refund.select(Refund.id, Refund.refund_no).tuples().iterator():
        want = digests.get(("sale.refund", str(refund_no)))
        if want is None:
            continue  # refunds before digests; a refund row alone moves no money of a sale
        if refund_digest(refund_id) != want:
            return AuditCheck(count, None, say("audit.refund_altered", refund_no=refund_no))
    return AuditCheck(count)
