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

STATUS = {"completed": "已完成", "voided": "已作废", "refunded": "已退款"}


def local(at) -> str:
    return at.replace(tzinfo=UTC).astimezone().strftime("%H:%M:%S")


class LookupScreen(WorkerErrors, Screen[None]):
    ACCEPTS_SCANS = True  # a receipt's QR finds its sale
    BINDINGS = [
        Binding("f11", "reprint", "重打", id="lookup_reprint"),
        Binding("f5", "verify", "校验审计链", id="lookup_verify"),
        Binding("escape", "back", "返回", id="back"),
    ]

    def __init__(self, query: str = "", day: date | None = None) -> None:
        """``query`` and ``day``: what to look for at once (a drill-down's receipt number
        and its day; today by default)."""
        super().__init__()
        self.sales: list[Sale] = []
        self._query = query
        self._day = day or date.today()

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]查单[/]  收据号 / 金额 / 时间 10:35 / 身份证末 4 位 / 患者姓氏；Enter 查看"
        )
        with Horizontal(id="lookup-find"):
            yield Input(self._query, placeholder="查找（空=今日全部）", id="lookup-query")
            yield Input(self._day.isoformat(), placeholder="日期", id="lookup-day")
        yield DataTable(id="lookup-results", cursor_type="row")
        with VerticalScroll(id="lookup-detail-box"):
            yield Static("", id="lookup-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("时间", 8), ("收据号", 18), ("类型", 4), ("金额", 9), ("状态", 6)):
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
                sale.receipt_no or f"(作废 #{sale.id})",
                "医保" if sale.kind == "insured" else "自费",
                Text(str(sale.total), justify="right"),
                STATUS.get(sale.status, sale.status),
            )
        if self.sales:
            table.focus()
            self.show(self.sales[0])
        else:
            self.query_one("#lookup-detail", Static).update("没有找到")

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
            f"[b]{quoted(sale.receipt_no or '作废单')}[/] {STATUS.get(sale.status, sale.status)}"
            f" · 收费员 {sale.operator_id} · 重打 {sale.reprints} 次"
        ]
        for ln in sale.lines.order_by(SaleLine.line_no):
            out.append(
                f"  {quoted(ln.name)} {ln.quantity}{quoted(ln.unit)} × {ln.price} = {ln.amount}"
            )
        out.append(f"合计 {sale.total}  实收 {sale.paid}  找零 {sale.change}")
        for t in sale.tenders.order_by(Tender.seq):
            out.append(f"  {Method(t.method).label} {t.amount}")
        for s in sale.settlements:
            out.append(
                f"医保 {quoted(s.psn_name)} {quoted(s.certno)} 结算号 {quoted(s.setl_id)}（{s.status}）"
                f" 统筹 {s.fund_pay_sumamt} 个账 {s.acct_pay} 现金 {s.psn_cash_pay}"
            )
        out.append("[b]审计记录[/]")
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
