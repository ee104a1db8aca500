"""查单 / 重打 / 审计: find a sale, see it whole with its audit trail, reprint it, check the chain."""

from __future__ import annotations

import json
from datetime import UTC, date

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cashier.domain.tender import Method
from cashier.errors import CashierError, InputError
from cashier.messages import say
from cashier.store.models import Sale, SaleLine, Tender
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.text import quoted
from cashier.ui.widgets.keybar import KeyBar

STATUS = {
    "completed": say("screen.lookup.status.completed"),
    "voided": say("screen.lookup.status.voided"),
    "refunded": say("screen.lookup.status.refunded"),
}


def local(at) -> str:
    return at.replace(tzinfo=UTC).astimezone().strftime("%H:%M:%S")


class LookupScreen(WorkerErrors, Screen[None]):
    ACCEPTS_SCANS = True  # a receipt's QR finds its sale
    BINDINGS = [
        Binding("f11", "reprint", say("screen.lookup.key.reprint"), id="lookup_reprint"),
        Binding("f5", "verify", say("screen.lookup.key.verify"), id="lookup_verify"),
        Binding("escape", "back", say("screen.lookup.key.back"), id="back"),
    ]

    def __init__(self, query: str = "", day: date | None = None) -> None:
        """``query`` and ``day``: what to look for at once (a drill-down's receipt number
        and its day; today by default)."""
        super().__init__()
        self.sales: list[Sale] = []
        self._query = query
        self._day = day or date.today()

    def compose(self) -> ComposeResult:
        yield Static(say("screen.lookup.heading"))
        with Horizontal(id="lookup-find"):
            yield Input(self._query, placeholder=say("screen.lookup.query_hint"), id="lookup-query")
            yield Input(
                self._day.isoformat(), placeholder=say("screen.lookup.day_hint"), id="lookup-day"
            )
        yield DataTable(id="lookup-results", cursor_type="row")
        with VerticalScroll(id="lookup-detail-box"):
            yield Static("", id="lookup-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (
            (say("screen.lookup.col.time"), 8),
            (say("screen.lookup.col.receipt"), 18),
            (say("screen.lookup.col.kind"), 4),
            (say("screen.lookup.col.amount"), 9),
            (say("screen.lookup.col.status"), 6),
        ):
            table.add_column(label, width=width)
        self.query_one("#lookup-query", Input).focus()
        self.search(self._query)

    def handle_scan(self, code) -> None:
        text = code.text.rsplit(":", 1)[-1] if code.text.startswith("CASHIER:") else code.text
        self.query_one("#lookup-query", Input).value = text
        self.search(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.search(self.query_one("#lookup-query", Input).value)

    def search(self, text: str) -> None:
        from cashier.services.lookup import find_sales

        try:
            day = date.fromisoformat(self.query_one("#lookup-day", Input).value.strip())
        except ValueError:
            self.notify(say("screen.lookup.date_shape"), severity="error")
            return
        try:
            self.sales = find_sales(text, day)
        except CashierError as exc:
            self.notify(str(exc), severity="error")
            return
        table = self.query_one(DataTable)
        table.clear()
        for sale in self.sales:
            table.add_row(
                local(sale.closed_at),
                sale.receipt_no or say("screen.lookup.voided_no", id=sale.id),
                say("screen.lookup.insured")
                if sale.kind == "insured"
                else say("screen.lookup.self_pay"),
                Text(str(sale.total), justify="right"),
                STATUS.get(sale.status, sale.status),
            )
        if self.sales:
            table.focus()
            self.show(self.sales[0])
        else:
            self.query_one("#lookup-detail", Static).update(say("screen.lookup.none_found"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.sales):
            self.show(self.sales[event.cursor_row])

    def _selected(self) -> Sale | None:
        table = self.query_one(DataTable)
        if not self.sales:
            return None
        return self.sales[min(table.cursor_row, len(self.sales) - 1)]

    def show(self, sale: Sale) -> None:
        from cashier.services.lookup import audit_trail

        out = [
            say(
                "screen.lookup.detail_head",
                value=quoted(sale.receipt_no or say("screen.lookup.voided_bill")),
                STATUS=STATUS.get(sale.status, sale.status),
                operator_id=sale.operator_id,
                reprints=sale.reprints,
            )
        ]
        for ln in sale.lines.order_by(SaleLine.line_no):
            out.append(
                f"  {quoted(ln.name)} {ln.quantity}{quoted(ln.unit)} × {ln.price} = {ln.amount}"
            )
        out.append(
            say("screen.lookup.detail_money", total=sale.total, paid=sale.paid, change=sale.change)
        )
        for t in sale.tenders.order_by(Tender.seq):
            out.append(f"  {Method(t.method).label} {t.amount}")
        for s in sale.settlements:
            out.append(
                say(
                    "screen.lookup.detail_insured",
                    value=quoted(s.psn_name),
                    value2=quoted(s.certno),
                    value3=quoted(s.setl_id),
                    status=s.status,
                    fund_pay_sumamt=s.fund_pay_sumamt,
                    acct_pay=s.acct_pay,
                    psn_cash_pay=s.psn_cash_pay,
                )
            )
        out.append(say("screen.lookup.audit_head"))
        for entry in audit_trail(sale):
            detail = json.loads(entry.detail or "{}")
            brief = " ".join(f"{k}={v}" for k, v in list(detail.items())[:4])
            out.append(f"  {local(entry.at)} {entry.action} {entry.operator} {quoted(brief)}")
        self.query_one("#lookup-detail", Static).update("\n".join(out))

    def action_reprint(self) -> None:
        if getattr(self.app, "CONSOLE", False):
            self.notify(say("screen.lookup.reprint_at_counter"), severity="warning")
            return
        sale = self._selected()
        if sale is None or sale.status != "completed":
            self.notify(say("screen.lookup.pick_completed"), severity="warning")
            return
        self.reprint(sale.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="printer")
    def reprint(self, sale_id: int) -> None:
        from cashier.services.printing import configured_printer, print_sale

        settings = self.app.settings
        printed = print_sale(settings, sale_id, configured_printer(settings), by=self.app.operator)
        self.app.call_from_thread(
            self.notify, say("screen.lookup.reprinted", where=printed.where), timeout=6
        )
        self.app.call_from_thread(self.show, Sale.get_by_id(sale_id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit")
    def action_verify(self) -> None:
        from cashier.services import audit

        check = audit.verify()
        if not check.ok:
            raise InputError(
                say(
                    "screen.lookup.audit_broken",
                    first_bad_id=check.first_bad_id,
                    problem=check.problem,
                )
            )
        self.app.call_from_thread(
            self.notify, say("screen.lookup.audit_intact", entries=check.entries), timeout=8
        )

    def action_back(self) -> None:
        self.dismiss(None)
