"""Issue 19: a log file. Every error the cashier is shown is in a rotating file beside the
station's data (or in the user log directory), an unexpected one with its traceback, and
nothing personal: ID numbers and 付款码 are masked in messages and tracebacks alike."""

from __future__ import annotations

import pytest

from cashier import logs
from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from tests.support.cli import run
from tests.support.pilot import login, settle


def test_the_mask_keeps_no_long_number_whole():
    said = logs.mask("身份证 11010519491231002X 付款码 134567890123456789 金额 12.50 单号 20261207")
    assert "11010519491231002X" not in said and "1101**********002X" in said
    assert "134567890123456789" not in said and "12.50" in said and "20261207" in said


def test_a_command_line_error_is_logged_beside_the_station(tmp_path):
    data = tmp_path / "d"
    assert run("operator", "list", data_dir=data).returncode == 0
    proc = run("import", "orders", str(tmp_path / "missing.json"), data_dir=data)
    assert proc.returncode != 0
    text = (data / "logs" / "cashier.log").read_text(encoding="utf-8")
    assert "WARNING" in text and "missing.json" in text


@pytest.mark.pilot
async def test_an_unexpected_error_at_the_counter_keeps_its_traceback_masked(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = app.screen

        def boom():
            raise RuntimeError("卡号 6222021234567890123 读不出")

        screen.run_worker(boom, thread=True, exit_on_error=False, name="boom")
        await settle(pilot)
        assert "内部错误" in "\n".join(str(n.message) for n in app._notifications)
    text = (settings.data_dir / "logs" / "cashier.log").read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError" in text and "内部错误" in text
    assert "6222021234567890123" not in text and "6222***********0123" in text
