"""The database file: checked at start and at each Z close, backed up online.

SQLite only (a PostgreSQL server checks and backs up itself: ``pg_dump`` and the
server's own tools). ``PRAGMA quick_check`` at every start finds damaged pages in
seconds; the full ``integrity_check`` runs at each Z close, when no sale waits.
A backup is SQLite's online backup (a consistent copy while counters keep writing)
into ``cashier-YYYYMMDD-HHMMSS.db``, owner-only, the oldest dropped after
``keep_days`` days.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from peewee import Database, SqliteDatabase

from cashier.errors import DAMAGED_MESSAGE, CashierError, database_trouble
from cashier.messages import say

PREFIX = "cashier-"


class DamagedDatabase(CashierError):
    """The database file has damaged pages: nothing more may be written to it."""


def _check(db: Database, pragma: str) -> list[str]:
    try:
        return [str(row[0]) for row in db.execute_sql(f"PRAGMA {pragma}").fetchall()]
    except Exception as exc:  # peewee wraps sqlite3's errors in its own classes
        if database_trouble(exc) is not None or "malformed" in str(exc).lower():
            return [str(exc)]
        raise


def check_at_start(db: Database) -> None:
    """``PRAGMA quick_check``: a damaged file is said plainly, before any sale."""
    if not isinstance(db, SqliteDatabase):
        return
    result = _check(db, "quick_check")
    if result != ["ok"]:
        raise DamagedDatabase(f"{DAMAGED_MESSAGE}（quick_check：{'；'.join(result[:3])}）")


def full_check(db: Database) -> list[str]:
    """``PRAGMA integrity_check``: the problems found (empty when the file is sound)."""
    if not isinstance(db, SqliteDatabase):
        return []
    result = _check(db, "integrity_check")
    return [] if result == ["ok"] else result


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    removed: tuple[Path, ...]  # older backups dropped


def backup(db: Database, folder: Path, *, keep_days: int, now: datetime | None = None) -> Backup:
    """A consistent copy of the open SQLite database into ``folder`` (made 0700)."""
    if not isinstance(db, SqliteDatabase):
        raise CashierError(say("store.integrity.pg_backup"))
    now = now or datetime.now()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{PREFIX}{now:%Y%m%d-%H%M%S}.db"
    n = 1
    while target.exists():  # two backups within a second
        n += 1
        target = folder / f"{PREFIX}{now:%Y%m%d-%H%M%S}-{n}.db"
    partial = target.with_suffix(".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        dest = sqlite3.connect(partial)
        try:
            db.connection().backup(dest)
        finally:
            dest.close()
        os.replace(partial, target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        trouble = database_trouble(exc) if isinstance(exc, Exception) else None
        if trouble:
            raise CashierError(say("store.integrity.backup_failed", trouble=trouble)) from None
        if isinstance(exc, OSError):
            raise CashierError(
                say("store.integrity.backup_unwritable", folder=folder, strerror=exc.strerror)
            ) from None
        raise
    removed = prune(folder, keep_days=keep_days, now=now, keep=target)
    return Backup(target, target.stat().st_size, removed)


def backups(folder: Path) -> list[Path]:
    """The backups in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*.db"), reverse=True)


def prune(folder: Path, *, keep_days: int, now: datetime, keep: Path) -> tuple[Path, ...]:
    """Drop backups older than ``keep_days`` (never ``keep``, never the last one)."""
    cutoff = (now - timedelta(days=keep_days)).timestamp()
    removed = []
    for path in backups(folder)[1:]:
        if path != keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return tuple(removed)
