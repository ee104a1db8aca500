"""Opening the database and bringing its schema up to date."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from peewee import Database, SqliteDatabase

from cashier.errors import CashierError
from cashier.store.models import (
    ALL_MODELS,
    CLAIM_MODELS,
    INSURED_MODELS,
    INSURER_MODELS,
    PRINT_MODELS,
    REFUND_MODELS,
    SHIFT_MODELS,
    AuditHead,
    ClinicOrder,
    InsuredSettlement,
    MsgidCounter,
    Refund,
    Sale,
    SchemaVersion,
    Shift,
    database,
)

GENESIS_HASH = "0" * 64


class CounterSqlite(SqliteDatabase):
    """SQLite for a counter: every transaction begins IMMEDIATE, taking the write lock at
    its start and waiting for it (``busy_timeout``). A DEFERRED one that read first and
    wrote second fails at once when another process wrote in between (SQLITE_BUSY, which no
    timeout waits out): two processes on one station then lost voids and refunds."""

    def begin(self, lock_type: str | None = None) -> None:
        super().begin(lock_type or "IMMEDIATE")


def connect(url: str) -> Database:
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
        from playhouse.db_url import connect as url_connect

        try:
            db = url_connect(url)
        except ImportError:
            raise CashierError("PostgreSQL 需要 psycopg：pip install 'cashier[postgres]'") from None
    else:
        raise CashierError(f"不支持的数据库地址：{url}（用 sqlite:///路径 或 postgresql://…）")
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except Exception as exc:  # peewee wraps driver errors in many classes
        raise CashierError(f"无法打开数据库 {redact(url)}：{exc}") from None
    return db


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
            f"数据库中有 {len(duplicated)} 个医保结算编号属于多笔销售（如 {duplicated[0][0]}），"
            "请联系技术支持核对后再升级"
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


MIGRATIONS: list[Callable[[Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
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
        raise CashierError(
            f"数据库版本 {current} 比本程序（{SCHEMA_VERSION}）新，请升级 cashier 后再打开"
        )
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
