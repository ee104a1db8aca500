"""Issue 19, item 6: insurance problems are easy to act on. A suspended patient's card says
so briefly with the date whole on its line, the panel says once what to do and with which
key, and the amount stays on screen; 医保统筹支付 ¥0.00 is explained by the deductible the
visit met; the insured receipt shows 全自费 and 先行自付."""

from __future__ import annotations

import subprocess

import pytest

from cashier.store.models import Sale
from tests.support.pilot import barcode, open_counter, start
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot


def text(widget) -> str:
    return str(widget.render())


async def test_a_suspended_patient_is_said_once_with_the_key(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P008"))  # 暂停参保 since 2026-01-01
        await c.scan(barcode("Y00001"))
        card, panel = text(c.sale.query_one("#patient")), text(c.sale.query_one("#breakdown"))
        assert "暂停参保" in card and "2026-01-01 起" in card.splitlines()[-1]
        assert "不能医保结算" in panel and "Ctrl+S" in panel
        assert "暂停参保" not in panel  # said once, on the card
        total = c.sale.query_one("#total").region
        assert total.bottom <= c.sale.query_one("#entry").region.y  # the amount on screen
        assert "Ctrl+S" in c.notices()


async def test_a_fund_of_nothing_is_explained_and_the_receipt_shows_the_split(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P001"))  # an employee: the 1800 deductible not met this year
        await c.scan(barcode("Y00001"))
        await c.press("f5")
        panel = text(c.sale.query_one("#breakdown"))
        assert "医保统筹支付" in panel and "其中计入起付线" in panel, panel
        await c.press("f9")
        await c.press("f10")
        assert Sale.select().exists(), c.notices()
    sale = Sale.get()
    pdf = settings.receipts_dir / f"{sale.receipt_no}.pdf"
    printed = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for label in ("全自费", "先行自付", "医保统筹", "其中计入起付线"):
        assert label in printed, printed
