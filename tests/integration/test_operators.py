import pytest

from cashier.errors import NotAllowed
from cashier.services import operators
from cashier.services.operators import MAX_FAILED_PINS, LoginError, Role
from cashier.store.models import AuditEntry, Operator


def test_demo_operators_log_in(station):
    who = operators.authenticate(station.station_id, "1001", "1234")
    assert who.role is Role.CASHIER and who.name
    assert operators.authenticate(station.station_id, "9001", "9999").role is Role.SUPERVISOR


def test_pins_are_hashed_with_salt(station):
    a, b = Operator.get_by_id("1001"), Operator.get_by_id("9001")
    assert "1234" not in a.pin_hash and len(a.pin_hash) == 64
    assert a.pin_salt != b.pin_salt


def test_five_wrong_pins_lock_until_a_supervisor_unlocks(station, supervisor_9001, cashier_1001):
    sid = station.station_id
    for attempt in range(1, MAX_FAILED_PINS):
        with pytest.raises(LoginError, match=f"再错 {MAX_FAILED_PINS - attempt} 次"):
            operators.authenticate(sid, "1001", "0000")
    with pytest.raises(LoginError, match="已锁定"):
        operators.authenticate(sid, "1001", "0000")
    # Even the right PIN is refused while locked.
    with pytest.raises(LoginError, match="已锁定"):
        operators.authenticate(sid, "1001", "1234")
    with pytest.raises(NotAllowed):
        operators.unlock(sid, "1001", cashier_1001)
    operators.unlock(sid, "1001", supervisor_9001)
    assert operators.authenticate(sid, "1001", "1234").code == "1001"
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert "login.locked" in actions and "operator.unlock" in actions


def test_unknown_operator(station):
    with pytest.raises(LoginError, match="不正确"):
        operators.authenticate(station.station_id, "7777", "1234")


def test_pin_format(station):
    with pytest.raises(Exception, match="4 到 8 位"):
        operators.create_operator(station.station_id, "2001", "张三", Role.CASHIER, "12")


def test_who_may_appoint_whom(station, supervisor_9001, cashier_1001):
    sid = station.station_id
    with pytest.raises(NotAllowed):  # nobody at all, once someone is in charge
        operators.create_operator(sid, "2001", "张三", Role.CASHIER, "2468")
    with pytest.raises(NotAllowed):
        operators.create_operator(sid, "2001", "张三", Role.CASHIER, "2468", by=cashier_1001)
    with pytest.raises(NotAllowed, match="管理员"):
        operators.create_operator(sid, "8001", "赵", Role.ADMIN, "2468", by=supervisor_9001)
    operators.create_operator(sid, "2001", "张三", Role.SUPERVISOR, "2468", by=supervisor_9001)
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.operator, entry.subject) == ("operator.set", "9001", "2001")
    assert not Operator.select().where(Operator.code == "8001").exists()


def test_a_wrong_pin_is_counted_before_it_is_checked(station):
    """The count goes up first (one conditional UPDATE): with the count at its limit, no
    further PIN is checked at all, however many processes try at once."""
    Operator.update(failed_attempts=MAX_FAILED_PINS).where(Operator.code == "1001").execute()
    with pytest.raises(LoginError, match="已锁定"):
        operators.authenticate(station.station_id, "1001", "1234")
    assert Operator.get_by_id("1001").locked
    assert not AuditEntry.select().where(AuditEntry.action == "login").exists()
