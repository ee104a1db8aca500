"""The refund screen with Pilot at 80×24: find, choose, a supervisor approves, slip printed."""

from __future__ import annotations

import subprocess

import pytest

from cashier.devices.scanner import classify
from cashier.domain.money import Fen
from cashier.store.models import InsuredSettlement, Refund, Sale
from cashier.ui.screens.refund import RefundScreen
from cashier.ui.screens.sale import SaleScreen
from cashier_sandbox import state
from tests.support.pilot import barcode, open_counter, start
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot


async def open_refunds(c) -> None:
    """功能 (Ctrl+O) → 2 退款. A typed digit waits out the scanner's gap before it counts."""
    await c.press("ctrl+o", "2")
    await c.pilot.pause(0.45)
    assert isinstance(c.app.screen, RefundScreen)


async def test_insured_sale_refunded_in_full_from_the_menu(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P004"))  # a resident's demo order: pooled fund and cash
        await c.press("f10")
        assert Sale.select().exists(), c.notices()
        sale = Sale.get()
        assert sale.kind == "insured"
        await open_refunds(c)
        assert isinstance(app.screen, RefundScreen)
        # typed in (set, not pressed: under load Pilot's keys may split into scan and typing)
        app.screen.query_one("#receipt-no").value = sale.receipt_no
        await c.press("enter")
        assert app.screen.sale is not None and "请选择要退的项目" in str(
            app.screen.query_one("#refund-summary").render()
        )  # nothing goes back until it is chosen
        await c.press("f9")  # everything
        assert "全部退款" in str(app.screen.query_one("#refund-summary").render())
        await c.press("f10")  # no reason yet: asked for, nothing done
        assert not Refund.select().exists()
        app.screen.query_one("#reason").value = "患者不需要了"
        app.screen.query_one("#sup-code").value = "1001"  # a cashier cannot approve
        app.screen.query_one("#sup-pin").value = "1234"
        await c.press("f10")
        assert not Refund.select().exists() and "不是收费组长" in c.notices()
        app.screen.query_one("#sup-code").value = "9001"
        app.screen.query_one("#sup-pin").value = "9999"
        await c.press("f10")
        result = str(app.screen.query_one("#refund-result").render())
        assert "已退款" in result, c.notices()
        await c.press("escape")
        assert isinstance(app.screen, SaleScreen)
    refund = Refund.get()
    row = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert row.status == "cancelled" and state.Settlement.get().cancelled
    assert refund.approved_by == "9001" and refund.requested_by == "1001"
    assert Sale.get_by_id(sale.id).status == "refunded"
    pdf = settings.receipts_dir / f"{refund.refund_no}.pdf"
    text = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "退款凭证" in text and sale.receipt_no in text and "已撤销" in text


async def test_partial_self_pay_refund_by_scanning_the_receipt(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(barcode("Y00001"))
        await c.scan(barcode("Y00001"))
        await c.scan(barcode("Y00004"))
        await c.press("f10")
        sale = Sale.get()
        await open_refunds(c)
        app.screen.handle_scan(classify(f"CASHIER:{sale.station_id}:{sale.receipt_no}"))  # its QR
        await c.pilot.pause()
        screen = app.screen
        assert screen.sale is not None and screen.sale.id == sale.id
        # keep one amoxicillin and the cefixime: one amoxicillin back, chosen by keys from
        # nothing (the amoxicillin is the first line): F4, 1, Enter
        assert not any(screen.quantities.values())
        await c.press("f4")
        dialog = app.screen
        dialog.query_one("#quantity").value = "1"
        await c.press("enter")
        assert isinstance(app.screen, RefundScreen)
        assert "退货金额 ￥12.50" in str(screen.query_one("#refund-summary").render())
        screen.query_one("#reason").value = "多开一盒"
        screen.query_one("#sup-code").value = "9001"
        screen.query_one("#sup-pin").value = "9999"
        await c.press("f10")
        assert "新票据号" in str(screen.query_one("#refund-result").render()), c.notices()
    refund = Refund.get()
    new = refund.resettled_sale
    assert refund.kind == "partial" and new.total == sale.total - Fen.parse("12.50")
