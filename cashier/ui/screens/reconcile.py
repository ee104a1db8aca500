"""医保对账: a day's 3201 totals per group (平 / 不平) and every mismatch of 3202, with a
drill-down to the local sale. Supervisors only (the menu checks, and so does the core)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from cashier.devices.scanner import ScannedCode
from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier.insurer.protocol import INSUTYPES, MED_TYPES
from cashier.messages import say
from cashier.services.operators import Role
from cashier.services.reconcile import (
    FIELDS,
    Mismatch,
    MismatchKind,
    Reconciliation,
    group_label,
    parse_day,
    reconcile_day,
)
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.text import plain, quoted
from cashier.ui.widgets.keybar import KeyBar

NOT_CONNECTED = say("screen.reconcile.not_connected")


def _pad(text: str, cells: int, *, right: bool = False) -> str:
    """``text`` padded to ``cells`` terminal cells (a Chinese character takes two)."""
    space = " " * max(cells - cell_len(text), 0)
    return space + text if right else text + space


def _money(amount: Fen) -> Text:
    return Text(str(amount), justify="right")


class ReconcileScreen(WorkerErrors, Screen[None]):
    """Type a day (today by default), Enter or F5: the insurer's answer per group and the
    settlements that disagree; Enter on one shows the sale."""

    DEFAULT_CSS = """
    ReconcileScreen #recon-find { height: 3; }
    ReconcileScreen #recon-find Label { padding: 1 1 0 1; }
    ReconcileScreen #recon-day { width: 18; }
    ReconcileScreen #recon-find Static { padding: 1 1 0 1; color: $text-muted; }
    ReconcileScreen #recon-status { height: 2; padding: 0 1; }
    ReconcileScreen #recon-groups { height: 6; }
    ReconcileScreen #recon-caption { padding: 0 1; color: $text-muted; }
    ReconcileScreen #recon-mismatches { height: 1fr; }
    """

    BINDINGS = [
        Binding("f5", "run", say("screen.reconcile.key.run"), id="recon_run"),
        Binding(
            "f6", "focus_mismatches", say("screen.reconcile.key.mismatches"), id="recon_mismatches"
        ),
        Binding(
            "f7", "payments_tab", say("screen.reconcile.key.payments_tab"), id="recon_payments"
        ),
        Binding("f8", "export", say("screen.reconcile.key.export"), id="recon_export"),
        Binding("escape", "back", say("screen.reconcile.key.back"), id="back"),
    ]

    #: Scans come here, never to the sale underneath; a scanned (or fast-typed) day runs.
    ACCEPTS_SCANS = True

    def __init__(self) -> None:
        super().__init__()
        self.result: Reconciliation | None = None
        self.exported = None  # the last workbook written (F8)

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        who = self.app.operator
        training = say("screen.reconcile.training") if settings.training else ""
        yield Static(
            say(
                "screen.reconcile.topbar",
                training=training,
                clinic_code=settings.clinic_code,
                value=quoted(who.label) if who else "",
            ),
            id="topbar",
        )
        with Horizontal(id="recon-find"):
            yield Label(say("screen.reconcile.day"))
            yield Input(value=parse_day("").isoformat(), id="recon-day")
            yield Static(say("screen.reconcile.keys"))
        yield Static(say("screen.reconcile.intro"), id="recon-status")
        yield DataTable(id="recon-groups", cursor_type="row")
        yield Label(say("screen.reconcile.caption"), id="recon-caption")
        yield DataTable(id="recon-mismatches", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        who = self.app.operator
        if who is None or not who.role.at_least(Role.SUPERVISOR):
            self.app.notify(
                say("screen.reconcile.needs_role", label=Role.SUPERVISOR.label), severity="warning"
            )
            self.call_after_refresh(self._leave)
            return
        groups = self.query_one("#recon-groups", DataTable)
        groups.add_column(say("screen.reconcile.col.group"), width=26)
        groups.add_column(Text(say("screen.reconcile.col.count"), justify="right"), width=4)
        groups.add_column(Text(say("screen.reconcile.col.medfee"), justify="right"), width=11)
        groups.add_column(Text(say("screen.reconcile.col.fund"), justify="right"), width=10)
        groups.add_column(Text(say("screen.reconcile.col.account"), justify="right"), width=10)
        groups.add_column(say("screen.reconcile.col.result"), width=6)
        mismatches = self.query_one("#recon-mismatches", DataTable)
        mismatches.add_column(say("screen.reconcile.col.kind"), width=10)
        mismatches.add_column(say("screen.reconcile.col.receipt"), width=17)
        mismatches.add_column(say("screen.reconcile.col.note"), width=42)
        self.query_one("#recon-day", Input).focus()

    # -- running ---------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    def handle_scan(self, code: ScannedCode) -> None:
        try:
            parse_day(code.text)
        except CashierError:
            self.notify(say("screen.reconcile.no_scan"), severity="warning")
            return
        self.query_one("#recon-day", Input).value = code.text
        self.action_run()

    def action_run(self) -> None:
        try:
            day = parse_day(self.query_one("#recon-day", Input).value)
        except CashierError as exc:
            self.notify(str(exc), severity="warning")
            return
        connection = self.app.insurer
        if connection is None:  # connecting at start-up, or the gateway cannot be reached
            self.notify(NOT_CONNECTED, severity="warning", timeout=6)
            self._status(f"[yellow]{NOT_CONNECTED}[/]")
            return
        self.query_one("#recon-day", Input).value = day.isoformat()
        self._status(say("screen.reconcile.reconciling", day=day.isoformat()))
        self.reconcile(connection.client, day)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reconcile")
    def reconcile(self, client, day) -> None:
        result = reconcile_day(client, self.app.settings, day, self.app.operator)
        self.app.call_from_thread(self._show, result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.state is WorkerState.ERROR and event.worker.group == "reconcile":
            self._status(say("screen.reconcile.not_done"))

    def _status(self, markup: str) -> None:
        self.query_one("#recon-status", Static).update(markup)

    # -- showing -----------------------------------------------------------------------------
    def _show(self, result: Reconciliation) -> None:
        if not self.is_attached:
            return
        self.result = result
        ours = result.ours
        verdict = (
            say("screen.reconcile.balanced")
            if result.balanced
            else say("screen.reconcile.unbalanced")
        )
        counts = "，".join(f"{k.label} {n}" for k in MismatchKind if (n := len(result.of_kind(k))))
        self._status(
            say(
                "screen.reconcile.summary",
                day=result.day.isoformat(),
                verdict=verdict,
                ours=ours.count,
                medfee=ours.medfee_sumamt.display(),
                theirs=result.insurer_count,
                matched=len(result.matched),
            )
            + "\n"
            + (
                say("screen.reconcile.differing", counts=counts)
                if counts
                else say("screen.reconcile.all_match")
            )
        )
        groups = self.query_one("#recon-groups", DataTable)
        groups.clear()
        for g in result.groups:
            groups.add_row(
                group_label(g.insutype, g.clr_type, short=True),
                Text(str(g.ours.count), justify="right"),
                _money(g.ours.medfee_sumamt),
                _money(g.ours.fund_pay_sumamt),
                _money(g.ours.acct_pay),
                Text(say("screen.reconcile.balanced_word"), style="green")
                if g.balanced
                else Text(say("screen.reconcile.unbalanced_word"), style="bold red"),
            )
        if not result.groups:
            groups.add_row(say("screen.reconcile.no_local"), "", "", "", "", "")
        table = self.query_one("#recon-mismatches", DataTable)
        table.clear()
        for n, m in enumerate(result.mismatches):
            table.add_row(
                Text(m.kind.label, style="bold red"),
                m.receipt_no or "—",
                plain(m.summary or m.setl_id),
                key=str(n),
            )
        if result.mismatches:
            table.focus()
            table.move_cursor(row=0)

    def action_focus_mismatches(self) -> None:
        self.query_one("#recon-mismatches", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "recon-mismatches" or self.result is None:
            return
        event.stop()
        if 0 <= event.cursor_row < len(self.result.mismatches):
            self.app.push_screen(MismatchDetail(self.result.mismatches[event.cursor_row]))

    def action_export(self) -> None:
        """The reconciliation shown, as a workbook for finance (``<data>/reports``)."""
        if self.result is None:
            self.notify(say("screen.reconcile.run_first"), severity="warning")
            return
        self.export(self.result)

    @work(thread=True, exclusive=True, exit_on_error=False, group="recon-export")
    def export(self, result: Reconciliation) -> None:
        from cashier.reports.render import folder_for
        from cashier.services.reconcile import write_xlsx

        settings = self.app.settings
        folder = folder_for(settings.reports_dir)
        path = write_xlsx(result, folder / f"recon-{result.day.isoformat()}.xlsx",
                          clinic_name=settings.clinic_name, training=settings.training)  # fmt: skip
        self.app.call_from_thread(self._exported, path)

    def _exported(self, path) -> None:
        self.exported = path
        self.notify(say("screen.reports.exported", path=path), timeout=10)

    def action_payments_tab(self) -> None:
        from cashier.ui.screens.menu import switch_to

        switch_to(self.app, "cashier.ui.screens.payment_reconcile:PaymentReconcileScreen")

    def action_back(self) -> None:
        self.dismiss(None)

    def _leave(self) -> None:
        self.dismiss(None)  # not awaited: called from this screen's own message loop


class MismatchDetail(ModalScreen[None]):
    """The drill-down: the local sale of a mismatch beside the insurer's record."""

    BINDINGS = [Binding("escape", "dismiss(None)", say("screen.reconcile.key.back"), id="back")]

    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__()
        self.mismatch = mismatch

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"[b]{self.mismatch.kind.label}[/]", id="drill-title")
            yield Static(self.text(), id="drill-body")
            yield Static(say("screen.reconcile.detail_keys"), classes="dim")

    def text(self) -> str:
        m = self.mismatch
        s, t = m.local, m.theirs
        lines = []
        if s is None:
            lines.append(say("screen.reconcile.no_bill"))
        else:
            status = "" if s.status == "settled" else say("screen.reconcile.cancelled_here")
            lines += [
                say("screen.reconcile.detail.receipt", value=quoted(s.receipt_no), status=status),
                say(
                    "screen.reconcile.detail.time",
                    settled_at=s.settled_at,
                    value=quoted(s.station),
                    value2=quoted(s.operator),
                ),
                say(
                    "screen.reconcile.detail.patient",
                    value=quoted(s.psn_name),
                    value2=quoted(s.certno),
                ),
                say(
                    "screen.reconcile.detail.insurance",
                    insutype=s.insutype,
                    INSUTYPES=INSUTYPES.get(s.insutype, ""),
                    MED_TYPES=MED_TYPES.get(s.med_type, s.med_type),
                    sale_total=s.sale_total.display(),
                ),
            ]
        lines.append(
            say(
                "screen.reconcile.detail.ids",
                value=quoted(m.setl_id or "—"),
                value2=quoted(m.msgid or "—"),
            )
        )
        lines.append(
            _pad("", 10)
            + _pad(say("screen.reconcile.detail.here"), 14, right=True)
            + _pad(say("screen.reconcile.detail.there"), 14, right=True)
        )
        for name, label in FIELDS:
            ours = getattr(s, name).display() if s else "—"
            theirs = getattr(t, name).display() if t else "—"
            differs = any(d.field == name for d in m.differences)
            row = _pad(label, 10) + _pad(ours, 14, right=True) + _pad(theirs, 14, right=True)
            lines.append(f"[b red]{row}[/]" if differs else row)
        if s is not None:
            lines.append(
                _pad(say("screen.reconcile.detail.cash"), 10)
                + _pad(s.psn_cash_pay.display(), 14, right=True)
            )
        if m.note:
            lines.append(say("screen.reconcile.detail.note", value=quoted(m.note)))
        return "\n".join(lines)
