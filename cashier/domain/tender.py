"""Taking the patient's part: split tender over payment methods, with change.

Rules: a sale cannot complete with less than is due; only cash may exceed
what is still due (the excess is change); an electronic payment records its
transaction reference and can never overpay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier.messages import say


class Method(StrEnum):
    CASH = "cash"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    BANKCARD = "bankcard"
    OTHER = "other"

    @property
    def label(self) -> str:
        return METHOD_LABELS[self]

    @property
    def needs_reference(self) -> bool:
        return self in (Method.WECHAT, Method.ALIPAY, Method.BANKCARD)


METHOD_LABELS = {
    Method.CASH: "现金",
    Method.WECHAT: "微信支付",
    Method.ALIPAY: "支付宝",
    Method.BANKCARD: "银行卡",
    Method.OTHER: "其他",
}


@dataclass(frozen=True)
class Tender:
    method: Method
    amount: Fen  # handed over; for cash this may exceed what was due
    reference: str = ""


class TenderError(InputError):
    """A tender that cannot be taken, with what to do instead."""


class TenderPlan:
    """The tenders for one amount due, as the cashier takes them."""

    def __init__(self, due: Fen) -> None:
        if due < Fen(0):
            raise ValueError("due must not be negative")
        self.due = due
        self._tenders: list[Tender] = []

    @property
    def tenders(self) -> tuple[Tender, ...]:
        return tuple(self._tenders)

    @property
    def paid(self) -> Fen:
        return Fen.total(t.amount for t in self._tenders)

    @property
    def remaining(self) -> Fen:
        """Still to take (never negative)."""
        return max(self.due - self.paid, Fen(0))

    @property
    def change(self) -> Fen:
        """Cash to hand back (never negative)."""
        return max(self.paid - self.due, Fen(0))

    @property
    def complete(self) -> bool:
        return self.paid >= self.due

    def cash_taken(self) -> Fen:
        """Cash that stays in the drawer: cash handed over less change."""
        return Fen.total(t.amount for t in self._tenders if t.method is Method.CASH) - self.change

    def add(self, method: Method, amount: Fen, reference: str = "") -> Tender:
        """Take one payment; refuse what would break the rules, saying why."""
        reference = reference.strip()
        if amount <= Fen(0):
            raise TenderError(say("domain.tender.positive"))
        if self.complete:
            raise TenderError(say("domain.tender.paid_in_full"))
        if method is not Method.CASH and amount > self.remaining:
            raise TenderError(
                say(
                    "domain.tender.over_remaining",
                    label=method.label,
                    remaining=self.remaining.display(),
                )
            )
        if method.needs_reference and not reference:
            raise TenderError(say("domain.tender.needs_reference", label=method.label))
        if len(reference) > 64 or not reference.isprintable():
            raise TenderError(say("domain.tender.bad_reference"))
        tender = Tender(method, amount, reference)
        self._tenders.append(tender)
        return tender

    def exact_cash(self) -> Tender:
        """Cash for exactly what is still due (the 现金足额 key)."""
        return self.add(Method.CASH, self.remaining)

    def remove(self, index: int) -> Tender:
        return self._tenders.pop(index)
