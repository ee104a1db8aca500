"""E-receipts and e-invoices: the finance bureau's electronic receipt (财政电子票据) a public
clinic issues for every sale, and the tax office's digital invoice (数电发票) a pharmacy
issues when a patient asks. Each provider speaks its service's real protocol and signing
(``fiscal``, ``tax``); the counter queues its documents in the outbox and sends them in the
background (``cashier.services.ebills``)."""

from __future__ import annotations

from dataclasses import dataclass

from cashier.errors import CashierError


class EBillError(CashierError):
    """The service refused (``code``: its own result code)."""

    code = "ebill.refused"

    def __init__(self, message: str, *, result: str = "") -> None:
        super().__init__(message)
        self.result = result


class EBillNotSent(CashierError):
    """No connection was made: nothing reached the service."""

    code = "ebill.no_network"


class EBillInDoubt(CashierError):
    """Sent, and no trustworthy answer came back: the service may have acted."""

    code = "ebill.in_doubt"


@dataclass(frozen=True)
class EBill:
    """An issued e-receipt or e-invoice, as the patient finds it."""

    batch_code: str  # 票据代码 (billBatchCode) / 发票代码
    number: str  # 票据号码 (billNo) / 发票号码
    check_code: str  # 校验码 (random)
    created: str  # createTime
    qr: str  # billQRCode: what the slip's second QR carries
    url: str  # pictureUrl / pdfUrl
