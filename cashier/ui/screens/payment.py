"""Taking payment: split tender over cash, WeChat Pay, Alipay, bank card and 其他, with change."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Digits, Input, Label, Static
from textual.worker import Worker, WorkerState

from cashier.devices.scanner import ScanKind, ScannedCode, payment_code_issuer
from cashier.domain.money import Fen
from cashier.domain.tender import Method, TenderPlan
from cashier.errors import CashierError
from cashier.services.checkout import Checkout, Completed
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy
from cashier.ui.widgets.keybar import KeyBar
from cashier.ui.widgets.money_input import AmountInput

METHOD_KEYS = {
    "x": Method.CASH,
    "w": Method.WECHAT,
    "z": Method.ALIPAY,
    "y": Method.BANKCARD,
    "q": Method.OTHER,
}


ISSUER_METHODS = {"wechat": Method.WECHAT, "alipay": Method.ALIPAY, "unionpay": Method.BANKCARD}


class PaymentScreen(WorkerErrors, Screen[Completed | None]):
    """Dismisses with the completed sale, or ``None`` when the cashier goes back."""

    ACCEPTS_SCANS = True

    BINDINGS = [
        Binding("up", "method(-1)", "方式↑", id="method_up", show=False),
        Binding("down", "method(1)", "方式↓", id="method_down", show=False),
        Binding("f10", "exact_cash", "现金足额", id="exact_cash"),
        Binding("f7", "note(5000)", "￥50", id="note_50"),
        Binding("f8", "note(10000)", "￥100", id="note_100"),
        Binding("delete", "remove_tender", "删除一笔", id="remove_tender"),
        Binding("escape", "back", "返回", id="back"),
    ]

    def __init__(
        self, checkout: Checkout, plan: TenderPlan, exact_cash: bool = False, complete=None
    ) -> None:
        super().__init__()
        self.checkout = checkout
        #: How the sale is completed: an insured one through ``Insurance.complete`` (which
        #: cancels its settlement at once if the local save is refused), else the checkout's.
        self._complete = complete
        self.plan = plan
        self._exact_on_mount = exact_cash
        self._saving = False
        self._charging = False  # a 付款码 charge is on its way
        self._give_up = False  # Esc while the payer is asked for a password
        self._charges: dict[str, tuple[str, str]] = {}  # trade_no → (provider, out_trade_no)
        self.method = Method.CASH

    def compose(self) -> ComposeResult:
        with Horizontal(id="pay-figures"):
            with Vertical(classes="figure"):
                yield Label("应收", classes="caption")
                yield Digits(str(self.plan.due), id="due")
            with Vertical(classes="figure"):
                yield Label("已收", classes="caption")
                yield Static("", id="paid", classes="figure-value")
            with Vertical(classes="figure"):
                yield Label("还差", classes="caption")
                yield Static("", id="remaining", classes="figure-value")
            with Vertical(classes="figure"):
                yield Label("找零", classes="caption")
                yield Static("", id="change", classes="figure-value")
        with Horizontal(id="pay-main"):
            yield Static("", id="methods")
            with Vertical(id="pay-entry"):
                yield AmountInput(
                    "".join(METHOD_KEYS),
                    placeholder="收款金额（回车确认；现金留空=足额）",
                    id="amount",
                )
                yield Input(placeholder="交易参考号（可扫码）", id="reference", disabled=True)
                yield DataTable(id="tenders", cursor_type="row")
        yield Static("↑↓ 或 x w z y q 选方式 · 输入金额后 Enter", id="pay-help")
        yield KeyBar()

    def on_mount(self) -> None:
        self._set_method(Method.CASH)
        table = self.query_one("#tenders", DataTable)
        table.add_column("方式", width=8)
        table.add_column("金额", width=10)
        table.add_column("参考号", width=20)
        self.query_one("#amount", Input).focus()
        self.refresh_figures()
        if self._exact_on_mount:
            self.action_exact_cash()

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
        if reference.disabled:
            reference.value = ""

    def refresh_figures(self) -> None:
        plan = self.plan
        self.query_one("#paid", Static).update(plan.paid.display())
        self.query_one("#remaining", Static).update(plan.remaining.display())
        self.query_one("#change", Static).update(plan.change.display())
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
            self._error(exc)
            return
        if payment_code_issuer(reference_input.value.strip()):
            # A 付款码 is charged through its provider, never kept as another method's number.
            reference_input.value = ""
            self._error(CashierError("这是付款码：请直接扫码，由支付平台扣款"))
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
        if not self.plan.tenders or self._saving or self._charging:
            return
        table = self.query_one("#tenders", DataTable)
        index = min(table.cursor_row, len(self.plan.tenders) - 1)
        tender = self.plan.tenders[index]
        charged = self._charges.get(tender.reference)
        if charged is not None:  # taken from the patient's account: given back first
            self._charging = True
            self.give_back(index, *charged)
            return
        removed = self.plan.remove(index)
        self.notify(f"已删除 {removed.method.label} {removed.amount.display()}")
        self.refresh_figures()

    @work(thread=True, exit_on_error=False, group=MONEY)
    def give_back(self, index: int, provider_name: str, out_trade_no: str) -> None:
        """Money work: the charge reversed with its provider, then the tender removed."""
        from cashier.services.payments import give_back

        try:
            give_back(self.app.payments.provider(provider_name), out_trade_no)
        except Exception:
            self.app.call_from_thread(self._charge_ended)
            raise
        self.app.call_from_thread(self._given_back, index)

    def _given_back(self, index: int) -> None:
        self._charging = False
        removed = self.plan.remove(index)
        self._charges.pop(removed.reference, None)
        self.notify(f"已撤销 {removed.method.label} {removed.amount.display()}，款项退回顾客")
        self.refresh_figures()

    def action_back(self) -> None:
        if self._charging:
            self._give_up = True  # the patient will not type the password: reverse it
            self.query_one("#pay-help", Static).update("正在撤销该笔付款码收款…")
            return
        if self._saving:
            return
        if self.plan.tenders:
            self.notify("已有收款记录：请先按 Del 删除（并退还款项）再返回", severity="warning")
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
            self.notify("收款时请扫描付款码或交易参考号", severity="warning")

    # -- 付款码: charged through the provider, exactly once ------------------------------------
    def _charge_code(self, text: str) -> None:
        """A scanned 付款码 is charged with its provider (the amount typed, else what is still
        due, never more); only a confirmed charge becomes a tender."""
        if self._saving or self._charging or money_busy(self.app):
            return
        issuer = payment_code_issuer(text) or ""
        method = ISSUER_METHODS.get(issuer, Method.OTHER)
        connection = self.app.payments
        provider = connection.provider(issuer) if connection is not None else None
        if provider is None:
            self._error(CashierError(f"本收费台未开通{method.label}付款码收款：请换一种支付方式"))
            return
        typed = self.query_one("#amount", Input).value.strip()
        try:
            amount = Fen.parse(typed, allow_zero=False) if typed else self.plan.remaining
        except CashierError as exc:
            self._error(exc)
            return
        self._set_method(method)
        self._charging, self._give_up = True, False
        self.query_one("#pay-help", Static).update(f"正在向{method.label}收款 {amount.display()}…")
        self.charge_code(provider, method, amount, text)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def charge_code(self, provider, method: Method, amount: Fen, text: str) -> None:
        """Money work: journaled, sent, waited for, resolved (services.payments.charge)."""
        from cashier.services.payments import charge

        def keep_waiting(n: int) -> bool:
            self.app.call_from_thread(self._waiting, n)  # the screen is touched on its thread
            return not self._give_up

        try:
            charged = charge(
                provider,
                station=self.app.settings.station_id,
                bill=self.checkout.key,
                operator=self.checkout.operator.code,
                amount=amount,
                auth_code=text,
                due=self.plan.remaining,
                keep_waiting=keep_waiting,
            )
        except Exception:
            self.app.call_from_thread(self._charge_ended)
            raise
        self.app.call_from_thread(self._charged, method, charged)

    def _waiting(self, n: int) -> None:
        self.query_one("#pay-help", Static).update(
            f"等待顾客输入支付密码…（第 {n} 次查询，Esc 放弃）"
        )

    def _charged(self, method: Method, charged) -> None:
        self._charge_ended()
        self._charges[charged.trade_no] = (charged.provider, charged.out_trade_no)
        self._take(method, charged.amount, charged.trade_no)

    def _charge_ended(self) -> None:
        self._charging = False
        self.query_one("#pay-help", Static).update("↑↓ 或 x w z y q 选方式 · 输入金额后 Enter")

    # -- taking and finishing -----------------------------------------------------------
    def _error(self, exc: CashierError) -> None:
        self.app.bell()
        self.notify(str(exc), severity="error", timeout=6)

    def _take(self, method: Method, amount: Fen, reference: str = "") -> None:
        if self._saving:
            return
        try:
            self.plan.add(method, amount, reference)
        except CashierError as exc:
            self._error(exc)
            return
        self.query_one("#amount", Input).value = ""
        self._set_method(Method.CASH)  # what is left is most often paid in cash
        self.query_one("#amount", Input).focus()
        self.refresh_figures()
        if self.plan.complete:
            self._finish()

    def _finish(self) -> None:
        self._saving = True
        self.query_one("#pay-help", Static).update("正在保存…")
        self.complete_sale()

    @work(thread=True, exit_on_error=False, group=MONEY)
    def complete_sale(self) -> Completed:
        """Money work: it ends before the screen goes (:meth:`on_worker_state_changed`
        dismisses it then), so removing the screen never cancels it."""
        try:
            if self._complete is not None:
                completed = self._complete(self.checkout, self.plan)
            else:
                completed = self.checkout.complete(self.plan)
        except Exception:
            self.app.call_from_thread(self._save_failed)
            raise
        if completed.clock_message:  # the PC's clock went back: said, and audited in the core
            self.app.call_from_thread(
                self.app.notify, completed.clock_message, severity="warning", timeout=15
            )
        return completed

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.name == "complete_sale" and event.state is WorkerState.SUCCESS:
            self.dismiss(event.worker.result)

    def _save_failed(self) -> None:
        self._saving = False
        self.query_one("#pay-help", Static).update("[b red]保存失败，请重试（F10 / Enter）[/]")
