"""Receipt documents: one model, renderers for PDF, ESC/POS and plain text."""

from cashier.receipts.model import InsuranceSummary, Receipt, ReceiptLine, ReceiptTender

__all__ = ["InsuranceSummary", "Receipt", "ReceiptLine", "ReceiptTender"]
