"""The database file: checked at start and at each Z close, backed up online.

SQLite only (a PostgreSQL server checks and backs up itself: ``pg_dump`` and the
server's own tools). ``PRAGMA quick_check`` at every start finds damaged pages; it reads
the whole file (some two seconds a million sales kept), so the counter's start runs it
beside the user interface (:class:`StartCheck`) and a damaged file refuses every write
from the moment it is found; a command runs it before anything else. The full
``integrity_check`` runs at each Z close, when no sale waits.
A backup is SQLite's online backup (a consistent copy while counters keep writing)
into ``cashier-YYYYMMDD-HHMMSS.db``, owner-only, the oldest dropped after
``keep_days`` days.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
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
        raise _damaged(result)


def _damaged(problems: list[str]) -> DamagedDatabase:
    return DamagedDatabase(f"{DAMAGED_MESSAGE}（quick_check：{'；'.join(problems[:3])}）")


def _damage_said(error: BaseException) -> bool:
    text = str(error).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


class StartCheck:
    """``PRAGMA quick_check`` of the database file on a read-only connection of its own, in
    a thread: the counter's start does not wait for ten years of sales to be read. Once it
    found damage, :meth:`refuse_if_damaged` (every write transaction asks) refuses."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.done = threading.Event()
        self.problems: list[str] = []
        self._thread = threading.Thread(target=self._run, name="quick-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:  # the check gives way to the counter's own work (Linux: a thread's own nice)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        try:
            uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"  # a path of any characters
            con = sqlite3.connect(uri, uri=True, timeout=30)
            try:
                result = [str(row[0]) for row in con.execute("PRAGMA quick_check")]
            finally:
                con.close()
        except Exception as exc:
            if _damage_said(exc):  # "file is not a database", "malformed"
                result = [str(exc)]
            else:  # the check itself could not run (a lock, a file): said, never a damage
                logging.getLogger(__name__).warning("quick_check did not run: %s", exc)
                result = ["ok"]
        self.problems = [] if result == ["ok"] else result
        if self.problems:
            logging.getLogger(__name__).error("quick_check: %s", "; ".join(self.problems[:3]))
        self.done.set()

    def refuse_if_damaged(self) -> None:
        if self.problems:
            raise _damaged(self.problems)

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the check has ended (within ``timeout``)."""
        return self.done.wait(timeout)


def check_in_background(db: Database) -> StartCheck | None:
    """Start the quick check beside the caller; the database refuses writes once it found
    damage. PostgreSQL: nothing to do."""
    if not isinstance(db, SqliteDatabase):
        return None
    db.connect(reuse_if_open=True)  # the WAL's files exist before a reader opens beside it
    check = StartCheck(db.database)
    db.start_check = check
    return check


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
