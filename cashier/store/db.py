"""Opening the database and bringing its schema up to date."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from peewee import Database, OperationalError, SqliteDatabase

from cashier.domain.grams import grams
from cashier.errors import CashierError
from cashier.messages import say
from cashier.store.models import (
    ALL_MODELS,
    CATALOG_MODELS,
    CLAIM_MODELS,
    EBILL_MODELS,
    INSURED_MODELS,
    INSURER_MODELS,
    INVENTORY_MODELS,
    PAYMENT_MODELS,
    PRINT_MODELS,
    REFUND_MODELS,
    SHIFT_MODELS,
    AuditHead,
    ClinicOrder,
    InsuredSettlement,
    Item,
    MsgidCounter,
    Operator,
    Refund,
    Sale,
    SaleLine,
    SchemaVersion,
    Shift,
    TraceCode,
    database,
)

GENESIS_HASH = "0" * 64


class CounterSqlite(SqliteDatabase):
    """SQLite for a counter: every transaction begins IMMEDIATE, taking the write lock at
    its start and waiting for it (``busy_timeout``). A DEFERRED one that read first and
    wrote second fails at once when another process wrote in between (SQLITE_BUSY, which no
    timeout waits out): two processes on one station then lost voids and refunds."""

    #: the start's quick check run beside the user interface (store.integrity.StartCheck):
    #: once it found the file damaged, no transaction begins
    start_check = None

    def begin(self, lock_type: str | None = None) -> None:
        if self.start_check is not None:
            self.start_check.refuse_if_damaged()
        super().begin(lock_type or "IMMEDIATE")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The item search index's text (migration 14's triggers call it on every write).
        self.register_function(grams, "cashier_grams", 1, deterministic=True)


#: Fragments of the driver's messages when the server went away (restart, upgrade, network).
_LOST = (
    "server closed the connection",
    "terminating connection",
    "the connection is closed",
    "connection already closed",
    "connection is lost",
    "consuming input failed",
    "connection refused",
    "could not connect",
    "connection to server",
    "no connection to the server",
    "ssl syscall error",
    "connection timed out",
    "the database system is starting up",
    "the database system is shutting down",
)
#: Waits between tries of a statement outside a transaction while the server is away.
RETRY_WAITS = (0.2, 0.5, 1.0, 2.0)


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` says the connection to the database server was lost."""
    name = type(error).__name__
    if name not in ("OperationalError", "InterfaceError", "ConnectionLost"):
        return False
    text = str(error).lower()
    return name == "ConnectionLost" or any(fragment in text for fragment in _LOST)


class ConnectionLost(CashierError):
    """The database server went away; the connection is re-opened at the next statement."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or LOST_MESSAGE)


LOST_MESSAGE = say("store.db.lost")


def _postgres_class():
    from peewee import PostgresqlDatabase

    class CounterPostgres(PostgresqlDatabase):
        """PostgreSQL for a counter: a lost connection is noticed and re-opened. A statement
        outside a transaction (a read, a ``BEGIN``) is tried again while the server comes
        back (:data:`RETRY_WAITS`); inside a transaction nothing is retried: the transaction
        fails with :class:`ConnectionLost` (its caller decides: a sale looks itself up by
        its own id) and the connection is opened afresh for the next one."""

        def _forget(self) -> None:
            conn = self._state.conn
            self._state.conn, self._state.closed = None, True  # the transaction stack stays
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass

        def _retrying(self, run, *args, **kwargs):
            for wait in (*RETRY_WAITS, None):
                try:
                    return run(*args, **kwargs)
                except Exception as exc:
                    if not connection_lost(exc):
                        raise
                    self._forget()
                    if self.in_transaction() or wait is None:
                        raise ConnectionLost() from exc
                    _notify_lost()
                    time.sleep(wait)
            raise AssertionError("unreachable")

        def execute_sql(self, sql, params=None, *args, **kwargs):
            return self._retrying(super().execute_sql, sql, params, *args, **kwargs)

        def begin(self, *args, **kwargs):
            return self._retrying(super().begin, *args, **kwargs)

        def commit(self):
            try:
                return super().commit()
            except Exception as exc:
                if not connection_lost(exc):
                    raise
                self._forget()
                raise ConnectionLost() from exc

        def rollback(self):
            if self.is_closed():
                return None  # the server went away: it rolled the transaction back itself
            try:
                return super().rollback()
            except Exception as exc:
                if not connection_lost(exc):
                    raise
                self._forget()
                return None

    return CounterPostgres


#: Called (in the thread that noticed it) when a lost connection is being re-opened.
_listeners: list = []


def on_connection_lost(callback) -> None:
    """``callback()`` is called whenever a lost connection is being re-opened (the screen
    shows 数据库连接中断，正在重连…)."""
    _listeners.append(callback)


def _notify_lost() -> None:
    for callback in list(_listeners):
        try:
            callback()
        except Exception:
            pass


def connect(url: str, *, wait_s: float = 60.0, on_wait=None) -> Database:
    """A peewee database for ``sqlite:///path`` or ``postgresql://…`` (bound to the models)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        db: Database = CounterSqlite(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": "full",  # a completed sale survives a power cut
                "foreign_keys": 1,
                "busy_timeout": 10_000,
            },
        )
    elif url.startswith(("postgresql://", "postgres://")):
        from cashier.store.drivers import with_psycopg

        with_psycopg()  # before playhouse, which looks for psycopg too
        from playhouse.db_url import parse

        params = parse(url)
        if not params.get("database"):
            raise CashierError(say("store.db.no_db_name", value=redact(url)))
        try:
            db = _postgres_class()(**params)
        except ImportError:
            raise CashierError(say("store.db.no_psycopg")) from None
    else:
        raise CashierError(say("store.db.bad_url", url=url))
    database.initialize(db)
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            db.connect(reuse_if_open=True)
            return db
        except Exception as exc:  # peewee wraps driver errors in many classes
            # A server that is starting (the PC and the server booted together) is waited
            # for, saying so once; anything else, or a wait that runs out, is an error.
            if isinstance(db, SqliteDatabase) or not connection_lost(exc):
                raise CashierError(
                    say("store.db.cannot_open", value=redact(url), exc=exc)
                ) from None
            if time.monotonic() >= deadline:
                raise CashierError(
                    say("store.db.no_server", value=redact(url), wait_s=wait_s, exc=exc)
                ) from None
            if on_wait is not None and not told:
                on_wait(say("store.db.waiting_server", value=redact(url)))
                told = True
            time.sleep(1.0)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _migration_1(db: Database) -> None:
    db.create_tables(ALL_MODELS)
    AuditHead.create(id=1, last_id=0, last_hash=GENESIS_HASH)


def _migration_2(db: Database) -> None:
    db.create_tables(INSURER_MODELS)
    MsgidCounter.create(id=1, value=0)


def _migration_3(db: Database) -> None:
    db.create_tables(PRINT_MODELS)


#: Schema migrations, in order. Append only: a released migration never changes.
def _migration_4(db: Database) -> None:
    db.create_tables(INSURED_MODELS)


def _migration_5(db: Database) -> None:
    db.create_tables(SHIFT_MODELS)
    # New columns of existing tables. Earlier migrations create tables from today's
    # models, so a database made by them already has the columns: add what is missing.
    _add_missing_columns(db, Sale, ("shift",))
    _add_missing_columns(
        db,
        InsuredSettlement,
        ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay"),
    )


def _migration_6(db: Database) -> None:
    db.create_tables(REFUND_MODELS)
    _add_missing_columns(db, InsuredSettlement, ("hifdm_pay", "othfund_pay", "visit"))
    # A settlement number belongs to one sale: an answer carrying another sale's setl_id
    # is refused before it is stored, and the index makes sure of it.
    table = InsuredSettlement._meta.table_name
    duplicated = db.execute_sql(
        f"SELECT setl_id FROM {table} GROUP BY setl_id HAVING COUNT(*) > 1"
    ).fetchall()
    if duplicated:
        raise CashierError(
            say("store.db.duplicate_setl", duplicated=len(duplicated), duplicated2=duplicated[0][0])
        )
    db.execute_sql(f"DROP INDEX IF EXISTS {table}_setl_id")
    db.execute_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_setl_id ON {table} (setl_id)")


def _add_missing_columns(db: Database, model, names: tuple[str, ...]) -> None:
    from playhouse.migrate import SchemaMigrator, migrate

    table = model._meta.table_name
    have = {c.name for c in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    for name in names:
        field = model._meta.fields[name]
        if field.column_name not in have:
            migrate(migrator.add_column(table, field.column_name, field))


def _migration_7(db: Database) -> None:
    # The keyed audit chain and ID numbers kept as a keyed digest (the rows themselves are
    # converted at the next start, which has the station key: services.station).
    _add_missing_columns(db, AuditHead, ("key_id", "keyed_from"))
    _add_missing_columns(db, ClinicOrder, ("certno_tag",))
    table = ClinicOrder._meta.table_name
    db.execute_sql(f"DROP INDEX IF EXISTS {table}_certno")
    db.execute_sql(f"CREATE INDEX IF NOT EXISTS {table}_certno_tag ON {table} (certno_tag)")
    # The business day: a sale and a refund belong to their shift's (the local date it
    # opened), not to the wall clock's date when they closed. Rows from before: the local
    # date they were written, as the reports counted them until now.
    _add_missing_columns(db, Shift, ("business_day",))
    _add_missing_columns(db, Sale, ("business_day",))
    _add_missing_columns(db, Refund, ("business_day",))
    for model, column in ((Shift, "opened_at"), (Sale, "closed_at"), (Refund, "created_at")):
        name = model._meta.table_name
        db.execute_sql(
            f"UPDATE {name} SET business_day = {_local_date(db, column)} WHERE business_day IS NULL"
        )
    for model in (Sale, Refund):
        name = model._meta.table_name
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {name}_business_day ON {name} (business_day)")


def _local_date(db: Database, column: str) -> str:
    """SQL for the local date of a stored naive-UTC time (this machine's offset)."""
    if isinstance(db, SqliteDatabase):
        return f"date({column}, 'localtime')"
    from datetime import datetime

    offset = int(datetime.now().astimezone().utcoffset().total_seconds())
    return f"CAST({column} + INTERVAL '{offset} seconds' AS date)"


def _migration_8(db: Database) -> None:
    db.create_tables(CLAIM_MODELS)
    # A sale's own id (its checkout's key): a completion whose commit may not have reached
    # the server is looked up by it after reconnecting, so it is kept once, never twice.
    _add_missing_columns(db, Sale, ("uid",))
    table = Sale._meta.table_name
    db.execute_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_uid ON {table} (uid)")
    # Refund slips are marked printed from now on (an unprinted one prints at the next
    # login); the slips of earlier refunds were printed by the screen that made them.
    Refund.update(printed=True).where(Refund.printed == False).execute()  # noqa: E712


def _migration_9(db: Database) -> None:
    db.create_tables(PAYMENT_MODELS)


def _migration_10(db: Database) -> None:
    # 追溯码 at dispensing, 处方药, stock by batch and the insurer outbox (进销存).
    db.create_tables(INVENTORY_MODELS)
    _add_missing_columns(db, Item, ("rx_flag", "trac_required"))
    _add_missing_columns(db, SaleLine, ("rx_flag", "trac_required", "trace_waived"))
    _add_missing_columns(db, Sale, ("dispensing",))
    _add_missing_columns(db, Operator, ("prac_cert_no",))
    # One box, one sale: a code is held by one bill or sold once at most, whichever counter
    # scans it (returned codes may be sold again).
    table = TraceCode._meta.table_name
    db.execute_sql(
        f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_live ON {table} (code) "
        "WHERE state IN ('held', 'sold')"
    )


def _migration_11(db: Database) -> None:
    # The insurer's catalogs (1301 / 1302 / 1305) and each item's mapping onto them.
    db.create_tables(CATALOG_MODELS)
    _add_missing_columns(db, Item, ("aprvno", "mapping"))


def _migration_12(db: Database) -> None:
    db.create_tables(EBILL_MODELS)  # e-receipts and e-invoices issued, and their reversals


def _migration_13(db: Database) -> None:
    # 拼音 keys with herbal readings and every reading of polyphonic characters (issue 21):
    # the old single-reading index is cleared here and made again, item by item, by
    # services.catalog.index_missing at the station's start (it needs pypinyin).
    Item.update(pinyin="").execute()


#: The item search index (SQLite): each item's code, name and 拼音 keys as bigrams
#: (cashier.domain.grams) in an FTS5 table kept by triggers, so that a search for any part
#: of them reads the index, not every item. PostgreSQL searches with LIKE.
SEARCH_INDEX = "item_search"
_GRAMS_OF = "cashier_grams({0}.code), cashier_grams({0}.name), cashier_grams({0}.pinyin)"


def search_index(db: Database) -> bool:
    """Whether ``db`` has the item search index (SQLite with FTS5, migrated)."""
    if not isinstance(db, SqliteDatabase):
        return False
    return bool(db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                               (SEARCH_INDEX,)).fetchone())  # fmt: skip


def _migration_14(db: Database) -> None:
    # A search index of the items (issue 22: a search per keystroke must not read 50,000
    # items). SQLite only; one without FTS5 keeps searching with LIKE.
    if not isinstance(db, SqliteDatabase):
        return
    try:
        db.execute_sql(
            f"CREATE VIRTUAL TABLE {SEARCH_INDEX} USING fts5(code, name, pinyin, "
            "tokenize='unicode61 remove_diacritics 0')"
        )
    except OperationalError as exc:
        if "fts5" in str(exc):
            return
        raise
    db.execute_sql(f"INSERT INTO {SEARCH_INDEX}(rowid, code, name, pinyin) "
                   f"SELECT id, {_GRAMS_OF.format('item')} FROM item")  # fmt: skip
    insert = (f"INSERT INTO {SEARCH_INDEX}(rowid, code, name, pinyin) "
              f"VALUES (new.id, {_GRAMS_OF.format('new')});")  # fmt: skip
    delete = f"DELETE FROM {SEARCH_INDEX} WHERE rowid = old.id;"
    db.execute_sql(f"CREATE TRIGGER item_search_ai AFTER INSERT ON item BEGIN {insert} END")
    db.execute_sql(f"CREATE TRIGGER item_search_ad AFTER DELETE ON item BEGIN {delete} END")
    db.execute_sql("CREATE TRIGGER item_search_au AFTER UPDATE OF code, name, pinyin ON item "
                   f"BEGIN {delete} {insert} END")  # fmt: skip


def _migration_15(db: Database) -> None:
    # Ten years of sales (issue 22): the station's last sale and refund (the clock check of
    # every sale) read an index of (station, time) instead of sorting the station's every
    # row; the index of a sale's status (three values over every sale kept) goes, as the
    # planner chose it over the day's for the end-of-day report.
    db.execute_sql('DROP INDEX IF EXISTS "sale_status"')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "sale_station_id_closed_at" '
                   'ON "sale" ("station_id", "closed_at")')  # fmt: skip
    db.execute_sql('CREATE INDEX IF NOT EXISTS "refund_station_id_created_at" '
                   'ON "refund" ("station_id", "created_at")')  # fmt: skip


MIGRATIONS: list[Callable[[Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
    _migration_13,
    _migration_14,
    _migration_15,
]
SCHEMA_VERSION = len(MIGRATIONS)


#: The PostgreSQL advisory lock key that serializes migrations ("cashier" in ASCII).
MIGRATION_LOCK = 0x636173686965


def schema_version(db: Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(db: Database) -> int:
    """Apply every pending migration, each in its own transaction; return the version."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise CashierError(say("store.db.newer", current=current, SCHEMA_VERSION=SCHEMA_VERSION))
    postgres = not isinstance(db, SqliteDatabase)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with db.atomic():
            if postgres:
                # Counters sharing a server may start at once after an upgrade: one
                # migrates, the others wait for it here and then find the work done.
                # (SQLite: the first write locks the whole database file.)
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                if schema_version(db) >= version:
                    continue
            MIGRATIONS[version - 1](db)
            SchemaVersion.create(version=version)
    return SCHEMA_VERSION
