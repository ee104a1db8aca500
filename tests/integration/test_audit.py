from cashier.services import audit
from cashier.store.models import AuditEntry, AuditHead


def make_entries(station, n=5):
    for i in range(n):
        audit.record(station.station_id, "test", operator="1001", subject=str(i), n=i)


def test_chain_verifies(empty_station):
    make_entries(empty_station)
    check = audit.verify()
    assert check.ok and check.entries == 6  # audit.keyed, then the five


def test_edited_row_is_named(empty_station):
    make_entries(empty_station)
    third = AuditEntry.select().order_by(AuditEntry.id)[2]
    AuditEntry.update(detail='{"n": 99}').where(AuditEntry.id == third.id).execute()
    check = audit.verify()
    assert not check.ok and check.first_bad_id == third.id


def test_deleted_row_is_found(empty_station):
    make_entries(empty_station)
    rows = list(AuditEntry.select().order_by(AuditEntry.id))
    AuditEntry.delete().where(AuditEntry.id == rows[1].id).execute()
    assert audit.verify().first_bad_id == rows[2].id


def test_inserted_row_is_found(empty_station):
    make_entries(empty_station, 2)
    first = AuditEntry.select().order_by(AuditEntry.id).first()
    AuditEntry.create(
        at=first.at, station="X", action="forged", prev_hash=first.hash, hash="f" * 64
    )
    assert not audit.verify().ok


def test_deleted_tail_is_found(empty_station):
    make_entries(empty_station)
    last = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    AuditEntry.delete().where(AuditEntry.id == last.id).execute()
    check = audit.verify()
    assert not check.ok and "删除" in check.problem
    assert AuditHead.get_by_id(1).last_id == last.id


def test_a_long_subject_keeps_its_end_and_the_chain_verifies(empty_station):
    """A catalog imported from a deep path: the subject is a file path longer than its
    column, which PostgreSQL refuses (found by the fuzz suite in the PostgreSQL pass)."""
    path = "/srv/clinic/imports/" + "子目录/" * 20 + "catalog-2026-12-07.csv"
    entry = audit.record("TRAIN-01", "catalog.prices", operator="9001", subject=path)
    stored = AuditEntry.get_by_id(entry.id).subject
    assert len(stored) == AuditEntry.subject.max_length
    assert stored.startswith("…") and stored.endswith("catalog-2026-12-07.csv")
    assert audit.verify().ok
