"""付款码对账: a day's WeChat Pay and Alipay bills against the counter's charges, every
mismatch listed with the sale to drill into (Enter); and, on demand, every 付款码 charge no
sale holds resolved with its provider (F6), saying whose money went where. Supervisors
only; the second tab of the reconciliation (F7 switches between them)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from cashier.devices.scanner import ScannedCode
from cashier.errors import CashierError
from cashier.messages import say
from cashier.payments import LABELS
from cashier.services.operators import Role
from cashier.services.payment_bills import SHORT_KINDS, Mismatch, Reconciled
from cashier.services.reconcile import parse_day
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy
from cashier.ui.text import plain, quoted
from cashier.ui.widgets.keybar import KeyBar

NOT_CONNECTED = say("screen.payment_reconcile.not_connected")


class PaymentReconcileScreen(WorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    PaymentReconcileScreen #payrecon-find { height: 3; }
    PaymentReconcileScreen #payrecon-find Label { padding: 1 1 0 1; }
    PaymentReconcileScreen #payrecon-day { width: 18; }
    PaymentReconcileScreen #payrecon-find Static { padding: 1 1 0 1; color: $text-muted; }
    PaymentReconcileScreen #payrecon-status { height: 3; padding: 0 1; }
    PaymentReconcileScreen #payrecon-caption { padding: 0 1; color: $text-muted; }
    PaymentReconcileScreen #payrecon-rows { height: 1fr; }
    """

    BINDINGS = [
        Binding("f5", "run", say("screen.payment_reconcile.key.run"), id="payrecon_run"),
        Binding(
            "f6", "resolve", say("screen.payment_reconcile.key.resolve"), id="payrecon_resolve"
        ),
        Binding(
            "f7", "insurer_tab", say("screen.payment_reconcile.key.insurer_tab"), id="payrecon_tab"
        ),
        Binding("escape", "back", say("screen.payment_reconcile.key.back"), id="back"),
    ]

    ACCEPTS_SCANS = True

    def __init__(self) -> None:
        super().__init__()
        self.mismatches: list[Mismatch] = []
        self.day = None  # the day last reconciled

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.payment_reconcile.training") if settings.training else ""
        yield Static(
            say(
                "screen.payment_reconcile.topbar", training=training, station_id=settings.station_id
            ),
            id="topbar",
        )
        with Horizontal(id="payrecon-find"):
            yield Label(say("screen.payment_reconcile.day"))
            yield Input(value=parse_day("").isoformat(), id="payrecon-day")
            yield Static(say("screen.payment_reconcile.keys"))
        yield Static(say("screen.payment_reconcile.intro"), id="payrecon-status")
        yield Label(say("screen.payment_reconcile.caption"), id="payrecon-caption")
        yield DataTable(id="payrecon-rows", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        who = self.app.operator
        if who is None or not who.role.at_least(Role.SUPERVISOR):
            self.app.notify(
                say("screen.payment_reconcile.needs_role", label=Role.SUPERVISOR.label),
                severity="warning",
            )
            self.call_after_refresh(self._leave)
            return
        table = self.query_one("#payrecon-rows", DataTable)
        table.cell_padding = 0  # every column fits 80 columns; each keeps a blank of its own
        table.add_column(say("screen.payment_reconcile.col.mismatch"), width=16)
        table.add_column(say("screen.payment_reconcile.col.order"), width=28)
        table.add_column(Text(say("screen.payment_reconcile.col.there"), justify="right"), width=8)
        table.add_column(Text(say("screen.payment_reconcile.col.here"), justify="right"), width=9)
        table.add_column(say("screen.payment_reconcile.col.receipt"), width=18)
        self.query_one("#payrecon-day", Input).focus()

    def _providers(self) -> dict | None:
        connection = self.app.payments
        if connection is None or not connection.providers:
            self.notify(NOT_CONNECTED, severity="warning", timeout=6)
            self._status(f"[yellow]{NOT_CONNECTED}[/]")
            return None
        return dict(connection.providers)

    def _status(self, markup: str) -> None:
        self.query_one("#payrecon-status", Static).update(markup)

    # -- the bills ------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    def handle_scan(self, code: ScannedCode) -> None:
        self.notify(say("screen.payment_reconcile.no_scan"), severity="warning")

    def action_run(self) -> None:
        try:
            day = parse_day(self.query_one("#payrecon-day", Input).value)
        except CashierError as exc:
            self.notify(str(exc), severity="warning")
            return
        providers = self._providers()
        if providers is None:
            return
        self.query_one("#payrecon-day", Input).value = day.isoformat()
        self._status(say("screen.payment_reconcile.downloading", day=day.isoformat()))
        self.reconcile(providers, day)

    @work(thread=True, exclusive=True, exit_on_error=False, group="payrecon")
    def reconcile(self, providers: dict, day) -> None:
        from cashier.services.payment_bills import reconcile_day

        results = reconcile_day(
            providers.values(), day, self.app.settings.station_id, self.app.operator.code
        )
        self.app.call_from_thread(self._show, results)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.state is WorkerState.ERROR and event.worker.group == "payrecon":
            self._status(say("screen.payment_reconcile.not_done"))

    def _show(self, results: list[Reconciled]) -> None:
        if not self.is_attached:
            return
        lines = []
        self.mismatches = []
        self.day = results[0].day if results else None
        for r in results:
            verdict = (
                say("screen.payment_reconcile.matched")
                if not r.mismatches
                else say("screen.payment_reconcile.mismatched", mismatches=len(r.mismatches))
            )
            lines.append(
                say(
                    "screen.payment_reconcile.provider_line",
                    LABELS=LABELS[r.provider],
                    day=r.day.isoformat(),
                    trades=r.trades,
                    charges=r.charges,
                    verdict=verdict,
                )
            )
            self.mismatches += [m for m in r.mismatches]
        self._status("\n".join(lines) or say("cli.no_providers"))
        table = self.query_one("#payrecon-rows", DataTable)
        table.clear()
        providers = [r.provider for r in results for _ in r.mismatches]
        for provider, m in zip(providers, self.mismatches, strict=True):
            short = (
                say("screen.payment_reconcile.wechat_short")
                if provider == "wechat"
                else LABELS[provider]
            )
            table.add_row(
                Text(f"{short} {SHORT_KINDS[m.kind]}", style="bold red"),
                plain(m.out_trade_no),
                Text(m.there.display() if m.there is not None else "—", justify="right"),
                Text(m.here.display() if m.here is not None else "—", justify="right"),
                plain(f" {m.receipt_no or '—'}"),
            )
        if self.mismatches:
            table.focus()
            table.move_cursor(row=0)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from cashier.ui.screens.lookup import LookupScreen

        event.stop()
        if not 0 <= event.cursor_row < len(self.mismatches):
            return
        m = self.mismatches[event.cursor_row]
        if not m.receipt_no:
            self.notify(
                say("screen.payment_reconcile.no_sale", value=quoted(m.out_trade_no)),
                severity="warning",
                timeout=10,
            )
            return
        self.app.push_screen(LookupScreen(query=m.receipt_no, day=self.day))

    # -- on demand: charges no sale holds -------------------------------------------------
    def action_resolve(self) -> None:
        providers = self._providers()
        if providers is None or money_busy(self.app):
            return
        self._status(say("screen.payment_reconcile.resolving"))
        self.resolve(providers)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def resolve(self, providers: dict) -> None:
        from cashier.services.payments import finish_refunds, resolve_open

        counter = self.app.counter
        keep = counter.tendered_charges() if counter is not None else set()
        station = self.app.settings.station_id
        done = resolve_open(providers, station, keep) + finish_refunds(providers, station)
        self.app.call_from_thread(self._resolved, done)

    def _resolved(self, done: list) -> None:
        if not self.is_attached:
            return
        if not done:
            self._status(say("screen.payment_reconcile.nothing_open"))
            return
        self._status(
            "\n".join(quoted(r.message) for r in done[:3])
            + (say("screen.payment_reconcile.more", count=len(done)) if len(done) > 3 else "")
        )
        for r in done:
            severity = "error" if r.state in ("in_doubt", "failed") else "warning"
            self.notify(r.message, severity=severity, timeout=30)

    # -- leaving ----------------------------------------------------------------------------
    def action_insurer_tab(self) -> None:
        from cashier.ui.screens.menu import switch_to

        switch_to(self.app, "cashier.ui.screens.reconcile:ReconcileScreen")

    def action_back(self) -> None:
        self.dismiss(None)

    def _leave(self) -> None:
        self.dismiss(None)  # not awaited: called from this screen's own message loop
