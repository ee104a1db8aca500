"""The clock (issue 17, item 9): sales belong to their shift and its business day, a clock
set back is noticed and audited, and receipt times never go backwards at a station."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.reports.eod import eod_report
from cashier.services import catalog, clock, shifts
from cashier.services.checkout import Checkout
from cashier.services.refunds import approve, execute, find_refundable, plan_refund
from cashier.store.models import AuditEntry, Sale
from tests.support.counter import AMOXICILLIN, CEFIXIME
from tests.support.tools import local_zone

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _shanghai():
    with local_zone("Asia/Shanghai"):
        yield


class WallClock:
    """The PC's clock, as the station reads it; a test sets it (forward or back)."""

    def __init__(self, monkeypatch) -> None:
        self.now = datetime(2026, 3, 10, 1, 0)  # naive UTC
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def local(self, day: date, hour: int, minute: int = 0) -> None:
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
        self.now = local.astimezone(UTC).replace(tzinfo=None)

    def move(self, **delta) -> None:
        self.now += timedelta(**delta)

    @property
    def aware(self) -> datetime:
        return self.now.replace(tzinfo=UTC)


@pytest.fixture
def wall(monkeypatch, station):
    return WallClock(monkeypatch)


def sell(settings, who, code=AMOXICILLIN):
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.remaining, "")
    return co.complete(plan)


def void(settings, who):
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan(CEFIXIME))
    return co.void("患者离开")


DAY = date(2026, 3, 10)


def test_clock_set_back_an_hour_mid_shift(wall, settings, cashier_1001):
    sid = settings.station_id
    wall.local(DAY, 9, 0)
    shift = shifts.open_shift(sid, cashier_1001, Fen(10000))
    wall.local(DAY, 10, 0)
    first = sell(settings, cashier_1001)
    assert first.clock_message == ""
    wall.move(hours=-1)  # a time server, or someone, sets the clock back an hour
    second = sell(settings, cashier_1001)
    assert "校对电脑时间" in second.clock_message
    void(settings, cashier_1001)
    void(settings, cashier_1001)
    wall.move(minutes=5)
    z = shifts.close_shift(shift, {Method.CASH: Fen(10000) + 2 * catalog.find_by_scan(
        AMOXICILLIN).price}, cashier_1001, now=wall.aware)  # fmt: skip
    assert (z.figures.sales, z.figures.voids) == (2, 2)
    assert z.closed_at >= z.figures.opened_at
    assert z.count_of(Method.CASH).variance == Fen(0)
    times = [s.closed_at for s in Sale.select().order_by(Sale.id)]
    assert times == sorted(times)  # never backwards at the station
    (noticed,) = AuditEntry.select().where(AuditEntry.action == "clock.back")
    assert noticed.subject == "3600s"
    report = eod_report(DAY)
    assert (report.total.sales, report.total.voids) == (2, 2)


def test_a_shift_across_midnight_keeps_its_business_day(wall, settings, cashier_1001):
    sid = settings.station_id
    supervisor = approve(sid, "9001", "9999")
    wall.local(DAY, 23, 0)
    shift = shifts.open_shift(sid, cashier_1001, Fen(0))
    late = sell(settings, cashier_1001)  # 23:00 on the 10th
    wall.local(DAY + timedelta(days=1), 0, 20)
    after_midnight = sell(settings, cashier_1001)  # 00:20 on the 11th, same shift
    wall.local(DAY + timedelta(days=1), 0, 30)
    # Ten minutes old across midnight: still today's sale (the business day's).
    sale = find_refundable(late.receipt_no)
    execute(
        settings, plan_refund(sale), requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="退药",
    )  # fmt: skip
    wall.local(DAY + timedelta(days=1), 0, 40)
    # Past midnight the shift is a day old: a supervisor closes it (as before).
    shifts.close_shift(shift, {Method.CASH: after_midnight.total}, supervisor, now=wall.aware)
    tenth = eod_report(DAY)
    assert (tenth.total.sales, tenth.total.refunds) == (2, 1)
    assert tenth.total.net_takings == after_midnight.total
    # The next shift opens on the 11th: its sales are the 11th's; the 10th stays as it was.
    wall.local(DAY + timedelta(days=1), 8, 0)
    shifts.open_shift(sid, cashier_1001, Fen(0))
    sell(settings, cashier_1001)
    assert eod_report(DAY + timedelta(days=1)).total.sales == 1
    again = eod_report(DAY)
    assert (again.total.sales, again.total.refunds, again.total.net_takings) == (
        2, 1, after_midnight.total,
    )  # fmt: skip
    # Yesterday's sale, once the business day has moved on, is refused as another day's.
    with pytest.raises(Exception, match="只能退当日"):
        find_refundable(after_midnight.receipt_no)
