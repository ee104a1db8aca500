"""The sale screen: scan, look up, change quantities, pay, void, reprint.

It renders the counter's bill (``cashier.services.counter``) and sends it the cashier's
intents; the bill's life cycle and its rules (paying, parked bills, voids, logging out) are
the counter's."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Digits, Input, Label, Static

from cashier import logs
from cashier.devices.scanner import ScanKind, ScannedCode, classify
from cashier.domain.money import Fen
from cashier.errors import CashierError, DeviceError
from cashier.messages import say
from cashier.services import catalog
from cashier.services.checkout import Checkout, Completed, last_completed
from cashier.services.counter import BillChanged, Counter, Event, parked_label
from cashier.services.insured import split_rows
from cashier.services.printing import configured_printer, pending_jobs, print_sale, retry_pending
from cashier.store.models import Item
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy, relay, show_error
from cashier.ui.text import clipped, plain, quoted
from cashier.ui.widgets import put
from cashier.ui.widgets.insured import Breakdown, PatientCard
from cashier.ui.widgets.keybar import KeyBar

SPINNER_AFTER_S = 0.3
#: The name and spec columns at their narrowest; wider terminals widen them. A spec of
#: SPEC_WHOLE cells (0.3g*20粒) is shown whole whenever the name keeps NAME_MIN.
NAME_MIN, SPEC_MIN, SPEC_WHOLE = 8, 6, 9


def _spec(line) -> tuple[str, str]:
    """What the spec column says, as (state, words): a line whose boxes want their 追溯码
    shows how many are scanned (2/3 已扫码), then its spec again marked done; a line
    waived by a supervisor says so."""
    if not line.trac_required:
        return "", line.spec
    if line.trace_waived:
        return "waived", say("screen.sale.trace_waived")
    if line.trace_missing:
        done, of = len(line.trace_codes), line.quantity
        return "missing", say("screen.sale.trace_progress", done=done, of=of)
    return "done", "✓" + line.spec


_SPEC_STYLES = {"missing": "bold yellow", "done": "green", "waived": "yellow"}


def _spec_cell(spec: tuple[str, str], width: int):
    state, words = spec
    return clipped(words, width, style=_SPEC_STYLES.get(state, ""))


class SaleScreen(WorkerErrors, Screen[None]):
    ACCEPTS_SCANS = True

    BINDINGS = [
        Binding("f1", "help", say("screen.sale.key.help"), id="help"),
        Binding("up", "move(-1)", say("screen.sale.key.up"), show=False),
        Binding("down", "move(1)", say("screen.sale.key.down"), show=False),
        Binding("f2", "identify", say("screen.sale.key.identify"), id="identify"),
        Binding("f3", "search", say("screen.sale.key.search"), id="search"),
        Binding("f4", "quantity", say("screen.sale.key.quantity"), id="quantity"),
        Binding("f5", "presettle", say("screen.sale.key.presettle"), id="presettle"),
        Binding("f6", "toggle_account", say("screen.sale.key.account"), id="toggle_account"),
        Binding("f7", "line_split", say("screen.sale.key.split"), id="line_split"),
        Binding("ctrl+s", "selfpay", say("screen.sale.key.selfpay"), id="selfpay"),
        Binding("ctrl+g", "hold", say("screen.sale.key.hold"), id="hold"),
        Binding("ctrl+r", "recall", say("screen.sale.key.recall"), id="recall"),
        Binding("ctrl+o", "menu", say("screen.sale.key.menu"), id="menu"),
        Binding("f9", "pay", say("screen.sale.key.pay"), id="pay"),
        Binding("f10", "exact_cash", say("screen.sale.key.exact_cash"), id="exact_cash"),
        Binding("f11", "reprint", say("screen.sale.key.reprint"), id="reprint"),
        Binding("f12", "void", say("screen.sale.key.void"), id="void"),
        Binding("delete", "remove_line", say("screen.sale.key.remove_line"), id="remove_line"),
        Binding("ctrl+t", "trace_waive", say("screen.sale.key.trace_waive"), id="trace_waive"),
        Binding("ctrl+x", "prescription", say("screen.sale.key.prescription"), id="prescription"),
        Binding("f8", "app.hardware", say("screen.sale.key.devices"), id="hardware", show=False),
        Binding("ctrl+l", "app.lock", say("screen.sale.key.lock"), id="lock", show=False),
        Binding("ctrl+q", "logout", say("screen.sale.key.logout"), id="logout", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.counter = Counter(
            self.app.settings.station_id,
            self.app.operator,
            payments=lambda: self.app.payments,
            insurance=self._make_insurance,
            cash_confirm_factor=self.app.settings.cash_confirm_factor,
            reports_inventory=self.app.settings.reports_inventory,
            ebill_place=self.app.settings.ebill_place,
        )
        self.app.counter = self.counter  # the supervisor's on-demand resolution asks it
        self.counter.subscribe(self._on_counter)
        self._problem = ""  # the last insurer problem, shown in the breakdown panel
        self._rows: list[tuple] | None = None  # what the lines table shows
        self._spinner: Timer | None = None  # shows the side panel's spinner when a wait is long
        self._keys_for: tuple | None = None  # the bill's moment the key bar was drawn for

    @property
    def checkout(self) -> Checkout:
        """The bill on screen."""
        return self.counter.bill

    @property
    def parked(self) -> list[Checkout]:
        return self.counter.parked

    def shows_key(self, action: str) -> bool:
        """The key bar shows the keys of this moment (every key still works; F1 lists them
        all): an empty counter's, a self-pay bill's, an insured one's."""
        co = self.checkout
        part = co.insured
        if action == "trace_waive":  # boxes still want their 追溯码
            return any(line.trace_missing for line in co.lines)
        if action == "prescription":  # a 处方药 on the bill, no prescription yet
            return co.needs_prescription and co.prescription is None
        if not co.lines and part is None:  # between patients
            if action == "recall":
                return bool(self.parked)
            return action in ("help", "identify", "search", "reprint", "menu")
        if part is None:  # a self-pay bill
            return action in (
                "help", "identify", "search", "quantity", "pay", "exact_cash", "void", "hold",
            )  # fmt: skip
        insured = ("search", "quantity", "presettle", "toggle_account", "pay", "exact_cash", "void")
        if action == "line_split":
            return bool(part.line_results)
        if action == "selfpay":
            return not part.settled
        return action in insured

    def _make_insurance(self):
        from cashier.insurer.client import InsurerUnavailable
        from cashier.services.insured import Insurance

        connection = self.app.reached_insurer()
        if connection is None:
            raise InsurerUnavailable(say("screen.sale.insurer_away"))
        return Insurance(connection.client, self.app.settings)

    def _on_counter(self, event: Event) -> None:
        relay(self, self._show_event, event)

    def _show_event(self, event: Event) -> None:
        if self.is_attached and isinstance(event, BillChanged):
            self.refresh_sale(select=event.select)

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="topbar")  # drawn by _show_parked, from the first refresh on
        with Horizontal(id="sale-main"):
            yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
            with Vertical(id="side"):
                yield PatientCard(id="patient")
                yield Breakdown(id="breakdown")
                yield Label(say("screen.sale.caption.due"), classes="caption", id="total-caption")
                yield Digits("0.00", id="total")
                yield Static("", id="count")
                yield Static("", id="last-sale")
        yield Input(placeholder=say("screen.sale.entry_hint"), id="entry")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#lines", DataTable)
        table.add_column(
            say("screen.sale.col.class"), key="class", width=2
        )  # 甲/乙/丙: the insurer's, once uploaded
        table.add_column(say("screen.sale.col.name"), key="name", width=NAME_MIN)
        table.add_column(say("screen.sale.col.spec"), key="spec", width=SPEC_MIN)
        table.add_column(Text(say("screen.sale.col.price"), justify="right"), key="price", width=6)
        table.add_column(Text(say("screen.sale.col.quantity"), justify="right"), key="qty", width=3)
        table.add_column(
            Text(say("screen.sale.col.amount"), justify="right"), key="amount", width=7
        )
        self.query_one("#entry", Input).focus()
        self.refresh_sale()

    def on_resize(self) -> None:
        """The name and spec columns take the width there is (120 columns show whole names)."""
        table = self.query_one("#lines", DataTable)
        fixed = sum(table.columns[k].width for k in ("class", "price", "qty", "amount"))
        padding = 2 * table.cell_padding * len(table.columns)
        spare = max(table.size.width - fixed - padding - 1, NAME_MIN + SPEC_MIN)
        # The spec first (0.3g*20粒 whole tells two packs apart), then the name the rest.
        spec = max(min(SPEC_WHOLE, spare - NAME_MIN), min(spare // 3, 16))
        widths = {"name": spare - spec, "spec": spec}
        if any(table.columns[k].width != w for k, w in widths.items()):
            for key, width in widths.items():
                table.columns[key].width = width
                table.columns[key].auto_width = False
            self._rows = None  # redrawn with the new widths (and the names clipped anew)
            self.refresh_sale()

    def action_move(self, step: int) -> None:
        """↑↓ choose the line, whatever has focus (the scan field keeps it)."""
        table = self.query_one("#lines", DataTable)
        if self.checkout.lines:
            table.move_cursor(
                row=max(0, min(table.cursor_row + step, len(self.checkout.lines) - 1))
            )

    def refresh_sale(self, select: int | None = None) -> None:
        """Show the bill as it is now. Only what changed is redrawn: the sale screen
        refreshes after every scan and insurer step, and a DataTable rebuilt or a class
        toggled on the screen costs a visible frame on a slow PC (``bench.latency``)."""
        part = self.checkout.insured
        lines = self.checkout.lines
        classes = (
            [row.list_class[:1] for row in split_rows(lines, part)]
            if part is not None
            else [line.list_class for line in lines]
        )
        rows = [
            (klass, line.name, _spec(line), str(line.price), str(line.quantity), str(line.amount))
            for klass, line in zip(classes, lines, strict=True)
        ]
        table = self.query_one("#lines", DataTable)
        if rows != self._rows:
            self._rows = rows
            table.clear()
            name_w, spec_w = table.columns["name"].width, table.columns["spec"].width
            for n, (klass, name, spec, price, quantity, amount) in enumerate(rows, 1):
                table.add_row(
                    plain(klass),
                    clipped(name, name_w),
                    _spec_cell(spec, spec_w),
                    Text(price, justify="right"),
                    Text(quantity, justify="right"),
                    Text(amount, justify="right"),
                    key=str(n),
                )
        if select is not None and lines:
            table.move_cursor(row=min(select, len(lines) - 1))
        last = self.counter.last
        self.query_one("#patient", PatientCard).show(part, self.app.settings.admvs)
        self.query_one("#breakdown", Breakdown).show(part, self._problem)
        self.query_one("#last-sale", Static).display = part is None
        self.query_one("#side").set_class(part is not None, "-insured")
        caption, figure = say("screen.sale.caption.due"), self.checkout.total
        if not lines and last is not None and last.change and part is None:
            # Between sales the change of the last one is what the cashier needs, big.
            caption, figure = say("screen.sale.caption.last_change"), last.change
        elif part is not None and part.cash_due is not None:
            caption, figure = say("screen.sale.caption.cash_due"), part.cash_due
        elif part is not None:
            caption = say("screen.sale.caption.medfee")
        put(self.query_one("#total-caption", Label), caption)
        digits = self.query_one("#total", Digits)
        if digits.value != str(figure):
            digits.update(str(figure))
        put(
            self.query_one("#count", Static),
            say("screen.sale.count", lines=len(lines), item_count=self.checkout.item_count)
            if lines
            else say("screen.sale.scan_prompt"),
        )
        state = (
            bool(lines),
            part is not None,
            any(line.trace_missing for line in lines),
            self.checkout.needs_prescription and self.checkout.prescription is None,
            bool(part and part.line_results),
            bool(part and part.settled),
            len(self.parked),
        )
        if state != self._keys_for:  # the key bar follows the bill's moment
            self._keys_for = state
            self.refresh_bindings()
            self._show_parked()

    def _show_parked(self) -> None:
        """Parked bills stay in sight: the top bar says how many wait (Ctrl+R)."""
        settings = self.app.settings
        training = say("screen.sale.training") if settings.training else ""
        parked = say("screen.sale.held_marker", parked=len(self.parked)) if self.parked else ""
        self.query_one("#topbar", Static).update(
            say(
                "screen.sale.topbar",
                training=training,
                value=quoted(settings.clinic_name),
                value2=quoted(settings.station_id),
                value3=quoted(self.app.operator.label),
                parked=parked,
            )
        )

    def _selected(self) -> int | None:
        table = self.query_one("#lines", DataTable)
        if not self.checkout.lines:
            return None
        return min(table.cursor_row, len(self.checkout.lines) - 1)

    # -- adding -------------------------------------------------------------------
    def handle_scan(self, code: ScannedCode) -> None:
        """A scanner burst, whatever had focus."""
        if code.kind is ScanKind.EVOUCHER:
            self.identify("qr", code.text)
            return
        if code.kind is ScanKind.ID_NUMBER:
            self.identify("id", code.text)
            return
        if code.kind is ScanKind.PAYMENT_CODE:
            self.notify(say("screen.sale.code_at_payment"), severity="warning")
            return
        if code.kind is ScanKind.TRACE:
            try:
                self.counter.scan_trace(code.text, self._selected())
            except CashierError as exc:
                show_error(self, exc)
            return
        self._add_code(code.text)

    def handle_card(self, card) -> None:
        """A social-security card was inserted (read by the app's card watcher)."""
        self.identify("card", card)

    def _add_code(self, text: str) -> None:
        try:
            line = self.counter.scan(text)
        except CashierError as exc:
            show_error(self, exc)
            return
        self._added(line)

    def _add_item(self, item: Item) -> None:
        try:
            line = self.counter.add(item)
        except CashierError as exc:
            show_error(self, exc)
            return
        self._added(line)

    def _added(self, line) -> None:
        self.app.show_customer("show_line", line.name, line.amount)
        from cashier.services import stock

        batch = stock.near_expiry(line.item_id, self.app.settings.inventory.expiry_warning_days)
        if batch is not None:  # the box about to be handed over expires soon: say so
            self.notify(say("screen.sale.near_expiry", name=line.name, lot=batch.manu_lotnum,
                            expy_end=batch.expy_end.isoformat()), severity="warning")  # fmt: skip

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        item = catalog.find_by_scan(text)
        if item is not None:
            self._add_item(item)
        elif classify(text).kind is ScanKind.ID_NUMBER:
            self.identify("id", text)  # an ID number typed in full: identify the patient
        else:
            self.action_search(text)

    def action_search(self, query: str = "") -> None:
        from cashier.ui.dialogs.search import SearchDialog

        def chosen(item: Item | None) -> None:
            if item is not None:
                self._add_item(item)

        self.app.push_screen(SearchDialog(query), chosen)

    def action_quantity(self) -> None:
        from cashier.ui.dialogs.quantity import QuantityDialog

        index = self._selected()
        if index is None:
            self.notify(say("screen.sale.no_items"), severity="warning")
            return
        line = self.checkout.lines[index]

        def chosen(quantity: int | None) -> None:
            if quantity is not None:
                try:
                    self.counter.set_quantity(index, quantity)
                except CashierError as exc:
                    show_error(self, exc)

        self.app.push_screen(QuantityDialog(line.name, line.quantity), chosen)

    def action_remove_line(self) -> None:
        index = self._selected()
        if index is None:
            return
        try:
            line = self.counter.remove_line(index)
        except CashierError as exc:
            show_error(self, exc)
            return
        self.notify(say("screen.sale.removed", name=line.name))

    # -- ending ---------------------------------------------------------------------
    # -- dispensing: 追溯码 and prescriptions ------------------------------------------------
    def action_trace_waive(self) -> None:
        from cashier.ui.dialogs.dispensing import TraceWaiveDialog

        lines = self.checkout.lines
        selected = self._selected()
        wanting = [i for i, line in enumerate(lines) if line.trace_missing]
        if not wanting:
            self.notify(say("screen.sale.trace_nothing_missing"), severity="warning")
            return
        index = selected if selected in wanting else wanting[0]
        line = lines[index]

        def done(answer: tuple[str, ...] | None) -> None:
            if answer is None:
                return
            reason, code, pin = answer
            try:
                self.counter.waive_trace(index, reason, code, pin)
            except CashierError as exc:
                show_error(self, exc)
                return
            self.notify(say("screen.sale.trace_waived_done", name=line.name))

        self.app.push_screen(TraceWaiveDialog(line.name, line.trace_missing), done)

    def action_prescription(self, then_pay: bool = False) -> None:
        from cashier.store.models import Operator
        from cashier.ui.dialogs.dispensing import PrescriptionDialog

        me = Operator.get_or_none(Operator.code == self.app.operator.code)
        default = me.code if me is not None and me.prac_cert_no else ""

        def done(answer: tuple[str, ...] | None) -> None:
            if answer is None:
                return
            rxno, doctor, pharmacist = answer
            try:
                self.counter.set_prescription(rxno, doctor, pharmacist)
            except CashierError as exc:
                show_error(self, exc)
                return
            if then_pay:
                self.action_pay()

        self.app.push_screen(PrescriptionDialog(default), done)

    def action_pay(self, exact_cash: bool = False) -> None:
        from cashier.ui.screens.payment import PaymentScreen

        problem, _ = self.checkout.dispensing_problem()
        if problem == "rx.missing" and self.counter.next_insured_step() != "presettle":
            self.action_prescription(then_pay=True)  # asked where it is needed, then on
            return
        step = self.counter.next_insured_step()
        if step == "presettle":
            self.notify(say("screen.sale.presettle_first"), severity="warning")
            self.presettle()
            return
        if step == "settle":
            if not money_busy(self.app):
                self.settle(exact_cash)
            return
        try:
            plan = self.counter.start_payment()
        except CashierError as exc:
            show_error(self, exc)
            return
        self.app.show_customer("show_total", plan.due)
        exact_cash = exact_cash or plan.complete  # nothing to take in cash: complete at once
        self.app.push_screen(PaymentScreen(self.counter, exact_cash), self._paid)

    def action_exact_cash(self) -> None:
        self.action_pay(exact_cash=True)

    def _paid(self, completed: Completed | None) -> None:
        if completed is None:
            self.query_one("#entry", Input).focus()
            if self.checkout.insured is not None and self.checkout.insured.settled:
                self._offer_cancel()
            return
        self.app.show_customer("show_payment", completed.paid, completed.change)
        self.app.poke_outbox()  # its 进销存 documents go to the insurer in the background
        self.app.clear_notifications()  # the last patient's notices never sit over the next
        if completed.clock_message:  # the PC's clock went back: said, and audited in the core
            self.notify(completed.clock_message, severity="warning", timeout=15)
        self._problem = ""
        self._show_last(completed, say("screen.sale.printing"))
        self.refresh_sale()
        self.print_receipt(completed)
        self.query_one("#entry", Input).focus()

    def _show_last(self, completed: Completed, printing: str) -> None:
        self.query_one("#last-sale", Static).update(
            say(
                "screen.sale.last_sale",
                receipt_no=completed.receipt_no,
                total=completed.total.display(),
                paid=completed.paid.display(),
                change=completed.change.display(),
                printing=printing,
            )
        )

    @work(thread=True, exit_on_error=False, group="printer")
    def print_receipt(self, completed: Completed) -> None:
        settings = self.app.settings
        kick = settings.printer.kick_drawer and completed.cash_taken > Fen(0)
        if self.app.ebills is not None and settings.receipts.provider == "fiscal":
            # the slip says where its e-receipt is, when the service answers in time
            from cashier.services import ebills
            from cashier.store.models import Sale

            try:
                ebills.issue_now(self.app.ebills, Sale.get_by_id(completed.sale_id))
            except Exception as exc:  # the outbox keeps it; the slip says it is on its way
                logs.shown(str(exc), exc, where="ebill")
        try:
            printed = print_sale(
                settings, completed.sale_id, configured_printer(settings), kick_drawer=kick
            )
        except DeviceError as exc:
            self.app.call_from_thread(self._show_last, completed, say("screen.sale.unprinted"))
            raise DeviceError(say("screen.sale.print_failed", exc=exc)) from None
        where = printed.path.name if printed.path else printed.where
        self.app.call_from_thread(
            self._show_last, completed, say("screen.sale.printed", where=where)
        )
        if printed.path:
            self.app.call_from_thread(
                self.notify, say("screen.sale.receipt_saved", path=printed.path), timeout=6
            )

    def action_reprint(self) -> None:
        self.reprint()

    @work(thread=True, exclusive=True, exit_on_error=False, group="printer")
    def reprint(self) -> None:
        """F11: receipts waiting in the print queue first (originals); else 重打 the last one."""
        settings = self.app.settings
        if pending_jobs(settings.station_id):
            results = retry_pending(settings, configured_printer(settings), self.app.operator)
            failed = [r for r in results if not r.ok]
            if failed:
                raise DeviceError(say("screen.sale.printer_still_down", error=failed[0].error))
            numbers = "、".join(r.receipt_no for r in results if r.receipt_no)
            self.app.call_from_thread(
                self.notify, say("screen.sale.printed_again", numbers=numbers), timeout=8
            )
            return
        sale = last_completed(settings.station_id)
        if sale is None:
            raise CashierError(say("screen.sale.no_completed"))
        printed = print_sale(settings, sale.id, configured_printer(settings), by=self.app.operator)
        self.app.call_from_thread(
            self.notify,
            say("screen.sale.reprinted", receipt_no=sale.receipt_no, where=printed.where),
            timeout=8,
        )

    def action_void(self) -> None:
        from cashier.ui.dialogs.confirm import ConfirmDialog

        if not self.checkout.lines:
            if self.checkout.insured is not None and not self.checkout.insured.settled:
                self._problem = ""
                self.counter.clear_patient()
                self.notify(say("screen.sale.patient_cleared"))
                return
            self.notify(say("screen.sale.empty"), severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                try:
                    self.counter.void(say("screen.sale.voided_by_cashier"))
                except CashierError as exc:
                    show_error(self, exc)
                    return
                self._problem = ""
                self.app.show_customer("clear")
                self.app.clear_notifications()
                self.refresh_sale()
                self.notify(say("screen.sale.voided"))

        self.app.push_screen(
            ConfirmDialog(
                say(
                    "screen.sale.confirm_void",
                    lines=len(self.checkout.lines),
                    total=self.checkout.total.display(),
                )
            ),
            confirmed,
        )

    def action_menu(self) -> None:
        from cashier.ui.screens.menu import MenuScreen

        self.app.push_screen(MenuScreen())

    def action_help(self) -> None:
        from cashier.ui.dialogs.help import HelpScreen

        self.app.push_screen(HelpScreen())

    # -- insured ------------------------------------------------------------------------
    def _insurance(self):
        return self.counter.insurance()

    class Waiting(Message):
        """Posted by a worker as it starts (``True``) and stops waiting for the insurer."""

        def __init__(self, waiting: bool) -> None:
            super().__init__()
            self.waiting = waiting

    def _busy(self, busy: bool) -> None:
        """From a worker: does not wait for the UI thread (a blocking hand-over cost each
        call a frame or two, measured in ``bench.latency``)."""
        self.post_message(self.Waiting(busy))

    def on_sale_screen_waiting(self, message: Waiting) -> None:
        """The spinner on the side panel shows only when the insurer takes longer than
        ``SPINNER_AFTER_S``: a quick answer never flashes it, a slow one is seen waiting."""
        side = self.query_one("#side")
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        if message.waiting:
            self._spinner = self.set_timer(SPINNER_AFTER_S, lambda: setattr(side, "loading", True))
        elif side.loading:
            side.loading = False

    def _failed(self, exc: BaseException, *, panel: bool = True) -> None:
        """An insured step failed: what happened and what next, in the notice and (when it
        is about the bill on screen) in its panel."""
        from cashier.services.insured import advice

        if not isinstance(exc, CashierError):  # unexpected: its traceback kept
            logs.shown("insured step", exc, where="unexpected")
        tip = advice(exc)
        self.app.call_from_thread(self._show_problem, str(tip), str(tip), panel)

    def _show_problem(self, notice: str, message: str, panel: bool = True) -> None:
        self.app.bell()
        self.notify(notice, severity="error", timeout=12, markup=False)
        if not panel:
            return
        first, _, rest = message.partition("\n")
        self._problem = f"[b red]{quoted(first)}[/]" + (
            f"\n[yellow]{quoted(rest)}[/]" if rest else ""
        )
        self.refresh_sale()

    def action_identify(self) -> None:
        """F2: read the social-security card; with no card, type the ID number. With a local
        e-voucher service (a certified scanner that reads the 医保码 itself), ask it."""
        if self.app.settings.insurer.local_ec_url:
            self.identify("qr", "")
            return
        self.read_card()

    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def read_card(self) -> None:
        from cashier.devices.cardreader import read_card

        try:
            card = read_card()
        except CashierError as exc:
            self.app.call_from_thread(self._ask_id_number, say("screen.sale.card_failed", exc=exc))
            return
        self._identify("card", card)

    def _ask_id_number(self, why: str) -> None:
        from cashier.ui.dialogs.id_number import IdNumberDialog

        def typed(certno: str | None) -> None:
            if certno:
                self.identify("id", certno)

        self.app.push_screen(IdNumberDialog(why), typed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def identify(self, how: str, value) -> None:
        self._identify(how, value)

    def _identify(self, how: str, value) -> None:
        self._busy(True)
        try:
            insurance = self._insurance()
            who = self.app.operator
            patient = {
                "qr": insurance.identify_qr,
                "id": insurance.identify_id,
                "card": insurance.identify_card,
            }[how](value, who)
        except Exception as exc:  # every failure is a message with a next step
            # A code that failed to identify anyone is not about the patient on screen: the
            # notice says it, that patient's panel stays theirs.
            self._failed(exc, panel=self.checkout.insured is None)
            return
        finally:
            self._busy(False)
        self.app.call_from_thread(self._identified, patient)

    def _identified(self, patient) -> None:
        from cashier.insurer.protocol import INSUTYPES
        from cashier.ui.dialogs.insurance import InsuranceDialog

        if len(patient.insurances) < 2:
            self._attach_patient(patient)
            return
        rows = [
            (
                i.insutype,
                say(
                    "screen.sale.insurance_choice",
                    INSUTYPES=INSUTYPES.get(i.insutype, i.insutype),
                    balc=i.balc,
                ),
            )
            for i in patient.insurances
        ]
        usual = next(n for n, i in enumerate(patient.insurances) if i is patient.insu)

        def chosen(insutype: str | None) -> None:
            if insutype:
                self._attach_patient(patient.with_insurance(insutype))

        self.app.push_screen(InsuranceDialog(rows, usual), chosen)

    def _attach_patient(self, patient) -> None:
        from cashier.services import orders

        settings = self.app.settings
        self._problem = ""
        part = self.checkout.insured
        if part is None or part.patient.psn_no != patient.psn_no:
            self.app.clear_notifications()  # another patient: the last one's notices go
        try:
            loaded = self.counter.attach_patient(patient, settings.kind, orders.pending_for)
        except CashierError as exc:
            show_error(self, exc)
            return
        note = say("screen.sale.orders_loaded", loaded=loaded) if loaded else ""
        self.notify(
            say(
                "screen.sale.identified",
                name_masked=patient.name_masked,
                source=patient.source,
                note=note,
            ),
            timeout=5,
        )
        if patient.problems:  # the card and the panel show it; the notice says what to do
            self._show_problem(patient.problems[0], patient.problems[0], panel=False)
        elif settings.auto_presettle and self.checkout.lines:
            self.presettle()

    def action_presettle(self) -> None:
        if self.checkout.insured is None:
            self.notify(say("screen.sale.identify_first"), severity="warning")
            return
        self.presettle()

    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def presettle(self) -> None:
        from cashier.services.insured import DiagnosisNeeded

        self._busy(True)
        try:
            self.counter.presettle()
        except DiagnosisNeeded:
            self.app.call_from_thread(self._ask_diagnosis)
            return
        except Exception as exc:  # every failure is a message with a next step
            self._failed(exc)
            return
        finally:
            self._busy(False)
        self._problem = ""
        self.app.call_from_thread(self.refresh_sale)

    def _ask_diagnosis(self) -> None:
        from cashier.ui.dialogs.diagnosis import DiagnosisDialog

        def given(answer: tuple[str, str] | None) -> None:
            if answer is None:
                self.notify(say("screen.sale.no_diagnosis"), severity="warning")
                return
            try:
                self.counter.set_diagnosis(*answer)
            except CashierError as exc:
                show_error(self, exc)
                return
            self.presettle()

        self.app.push_screen(DiagnosisDialog(), given)

    def action_toggle_account(self) -> None:
        part = self.checkout.insured
        if part is None:
            self.notify(say("screen.sale.no_account"), severity="warning")
            return
        try:
            self.counter.set_account(not part.acct_used)
        except CashierError as exc:
            show_error(self, exc)
            return
        if self.checkout.lines:
            self.presettle()

    def action_line_split(self) -> None:
        from cashier.ui.dialogs.split import SplitDialog

        part = self.checkout.insured
        if part is None or not part.line_results:
            self.notify(say("screen.sale.lines_after_presettle"), severity="warning")
            return
        bill = part.settlement or part.presettlement
        funds = [
            (d.fund_pay_type_name or d.fund_pay_type, d.fund_payamt.display(), d.setl_proc_info)
            for d in (bill.setldetail if bill is not None else ())
        ]
        self.app.push_screen(SplitDialog(split_rows(self.checkout.lines, part), funds))

    def action_selfpay(self) -> None:
        if self.checkout.insured is None:
            return
        self._problem = ""
        try:
            self.counter.to_selfpay()
        except CashierError as exc:
            show_error(self, exc)
            return
        self.notify(say("screen.sale.self_pay"), timeout=5)

    @work(thread=True, exit_on_error=False, group=MONEY)
    def settle(self, exact_cash: bool) -> None:
        self._busy(True)
        try:
            self.counter.settle()
        except Exception as exc:  # held, refused, unreachable: a message with a next step
            self._failed(exc)
            return
        finally:
            self._busy(False)
        self._problem = ""
        self.app.call_from_thread(self._settled, exact_cash)

    def _settled(self, exact_cash: bool) -> None:
        self.refresh_sale()
        self.action_pay(exact_cash)

    def _offer_cancel(self) -> None:
        from cashier.ui.dialogs.confirm import ConfirmDialog

        cash = self.checkout.due.display()

        def confirmed(yes: bool | None) -> None:
            if yes and not money_busy(self.app):
                self.cancel_settlement()
            else:
                self.notify(say("screen.sale.settled"), timeout=6)

        self.app.push_screen(
            ConfirmDialog(say("screen.sale.confirm_unpaid", cash=cash)),
            confirmed,
        )

    @work(thread=True, exit_on_error=False, group=MONEY)
    def cancel_settlement(self) -> None:
        self._busy(True)
        try:
            self.counter.cancel_settlement(say("screen.sale.cash_unpaid"))
        except Exception as exc:  # the settlement stays; the cashier can try again
            self._failed(exc)
            return
        finally:
            self._busy(False)
        self.app.call_from_thread(self.notify, say("screen.sale.settlement_cancelled"), timeout=8)

    def take_lines(self, lines) -> None:
        """Lines handed over from elsewhere (a refund's kept lines, to be charged again);
        a bill in progress is held first."""
        if not self.counter.empty:
            self._problem = ""
            self.app.show_customer("clear")
            self.notify(say("screen.sale.current_held", value=len(self.parked) + 1), timeout=6)
        self.counter.take_lines(lines)

    # -- holding a bill (挂单 / 取单) ------------------------------------------------------------
    def action_hold(self) -> None:
        """Set this bill aside (the insurer is slow, the patient went to fetch money)."""
        try:
            parked = self.counter.hold()
        except CashierError as exc:
            self.notify(str(exc), severity="warning")
            return
        self._problem = ""
        self.app.show_customer("clear")
        self.app.clear_notifications()
        self.refresh_sale()
        self.notify(say("screen.sale.held", parked=parked), timeout=6)

    def action_recall(self) -> None:
        from cashier.ui.dialogs.recall import RecallDialog

        def chosen(index: int | None) -> None:
            if index is None:
                return
            try:
                self.counter.recall(index)
            except CashierError as exc:
                self.notify(str(exc), severity="warning")
                return
            self._problem = ""
            self.app.clear_notifications()
            self.refresh_sale(select=0)
            self.notify(say("screen.sale.recalled"))

        if len(self.parked) == 1 or not self.parked or not self.counter.empty:
            chosen(0)  # the counter says why not, when it may not
            return
        self.app.push_screen(RecallDialog([plain(parked_label(co)) for co in self.parked]), chosen)

    def action_logout(self) -> None:
        refusal = self.counter.logout_refusal()
        if refusal:
            self.notify(refusal, severity="warning")
            return
        self.app.logout()
