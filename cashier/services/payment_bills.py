"""Reconciling the day's 付款码 takings with the provider's own bill (issue 18): the bill is
downloaded and matched with the journal by merchant order number, and every mismatch is
listed — charged there and not here, here and not there, an amount that differs, a refund
on one side only — with the sale to drill into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cashier.domain.money import Fen
from cashier.store.models import PaymentCharge, PaymentRefund, Sale

#: The same, short enough for a table row at 80 columns.
SHORT_KINDS = {
    "only_there": "仅平台有",
    "only_here": "仅本系统有",
    "amount": "金额不符",
    "refund": "退款不符",
}
KINDS = {
    "only_there": "支付平台有、本系统没有",
    "only_here": "本系统有、支付平台没有",
    "amount": "金额不符",
    "refund": "退款只在一方",
}


#: Journal states in which a charge took the patient's money (refunded: given back whole by
#: a refund, which the bill shows as a refund row of its own).
TAKEN = ("paid", "refunded")


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
    """The provider's bill for ``day`` against the journal's charges of that (local) day.

    A charge paid and then reversed or refunded whole is in the bill as paid and given back
    (Alipay: a 交易 row and a 退款 row; WeChat Pay: REVOKED) and here as reversed: no
    mismatch, since on both sides nothing was kept."""
    rows = provider.bill(day)
    there_paid: dict[str, Fen] = {}
    there_back: dict[str, Fen] = {}
    for r in rows:
        if r.state == "paid":
            there_paid[r.out_trade_no] = there_paid.get(r.out_trade_no, Fen(0)) + r.amount
        elif r.state == "refund":
            there_back[r.out_trade_no] = there_back.get(r.out_trade_no, Fen(0)) + r.refunded
        elif r.state == "revoked":
            there_paid.setdefault(r.out_trade_no, r.amount)
            there_back[r.out_trade_no] = r.amount
    start, end = _bounds(day)
    charges = {
        c.out_trade_no: c
        for c in PaymentCharge.select().where(
            (PaymentCharge.provider == provider.name)
            & (PaymentCharge.created_at >= start)
            & (PaymentCharge.created_at < end)
        )
    }
    kept = {out: c for out, c in charges.items() if c.state in TAKEN}
    here_back: dict[str, Fen] = {}
    for r in PaymentRefund.select().where(
        PaymentRefund.charge.in_(list(kept)) & (PaymentRefund.state == "done")
    ):
        here_back[r.charge_id] = here_back.get(r.charge_id, Fen(0)) + r.amount
    sale_ids = {c.sale_id for c in kept.values() if c.sale_id}
    receipts = {
        s.id: s.receipt_no for s in Sale.select(Sale.id, Sale.receipt_no).where(Sale.id.in_(list(sale_ids)))
    } if sale_ids else {}  # fmt: skip

    def receipt(out: str) -> str:
        c = charges.get(out)
        return receipts.get(c.sale_id, "") if c is not None and c.sale_id else ""

    zero = Fen(0)
    found = []
    for out in sorted(set(there_paid) | set(kept)):
        there, here = there_paid.get(out), kept[out].amount if out in kept else None
        back_there, back_here = there_back.get(out, zero), here_back.get(out, zero)
        if here is None:
            if there is not None and there - back_there != zero:
                found.append(Mismatch("only_there", out, there, None, receipt(out)))
        elif there is None:
            found.append(Mismatch("only_here", out, None, here, receipt(out)))
        elif there != here:
            found.append(Mismatch("amount", out, there, here, receipt(out)))
        elif back_there != back_here:
            found.append(Mismatch("refund", out, back_there, back_here, receipt(out)))
    paid_there = sum(
        1
        for out in there_paid
        if there_paid[out] - there_back.get(out, zero) != zero or out in kept
    )
    return Reconciled(provider.name, day, paid_there, len(kept), tuple(found))


def reconcile_day(providers, day: date, station: str, operator: str) -> list[Reconciled]:
    """Every given provider's bill for ``day`` against the journal, each reconciliation
    audited (``reconcile.payments``): the command line's and the screen's one way."""
    from cashier.services import audit

    results = []
    for provider in providers:
        result = reconcile(provider, day)
        audit.record(station, "reconcile.payments", operator=operator,
                     subject=f"{result.provider} {day}", mismatches=len(result.mismatches))  # fmt: skip
        results.append(result)
    return results
