"""Reconciling the day's 付款码 takings with the provider's own bill (issue 18): the bill is
downloaded and matched with the journal by merchant order number, and every mismatch is
listed — charged there and not here, here and not there, an amount that differs, a refund
on one side only — with the sale to drill into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cashier.domain.money import Fen
from cashier.payments import bills
from cashier.store.models import PaymentCharge, PaymentRefund, Sale

KINDS = {
    "only_there": "支付平台有、本系统没有",
    "only_here": "本系统有、支付平台没有",
    "amount": "金额不符",
    "refund": "退款只在一方",
}


@dataclass(frozen=True)
class Mismatch:
    kind: str  # only_there | only_here | amount | refund
    out_trade_no: str
    there: Fen | None
    here: Fen | None
    receipt_no: str = ""  # the sale, when there is one here

    @property
    def line(self) -> str:
        there = self.there.display() if self.there is not None else "-"
        here = self.here.display() if self.here is not None else "-"
        sale = f" 收据 {self.receipt_no}" if self.receipt_no else ""
        return f"{KINDS[self.kind]}：订单号 {self.out_trade_no} 平台 {there} 本系统 {here}{sale}"


@dataclass(frozen=True)
class Reconciled:
    provider: str
    day: date
    trades: int  # in the provider's bill
    charges: int  # in the journal
    mismatches: tuple[Mismatch, ...]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time()).astimezone().astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def reconcile(provider, day: date) -> Reconciled:
    """The provider's bill for ``day`` against the journal's charges of that (local) day."""
    rows = bills.wechat_rows(provider.bill(day))
    there_paid = {r.out_trade_no: r.amount for r in rows if r.state == "paid"}
    there_refunded: dict[str, Fen] = {}
    for r in rows:
        if r.state == "refund":
            there_refunded[r.out_trade_no] = there_refunded.get(r.out_trade_no, Fen(0)) + r.refunded
    start, end = _bounds(day)
    charges = list(
        PaymentCharge.select().where(
            (PaymentCharge.provider == provider.name)
            & (PaymentCharge.state == "paid")
            & (PaymentCharge.created_at >= start)
            & (PaymentCharge.created_at < end)
        )
    )
    here_paid = {c.out_trade_no: c.amount for c in charges}
    receipts = {
        c.out_trade_no: (Sale.get_by_id(c.sale_id).receipt_no if c.sale_id else "") for c in charges
    }
    here_refunded: dict[str, Fen] = {}
    for r in PaymentRefund.select().where(
        PaymentRefund.charge.in_(list(here_paid)) & (PaymentRefund.state == "done")
    ):
        key = r.charge_id
        here_refunded[key] = here_refunded.get(key, Fen(0)) + r.amount
    found = []
    for out in sorted(set(there_paid) | set(here_paid)):
        there, here = there_paid.get(out), here_paid.get(out)
        if here is None:
            found.append(Mismatch("only_there", out, there, None))
        elif there is None:
            found.append(Mismatch("only_here", out, None, here, receipts[out]))
        elif there != here:
            found.append(Mismatch("amount", out, there, here, receipts[out]))
        elif there_refunded.get(out, Fen(0)) != here_refunded.get(out, Fen(0)):
            found.append(
                Mismatch(
                    "refund", out, there_refunded.get(out, Fen(0)),
                    here_refunded.get(out, Fen(0)), receipts[out],
                )
            )  # fmt: skip
    return Reconciled(provider.name, day, len(there_paid), len(here_paid), tuple(found))
