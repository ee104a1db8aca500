"""The receipt as plain fixed-width text, for the screen."""

from __future__ import annotations

from cashier.receipts.layout import receipt_text_lines
from cashier.receipts.model import Receipt

__all__ = ["render_text"]


def render_text(receipt: Receipt, columns: int = 48) -> str:
    """The receipt in ``columns`` display cells per row (at least 32), rows joined by newlines.

    Wide characters count two cells, as a terminal shows them; the QR code is
    left out (the screen has its own way to show the receipt number).
    """
    return "\n".join(
        line.text for line in receipt_text_lines(receipt, columns) if line.style != "qr"
    )
