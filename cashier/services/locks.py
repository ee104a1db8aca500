"""One running counter per station: the station lock, and whether another station's is held.

SQLite: an flock on ``.station-<id>.lock`` beside the database file, holding the PID;
PostgreSQL: a session advisory lock on a connection of its own (seen by every counter in
``pg_locks``). A process that dies loses it; the console and the command line never take it.
"""

from __future__ import annotations

from cashier.config import Settings
from cashier.errors import CashierError
from cashier.messages import say
from cashier.store.models import database


class StationLock:
    """This process holds its station: one running counter per station (two would each take
    the other's live settlement for an orphan at start-up). SQLite: an flock on a file in the
    data directory, holding the PID; PostgreSQL: a session advisory lock on a connection of
    its own. A process that dies loses it; the console and the command line never take it."""

    def __init__(self, release, settings: Settings) -> None:
        self._release = release
        self.settings = settings
        _HELD.append(self)  # held until released or the process ends, whoever keeps it
        _HELD_SETTINGS.append(settings)

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None
        if self in _HELD:
            _HELD.remove(self)
            _HELD_SETTINGS.remove(self.settings)


#: The locks this process holds. A lock the caller does not keep must not be collected: a
#: PostgreSQL session whose connection is garbage collected lets its advisory lock go.
_HELD: list[StationLock] = []


def _lock_path(settings: Settings, station: str):
    """Beside the SQLite file: every station on that file finds every other's lock."""
    from pathlib import Path

    return Path(settings.db_url.removeprefix("sqlite:///")).parent / f".station-{station}.lock"


def _advisory_key(station: str) -> int:
    import hashlib

    return int.from_bytes(
        hashlib.sha256(f"cashier-station:{station}".encode()).digest()[:8], "big", signed=True
    )


#: The settings of the station this process holds (station_alive needs its database's place).
_HELD_SETTINGS: list[Settings] = []


def station_alive(station: str) -> bool:
    """Whether a counter holds ``station`` now (its process runs). Without a station held by
    this process to say where to look, every other station counts as alive."""
    if not _HELD_SETTINGS:
        return True
    settings = _HELD_SETTINGS[-1]
    if settings.db_url.startswith("sqlite:///"):
        import fcntl
        import os

        path = _lock_path(settings, station)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing lets go of a lock just taken
        return False
    key = _advisory_key(station)
    row = database.execute_sql(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = %s AND objid = %s AND objsubid = 1",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    return bool(row and row[0])


def hold_station(settings: Settings) -> StationLock:
    """Take the station's lock, or say who holds it (:class:`CashierError`)."""
    station = settings.station_id
    if settings.db_url.startswith("sqlite:///"):
        import fcntl
        import os

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path = _lock_path(settings, station)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise CashierError(say("locks.running", station=station, holder=holder)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        return StationLock(lambda: os.close(fd), settings)
    import psycopg

    key = _advisory_key(station)
    conn = psycopg.connect(settings.db_url, autocommit=True)
    taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
    if not taken:
        conn.close()
        raise CashierError(say("locks.elsewhere", station=station))
    return StationLock(conn.close, settings)
