"""Taking payment: split tender over cash, WeChat Pay, Alipay, bank card and 其他, with change.

The screen renders the counter's payment step (``cashier.services.counter``) and sends it
intents; the rules (what may be taken, a 付款码 charged through its provider, when the sale
completes, leaving the step) are the counter's."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Digits, Input, Label, Static
from textual.worker import Worker, WorkerState

from cashier.devices.scanner import ScanKind, ScannedCode
from cashier.domain.money import Fen
from cashier.domain.tender import Method, TenderPlan
from cashier.errors import CashierError
from cashier.messages import say
from cashier.services.checkout import Completed
from cashier.services.counter import (
    CodeAsReference,
    CodeCharging,
    CodeEnded,
    CodeWaiting,
    ConfirmCash,
    Counter,
    Event,
    Tendered,
    TenderRemoved,
)
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy, relay, show_error
from cashier.ui.text import quoted
from cashier.ui.widgets.keybar import KeyBar
from cashier.ui.widgets.money_input import AmountInput

METHOD_KEYS = {
    "x": Method.CASH,
    "w": Method.WECHAT,
    "z": Method.ALIPAY,
    "y": Method.BANKCARD,
    "q": Method.OTHER,
}

HELP = say("screen.payment.help")
#: What the reference field asks for: a bank card is charged on the external POS terminal
#: (the amount keyed there), its slip's reference typed or scanned here; a 付款码 is scanned
#: and charged by the cashier itself.
REFERENCE_HINTS = {
    Method.BANKCARD: say("screen.payment.hint.bankcard"),
    Method.WECHAT: say("screen.payment.hint.code"),
    Method.ALIPAY: say("screen.payment.hint.code"),
    Method.OTHER: say("screen.payment.hint.other"),
}


class PaymentScreen(WorkerErrors, Screen[Completed | None]):
    """Dismisses with the completed sale, or ``None`` when the cashier goes back."""

    ACCEPTS_SCANS = True

    BINDINGS = [
        Binding(
            "up", "method(-1)", say("screen.payment.key.method_up"), id="method_up", show=False
        ),
        Binding(
            "down", "method(1)", say("screen.payment.key.method_down"), id="method_down", show=False
        ),
        Binding("f10", "exact_cash", say("screen.payment.key.exact_cash"), id="exact_cash"),
        Binding("f7", "note(5000)", "￥50", id="note_50"),
        Binding("f8", "note(10000)", "￥100", id="note_100"),
        Binding("delete", "remove_tender", say("screen.payment.key.remove"), id="remove_tender"),
        Binding("f4", "invoice", say("screen.payment.key.invoice"), id="invoice"),
        Binding("escape", "back", say("screen.payment.key.back"), id="back"),
        # The same key, said as what it does on a settled insured bill: back, and then the
        # offer to cancel the settlement.
        Binding(
            "escape", "back_settled", say("screen.payment.key.back_settled"), id="back_settled"
        ),
    ]

    def __init__(self, counter: Counter, exact_cash: bool = False) -> None:
        super().__init__()
        self.counter = counter
        self._exact_on_mount = exact_cash
        self.method = Method.CASH
        counter.subscribe(self._on_counter)

    @property
    def plan(self) -> TenderPlan:
        plan = self.counter.plan
        assert plan is not None, "the payment screen opens on the counter's payment step"
        return plan

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc is labelled for what it leads to: on a settled insured bill, the offer to
        cancel the settlement."""
        if action in ("back", "back_settled"):
            part = self.counter.bill.insured
            settled = part is not None and part.settled
            return settled if action == "back_settled" else not settled
        return True

    def action_back_settled(self) -> None:
        self.action_back()

    def shows_key(self, action: str) -> bool:
        """Del (删除一笔) is offered once there is a tender to delete; F4 (发票) where the
        station issues e-invoices."""
        if action == "invoice":
            return self.app.settings.receipts.provider == "tax"
        return action != "remove_tender" or bool(self.counter.plan and self.counter.plan.tenders)

    def action_invoice(self, typed: tuple[str, str] = ("", "")) -> None:
        """The patient asks for a 数电发票: the buyer's name, and a company's tax number
        (refused: the form comes back with what was typed)."""
        from cashier.ui.dialogs.dispensing import InvoiceDialog

        if self.app.settings.receipts.provider != "tax":
            self.notify(say("checkout.invoice_not_here"), severity="warning")
            return

        def done(answer) -> None:
            if answer is None:
                return
            try:
                self.counter.bill.ask_invoice(answer[0], answer[1], self.app.settings)
            except CashierError as exc:
                show_error(self, exc)
                self.action_invoice((answer[0], answer[1]))
                return
            self.notify(say("screen.payment.invoice_asked", name=answer[0]))

        self.app.push_screen(InvoiceDialog(typed), done)

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        part = self.counter.bill.insured
        who = (
            say("screen.payment.who_insured", value=quoted(part.patient.name_masked))
            if part is not None
            else say("screen.payment.who_self_pay")
        )
        training = say("screen.payment.training") if settings.training else ""
        yield Static(
            say(
                "screen.payment.topbar", training=training, who=who, station_id=settings.station_id
            ),
            id="topbar",
        )
        with Horizontal(id="pay-figures"):
            with Vertical(classes="figure"):
                yield Label(say("screen.payment.caption.due"), classes="caption")
                yield Digits(str(self.plan.due), id="due")
            with Vertical(classes="figure"):
                yield Label(say("screen.payment.caption.taken"), classes="caption")
                yield Static("", id="paid", classes="figure-value")
            with Vertical(classes="figure"):
                yield Label(say("screen.payment.caption.remaining"), classes="caption")
                yield Static("", id="remaining", classes="figure-value")
            with Vertical(classes="figure"):
                yield Label(say("screen.payment.caption.change"), classes="caption")
                yield Static("", id="change", classes="figure-value")
        with Horizontal(id="pay-main"):
            yield Static("", id="methods")
            with Vertical(id="pay-entry"):
                yield AmountInput(
                    "".join(METHOD_KEYS),
                    placeholder=say("screen.payment.amount_hint"),
                    id="amount",
                )
                yield Input(
                    placeholder=say("screen.payment.reference_hint"), id="reference", disabled=True
                )
                yield DataTable(id="tenders", cursor_type="row")
        yield Static(HELP, id="pay-help")
        yield KeyBar()

    def on_mount(self) -> None:
        self._set_method(Method.CASH)
        table = self.query_one("#tenders", DataTable)
        table.add_column(say("screen.payment.col.method"), width=8)
        table.add_column(say("screen.payment.col.amount"), width=10)
        table.add_column(say("screen.payment.col.reference"), width=20)
        self.query_one("#amount", Input).focus()
        self.refresh_figures()
        if self._exact_on_mount:
            self.action_exact_cash()

    def on_unmount(self) -> None:
        self.counter.unsubscribe(self._on_counter)

    # -- the counter's events ---------------------------------------------------------------
    def _on_counter(self, event: Event) -> None:
        relay(self, self._show_event, event)

    def _show_event(self, event: Event) -> None:
        if not self.is_attached:
            return
        if isinstance(event, Tendered | TenderRemoved):
            self.refresh_figures()
            self.refresh_bindings()  # Del offered while a tender stands
            if isinstance(event, TenderRemoved):
                what = f"{event.tender.method.label} {event.tender.amount.display()}"
                self.notify(
                    say("screen.payment.given_back", what=what)
                    if event.given_back
                    else say("screen.payment.removed", what=what)
                )
        elif isinstance(event, CodeCharging):
            self._set_method(event.method)
            self._help(
                say(
                    "screen.payment.charging",
                    label=event.method.label,
                    amount=event.amount.display(),
                )
            )
        elif isinstance(event, CodeWaiting):
            self._help(say("screen.payment.waiting_pin", left_s=event.left_s))
        elif isinstance(event, CodeEnded):
            self._help(HELP)
            if event.tender is not None:
                self._after_take()

    def _help(self, markup: str) -> None:
        self.query_one("#pay-help", Static).update(markup)

    # -- state -------------------------------------------------------------------
    def _set_method(self, method: Method) -> None:
        self.method = method
        self.query_one("#methods", Static).update(
            "\n".join(
                f"[b reverse]▶ {m.label} {k} [/]" if m is method else f"  {m.label} {k}"
                for k, m in METHOD_KEYS.items()
            )
        )
        reference = self.query_one("#reference", Input)
        reference.disabled = not method.needs_reference and method is not Method.OTHER
        reference.placeholder = REFERENCE_HINTS.get(method, say("screen.payment.reference_hint"))
        if reference.disabled:
            reference.value = ""

    def refresh_figures(self) -> None:
        plan = self.plan
        self.query_one("#paid", Static).update(plan.paid.display())
        self.query_one("#remaining", Static).update(plan.remaining.display())
        self.query_one("#change", Static).update(plan.change.display())
        self._preview_change()
        table = self.query_one("#tenders", DataTable)
        table.clear()
        for t in plan.tenders:
            table.add_row(t.method.label, str(t.amount), t.reference)

    # -- keys ---------------------------------------------------------------------------
    def action_method(self, step: int) -> None:
        methods = list(METHOD_KEYS.values())
        self._set_method(methods[(methods.index(self.method) + step) % len(methods)])

    def on_amount_input_method_key(self, event: AmountInput.MethodKey) -> None:
        self._set_method(METHOD_KEYS[event.letter])
        self._preview_change()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "amount":
            self._preview_change()

    def _preview_change(self) -> None:
        """The change of the cash being typed, shown as it is typed (before Enter)."""
        plan = self.plan
        text = self.query_one("#amount", Input).value.strip()
        change = plan.change
        if self.method is Method.CASH and text:
            try:
                typed = Fen.parse(text, allow_zero=False)
            except CashierError:
                typed = None
            if typed is not None and typed > plan.remaining:
                change = plan.change + (typed - plan.remaining)
                self.query_one("#change", Static).update(
                    say("screen.payment.change_pending", change=change.display())
                )
                return
        self.query_one("#change", Static).update(change.display())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        method = self.method
        amount_input = self.query_one("#amount", Input)
        reference_input = self.query_one("#reference", Input)
        text = amount_input.value.strip()
        if method is Method.CASH and not text:
            self.action_exact_cash()
            return
        try:
            amount = Fen.parse(text, allow_zero=False) if text else self.plan.remaining
        except CashierError as exc:
            show_error(self, exc)
            return
        if method.needs_reference and not reference_input.value.strip():
            if event.input is amount_input:
                amount_input.value = str(amount)
                reference_input.focus()
                return
        self._take(method, amount, reference_input.value)

    def action_exact_cash(self) -> None:
        if self.plan.complete:
            self._finish()
            return
        self._set_method(Method.CASH)
        self._take(Method.CASH, self.plan.remaining)

    def action_note(self, fen: int) -> None:
        self._set_method(Method.CASH)
        self._take(Method.CASH, Fen(fen))

    def action_remove_tender(self) -> None:
        counter = self.counter
        if not self.plan.tenders or counter.saving or counter.charging:
            return
        table = self.query_one("#tenders", DataTable)
        index = min(table.cursor_row, len(self.plan.tenders) - 1)
        if counter.charged(index):  # taken from the patient's account: given back first
            self._help(say("screen.payment.giving_back"))
            self.give_back(index)
            return
        self._remove(index)

    def _remove(self, index: int) -> None:
        try:
            self.counter.remove_tender(index)
        except CashierError as exc:
            show_error(self, exc)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def give_back(self, index: int) -> None:
        """Money work: the charge reversed with its provider, then the tender removed."""
        try:
            self.counter.remove_tender(index)
        finally:
            self.app.call_from_thread(self._help, HELP)

    def action_back(self) -> None:
        counter = self.counter
        if counter.charging:
            counter.give_up_waiting()  # the patient will not type the password: reverse it
            self._help(say("screen.payment.giving_back"))
            return
        if counter.saving:
            return
        try:
            counter.leave_payment()
        except CashierError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.dismiss(None)

    def handle_scan(self, code: ScannedCode) -> None:
        """A scanned 付款码 or slip reference fills in the payment at once."""
        if code.kind is ScanKind.PAYMENT_CODE:
            self._charge_code(code.text)
            return
        reference = self.query_one("#reference", Input)
        if not reference.disabled:
            reference.value = code.text
            self.on_input_submitted(Input.Submitted(reference, reference.value))
        else:
            self.notify(say("screen.payment.scan_code"), severity="warning")

    # -- 付款码: charged through the provider, exactly once ------------------------------------
    def _charge_code(self, text: str) -> None:
        """A scanned 付款码 is charged with its provider (the amount typed, else what is still
        due, never more); only a confirmed charge becomes a tender."""
        if money_busy(self.app):
            return
        typed = self.query_one("#amount", Input).value.strip()
        try:
            amount = Fen.parse(typed, allow_zero=False) if typed else None
            provider, method, amount = self.counter.check_code(text, amount)
        except CashierError as exc:
            show_error(self, exc)
            return
        self.charge_code(provider, method, amount, text)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def charge_code(self, provider, method: Method, amount: Fen, text: str) -> None:
        """Money work: journaled, sent, waited for, resolved (the counter's charge_code)."""
        self.counter.charge_code(provider, method, amount, text)

    # -- taking and finishing -----------------------------------------------------------
    def _take(
        self, method: Method, amount: Fen, reference: str = "", *, confirmed: bool = False
    ) -> None:
        if self.counter.saving:
            return
        try:
            self.counter.take(method, amount, reference, confirmed=confirmed)
        except ConfirmCash as exc:
            self._confirm_cash(exc, method, amount, reference)
            return
        except CashierError as exc:
            if isinstance(exc, CodeAsReference):
                self.query_one("#reference", Input).value = ""
            show_error(self, exc)
            return
        self._after_take()

    def _confirm_cash(self, exc: ConfirmCash, method: Method, amount: Fen, reference: str) -> None:
        """Far more cash than is due: the change shown big, Enter takes it, Esc retypes."""
        from cashier.ui.dialogs.confirm import ConfirmDialog

        self.app.bell()

        def answered(yes: bool | None) -> None:
            if yes:
                self._take(method, amount, reference, confirmed=True)
            else:
                field = self.query_one("#amount", Input)
                field.value = ""
                field.focus()

        self.app.push_screen(ConfirmDialog(str(exc)), answered)

    def _after_take(self) -> None:
        self.query_one("#amount", Input).value = ""
        self._set_method(Method.CASH)  # what is left is most often paid in cash
        self.query_one("#amount", Input).focus()
        if self.counter.ready_to_complete:
            self._finish()

    def _finish(self) -> None:
        if self.counter.saving:
            return
        self._help(say("screen.payment.saving"))
        self.complete_sale()

    @work(thread=True, exit_on_error=False, group=MONEY)
    def complete_sale(self) -> Completed:
        """Money work: it ends before the screen goes (:meth:`on_worker_state_changed`
        dismisses it then), so removing the screen never cancels it."""
        try:
            completed = self.counter.complete()
        except Exception:
            self.app.call_from_thread(self._help, say("screen.payment.save_failed"))
            raise
        return completed

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.name == "complete_sale" and event.state is WorkerState.SUCCESS:
            self.counter.unsubscribe(self._on_counter)  # done with the counter's events
            self.dismiss(event.worker.result)
