"""Issue 21: the cashier keeps China's time whatever the PC's zone (a counter left on UTC
would cut business days at 08:00 and send the insurer an inf_time eight hours off), and
says when its clock is minutes off the insurer's."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from cashier import timezone
from cashier.config import ConfigError, settings_from_dict
from cashier.errors import CashierError
from cashier.services.station import open_station
from tests.support.tools import local_zone


def test_a_pc_on_utc_still_keeps_chinas_time(settings):
    with local_zone("UTC"):
        assert time.localtime().tm_gmtoff == 0
        ctx = open_station(settings)
        try:
            assert time.localtime().tm_gmtoff == 8 * 3600
            assert datetime.now().astimezone().utcoffset() == timedelta(hours=8)
        finally:
            ctx.close()


def test_without_zone_files_the_posix_rule_holds(monkeypatch, tmp_path):
    monkeypatch.setattr(timezone, "ZONEINFO", tmp_path)  # a minimal install: no tzdata
    assert timezone.tz_value("Asia/Shanghai") == "CST-8"
    with local_zone("UTC"):
        timezone.use("Asia/Shanghai")
        assert time.localtime().tm_gmtoff == 8 * 3600


def test_an_unknown_zone_is_said_in_the_configuration(tmp_path):
    with pytest.raises(ConfigError, match="time_zone"):
        settings_from_dict({"time_zone": "Mars/Olympus"}, data_dir=tmp_path)
    with pytest.raises(CashierError):
        timezone.tz_value("../../etc/passwd")


def test_the_insurers_answer_time_says_how_far_our_clock_is():
    now = datetime(2026, 12, 7, 9, 30, 0)
    assert timezone.offset("20261207094000123", now) == timedelta(minutes=10)
    assert timezone.offset("20261207092000", now) == timedelta(minutes=-10)
    assert timezone.offset("", now) is None
    assert timezone.offset("2026-12-07 09:40", now) is None
    assert timezone.offset("20261399094000000", now) is None


def test_the_client_says_a_clock_off_once(insurer, settings):
    from cashier_sandbox import state

    seen: list[timedelta] = []
    insurer.client.on_clock_off = seen.append
    operator = ("1001", "王小美")
    insurer.client.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no":
                        state.find_person("P001").certno, "psn_cert_type": "01"}},
                        operator=operator)  # fmt: skip
    assert insurer.client.clock_off is None and not seen
    state.set_setting("clock_offset_s", "600")  # the insurer's clock 10 minutes ahead
    for _ in range(2):
        insurer.client.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no":
                            state.find_person("P001").certno, "psn_cert_type": "01"}},
                            operator=operator)  # fmt: skip
    assert len(seen) == 1 and timedelta(minutes=9) < seen[0] <= timedelta(minutes=10)
    assert insurer.client.clock_off == insurer.client.clock_offset
