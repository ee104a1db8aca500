"""The whole self-pay sale driven through the real app with Pilot, as a cashier would."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from cashier.config import PrinterSettings, ScannerSettings
from cashier.domain.money import Fen
from cashier.receipts.escpos import escpos_text
from cashier.services.station import open_station
from cashier.store.models import AuditEntry, Item, Sale, SaleLine, Tender
from cashier.ui.app import CashierApp
from cashier.ui.screens.lock import LockScreen
from cashier.ui.screens.login import LoginScreen
from cashier.ui.screens.payment import PaymentScreen
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import barcode, login, scan, settle, until
from tests.support.printers import LoopbackPrinter
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot


async def ring_up_three_products(pilot) -> list[str]:
    codes = [barcode("Y00001"), barcode("Y00004"), barcode("Y00001"), barcode("Y00010")]
    for code in codes:
        await scan(pilot, code)
    return codes


async def pay_wechat_then_cash(pilot, wechat: str, cash: str) -> None:
    await pilot.press("f9")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PaymentScreen)
    await pilot.press("w", *wechat, "enter")  # amount, then the reference field
    await pilot.press(*"4200001234567890", "enter")
    await pilot.press("x", *cash, "enter")
    await settle(pilot)


def expected_total() -> Fen:
    price = {c: Item.get(Item.code == c).price for c in ("Y00001", "Y00004", "Y00010")}
    return price["Y00001"] * 2 + price["Y00004"] + price["Y00010"]


async def test_self_pay_sale_end_to_end_with_pdf_receipt(settings):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    ctx = open_station(settings)
    app = CashierApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await login(pilot)
        assert isinstance(app.screen, SaleScreen)
        await ring_up_three_products(pilot)
        sale_screen = app.screen
        assert [ln.quantity for ln in sale_screen.checkout.lines] == [2, 1, 1]
        total = expected_total()
        assert sale_screen.checkout.total == total
        await pay_wechat_then_cash(pilot, "30", "200")
        assert isinstance(app.screen, SaleScreen)
        assert app.screen.checkout.lines == []

    sale = Sale.get()
    assert sale.status == "completed" and sale.receipt_no == "TRAIN-01-00000001"
    assert sale.total == total
    assert sale.change == Fen(23000) - total
    assert sale.printed
    lines = list(SaleLine.select().where(SaleLine.sale == sale).order_by(SaleLine.line_no))
    assert [(ln.code, ln.quantity) for ln in lines] == [("Y00001", 2), ("Y00004", 1), ("Y00010", 1)]
    tenders = list(Tender.select().where(Tender.sale == sale).order_by(Tender.seq))
    assert [(t.method, t.amount, t.reference) for t in tenders] == [
        ("wechat", Fen(3000), "4200001234567890"),
        ("cash", Fen(20000), ""),
    ]
    assert AuditEntry.select().where(AuditEntry.action == "sale.complete").count() == 1

    pdf = settings.receipts_dir / "TRAIN-01-00000001.pdf"
    assert pdf.exists()
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for ln in lines:
        assert ln.name in text
    assert str(total) in text
    assert "找零" in text and str(sale.change) in text


async def test_thermal_receipt_decodes_to_the_same_text(settings):
    printer = LoopbackPrinter()
    try:
        settings = replace(
            settings, printer=PrinterSettings(url=f"tcp://127.0.0.1:{printer.port}", paper="58mm")
        )
        app = CashierApp(open_station(settings))
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot)
            await ring_up_three_products(pilot)
            await pay_wechat_then_cash(pilot, "30", "200")
            for _ in range(50):
                if printer.jobs:
                    break
                await pilot.pause(0.05)
    finally:
        printer.close()
    assert len(printer.jobs) == 1
    data = printer.jobs[0]
    assert b"\x1c\x26" in data  # Chinese mode on
    assert b"\x1bp" in data  # cash was taken: the drawer is kicked
    text = escpos_text(data)
    sale = Sale.get()
    for ln in sale.lines:
        assert ln.name in text
    assert f"￥{sale.total}" in text
    assert "找零" in text and str(sale.change) in text


async def test_dead_printer_keeps_the_sale_and_f11_prints_it_later(settings):
    settings = replace(settings, printer=PrinterSettings(url="tcp://127.0.0.1:1"))
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await pilot.press("f10")  # exact cash: one key
        await settle(pilot)
        sale = Sale.get()
        assert sale.status == "completed" and not sale.printed
        # The printer comes back: F11 prints the original, not a 重打.
        printer = LoopbackPrinter()
        app.settings = replace(
            settings, printer=PrinterSettings(url=f"tcp://127.0.0.1:{printer.port}")
        )
        try:
            await pilot.press("f11")
            await settle(pilot)
            for _ in range(50):
                if printer.jobs:
                    break
                await pilot.pause(0.05)
        finally:
            printer.close()
        assert "重打" not in escpos_text(printer.jobs[0])
        assert Sale.get().printed and Sale.get().reprints == 0


async def test_reprint_says_so_and_is_counted(settings):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f11")
        await settle(pilot)
    sale = Sale.get()
    assert sale.reprints == 1
    reprint = settings.receipts_dir / f"{sale.receipt_no}-重打1.pdf"
    text = subprocess.run([pdftotext, str(reprint), "-"], capture_output=True, text=True).stdout
    assert "重打" in text
    assert AuditEntry.select().where(AuditEntry.action == "sale.reprint").count() == 1


async def test_typing_is_not_a_scan_and_bad_input_is_a_message(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        screen = app.screen
        # A person types slowly: every key reaches the entry field.
        for ch in "amxl":
            await pilot.press(ch)
            await pilot.pause(0.35)
        assert screen.query_one("#entry").value == "amxl"
        await pilot.press("enter")  # not a code: opens the search with the text
        await settle(pilot)
        await pilot.press("enter")  # picks the first hit
        await settle(pilot)
        assert screen.checkout.lines and screen.checkout.lines[0].name.startswith("阿莫西林")
        # An unknown barcode is a message, not a crash; nothing is added.
        await scan(pilot, "6900000000014")
        assert len(screen.checkout.lines) == 1
        # F4 changes the quantity; a bad quantity is refused with a message.
        await pilot.press("f4", "ctrl+a", *"0", "enter")
        await pilot.press("escape")
        assert screen.checkout.lines[0].quantity == 1
        await pilot.press("f4", *"3", "enter")
        await settle(pilot)
        assert screen.checkout.lines[0].quantity == 3
        # F12 voids after a confirmation.
        await pilot.press("f12", "enter")
        await settle(pilot)
        assert screen.checkout.lines == []
    assert Sale.get().status == "voided"


async def test_payment_rules_on_screen(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))  # 12.50
        await pilot.press("f9")
        await settle(pilot)
        pay = app.screen
        # Alipay cannot overpay; the tender is refused and nothing is taken.
        await pilot.press("z", *"20", "enter", *"2088000011112222", "enter")
        assert pay.plan.paid == Fen(0)
        # Esc goes back while nothing is taken.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert Sale.select().count() == 0


async def test_idle_lock_needs_the_pin(settings):
    settings = replace(settings, idle_lock_seconds=1)
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        app.last_input -= 10
        app._check_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"0000", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"1234", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)


async def test_training_station_starts_its_sandbox_insurer(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):  # the connection starts half a second after the first paint
            if app.insurer is not None:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        assert app.insurer is not None and app.insurer.sandbox is not None
        assert app.insurer.client.sign_no(("1001", "王小美"))


async def test_a_scan_while_a_dialog_is_open_still_reaches_the_sale(settings):
    from cashier.ui.dialogs.help import HelpScreen

    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        sale = app.screen
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await scan(pilot, barcode("Y00001"))
        assert isinstance(app.screen, HelpScreen)  # the dialog stays; the item is rung up
        assert [ln.code for ln in sale.checkout.lines] == ["Y00001"]
        # A locked screen takes no scans: nothing is added behind it.
        await pilot.press("escape")
        app.action_lock()
        await pilot.pause()
        await scan(pilot, barcode("Y00001"))
        assert sale.checkout.lines[0].quantity == 1


async def test_customer_display_follows_the_sale(settings):
    calls = []

    class Recorder:
        def __getattr__(self, method):
            return lambda *args: calls.append((method, *args))

    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        app._customer_display = Recorder()
        await scan(pilot, barcode("Y00001"))
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
    price = Item.get(Item.code == "Y00001").price
    assert calls[0] == ("show_line", "阿莫西林胶囊", price)
    assert ("show_total", price) in calls
    assert calls[-1] == ("show_payment", price, Fen(0))


async def test_serial_and_camera_scanners_ring_up_items(settings, tmp_path):
    import os

    from bench.camera import ean13_image, frame

    master, slave = os.openpty()
    frames = tmp_path / "frames"
    frames.mkdir()
    settings = replace(
        settings,
        scanner=ScannerSettings(max_gap_ms=300, serial_port=os.ttyname(slave), camera=str(frames)),
    )
    ctx = open_station(settings)
    frame(ean13_image(barcode("Y00004"))).save(frames / "0001.png")
    app = CashierApp(ctx)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            # Not `login`: the scanner comes up with the sale screen, not after it.
            await pilot.press(*"1001", "enter", *"1234", "enter")
            for _ in range(100):
                if isinstance(app.screen, SaleScreen):
                    break
                await pilot.pause(0.05)
            os.write(master, barcode("Y00001").encode() + b"\r\n")
            for _ in range(100):
                codes = {ln.code for ln in app.screen.checkout.lines}
                if codes >= {"Y00001", "Y00004"}:
                    break
                await pilot.pause(0.05)
            assert {ln.code: ln.quantity for ln in app.screen.checkout.lines} == {
                "Y00001": 1,
                "Y00004": 1,  # the camera saw it once, however many frames
            }
    finally:
        os.close(master)
        os.close(slave)


async def test_no_operator_change_while_a_payment_holds_money(settings):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await pilot.press("f9")
        await settle(pilot)
        pay = app.screen
        await pilot.press("w", *"5", "enter", *"4200000000000009", "enter")
        assert pay.plan.tenders
        app.action_lock()
        await pilot.pause()
        await pilot.press("ctrl+q")  # 换人登录 on the lock screen
        await pilot.pause()
        assert app.operator is not None and pay in app.screen_stack
    assert not Sale.select().exists()  # nothing voided behind the cashier's back


async def test_key_bar_follows_the_screen_and_sales_leave_no_widgets_behind(settings):
    """The key bar shows the active screen's keys, and a finished sale lets its payment
    screen and every widget of it go: Textual's Footer, which the key bar replaced, kept some
    twenty per sale (Textual #6666). Checked on what the app holds (the screens and widgets of
    finished sales, by weak reference), not on how many widgets happen to be up."""
    import gc
    import weakref

    from cashier.ui.widgets.keybar import KeyBar

    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)

        def keys() -> str:
            return app.screen.query_one(KeyBar).visual.plain

        assert "^O功能" in keys() and "F9收款" not in keys()  # between patients
        sales = []  # per sale: weak references to its payment screen and the screen's widgets
        for _ in range(6):
            await scan(pilot, barcode("Y00001"))
            await until(pilot, lambda: "F9收款" in keys())  # a bill: its keys
            assert "F10现金足额" in keys() and "F12作废" in keys() and "^G挂单" in keys()
            await pilot.press("f9")
            await settle(pilot)
            assert isinstance(app.screen, PaymentScreen)
            assert "F12作废" not in keys() and "Esc" in keys()  # the payment screen's own
            sales.append([weakref.ref(w) for w in (app.screen, *app.screen.walk_children())])
            await pilot.press("f10")
            await settle(pilot)
            assert isinstance(app.screen, SaleScreen)

        # What a sale let go is collected once Textual has finished with it (its last frame may
        # still be on the way on a loaded machine): wait, a frame at a time. Held at random
        # before: each worker thread kept the last worker it ran, and so its screen
        # (cashier.ui.textual_fixes.FreshContextExecutor).
        def kept() -> list[int]:
            gc.collect()
            return [n for n, refs in enumerate(sales) if any(r() is not None for r in refs)]

        for _ in range(200):
            if not kept():
                break
            app.clear_notifications()
            await settle(pilot)
        assert not kept(), f"the screens of sales {kept()} are still held"
        assert len(app.screen.query(KeyBar)) == 1  # one key bar: the sale screen's
