"""Payment providers at the counter: WeChat Pay and Alipay 付款码 (a code the patient shows).

One small interface (:class:`Provider`): pay, query, reverse, refund, refund query and the
day's bill; each provider's module speaks its real protocol and maps its result codes to
one :class:`Outcome` and one message in the cashier's words. The journal and the exactly-once rules are the counter's
(:mod:`cashier.services.payments`); a provider module only talks.

A connect failure means the request never left (:class:`NotSent`); anything after it left
and before a readable, signed answer came back is in doubt (:class:`InDoubt`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from cashier.domain.money import Fen
from cashier.errors import CashierError

if TYPE_CHECKING:
    from cashier.payments.bills import BillRow


#: The providers' names as the cashier reads them.
LABELS = {"wechat": "微信支付", "alipay": "支付宝"}


class Outcome(StrEnum):
    PAID = "paid"  # the money is taken
    WAITING = "waiting"  # the payer must confirm on the phone (USERPAYING / 10003)
    REFUSED = "refused"  # not charged, for a reason the cashier can act on
    UNKNOWN = "unknown"  # the provider could not say (SYSTEMERROR, BANKERROR, 20000 …)
    CLOSED = "closed"  # the order is closed / reversed: not charged, never will be
    NOT_FOUND = "not_found"  # the provider has no such order (never arrived)


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    code: str = ""  # the provider's own code (err_code, sub_code, trade_state)
    message: str = ""  # for the cashier, in Chinese
    trade_no: str = ""  # the provider's transaction id, once paid
    amount: Fen | None = None  # what the provider says was charged


@dataclass(frozen=True)
class Reversal:
    done: bool  # the order is reversed (or was never paid): nothing is taken
    retry: bool = False  # the provider asks for the reverse again (recall=Y / retry_flag=Y)
    too_late: bool = False  # past the reverse window: a refund gives it back
    message: str = ""


@dataclass(frozen=True)
class RefundAnswer:
    accepted: bool  # the provider took the refund (processing or done)
    done: bool = False  # the money is back (SUCCESS)
    message: str = ""


class PaymentError(CashierError):
    """A payment call that failed in a way the cashier should hear about. Its ``code`` says
    what about: ``payment.no_network``, ``payment.bad_signature`` (a key or certificate
    that is not the merchant's, or an answer not signed as the provider signs),
    ``payment.bad_key``, ``payment.wrong_merchant``, ``payment.clock`` …"""

    code = "payment"


class NotSent(PaymentError):
    """The request never reached the provider (no connection): nothing was charged."""

    code = "payment.not_sent"


class InDoubt(PaymentError):
    """The request left; what the provider did is not known (timeout, reset, a bad answer)."""

    code = "payment.in_doubt"


class Provider(Protocol):
    name: str  # wechat | alipay

    def pay(self, out_trade_no: str, auth_code: str, amount: Fen, description: str) -> Answer: ...

    def query(self, out_trade_no: str) -> Answer: ...

    def reverse(self, out_trade_no: str) -> Reversal: ...

    def refund(
        self, out_trade_no: str, out_refund_no: str, total: Fen, amount: Fen
    ) -> RefundAnswer: ...

    def refund_query(self, out_trade_no: str, out_refund_no: str) -> RefundAnswer: ...

    def bill(self, day: date) -> list[BillRow]: ...


def mask_code(code: str) -> str:
    """A 付款码 as it may be kept: its first and last four digits (it charges once, but a
    log or a database is no place for a code that can still be charged)."""
    code = code.strip()
    return code[:4] + "*" * max(len(code) - 8, 0) + code[-4:] if len(code) > 8 else "*" * len(code)
