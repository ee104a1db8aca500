"""The counter: one station's bills from the first scan to completion, and their rules.

A bill goes through its life cycle (:class:`Phase`): open (nothing on it), priced (lines or a
patient), presettled (the insurer's breakdown is in), settled (the insurer has paid its
part), charging (the patient's part is being taken), then completed or voided. The rules
that used to live in the screens live here, once:

* which tenders may be taken (a 付款码 is charged through its provider and only a
  confirmed charge becomes a tender; it is never kept as another method's reference);
* when the sale completes (the moment what is due is taken), and how (an insured sale
  through ``Insurance.complete``, which cancels the settlement if the local save fails);
* leaving the payment step (not while a tender stands: Del gives a charged one back first);
* parked bills (挂单 / 取单), voids, and when the cashier may log out.

Screens send intents (the methods below) and render :attr:`Counter.bill`, :attr:`plan` and
the :class:`Event` s it emits; the calls that wait on a provider or the insurer
(:meth:`charge_code`, :meth:`remove_tender`, :meth:`complete` …) are run by the screen on a
worker thread, and their events reach it from that thread. The counter knows nothing of
Textual.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cashier.devices.scanner import payment_code_issuer
from cashier.domain.money import Fen
from cashier.domain.tender import Method, Tender, TenderPlan
from cashier.errors import CashierError, InputError
from cashier.messages import say
from cashier.services.checkout import Checkout, Completed, Line, State

#: Whose 付款码 a code is → the tender method it becomes.
ISSUER_METHODS = {"wechat": Method.WECHAT, "alipay": Method.ALIPAY, "unionpay": Method.BANKCARD}


class CodeAsReference(InputError):
    """A 付款码 typed or scanned as a reference: it is charged, never written down."""


class ConfirmCash(InputError):
    """Cash far above what is due: taken only once the cashier confirms (the change shown)."""

    def __init__(self, amount: Fen, remaining: Fen) -> None:
        self.amount, self.remaining, self.change = amount, remaining, amount - remaining
        super().__init__(
            say(
                "counter.confirm_cash",
                amount=amount.display(),
                remaining=remaining.display(),
                change=self.change.display(),
            )
        )


#: Cash over what is due by this much or more is always confirmed.
CONFIRM_OVER = Fen(100_000)
#: A single ¥100 note for a small amount is normal: never asked about.
ONE_NOTE = Fen(10_000)


class Phase(StrEnum):
    OPEN = "open"
    PRICED = "priced"
    PRESETTLED = "presettled"
    SETTLED = "settled"
    CHARGING = "charging"
    COMPLETED = "completed"
    VOIDED = "voided"


# -- events -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """Something that happened to the counter's bill (screens render, tests wait on them)."""


@dataclass(frozen=True)
class BillChanged(Event):
    select: int | None = None  # the line to show selected


@dataclass(frozen=True)
class PaymentStarted(Event):
    due: Fen


@dataclass(frozen=True)
class PaymentLeft(Event):
    pass


@dataclass(frozen=True)
class Tendered(Event):
    tender: Tender


@dataclass(frozen=True)
class TenderRemoved(Event):
    tender: Tender
    given_back: bool  # a 付款码 charge reversed with its provider


@dataclass(frozen=True)
class CodeCharging(Event):
    method: Method
    amount: Fen


@dataclass(frozen=True)
class CodeWaiting(Event):
    """The payer is asked for a password: the ``n``-th query, about ``left_s`` seconds left
    before the charge is given up and reversed."""

    n: int
    left_s: int


@dataclass(frozen=True)
class CodeEnded(Event):
    """A 付款码 charge ended: ``tender`` when it was taken, else ``message`` says why not."""

    tender: Tender | None
    message: str = ""


@dataclass(frozen=True)
class SaleCompleted(Event):
    completed: Completed


@dataclass(frozen=True)
class SaveFailed(Event):
    message: str


@dataclass(frozen=True)
class BillVoided(Event):
    sale_id: int | None


@dataclass(frozen=True)
class BillHeld(Event):
    parked: int  # how many bills are parked now


@dataclass(frozen=True)
class BillRecalled(Event):
    pass


@dataclass(frozen=True)
class _Charge:
    provider: str
    out_trade_no: str


class Counter:
    """One station's counter for one signed-in operator."""

    def __init__(
        self,
        station_id: str,
        operator,
        *,
        payments: Callable[[], object | None] = lambda: None,
        insurance: Callable[[], object] | None = None,
        cash_confirm_factor: int = 10,
        reports_inventory: bool = False,
        ebill_place: str | None = None,
    ) -> None:
        self.station_id = station_id
        self.reports_inventory = reports_inventory
        self.ebill_place = ebill_place
        self.cash_confirm_factor = cash_confirm_factor
        self.operator = operator
        self._payments = payments  # the PaymentsConnection once reached (None before)
        self._insurance = insurance  # an Insurance (raises when the insurer is not reached)
        self.bill = self._new_bill()
        self.parked: list[Checkout] = []
        self.last: Completed | None = None
        self.plan: TenderPlan | None = None
        self._charges: dict[str, _Charge] = {}  # a tender's reference → its charge
        self.charging = False  # a 付款码 charge is on its way
        self.saving = False  # the sale is being written
        self._give_up = threading.Event()  # the cashier gave up waiting for the payer
        self.events: deque[Event] = deque(maxlen=500)
        self._listeners: list[Callable[[Event], None]] = []

    def _new_bill(self) -> Checkout:
        return Checkout(
            self.station_id,
            self.operator,
            reports_inventory=self.reports_inventory,
            ebill_place=self.ebill_place,
        )

    # -- events -----------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)

    # -- state ------------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        bill = self.bill
        if bill.state is State.COMPLETED:
            return Phase.COMPLETED
        if bill.state is State.VOIDED:
            return Phase.VOIDED
        if bill.state is State.TENDERING:
            return Phase.CHARGING
        part = bill.insured
        if part is not None and (part.settled or part.held_msgid):
            return Phase.SETTLED
        if part is not None and part.presettlement is not None:
            return Phase.PRESETTLED
        if bill.lines or part is not None:
            return Phase.PRICED
        return Phase.OPEN

    @property
    def empty(self) -> bool:
        return not self.bill.lines and self.bill.insured is None

    def tendered_charges(self) -> set[str]:
        """The merchant order numbers of the 付款码 charges standing as tenders of the bill
        being paid: theirs, not orphans to give back."""
        return {c.out_trade_no for c in self._charges.values()}

    # -- ringing up -------------------------------------------------------------------------
    def scan(self, code: str) -> Line:
        line = self.bill.scan(code)
        self._emit(BillChanged(select=self._index_of(line)))
        return line

    def add(self, item) -> Line:
        line = self.bill.add(item)
        self._emit(BillChanged(select=self._index_of(line)))
        return line

    def set_quantity(self, index: int, quantity: int) -> Line:
        line = self.bill.set_quantity(index, quantity)
        self._emit(BillChanged(select=index))
        return line

    def remove_line(self, index: int) -> Line:
        line = self.bill.remove(index)
        self._emit(BillChanged(select=index))
        return line

    def take_lines(self, lines) -> None:
        """Lines handed over from elsewhere (a refund's kept lines, charged again); a bill
        in progress is parked first."""
        if not self.empty:
            self.hold()
        for line in lines:
            self.bill.take_line(line)
        self._emit(BillChanged(select=0))

    # -- 追溯码 and prescriptions -----------------------------------------------------------
    def scan_trace(self, code: str, prefer: int | None = None) -> Line:
        """One box's 追溯码, onto the selected line if it wants one, else the first that does."""
        index = self.bill.add_trace(code, prefer)
        self._emit(BillChanged(select=index))
        return self.bill.lines[index]

    def waive_trace(self, index: int, reason: str, code: str, pin: str) -> Line:
        """A supervisor (code and PIN at this counter) records why the line's remaining
        boxes are sold without their codes."""
        from cashier.services import operators

        supervisor = operators.authenticate(self.station_id, code.strip(), pin)
        line = self.bill.waive_trace(index, reason, supervisor)
        self._emit(BillChanged(select=index))
        return line

    def set_prescription(self, rxno: str, doctor: str, pharmacist_code: str = ""):
        """The prescription of the bill's 处方药; the pharmacist: the operator signed in, or
        the one named."""
        from cashier.services import operators

        who = operators.pharmacist(pharmacist_code.strip() or self.operator.code)
        done = self.bill.set_prescription(rxno, doctor, who)
        self._emit(BillChanged())
        return done

    def _index_of(self, line: Line) -> int:
        return next(i for i, ln in enumerate(self.bill.lines) if ln is line)

    # -- the patient ------------------------------------------------------------------------
    def attach_patient(self, patient, kind: str, pending_orders: Callable[[str], list]) -> int:
        """An identified patient on the bill, with the clinic's pending orders loaded (a
        clinic); how many orders."""
        self.bill.identify(patient, kind)
        loaded = self.bill.load_orders(pending_orders(patient.certno)) if kind == "clinic" else 0
        self._emit(BillChanged(select=0 if loaded else None))
        return loaded

    def to_selfpay(self) -> None:
        self.bill.to_selfpay()
        self._emit(BillChanged())

    def set_account(self, used: bool) -> None:
        self.bill.set_account(used)
        self._emit(BillChanged())

    def clear_patient(self) -> None:
        """An identified patient with nothing on the bill, dropped (F12 on an empty bill)."""
        part = self.bill.insured
        if self.bill.lines or part is None or part.settled:
            raise InputError(say("counter.cannot_clear_patient"))
        self.bill.void()
        self.bill = self._new_bill()
        self._emit(BillChanged())

    # -- the insurer's part -----------------------------------------------------------------
    def insurance(self):
        if self._insurance is None:
            from cashier.insurer.client import InsurerUnavailable

            raise InsurerUnavailable(say("counter.insurer_not_reached"))
        return self._insurance()

    def presettle(self) -> None:
        """The insurer's breakdown of the bill as it is (waits on the insurer). An answer
        about the bill as it was (a line scanned meanwhile) is dropped and the bill as it
        is asked about again."""
        from cashier.services.insured import BillChangedMeanwhile

        for attempt in range(3):
            try:
                self.insurance().presettle(self.bill)
                break
            except BillChangedMeanwhile:
                if attempt == 2:
                    raise
        self._emit(BillChanged())

    def set_diagnosis(self, code: str, name: str) -> None:
        self.insurance().set_diagnosis(self.bill, code, name)

    def settle(self) -> None:
        """The insurer pays its part (waits on the insurer)."""
        self.insurance().settle(self.bill)
        self._emit(BillChanged())

    def cancel_settlement(self, reason: str) -> None:
        self.insurance().cancel(self.bill, reason)
        self._emit(BillChanged())

    def next_insured_step(self) -> str:
        """What an insured bill needs before its cash part can be taken: ``presettle``,
        ``settle`` or ``""`` (nothing: a self-pay bill, or settled)."""
        part = self.bill.insured
        if part is None or part.settled:
            return ""
        if part.presettlement is None and not part.held_msgid:
            return "presettle"
        return "settle"

    # -- taking payment ---------------------------------------------------------------------
    def start_payment(self) -> TenderPlan:
        """The payment step: a plan for what the patient pays."""
        self.plan = self.bill.start_payment()
        self._charges.clear()
        self._emit(PaymentStarted(self.plan.due))
        return self.plan

    def _require_idle(self) -> None:
        """No second money step while one is on its way (a charge, a give-back, the save)."""
        if self.saving or self.charging:
            raise InputError(say("counter.busy"))

    def _plan(self) -> TenderPlan:
        if self.plan is None:
            raise InputError(say("counter.not_paying"))
        return self.plan

    def take(
        self, method: Method, amount: Fen, reference: str = "", *, confirmed: bool = False
    ) -> Tender:
        """One tender by the cashier's hand (cash, a card slip, 其他). A 付款码 is charged
        with its provider (:meth:`charge_code`), never typed in as a reference. Cash far
        above what is due raises :class:`ConfirmCash` unless ``confirmed``."""
        self._require_idle()
        if payment_code_issuer(reference.strip()):
            raise CodeAsReference(say("counter.code_as_reference"))
        if method is Method.CASH and not confirmed and self._implausible(amount):
            raise ConfirmCash(amount, self._plan().remaining)
        return self._take(method, amount, reference)

    def _implausible(self, amount: Fen) -> bool:
        remaining = self._plan().remaining
        if self.cash_confirm_factor <= 0 or amount <= remaining:
            return False
        if amount - remaining >= CONFIRM_OVER:
            return True
        return amount > ONE_NOTE and amount >= remaining * self.cash_confirm_factor

    def _take(self, method: Method, amount: Fen, reference: str = "") -> Tender:
        tender = self._plan().add(method, amount, reference)
        self._emit(Tendered(tender))
        return tender

    def exact_cash(self) -> Tender | None:
        """现金足额: cash for exactly what is still due (None when nothing is)."""
        plan = self._plan()
        if plan.complete:
            return None
        return self.take(Method.CASH, plan.remaining)

    @property
    def ready_to_complete(self) -> bool:
        return self.plan is not None and self.plan.complete and not self.saving

    def provider_for(self, code: str):
        """The provider that charges this 付款码, and its tender method; InputError when the
        counter takes no such code."""
        issuer = payment_code_issuer(code) or ""
        method = ISSUER_METHODS.get(issuer, Method.OTHER)
        connection = self._payments()
        provider = connection.provider(issuer) if connection is not None else None
        if provider is None:
            raise InputError(say("counter.no_code_provider", method=method.label))
        return provider, method

    def check_code(self, code: str, typed: Fen | None) -> tuple[object, Method, Fen]:
        """Before a charge leaves: the provider, the method and the amount (typed, or all
        that is still due; never more); raises what the cashier must fix first."""
        self._require_idle()
        plan = self._plan()
        provider, method = self.provider_for(code)
        amount = typed if typed is not None else plan.remaining
        if amount > plan.remaining:
            raise InputError(
                say(
                    "counter.code_over_due",
                    amount=amount.display(),
                    remaining=plan.remaining.display(),
                )
            )
        self.charging = True
        self._give_up.clear()
        self._emit(CodeCharging(method, amount))
        return provider, method, amount

    def charge_code(self, provider, method: Method, amount: Fen, code: str) -> Tender | None:
        """Charge a 付款码 exactly once (``services.payments.charge``: journaled, sent, waited
        for, reversed when unconfirmed); the tender on success. Waits: run it off the UI
        thread, after :meth:`check_code`."""
        from cashier.services import payments

        def keep_waiting(n: int) -> bool:
            left = max(payments.POLLS - n + 1, 0) * payments.POLL_EVERY_S
            self._emit(CodeWaiting(n, round(left)))
            return not self._give_up.is_set()

        try:
            charged = payments.charge(
                provider,
                station=self.station_id,
                bill=self.bill.key,
                operator=self.operator.code,
                amount=amount,
                auth_code=code,
                due=self._plan().remaining,
                keep_waiting=keep_waiting,
            )
        except CashierError as exc:
            self.charging = False
            self._emit(CodeEnded(None, str(exc)))
            raise
        except BaseException:
            self.charging = False
            self._emit(CodeEnded(None, say("counter.code_failed")))
            raise
        self._charges[charged.trade_no] = _Charge(charged.provider, charged.out_trade_no)
        self.charging = False
        tender = self._take(method, charged.amount, charged.trade_no)
        self._emit(CodeEnded(tender))
        return tender

    def give_up_waiting(self) -> None:
        """The payer will not type the password: the charge is reversed at its next query."""
        self._give_up.set()

    def charged(self, index: int) -> bool:
        plan = self._plan()
        return 0 <= index < len(plan.tenders) and plan.tenders[index].reference in self._charges

    def remove_tender(self, index: int) -> Tender:
        """Del: the tender goes; a charged 付款码 is given back with its provider first
        (waits on it when :meth:`charged`)."""
        from cashier.services.payments import give_back

        plan = self._plan()
        self._require_idle()
        tender = plan.tenders[index]
        charge = self._charges.get(tender.reference)
        if charge is not None:
            connection = self._payments()
            provider = connection.provider(charge.provider) if connection is not None else None
            if provider is None:
                raise InputError(say("counter.payments_away"))
            self.charging = True
            try:
                give_back(provider, charge.out_trade_no)
            finally:
                self.charging = False
            self._charges.pop(tender.reference, None)
        plan.remove(index)
        self._emit(TenderRemoved(tender, given_back=charge is not None))
        return tender

    def leave_payment(self) -> None:
        """Back to the bill: only with no tender standing (a charged one is given back by
        Del first, so no money is ever left taken without a sale)."""
        if self.charging or self.saving:
            raise InputError(say("counter.busy_paying"))
        if self.plan is not None and self.plan.tenders:
            raise InputError(say("counter.tenders_stand"))
        self.plan = None
        self.bill.back_to_open()
        self._emit(PaymentLeft())

    def complete(self) -> Completed:
        """Write the sale (waits on the database, and on the insurer for an insured one);
        the next bill starts empty. On failure the bill and its tenders stay."""
        plan = self._plan()
        self.saving = True
        try:
            part = self.bill.insured
            if part is not None and part.settled:
                completed = self.insurance().complete(self.bill, plan)
            else:
                completed = self.bill.complete(plan)
        except BaseException as exc:
            self.saving = False
            self._emit(
                SaveFailed(
                    str(exc) if isinstance(exc, CashierError) else say("counter.save_failed")
                )
            )
            raise
        self.saving = False
        self.last = completed
        self.plan = None
        self._charges.clear()
        self.bill = self._new_bill()
        self._emit(SaleCompleted(completed))
        return completed

    # -- ending a bill otherwise ------------------------------------------------------------
    def void(self, reason: str) -> int | None:
        sale_id = self.bill.void(reason)
        self.bill = self._new_bill()
        self._emit(BillVoided(sale_id))
        return sale_id

    def hold(self) -> int:
        """挂单: this bill set aside while the next patient is served."""
        if self.empty:
            raise InputError(say("counter.hold_empty"))
        if self.plan is not None:
            raise InputError(say("counter.hold_paying"))
        self.parked.append(self.bill)
        self.bill = self._new_bill()
        self._emit(BillHeld(len(self.parked)))
        return len(self.parked)

    def recall(self, index: int) -> None:
        """取单: a parked bill back on screen (this one must be empty)."""
        if not self.parked:
            raise InputError(say("counter.nothing_parked"))
        if not self.empty:
            raise InputError(say("counter.recall_busy"))
        self.bill = self.parked.pop(index)
        self._emit(BillRecalled())

    def logout_refusal(self, *, void_open_bill: bool = False) -> str:
        """Why the cashier may not log out (or hand the counter over) now; "" when they may.
        ``void_open_bill``: a bill with lines is voided on the way (another operator takes
        over from the lock screen) rather than refused."""
        if self.plan is not None and self.plan.tenders:
            return say("counter.logout_money")
        part = self.bill.insured
        if part is not None and (part.settled or part.held_msgid):
            return say("counter.logout_settled")
        if self.parked:
            return say("counter.logout_parked", count=len(self.parked))
        if self.bill.lines and not void_open_bill:
            return say("counter.logout_open")
        return ""

    def quit_refusal(self) -> str:
        """Why the program may not be closed now ("" when it may): any bill still open."""
        if self.plan is not None:
            return say("counter.quit_paying")
        return self.logout_refusal()

    def end_session(self, reason: str) -> None:
        """The operator leaves: a bill with lines is voided (recorded and audited, not lost)."""
        if self.bill.lines and self.bill.state is not State.COMPLETED:
            self.void(reason)


def parked_label(co: Checkout) -> str:
    who = (
        co.insured.patient.name_masked if co.insured is not None else say("counter.parked_selfpay")
    )
    settled = co.insured is not None and co.insured.settled
    return say(
        "counter.parked",
        at=f"{co.started_at:%H:%M}",
        who=who,
        lines=len(co.lines),
        total=co.total.display(),
        state=say("counter.parked_settled") if settled else "",
    )
