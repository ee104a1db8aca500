"""Charging a 付款码 exactly once (issue 18): journal, pay, wait for the payer, query, reverse.

Every charge is written down (``PaymentCharge``, committed) under its own merchant order
number before the provider hears of it; the same number is used for every query and
reverse of it, so nothing is ever charged twice. Then:

* paid: the tender is the provider's, with its trade number;
* refused (余额不足, 付款码过期 …): nothing taken, the cashier told why, the bill open;
* the payer must confirm on the phone (USERPAYING): asked again every few seconds while
  ``keep_waiting`` says so (the screen's countdown and its key to give up), then reversed;
* in doubt (a timeout, SYSTEMERROR, a lost or unreadable answer): asked again, and still
  unknown at the deadline, reversed — never left charged without a tender.

What could not be settled either way stays ``in_doubt`` in the journal, for the next start
(and the supervisor) to resolve with the provider.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cashier import faults
from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier.messages import say
from cashier.payments import (
    LABELS,
    Answer,
    InDoubt,
    NotSent,
    Outcome,
    PaymentError,
    Provider,
    mask_code,
)
from cashier.store.models import PaymentCharge, PaymentRefund, database, utcnow

#: How often a payer still typing a password is asked about, and for how long (WeChat asks
#: merchants to query for up to 30 seconds before reversing; Alipay likewise).
POLL_EVERY_S = 5.0
POLLS = 6
#: Reverse is tried again while the provider asks for it (recall=Y / retry_flag=Y).
REVERSE_TRIES = 5


class ChargeRefused(PaymentError):
    """Not charged; the message says why and what to do (another code, another method)."""


class ChargeUndone(PaymentError):
    """The charge could not be confirmed and was reversed: nothing taken."""


class ChargeInDoubt(PaymentError):
    """Neither confirmed nor reversed: the journal keeps it for the next start to resolve."""


@dataclass(frozen=True)
class Charged:
    out_trade_no: str
    provider: str
    amount: Fen
    trade_no: str  # the provider's transaction id (the tender's reference)


def new_out_trade_no(station: str) -> str:
    """Ours, unique across stations and restarts, at most 32 characters (both providers)."""
    stamp = utcnow().strftime("%y%m%d%H%M%S")
    return f"{''.join(c for c in station if c.isalnum())[:10]}{stamp}{secrets.token_hex(4)}"


def charge(
    provider: Provider,
    *,
    station: str,
    bill: str,
    operator: str,
    amount: Fen,
    auth_code: str,
    due: Fen,
    description: str = "",
    keep_waiting: Callable[[int], bool] | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> Charged:
    """Charge ``amount`` (never more than ``due``) to the 付款码 ``auth_code``, exactly once."""
    description = description or say("payments.description")
    if not isinstance(amount, Fen) or amount <= Fen(0):
        raise InputError(say("payments.amount_positive"))
    if amount > due:
        raise InputError(say("payments.over_due", amount=amount.display(), due=due.display()))
    out_trade_no = new_out_trade_no(station)
    with database.atomic():
        PaymentCharge.create(
            out_trade_no=out_trade_no,
            station=station,
            provider=provider.name,
            bill=bill,
            operator=operator,
            amount=amount,
            code=mask_code(auth_code),
            state="pending",
        )
    faults.crash_point("before_send", "charge")  # journaled, not sent
    try:
        answer = provider.pay(out_trade_no, auth_code, amount, description)
        faults.crash_point("after_answer", "charge")  # the provider answered, we did not act
    except NotSent as exc:
        _record(out_trade_no, "failed", message=str(exc))
        raise ChargeRefused(str(exc)) from None
    except InDoubt:
        answer = Answer(Outcome.UNKNOWN, "IN_DOUBT")
    return _follow(provider, out_trade_no, amount, answer, keep_waiting, pause)


def _follow(provider, out_trade_no, amount, answer, keep_waiting, pause) -> Charged:
    """From the pay call's answer to paid, refused, or reversed."""
    waited = 0
    while True:
        if answer.outcome is Outcome.PAID:
            if answer.amount is not None and answer.amount != amount:
                said = say(
                    "payments.other_amount",
                    charged=answer.amount.display(),
                    amount=amount.display(),
                )
                if _reverse(provider, out_trade_no):  # charged another amount: give it back
                    raise ChargeUndone(say("payments.other_amount_undone", said=said))
                raise ChargeInDoubt(
                    say("payments.other_amount_in_doubt", said=said, order=out_trade_no)
                )
            _record(out_trade_no, "paid", trade_no=answer.trade_no)
            return Charged(out_trade_no, provider.name, amount, answer.trade_no)
        if answer.outcome in (Outcome.REFUSED, Outcome.CLOSED):
            _record(out_trade_no, "failed", message=answer.message)
            raise ChargeRefused(answer.message or say("payments.not_charged"))
        # WAITING, UNKNOWN, or not found (yet): ask again while there is time, then reverse.
        waited += 1
        if waited > POLLS or (keep_waiting is not None and not keep_waiting(waited)):
            break
        pause(POLL_EVERY_S)
        try:
            answer = provider.query(out_trade_no)
        except (InDoubt, NotSent):
            answer = Answer(Outcome.UNKNOWN, "QUERY_FAILED")
    if _reverse(provider, out_trade_no):
        raise ChargeUndone(say("payments.undone"))
    raise ChargeInDoubt(say("payments.in_doubt", order=out_trade_no))


def _reverse(provider: Provider, out_trade_no: str) -> bool:
    """Reverse the order (retrying while asked); past the reverse window (the payer paid just
    too late), refund it whole instead. Whether nothing is taken now."""
    for _ in range(REVERSE_TRIES):
        faults.crash_point("reverse")
        try:
            reversal = provider.reverse(out_trade_no)
        except (InDoubt, NotSent):
            continue
        if reversal.done and not reversal.retry:
            _record(out_trade_no, "reversed")
            return True
        if reversal.too_late:
            return _refund_whole(provider, out_trade_no)
    _record(out_trade_no, "in_doubt")
    return False


def _refund_whole(provider: Provider, out_trade_no: str) -> bool:
    """A charge that can no longer be reversed goes back by a refund of all of it, journaled
    under the charge's own refund number (so it is never refunded twice)."""
    row = PaymentCharge.get_by_id(out_trade_no)
    with database.atomic():
        refund_row, _ = PaymentRefund.get_or_create(
            out_refund_no=f"{out_trade_no}R",
            defaults={
                "charge": out_trade_no,
                "station": row.station,
                "amount": row.amount,
                "state": "pending",
            },
        )
    if _send_refund(provider, refund_row) == "done":
        _record(out_trade_no, "refunded")
        return True
    _record(out_trade_no, "in_doubt")
    return False


def _record(out_trade_no: str, state: str, *, trade_no: str = "", message: str = "") -> None:
    fields = {"state": state, "updated_at": utcnow(), "message": message[:200]}
    if trade_no:
        fields["trade_no"] = trade_no
    with database.atomic():
        PaymentCharge.update(**fields).where(PaymentCharge.out_trade_no == out_trade_no).execute()


def charges_of(bill: str) -> list[PaymentCharge]:
    """The bill's charges, oldest first."""
    return list(
        PaymentCharge.select().where(PaymentCharge.bill == bill).order_by(PaymentCharge.created_at)
    )


def give_back(provider: Provider, out_trade_no: str) -> None:
    """Undo a paid charge that is not part of a completed sale (Del on its tender, or a bill
    abandoned): reversed with the provider; past the reverse window it stays, and the
    cashier is told to refund it once the sale is complete."""
    charge_row = PaymentCharge.get_by_id(out_trade_no)
    if charge_row.sale_id is not None:
        raise InputError(say("payments.part_of_a_sale"))
    if _reverse(provider, out_trade_no):
        return
    raise ChargeInDoubt(say("payments.cannot_give_back", order=out_trade_no))


@dataclass(frozen=True)
class Resolved:
    out_trade_no: str
    provider: str
    amount: Fen
    outcome: str  # reversed | not_charged | in_doubt

    @property
    def state(self) -> str:
        return self.outcome

    @property
    def message(self) -> str:
        return say(
            "payments.resolved",
            amount=self.amount.display(),
            order=self.out_trade_no,
            what=say(f"payments.resolved.{self.outcome}"),
        )


def resolve_open(
    providers: dict, station: str, keep: frozenset[str] | set[str] = frozenset()
) -> list[Resolved]:
    """At start-up, and on demand from the supervisor's menu: every charge of this station
    that no completed sale holds and that is not a tender of a bill still open at this
    counter (``keep``: their merchant order numbers) is asked about and given back: nothing
    stays charged without a tender. A provider not configured now leaves its charges for
    later."""
    open_rows = PaymentCharge.select().where(
        (PaymentCharge.station == station)
        & PaymentCharge.sale.is_null()
        & PaymentCharge.state.in_(["pending", "in_doubt", "paid"])
        & PaymentCharge.out_trade_no.not_in(list(keep) or [""])
    )
    done = []
    for row in open_rows.order_by(PaymentCharge.created_at):
        provider = providers.get(row.provider)
        if provider is None:
            continue
        try:
            before = provider.query(row.out_trade_no).outcome
        except (InDoubt, NotSent):
            before = Outcome.UNKNOWN
        # Reversed in every case: it also closes an order that arrives late.
        if not _reverse(provider, row.out_trade_no):
            outcome = "in_doubt"
        elif before in (Outcome.NOT_FOUND, Outcome.REFUSED):  # closed: reversed, given back
            outcome = "not_charged"
        else:
            outcome = "reversed"
        done.append(Resolved(row.out_trade_no, row.provider, row.amount, outcome))
    return done


def attach_to_sale(bill: str, sale_id: int) -> None:
    """The bill's paid charges belong to its completed sale (call in the sale's transaction)."""
    PaymentCharge.update(sale=sale_id).where(
        (PaymentCharge.bill == bill) & (PaymentCharge.state == "paid")
    ).execute()


# -- refunds through the channel the money came from ------------------------------------------
@dataclass(frozen=True)
class ChannelRefund:
    provider: str
    amount: Fen
    state: str  # done | pending | failed

    @property
    def message(self) -> str:
        return say(
            f"payments.refund.{self.state}",
            provider=LABELS.get(self.provider, self.provider),
            amount=self.amount.display(),
        )


def provider_names_of(sale_id: int) -> set[str]:
    """The providers a completed sale was paid through (its charges)."""
    rows = PaymentCharge.select(PaymentCharge.provider).where(
        (PaymentCharge.sale == sale_id) & (PaymentCharge.state == "paid")
    )
    return {r.provider for r in rows}


def refund_channels(
    providers: dict, sale_id: int, refund_id: int, back: dict[str, Fen], station: str
) -> list[ChannelRefund]:
    """Send ``back[provider]`` to each provider the sale was paid through, spread over its
    charges (each up to what it took), one journaled refund per charge under a number fixed
    by the charge: asked again (a retry, the next start), it is the same refund, never a
    second one."""
    done = []
    for name, amount in back.items():
        left = amount
        charges = PaymentCharge.select().where(
            (PaymentCharge.sale == sale_id)
            & (PaymentCharge.provider == name)
            & (PaymentCharge.state == "paid")
        )
        for charge_row in charges.order_by(PaymentCharge.created_at):
            if left <= Fen(0):
                break
            part = min(left, charge_row.amount)
            left -= part
            out_refund_no = f"{charge_row.out_trade_no}R"
            with database.atomic():
                row, _ = PaymentRefund.get_or_create(
                    out_refund_no=out_refund_no,
                    defaults={
                        "charge": charge_row.out_trade_no,
                        "refund": refund_id,
                        "station": station,
                        "amount": part,
                        "state": "pending",
                    },
                )
            done.append(ChannelRefund(name, part, _send_refund(providers.get(name), row)))
    return done


def _send_refund(provider: Provider | None, row: PaymentRefund) -> str:
    """Send (or send again) one journaled channel refund; its state now."""
    if row.state != "pending":
        return row.state
    if provider is None:
        return "pending"
    charge_row = row.charge
    faults.crash_point("before_send", "refund")  # the channel refund journaled, not sent
    try:
        answer = provider.refund(
            charge_row.out_trade_no, row.out_refund_no, charge_row.amount, row.amount
        )
    except (InDoubt, NotSent):
        try:
            answer = provider.refund_query(charge_row.out_trade_no, row.out_refund_no)
        except (InDoubt, NotSent):
            return "pending"  # the next start asks again, under the same number
        if not answer.accepted:
            return "pending"  # not there (yet): sent again, same number, never twice
    state = "done" if answer.accepted else "failed"
    with database.atomic():
        PaymentRefund.update(state=state, message=answer.message[:200], updated_at=utcnow()).where(
            PaymentRefund.out_refund_no == row.out_refund_no
        ).execute()
    return state


def finish_refunds(providers: dict, station: str) -> list[ChannelRefund]:
    """At start-up: channel refunds left pending (an answer lost, a crash) sent again."""
    out = []
    pending = PaymentRefund.select().where(
        (PaymentRefund.station == station) & (PaymentRefund.state == "pending")
    )
    for row in pending.order_by(PaymentRefund.created_at):
        name = row.charge.provider
        out.append(ChannelRefund(name, row.amount, _send_refund(providers.get(name), row)))
    return out


@dataclass(frozen=True)
class Check:
    provider: str
    ok: bool
    message: str


def check(provider: Provider) -> Check:
    """One harmless signed call (a query for an order that does not exist): the answer says
    whether the keys, the merchant and the clock are right, in the cashier's words."""
    label = LABELS.get(provider.name, provider.name)

    def said(ok: bool, what: str) -> Check:
        return Check(provider.name, ok, say("payments.check.said", provider=label, what=what))

    try:
        answer = provider.query(f"CHECK{secrets.token_hex(8)}")
    except (NotSent, InDoubt) as exc:  # switched on its code, never on its words
        if exc.code == "payment.no_network":
            return said(False, say("payments.check.no_network", why=exc))
        if exc.code == "payment.bad_signature":
            return said(False, say("payments.check.bad_keys"))
        if exc.code == "payment.wrong_merchant":
            return said(False, say("payments.check.wrong_merchant"))
        return said(False, str(exc))
    if answer.outcome is Outcome.NOT_FOUND:
        return said(True, say("payments.check.ok"))
    code = answer.code.lower()  # the provider's own code (Alipay's sub_code, WeChat's code)
    if "signature" in code or "sign" in code:
        return said(False, say("payments.check.bad_keys"))
    if "mch" in code:
        return said(False, say("payments.check.wrong_merchant"))
    if "timestamp" in code:
        return said(False, say("payments.check.clock"))
    if "app-id" in code or "appid" in code:
        return said(False, say("payments.check.app_id"))
    return said(False, answer.message or answer.code)
