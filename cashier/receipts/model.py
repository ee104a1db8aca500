"""The receipt document: one model, rendered to PDF, ESC/POS and plain text.

The model holds what is printed, already decided: the renderers lay it out
and never compute money. Amounts are :class:`cashier.domain.money.Fen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cashier.domain.money import Fen


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    spec: str
    unit: str
    quantity: int
    price: Fen
    amount: Fen
    fee_category: str = ""
    list_class: str = ""  # 甲 / 乙 / 丙, or "" when not a 医保 item


@dataclass(frozen=True)
class ReceiptTender:
    method_name: str  # 现金, 微信支付, 支付宝, 银行卡, 其他
    amount: Fen  # what this tender pays toward the sale
    reference: str = ""  # masked transaction reference for electronic methods


@dataclass(frozen=True)
class InsuranceSummary:
    """The insured / self-pay split, when the sale was settled with the insurer."""

    insutype_name: str
    setl_id: str
    mdtrt_id: str
    fund_pay: Fen  # 医保统筹 (the pooled fund)
    account_pay: Fen  # 个人账户
    cash_part: Fen  # 现金部分
    balance_after: Fen | None = None
    mutual_aid_pay: Fen = Fen(0)  # 共济
    other_fund_pay: Fen = Fen(0)  # 公务员补助, 大额, 医疗救助 … (every fund but 统筹)
    fulamt_ownpay: Fen = Fen(0)  # 全自费 (丙类 and the like: never the insurer's)
    preselfpay: Fen = Fen(0)  # 先行自付 (the 乙类 share paid first)
    deductible: Fen = Fen(0)  # 本次计入起付线 (act_pay_dedc)
    unmapped: Fen = Fen(0)  # lines with no 医保目录 mapping: never the insurer's, paid in full


@dataclass(frozen=True)
class Receipt:
    title: str  # e.g. 门诊收费票据 / 药店销售小票
    clinic_name: str
    station_id: str
    receipt_no: str
    operator: str  # operator code and name, e.g. "1001 王*"
    issued_at: datetime
    lines: tuple[ReceiptLine, ...]
    total: Fen
    tenders: tuple[ReceiptTender, ...]
    paid: Fen
    change: Fen
    patient: str = ""  # masked name and ID, empty for walk-in sales
    insurance: InsuranceSummary | None = None
    paid_label: str = ""  # "" = 实收 and 找零; a refund slip says 退还患者 and has no change
    total_label: str = ""  # "" = 合计; a refund slip says 退货项目金额
    #: How the amount paid (or given back) is reckoned, row by row, ending at it (a refund:
    #: the patient's net payment, less what the kept items cost again).
    reckoning: tuple[tuple[str, Fen], ...] = ()
    reprint: int = 0  # 0 = original; n = the n-th reprint (shows 重打)
    training: bool = False  # shows 培训模式 — not a valid receipt
    footer: tuple[str, ...] = field(default=("谢谢惠顾，祝您早日康复",))
    #: Where the e-receipt is found (its number and check code), or that it is on its way;
    #: ``ebill_qr`` the e-receipt's own QR (the service's verification address).
    ebill: tuple[str, ...] = ()
    ebill_qr: str = ""

    @property
    def qr_payload(self) -> str:
        """What the receipt's QR code carries: the station and receipt number."""
        return f"CASHIER:{self.station_id}:{self.receipt_no}"
