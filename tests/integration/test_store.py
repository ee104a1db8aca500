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


def migrated_to(version: int, db) -> None:
    """``db`` as the first ``version`` migrations left it, each recorded as done."""
    from cashier.store.db import MIGRATIONS
    from cashier.store.models import SchemaVersion

    for number, migration in enumerate(MIGRATIONS[:version], 1):
        with db.atomic():
            migration(db)
            SchemaVersion.create(version=number)


def test_newer_database_is_refused(empty_station):
    from cashier.errors import CashierError
    from cashier.store.models import SchemaVersion

    SchemaVersion.create(version=SCHEMA_VERSION + 1)
    with pytest.raises(CashierError, match="升级"):
        migrate(database.obj)


def test_migration_5_adds_the_new_columns_to_an_older_database(tmp_path):
    from cashier.store import SCHEMA_VERSION, connect, migrate
    from cashier.store.db import schema_version

    db = connect(f"sqlite:///{tmp_path / 'old.db'}")
    migrated_to(4, db)
    # as a version-4 database was made before these columns existed
    db.execute_sql("DROP INDEX sale_shift_id")
    db.execute_sql("ALTER TABLE sale DROP COLUMN shift_id")
    db.execute_sql("ALTER TABLE insured_settlement DROP COLUMN maf_pay")
    assert migrate(db) == SCHEMA_VERSION == schema_version(db)
    assert "shift_id" in {c.name for c in db.get_columns("sale")}
    assert "maf_pay" in {c.name for c in db.get_columns("insured_settlement")}
    assert db.table_exists("shift") and db.table_exists("refund_tender")


def test_migrations_7_and_8_bring_an_older_database_up_to_date(tmp_path):
    """A version-6 database with a clinic order (its ID number in full), a journaled call
    (its message in plain text) and a sale: after the upgrade and the next start the ID
    number is masked and tagged, the message sealed, the day of every row known, the chain
    keyed, and everything still found and verified."""
    import json
    from datetime import datetime

    from cashier.config import settings_from_dict
    from cashier.insurer import journal
    from cashier.services import audit, orders
    from cashier.services.station import open_station
    from cashier.store import connect
    from cashier.store.models import (
        ClinicOrder,
        InsurerCall,
        Operator,
        Sale,
        Station,
        database,
    )

    zhang = "11010519780312001X"
    data = tmp_path / "data"
    db = connect(f"sqlite:///{data / 'cashier.db'}")
    migrated_to(6, db)
    # as a version-6 database was made before the columns of migrations 7 and 8 existed
    for index in ("sale_business_day", "sale_uid", "refund_business_day",
                  "clinic_order_certno_tag"):  # fmt: skip
        db.execute_sql(f"DROP INDEX IF EXISTS {index}")
    db.execute_sql("CREATE INDEX clinic_order_certno ON clinic_order (certno)")
    for table, column in (("sale", "business_day"), ("sale", "uid"), ("shift", "business_day"),
                          ("refund", "business_day"), ("clinic_order", "certno_tag"),
                          ("audit_head", "key_id"), ("audit_head", "keyed_from"),
                          # and of migration 10 (追溯码, prescriptions)
                          ("sale", "dispensing"), ("sale_line", "rx_flag"),
                          ("sale_line", "trac_required"), ("sale_line", "trace_waived"),
                          ("item", "rx_flag"), ("item", "trac_required")):  # fmt: skip
        db.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    Station.create(station_id="TRAIN-01", name="培训收费台", kind="clinic")
    Operator.create(code="1001", name="王小美", role="cashier", pin_salt="00", pin_hash="00")
    db.execute_sql(
        "INSERT INTO clinic_order (order_no, certno, patient_name, doctor_code, doctor_name,"
        " dept_code, dept_name, diag_code, diag_name, status, med_type, mdtrt_id, source,"
        " imported_at) VALUES ('OP1', ?, '张伟', '', '', '', '', '', '', 'pending', '11', '',"
        " '', ?)",
        (zhang, datetime(2026, 1, 5, 2, 0)),
    )
    request = json.dumps({"infno": "2207", "input": {"data": {"mdtrt_cert_no": zhang}}})
    db.execute_sql(
        "INSERT INTO insurer_call (msgid, station, infno, operator, status, request, context,"
        " response, error, created_at, updated_at) VALUES ('M1', 'TRAIN-01', '2207', '1001',"
        " 'ok', ?, '{}', '', '', ?, ?)",
        (request, datetime(2026, 1, 5), datetime(2026, 1, 5)),
    )
    db.execute_sql(
        "INSERT INTO sale (station_id, operator_id, status, kind, receipt_seq, receipt_no, total,"
        ' paid, "change", created_at, closed_at, void_reason, reprints, printed)'
        " VALUES ('TRAIN-01', '1001', 'completed', 'selfpay', 1, 'TRAIN-01-00000001', 100, 100,"
        " 0, ?, ?, '', 0, 1)",
        (datetime(2026, 1, 5, 17, 0), datetime(2026, 1, 5, 17, 0)),
    )
    database.close()

    open_station(settings_from_dict({}, data_dir=data), seed=False)
    order = ClinicOrder.get()
    assert order.certno == "1101**********001X" and orders.pending_for(zhang) == [order]
    call = InsurerCall.get()
    assert call.request.startswith("enc1:") and zhang not in call.request
    assert json.loads(journal.request_of(call))["input"]["data"]["mdtrt_cert_no"] == zhang
    assert Sale.get().business_day is not None
    assert Sale.get().dispensing == ""  # migration 10's columns, with their defaults
    assert audit.verify().ok
    raw = b"".join(path.read_bytes() for path in data.glob("cashier.db*"))
    assert zhang.encode() not in raw  # not in a row, nor in a free page or the WAL


def test_migration_15_gives_an_older_database_the_indexes_of_a_new_one(tmp_path):
    """Ten years of sales: the station's last sale and refund are read from an index of
    (station, time), and the index of a sale's status, which the planner took over the
    day's for the end-of-day report, is gone, as in a database made today."""
    from cashier.store import connect

    def indexes(db) -> set[str]:
        return {i.name for table in ("sale", "refund") for i in db.get_indexes(table)}

    fresh = connect(f"sqlite:///{tmp_path / 'new.db'}")
    migrate(fresh)
    made_today = indexes(fresh)
    fresh.close()
    assert {"sale_station_id_closed_at", "refund_station_id_created_at"} <= made_today
    assert "sale_status" not in made_today

    db = connect(f"sqlite:///{tmp_path / 'old.db'}")
    migrated_to(14, db)
    # as a version-14 database was made
    db.execute_sql("DROP INDEX sale_station_id_closed_at")
    db.execute_sql("DROP INDEX refund_station_id_created_at")
    db.execute_sql('CREATE INDEX "sale_status" ON "sale" ("status")')
    assert migrate(db) == SCHEMA_VERSION
    assert indexes(db) == made_today
    plan = db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT closed_at FROM sale WHERE station_id = 'A' "
        "ORDER BY closed_at DESC LIMIT 1"
    ).fetchall()
    assert "sale_station_id_closed_at" in str(plan) and "TEMP B-TREE" not in str(plan)
