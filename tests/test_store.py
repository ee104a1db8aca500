from cashier.store import SCHEMA_VERSION, migrate
from cashier.store.db import schema_version
from cashier.store.models import database


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
    import pytest

    from cashier.errors import CashierError
    from cashier.store.models import SchemaVersion

    SchemaVersion.create(version=SCHEMA_VERSION + 1)
    with pytest.raises(CashierError, match="升级"):
        migrate(database.obj)
