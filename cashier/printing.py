"""Printing a stored sale's receipt, first time or 重打, through the configured printer."""

from __future__ import annotations

from cashier.checkout import receipt_for, record_reprint
from cashier.config import Settings
from cashier.hardware.printer import Printed, ReceiptPrinter, printer_from_url
from cashier.operators import SignedIn
from cashier.store.models import Sale


def configured_printer(settings: Settings) -> ReceiptPrinter:
    return printer_from_url(
        settings.printer.url, data_dir=settings.data_dir, paper=settings.printer.paper
    )


def receipt_title(settings: Settings) -> str:
    return "药店销售小票" if settings.kind == "pharmacy" else "门诊收费票据"


def print_sale(
    settings: Settings,
    sale_id: int,
    printer: ReceiptPrinter,
    *,
    by: SignedIn | None = None,
    kick_drawer: bool = False,
) -> Printed:
    """Print a completed sale. A sale never printed gets its original; after that, 重打.

    Raises ``DeviceError`` when the printer fails; the sale stays unprinted and
    the next call prints the original again.
    """
    sale = Sale.get_by_id(sale_id)
    reprint = 0
    if sale.printed:
        if by is None:
            raise ValueError("a reprint needs the operator who asks for it")
        reprint = record_reprint(sale, by, settings.station_id)
    receipt = receipt_for(
        sale,
        clinic_name=settings.clinic_name,
        training=settings.training,
        reprint=reprint,
        title=receipt_title(settings),
    )
    printed = printer.print_receipt(receipt, kick_drawer=kick_drawer)
    if not sale.printed:
        Sale.update(printed=True).where(Sale.id == sale.id).execute()
    return printed
