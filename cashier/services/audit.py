"""The append-only, hash-chained audit log.

Each entry stores the hash of the one before it, and its own hash over its
content and that link; the single ``AuditHead`` row names the last entry, so
an edited, inserted or deleted row (the last one included) breaks the chain.
Entries are written in the caller's transaction: a sale and its audit entry
commit together or not at all. No full ID number or token ever goes in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cashier.store.db import GENESIS_HASH
from cashier.store.models import AuditEntry, AuditHead, database, utcnow


def _entry_hash(
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
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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
        entry_hash = _entry_hash(
            head.last_hash, at, station, operator, action, subject, detail_text
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


def verify() -> AuditCheck:
    """Walk the chain from the start; name the first entry that does not hold."""
    prev_hash = GENESIS_HASH
    count = 0
    last_id = 0
    for entry in AuditEntry.select().order_by(AuditEntry.id).iterator():
        count += 1
        if entry.prev_hash != prev_hash:
            return AuditCheck(count, entry.id, "前一条记录缺失或被改动（链接不符）")
        expected = _entry_hash(
            entry.prev_hash,
            entry.at,
            entry.station,
            entry.operator,
            entry.action,
            entry.subject,
            entry.detail,
        )
        if entry.hash != expected:
            return AuditCheck(count, entry.id, "记录内容被改动（哈希不符）")
        prev_hash = entry.hash
        last_id = entry.id
    head = AuditHead.get_or_none(AuditHead.id == 1)
    if head is None or head.last_hash != prev_hash or head.last_id != last_id:
        bad = (head.last_id if head else None) or last_id or None
        return AuditCheck(count, bad, "最后的记录被删除（链尾不符）")
    return AuditCheck(count)
