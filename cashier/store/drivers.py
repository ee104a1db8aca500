"""peewee's database drivers: SQLite at once, PostgreSQL's psycopg only when it is used.

peewee imports psycopg (when installed) as it is imported itself. That alone costs
a SQLite counter about 150 ms of start-up and 10 MiB that it never uses, so peewee
is imported here with psycopg hidden, and :func:`with_psycopg` hands psycopg to
peewee when a PostgreSQL database is opened.
"""

from __future__ import annotations

import sys

from cashier.errors import CashierError
from cashier.messages import say


def import_peewee() -> None:
    """Import peewee without psycopg (a no-op once peewee is imported, whoever did it)."""
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # peewee's import of it fails
    try:
        import peewee  # noqa: F401
    finally:
        if sys.modules.get("psycopg", False) is None:
            del sys.modules["psycopg"]


def with_psycopg() -> None:
    """Give peewee the psycopg (3) driver, when it was imported without it, before a
    PostgreSQL database is made: what peewee's own import of psycopg would have set."""
    import peewee

    adapter = getattr(peewee, "Psycopg3Adapter", None)  # a peewee without it never looked
    if adapter is None or peewee.psycopg is not None or peewee.psycopg2 is not None:
        return  # peewee has a driver of its own: as peewee chose at its import
    try:
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb
    except ImportError:
        raise CashierError(say("store.drivers.no_psycopg")) from None
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    # The adapter's transaction states are set when the class is defined, from psycopg.
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
    peewee.psycopg = psycopg  # last: peewee picks the psycopg 3 adapter when this is set
