"""The hardware screen driven through the real app with Pilot: printer, reader, scanner, drawer."""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import replace

import pytest
from textual.widgets import Input, Select, Static
from textual.worker import WorkerFailed

from cashier.config import PrinterSettings, ScannerSettings, load_settings
from cashier.devices.scanner import classify
from cashier.services.printing import JobKind
from cashier.services.station import open_station
from cashier.store.models import AuditEntry, PrintJob
from cashier.ui.app import CashierApp
from cashier.ui.screens.hardware import HardwareScreen, HardwareSettingsDialog, edited_settings
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import ENDLESS
from tests.support.printers import PAPER_OUT, LoopbackPrinter, closed_port


async def settle(pilot) -> None:
    """Wait for every worker that ends; one that failed has shown its notice (the screen's job)."""
    for worker in list(pilot.app.workers):
        if worker.group in ENDLESS:
            continue
        with contextlib.suppress(WorkerFailed):
            await worker.wait()
    await pilot.pause()


async def login(pilot, code="1001", pin="1234") -> None:
    await pilot.press(*code, "enter", *pin, "enter")
    await settle(pilot)


async def key(pilot, name: str) -> None:
    """A letter key: the screen takes scans, so the app holds a printable key for the
    scanner's gap before it delivers it as typing."""
    await pilot.press(name)
    await pilot.pause(pilot.app.settings.scanner.max_gap_ms / 1000 + 0.15)
    await settle(pilot)


async def open_hardware(pilot) -> HardwareScreen:
    screen = HardwareScreen()
    await pilot.app.push_screen(screen)
    await settle(pilot)
    assert pilot.app.screen is screen
    return screen


def shown(screen, key: str) -> str:
    """The plain text a device row shows."""
    return str(screen.query_one(f"#hw-{key}", Static).visual)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def with_printer(settings, url: str):
    return replace(settings, printer=PrinterSettings(url=url))


async def test_pdf_printer_is_online_and_test_print_writes_a_pdf(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_hardware(pilot)
        printer = shown(screen, "printer")
        assert "pdf://" in printer and "80mm" in printer
        assert "在线" in printer and "待打印收据 0 张" in printer
        assert "没有钱箱" in shown(screen, "drawer")
        assert "50 毫秒" in shown(screen, "scanner")

        await key(pilot, "t")
        pdfs = list(settings.receipts_dir.glob("*.pdf"))
        assert [p.name for p in pdfs] == ["TEST.pdf"]
        assert any("测试页已打印" in m and "TEST.pdf" in m for m in notices(app))
        assert PrintJob.get(PrintJob.kind == JobKind.TEST.value).status == "printed"

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HardwareScreen)


async def test_tcp_printer_on_a_closed_port_is_offline(settings):
    settings = with_printer(settings, f"tcp://127.0.0.1:{closed_port()}")
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_hardware(pilot)
        printer = shown(screen, "printer")
        assert "离线" in printer and "无法连接" in printer
        assert "经打印机 tcp://127.0.0.1" in shown(screen, "drawer")

        await key(pilot, "t")  # a dead printer is a notice, not a crash
        await settle(pilot)
        assert any("无法连接" in m for m in notices(app))
        assert app.screen is screen


async def test_printer_without_paper_shows_it(settings):
    with LoopbackPrinter(status=PAPER_OUT) as device:
        app = CashierApp(open_station(with_printer(settings, device.url)))
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot)
            screen = await open_hardware(pilot)
            assert "缺纸" in shown(screen, "printer")
        assert device.jobs == []


async def test_cashier_cannot_open_the_drawer(settings):
    with LoopbackPrinter() as device:
        app = CashierApp(open_station(with_printer(settings, device.url)))
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot)
            screen = await open_hardware(pilot)
            assert "在线" in shown(screen, "printer")
            await key(pilot, "d")
            assert any("需要收费组长权限" in m for m in notices(app))
            assert app.screen is screen
        device.wait_idle()
        assert device.jobs == []  # only status queries reached the printer
    assert not PrintJob.select().where(PrintJob.kind == JobKind.DRAWER.value).exists()
    assert not AuditEntry.select().where(AuditEntry.action == "drawer.open").exists()


async def test_supervisor_opens_the_drawer(settings):
    from escpos.constants import CD_KICK_2

    with LoopbackPrinter() as device:
        app = CashierApp(open_station(with_printer(settings, device.url)))
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot, "9001", "9999")
            await open_hardware(pilot)
            await key(pilot, "d")
            assert "钱箱已打开" in notices(app)
        device.wait_idle()
        assert device.jobs == [CD_KICK_2]
    assert AuditEntry.select().where(AuditEntry.action == "drawer.open").count() == 1


async def test_scan_test_names_what_was_scanned(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_hardware(pilot)
        await key(pilot, "s")
        assert "请扫码" in shown(screen, "scanner")

        screen.handle_scan(classify("6901234567892"))
        await pilot.pause()
        row = shown(screen, "scanner")
        assert "商品条码" in row and "6901234567892" in row

        screen.handle_scan(classify("11010519491231002X"))
        await pilot.pause()
        row = shown(screen, "scanner")
        assert "身份证号" in row and "1101**********002X" in row


async def test_a_scan_on_this_screen_never_reaches_the_sale(settings):
    # Pilot presses keys as fast as the machine allows; a wide gap keeps this about behaviour.
    settings = replace(settings, scanner=ScannerSettings(max_gap_ms=300))
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        sale = app.screen
        assert isinstance(sale, SaleScreen)
        screen = await open_hardware(pilot)
        await pilot.press(*"6901234567892", "enter")
        await pilot.pause(0.1)
        assert "商品条码" in shown(screen, "scanner")
        assert sale.checkout.lines == []


async def test_card_reader_row_without_pcscd_does_not_crash(settings):
    """Whether or not a PC/SC service runs here, the row says something about reading cards."""
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = await open_hardware(pilot)
        assert "读卡" in shown(screen, "reader")
        await key(pilot, "r")
        row = shown(screen, "reader")
        assert "读卡测试：" in row and "正在读卡" not in row
        assert app.screen is screen


async def test_editing_settings_writes_the_config_file(settings, tmp_path):
    path = tmp_path / "c.toml"
    settings = replace(settings, config_path=path)
    with LoopbackPrinter() as device:
        app = CashierApp(open_station(settings))
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot)
            screen = await open_hardware(pilot)
            await key(pilot, "e")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, HardwareSettingsDialog)

            # A bad URL is refused in the form; nothing is written.
            dialog.query_one("#printer-url", Input).value = "lpt://1"
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is dialog
            assert "不支持的打印机地址" in str(dialog.query_one("#hw-form-message", Static).visual)
            assert not path.exists()

            await pilot.press("tab", "enter", "down", "enter")  # the paper, by keyboard
            assert dialog.query_one("#paper", Select).value == "58mm"
            dialog.query_one("#printer-url", Input).value = device.url
            dialog.query_one("#max-gap", Input).value = "80"
            dialog.query_one("#printer-url", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            assert app.settings.printer.url == device.url
            assert app.settings.scanner.max_gap_ms == 80
            assert any("设备设置已保存" in m for m in notices(app))
            assert device.url in shown(screen, "printer")
            assert "在线" in shown(screen, "printer")  # the new printer is asked at once

            await key(pilot, "t")  # and prints at once
            await settle(pilot)
        device.wait_idle()
        assert len(device.jobs) == 1

    saved = tomllib.loads(path.read_text(encoding="utf-8"))
    assert saved["printer"]["url"] == device.url
    assert saved["printer"]["paper"] == "58mm"
    assert saved["scanner"]["max_gap_ms"] == 80
    assert path.stat().st_mode & 0o777 == 0o600
    reloaded = load_settings(path, data_dir=settings.data_dir)
    assert reloaded.printer.url == device.url


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "", "请填写打印机地址"),
        ("url", "tcp://", "缺少主机"),
        ("url", "tcp://printer:abc", "打印机地址无效"),
        ("url", "usb://zz", "USB 打印机地址"),
        ("max_gap_ms", "0", "扫码按键间隔"),
        ("max_gap_ms", "", "扫码按键间隔"),
        ("min_length", "99", "扫码最短长度"),
        ("paper", "a3", "纸宽"),
    ],
)
def test_edited_settings_refuses_bad_values(settings, field, value, message):
    form = {"url": "pdf://", "paper": "58mm", "max_gap_ms": "50", "min_length": "6", field: value}
    with pytest.raises(Exception, match=message):
        edited_settings(settings, **form)


def test_edited_settings_keeps_everything_else(settings):
    settings = replace(settings, scanner=ScannerSettings(terminator="tab"))
    new = edited_settings(
        settings, url=" tcp://10.0.0.5:9100 ", paper="58mm", max_gap_ms="40", min_length="8"
    )
    assert new.printer == PrinterSettings("tcp://10.0.0.5:9100", "58mm", True)
    assert new.scanner == ScannerSettings(40, 8, "tab")
    assert replace(new, printer=settings.printer, scanner=settings.scanner) == settings
