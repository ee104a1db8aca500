"""Refunds at the counter: the cashier asks, a supervisor approves on the same screen."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from cashier.devices.scanner import ScanKind, ScannedCode
from cashier.errors import CashierError, DeviceError
from cashier.messages import say
from cashier.store.models import SaleLine
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy, show_error
from cashier.ui.text import plain, quoted
from cashier.ui.widgets.keybar import KeyBar


class RefundScreen(WorkerErrors, Screen[None]):
    """Find the sale, choose what goes back, a supervisor approves, the money goes back."""

    ACCEPTS_SCANS = True  # the receipt's QR, then the patient's 医保码 / ID for a partial refund
    BINDINGS = [
        Binding("f4", "quantity", say("screen.refund.key.quantity"), id="refund_quantity"),
        Binding("space", "toggle_line", say("screen.refund.key.toggle"), id="refund_toggle"),
        Binding("f9", "all", say("screen.refund.key.all"), id="refund_all"),
        Binding("f10", "execute", say("screen.refund.key.execute"), id="refund_execute"),
        Binding("escape", "back", say("screen.refund.key.back"), id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sale = None
        self.quantities: dict[int, int] = {}
        self.codes_back: dict[int, tuple[str, ...]] = {}  # sale line id → returned boxes' 追溯码
        self.patient = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(say("screen.refund.heading"))
        with Horizontal(id="refund-find"):
            yield Input(placeholder=say("screen.refund.receipt_hint"), id="receipt-no")
        yield DataTable(id="refund-lines", cursor_type="row")
        yield Static("", id="refund-summary")
        with Vertical(id="refund-approve"):
            yield Input(placeholder=say("screen.refund.reason_hint"), id="reason")
            with Horizontal():
                yield Input(placeholder=say("screen.refund.supervisor_code"), id="sup-code")
                yield Input(
                    placeholder=say("screen.refund.supervisor_pin"), id="sup-pin", password=True
                )
        yield Label("", id="refund-result")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(say("screen.refund.col.item"), width=20)
        table.add_column(Text(say("screen.refund.col.price"), justify="right"), width=8)
        table.add_column(Text(say("screen.refund.col.quantity"), justify="right"), width=6)
        table.add_column(Text(say("screen.refund.col.back"), justify="right"), width=4)
        table.add_column(Text(say("screen.refund.col.amount"), justify="right"), width=9)
        self.query_one("#receipt-no", Input).focus()

    # -- finding the sale ------------------------------------------------------------------
    def handle_scan(self, code: ScannedCode) -> None:
        text = code.text
        if text.startswith("CASHIER:"):  # the receipt's own QR: CASHIER:<station>:<receipt no>
            self.find(text.rsplit(":", 1)[-1])
        elif code.kind is ScanKind.TRACE and self.sale is not None:
            self.box_back(text)
        elif code.kind in (ScanKind.EVOUCHER, ScanKind.ID_NUMBER) and self.sale is not None:
            self.identify("qr" if code.kind is ScanKind.EVOUCHER else "id", text)
        else:
            self.find(text)

    def handle_card(self, card) -> None:
        if self.sale is not None:
            self.identify("card", card)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "receipt-no":
            self.find(event.value)
        elif event.input.id == "reason":
            self.query_one("#sup-code", Input).focus()
        elif event.input.id == "sup-code":
            self.query_one("#sup-pin", Input).focus()
        elif event.input.id == "sup-pin":
            self.action_execute()

    def find(self, receipt_no: str) -> None:
        from cashier.services.refunds import find_refundable

        try:
            sale = find_refundable(receipt_no)
        except CashierError as exc:
            show_error(self, exc, timeout=8)
            return
        self.sale, self.patient = sale, None
        self.quantities = {}  # nothing goes back until the cashier picks it (F9: everything)
        self.codes_back = {}
        self.query_one("#receipt-no", Input).value = sale.receipt_no
        self.refresh_plan()
        self.query_one(DataTable).focus()

    def _plan(self):
        from cashier.services.refunds import plan_refund

        return plan_refund(self.sale, self.quantities, self.codes_back)

    def box_back(self, code: str) -> None:
        """A returned box's 追溯码: its line returns one more box (scanned again: one less)."""
        from cashier.services import trace

        sold = trace.codes_of_sale(self.sale.id)
        line = next((ln for ln in self.sale.lines if code in sold.get(ln.line_no, ())), None)
        if line is None:
            self.notify(say("screen.refund.box_not_sold", code=trace.shown(code)), severity="error")
            return
        codes = self.codes_back.get(line.id, ())
        codes = tuple(c for c in codes if c != code) if code in codes else (*codes, code)
        self.codes_back[line.id] = codes
        self.quantities[line.id] = len(codes)
        self.refresh_plan()

    def refresh_plan(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        if self.sale is None:
            return
        for line in self.sale.lines.order_by(SaleLine.line_no):
            back = self.quantities.get(line.id, 0)
            table.add_row(
                plain(line.name),
                Text(str(line.price), justify="right"),
                Text(str(line.quantity), justify="right"),
                Text(str(back), justify="right"),
                Text(str(line.price * back), justify="right"),
                key=str(line.id),
            )
        summary = self.query_one("#refund-summary", Static)
        if not any(self.quantities.values()):
            summary.update(say("screen.refund.choose", receipt_no=self.sale.receipt_no))
            return
        try:
            plan = self._plan()
        except CashierError as exc:
            summary.update(f"[red]{exc}[/]")
            return
        kind = say("screen.refund.full") if plan.full else say("screen.refund.partial")
        insured = say("screen.refund.insured_resettle") if plan.needs_patient else ""
        if plan.insured and plan.full:
            insured = say("screen.refund.insured_cancel")
        patient = ""
        if plan.needs_patient:
            patient = (
                say("screen.refund.patient_known", value=quoted(self.patient.name_masked))
                if self.patient
                else say("screen.refund.patient_needed")
            )
        summary.update(
            say(
                "screen.refund.summary",
                receipt_no=self.sale.receipt_no,
                kind=kind,
                insured=insured,
                total=plan.total.display(),
                paid_net=plan.paid_net.display(),
                patient=patient,
            )
        )

    # -- choosing what goes back -------------------------------------------------------------
    def action_quantity(self) -> None:
        from cashier.ui.dialogs.quantity import QuantityDialog

        if self.sale is None:
            return
        line = self._line()
        back = self.quantities.get(line.id, 0)

        def chosen(quantity: int | None) -> None:
            if quantity is not None:
                self.quantities[line.id] = quantity
                if len(self.codes_back.get(line.id, ())) != quantity:
                    self.codes_back.pop(line.id, None)  # the boxes are scanned again
                self.refresh_plan()

        self.app.push_screen(
            QuantityDialog(line.name, back or line.quantity, most=line.quantity), chosen
        )

    def _line(self):
        table = self.query_one(DataTable)
        lines = list(self.sale.lines.order_by(SaleLine.line_no))
        return lines[min(table.cursor_row, len(lines) - 1)]

    def action_toggle_line(self) -> None:
        """Space: the selected line goes back whole, or not at all."""
        if self.sale is None:
            return
        line = self._line()
        row = self.query_one(DataTable).cursor_row
        self.quantities[line.id] = 0 if self.quantities.get(line.id, 0) else line.quantity
        self.codes_back.pop(line.id, None)
        self.refresh_plan()
        self.query_one(DataTable).move_cursor(row=row)

    def action_all(self) -> None:
        if self.sale is not None:
            self.quantities = {line.id: line.quantity for line in self.sale.lines}
            self.codes_back = {}
            self.refresh_plan()

    # -- the patient, for a partial insured refund ---------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def identify(self, how: str, value) -> None:
        from cashier.services.insured import Insurance, advice

        connection = self.app.insurer
        try:
            if connection is None:
                raise CashierError(say("screen.refund.insurer_away"))
            insurance = Insurance(connection.client, self.app.settings)
            method = {
                "qr": insurance.identify_qr,
                "id": insurance.identify_id,
                "card": insurance.identify_card,
            }[how]
            patient = method(value, self.app.operator)
        except Exception as exc:  # every failure is a message with a next step
            self.app.call_from_thread(self.notify, str(advice(exc)), severity="error")
            return
        self.patient = patient
        self.app.call_from_thread(self.refresh_plan)

    # -- doing it ---------------------------------------------------------------------------------
    def action_execute(self) -> None:
        if self.sale is None or self._busy:
            self.notify(say("screen.refund.find_first"), severity="warning")
            return
        reason = self.query_one("#reason", Input).value
        code = self.query_one("#sup-code", Input).value
        pin = self.query_one("#sup-pin", Input).value
        if not reason.strip():
            self.query_one("#reason", Input).focus()
            self.notify(say("screen.refund.reason_needed"), severity="warning")
            return
        if not (code.strip() and pin):
            self.query_one("#sup-code", Input).focus()
            self.notify(say("screen.refund.approve"), severity="warning")
            return
        if money_busy(self.app):
            return
        self._busy = True
        self.query_one("#refund-result", Label).update(say("screen.refund.refunding"))
        self.run_refund(reason, code, pin)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def run_refund(self, reason: str, code: str, pin: str) -> None:
        from cashier.services.insured import Insurance
        from cashier.services.refunds import ResaleFailed, approve, execute

        settings = self.app.settings
        try:
            supervisor = approve(settings.station_id, code, pin)
            connection = self.app.insurer
            insurance = Insurance(connection.client, settings) if connection else None
            done = execute(
                settings,
                self._plan(),
                requested_by=self.app.operator,
                approved_by=supervisor,
                completed_by=self.app.operator,
                reason=reason,
                insurance=insurance,
                patient=self.patient,
                providers=self.app.payments.providers if self.app.payments else None,
            )
        except ResaleFailed as exc:
            self.app.call_from_thread(self._resale_failed, exc)
            raise
        except Exception:
            self.app.call_from_thread(self._failed)
            raise
        finally:
            self._busy = False
        self.app.call_from_thread(self._done, done)
        for channel in done.channels:  # what went back through WeChat / Alipay, and how
            severity = "information" if channel.state == "done" else "warning"
            self.app.call_from_thread(self.notify, channel.message, severity=severity, timeout=15)
        self._print(done)

    def _print(self, done) -> None:
        from cashier.services.printing import configured_printer, print_sale
        from cashier.services.refunds import print_slip

        settings = self.app.settings
        printer = configured_printer(settings)
        try:
            printed = print_slip(settings, done.refund_id, printer)
            if done.new_sale_id is not None:
                print_sale(settings, done.new_sale_id, printer)
        except DeviceError as exc:
            raise DeviceError(say("screen.refund.unprinted", exc=exc)) from None
        self.app.call_from_thread(
            self.notify, say("screen.refund.slip_printed", where=printed.where), timeout=8
        )

    def _done(self, done) -> None:
        self.app.poke_outbox()  # its 3506 (and the kept lines' 3505) go in the background
        back = "，".join(f"{m.label} {a.display()}" for m, a in done.by_method) or say(
            "screen.refund.nothing"
        )
        new = (
            say("screen.refund.new_receipt", new_receipt_no=done.new_receipt_no)
            if done.new_receipt_no
            else ""
        )
        self.query_one("#refund-result", Label).update(
            say(
                "screen.refund.done",
                refund_no=done.refund_no,
                back_to_patient=done.back_to_patient.display(),
                back=back,
                new=new,
            )
        )
        self.sale, self.patient = None, None
        self.query_one(DataTable).clear()
        for field in ("#receipt-no", "#reason", "#sup-code", "#sup-pin"):
            self.query_one(field, Input).value = ""

    def _failed(self) -> None:
        self.query_one("#refund-result", Label).update(say("screen.refund.not_done"))

    def _resale_failed(self, exc) -> None:
        from cashier.ui.screens.sale import SaleScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, SaleScreen):
                screen.take_lines(exc.lines)
        self.query_one("#refund-result", Label).update(f"[yellow]{exc}[/]")

    def action_back(self) -> None:
        if not self._busy:
            self.dismiss(None)
