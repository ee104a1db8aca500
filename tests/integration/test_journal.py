"""The msgid sequence: reserved in blocks, unique across counters, never reused."""

from __future__ import annotations

from cashier.insurer import journal
from cashier.store.models import MsgidCounter, database


def counter() -> int:
    return MsgidCounter.get_by_id(1).value


def test_numbers_come_from_one_reservation_per_block(station, monkeypatch):
    monkeypatch.setattr(journal, "_block", None)
    start = counter()
    got = [journal.next_msgid_seq() for _ in range(journal.MSGID_BLOCK + 1)]
    assert got == list(range(start + 1, start + journal.MSGID_BLOCK + 2))
    assert counter() == start + 2 * journal.MSGID_BLOCK  # two commits, not seventeen


def test_another_counter_never_gets_a_reserved_number(station, monkeypatch):
    monkeypatch.setattr(journal, "_block", None)
    mine = [journal.next_msgid_seq()]
    ours = journal._block
    monkeypatch.setattr(journal, "_block", None)  # another process: its own reservation
    theirs = [journal.next_msgid_seq() for _ in range(3)]
    monkeypatch.setattr(journal, "_block", ours)
    mine += [journal.next_msgid_seq() for _ in range(3)]
    assert not set(mine) & set(theirs)
    assert mine == sorted(mine) and theirs == sorted(theirs)


def test_a_reservation_expires_and_is_skipped_not_reused(station, monkeypatch):
    monkeypatch.setattr(journal, "_block", None)
    clock = [1000.0]
    monkeypatch.setattr(journal.time, "monotonic", lambda: clock[0])
    first = journal.next_msgid_seq()
    clock[0] += journal.MSGID_BLOCK_TTL_S + 1
    second = journal.next_msgid_seq()
    assert second == first + journal.MSGID_BLOCK  # the rest of the old block is skipped


def test_inside_a_transaction_one_number_is_reserved_alone(station, monkeypatch):
    monkeypatch.setattr(journal, "_block", None)
    start = counter()
    with database.atomic():
        n = journal.next_msgid_seq()
    assert n == start + 1 and counter() == start + 1 and journal._block is None


def test_a_block_reserved_in_another_database_is_not_used(station, monkeypatch):
    """Blocks belong to the database they were reserved in (tests switch databases)."""
    elsewhere = journal._Block(object(), 5000, 5015, float("inf"))
    monkeypatch.setattr(journal, "_block", elsewhere)
    start = counter()
    assert journal.next_msgid_seq() == start + 1
