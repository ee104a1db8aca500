import pytest

from cashier.store import SCHEMA_VERSION, migrate
from cashier.store.db import schema_version
from cashier.store.models import database


@pytest.mark.sqlite_only("reads SQLite's PRAGMAs (WAL, synchronous=FULL, foreign keys)")
def test_sqlite_pragmas_and_schema(empty_station):
    db = database.obj
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == SCHEMA_VERSION
    # Migrating again is a no-op.
    assert migrate(db) == SCHEMA_VERSION
    assert schema_version(db) == SCHEMA_VERSION


def test_newer_database_is_refused(empty_station):
    from cashier.errors import CashierError
    from cashier.store.models import SchemaVersion

    SchemaVersion.create(version=SCHEMA_VERSION + 1)
    with pytest.raises(CashierError, match="升级"):
        migrate(database.obj)


def test_migration_5_adds_the_new_columns_to_an_older_database(tmp_path):
    from cashier.store import SCHEMA_VERSION, connect, migrate
    from cashier.store.db import MIGRATIONS, schema_version
    from cashier.store.models import SchemaVersion

    db = connect(f"sqlite:///{tmp_path / 'old.db'}")
    for version, migration in enumerate(MIGRATIONS[:4], 1):
        with db.atomic():
            migration(db)
            SchemaVersion.create(version=version)
    # as a version-4 database was made before these columns existed
    db.execute_sql("DROP INDEX sale_shift_id")
    db.execute_sql("ALTER TABLE sale DROP COLUMN shift_id")
    db.execute_sql("ALTER TABLE insured_settlement DROP COLUMN maf_pay")
    assert migrate(db) == SCHEMA_VERSION == schema_version(db)
    assert "shift_id" in {c.name for c in db.get_columns("sale")}
    assert "maf_pay" in {c.name for c in db.get_columns("insured_settlement")}
    assert db.table_exists("shift") and db.table_exists("refund_tender")
