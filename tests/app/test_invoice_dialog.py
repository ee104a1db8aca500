"""Issue 20 at the till: F4 发票 on the payment screen takes the buyer and a company's tax
number (Enter after the name goes on to it); a tax number whose check character is wrong is
refused and the form comes back with what was typed; the invoice goes with the sale."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.services.station import _EBILL_SANDBOXES, open_station
from cashier.store.models import Outbox, Sale
from cashier.ui.app import CashierApp
from cashier.ui.dialogs.dispensing import InvoiceDialog
from cashier.ui.screens.payment import PaymentScreen
from tests.support.pilot import barcode, login, scan, settle, until

pytestmark = pytest.mark.pilot


@pytest.fixture
def tax_settings(settings):
    yield replace(settings, receipts=replace(settings.receipts, provider="tax"))
    running = _EBILL_SANDBOXES.pop(str(settings.data_dir), None)
    if running is not None:
        running.stop()


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_company_invoice_is_asked_for_and_a_wrong_tax_number_kept_to_correct(
    tax_settings,
):
    app = CashierApp(open_station(tax_settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        await scan(pilot, barcode("Y00001"))
        await until(pilot, lambda: app.screen.checkout.lines)
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, InvoiceDialog))
        await pilot.press(*"ACME", "enter")  # on to the tax number, not given back yet
        await settle(pilot)
        assert isinstance(app.screen, InvoiceDialog)
        await pilot.press(*"91110105MA01234567", "enter")  # its check character is wrong
        await until(pilot, lambda: any("纳税人识别号不对" in n for n in notices(app)))
        await until(pilot, lambda: isinstance(app.screen, InvoiceDialog))
        dialog = app.screen
        assert dialog.query_one("#buyer-name").value == "ACME"
        field = dialog.query_one("#buyer-tax")
        assert field.value == "91110105MA01234567"
        field.value = "91110105MA01234565"
        field.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PaymentScreen))
        assert any("ACME" in n for n in notices(app))
        await pilot.press("f10")  # exact cash
        await until(pilot, lambda: Sale.select().exists())
        assert (
            Outbox.select()
            .where((Outbox.sale == Sale.get().id) & (Outbox.infno == "tax.issue"))
            .exists()
        )
