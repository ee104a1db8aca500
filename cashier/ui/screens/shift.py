"""The shift screen: open with a float, X report, payouts, the blind close, Z reports.

Every rule lives in :mod:`cashier.services.shifts`; this screen turns keys into calls on it
(each in a thread worker) and results into a table. The close is blind: the count
form shows no expected figure, and the table is empty while it is open; the
variances appear only once the count is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import get_current_worker

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import CashierError, DeviceError, InputError
from cashier.messages import say
from cashier.services import operators, printing, shifts, station
from cashier.store.models import Shift
from cashier.ui.dialogs.confirm import ConfirmDialog
from cashier.ui.screens.base import MONEY, WorkerErrors, money_busy, show_error
from cashier.ui.text import quoted
from cashier.ui.widgets.keybar import KeyBar
from cashier.ui.widgets.money_input import AmountInput

NO_SHIFT = say("screen.shift.no_shift")


@dataclass(frozen=True)
class StationShifts:
    """What the state line shows, read in a worker."""

    current: shifts.ShiftInfo | None
    needs_supervisor: bool  # closing the current shift here asks for a supervisor
    stale_elsewhere: tuple[shifts.ShiftInfo, ...]


def _right(value: object) -> Text:
    return Text(str(value), justify="right")


def _money(amount: Fen) -> Text:
    colour = "red" if amount < Fen(0) else ""
    return Text(str(amount), style=colour, justify="right")


class ShiftScreen(WorkerErrors, Screen[None]):
    """The station's shift: F2 open · F3 X · F4 payout · F5 blind close · F6 Z list · F11 重打."""

    DEFAULT_CSS = """
    ShiftScreen #shift-state { height: auto; padding: 0 1; }
    ShiftScreen .shift-form { height: auto; padding: 0 1; display: none; }
    ShiftScreen .shift-form Label { width: auto; }
    ShiftScreen .shift-row { height: 1; }
    ShiftScreen .shift-row Label { width: 14; padding-right: 1; }
    ShiftScreen .shift-row Input { width: 24; background: $boost; }
    ShiftScreen .shift-row Input:focus { background: $primary 40%; }
    ShiftScreen #payout-reason { width: 40; }
    ShiftScreen #shift-table { height: 1fr; border: round $primary; }
    ShiftScreen #shift-note { height: auto; padding: 0 1; }
    """

    BINDINGS = [
        Binding("f2", "open_form", say("screen.shift.key.open"), id="shift_open"),
        Binding("f3", "x_report", say("screen.shift.key.x"), id="shift_x"),
        Binding("f4", "payout_form", say("screen.shift.key.payout"), id="shift_payout"),
        Binding("f5", "count_form", say("screen.shift.key.close"), id="shift_close"),
        Binding("f6", "z_list", say("screen.shift.key.z"), id="shift_z_list"),
        Binding("f7", "print_x", say("screen.shift.key.print_x"), id="shift_print_x"),
        Binding("f11", "reprint", say("screen.shift.key.reprint_z"), id="shift_reprint"),
        Binding("f10", "submit", say("screen.shift.key.submit"), id="shift_submit"),
        Binding("escape", "back", say("screen.shift.key.back"), id="back"),
    ]

    #: Scans stop here: a scan while counting must never ring up an item on the sale below.
    ACCEPTS_SCANS = True

    def __init__(self) -> None:
        super().__init__()
        self.state: StationShifts | None = None
        self.form = ""  # "", "open", "payout", "count": the form that is open
        self.z_rows: list[int] = []  # shift ids of the Z list, in table order
        self.last_closed: int | None = None  # the shift closed on this screen
        self._busy = False

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.shift.training") if settings.training else ""
        yield Static(
            say(
                "screen.shift.topbar",
                training=training,
                value=quoted(settings.station_id),
                value2=quoted(self.app.operator.label),
            ),
            id="topbar",
        )
        yield Static(say("screen.shift.reading"), id="shift-state")
        with Vertical(id="open-form", classes="shift-form"):
            yield Label(say("screen.shift.open_form"))
            with Horizontal(classes="shift-row"):
                yield Label(say("screen.shift.float"))
                yield AmountInput(
                    "", id="float", placeholder=say("screen.shift.float_hint"), compact=True
                )
        with Vertical(id="payout-form", classes="shift-form"):
            yield Label(say("screen.shift.payout_form"))
            with Horizontal(classes="shift-row"):
                yield Label(say("screen.shift.amount"))
                yield AmountInput("", id="payout-amount", placeholder="0.00", compact=True)
            with Horizontal(classes="shift-row"):
                yield Label(say("screen.shift.reason"))
                yield Input(id="payout-reason", max_length=200, compact=True)
        with Vertical(id="count-form", classes="shift-form"):
            yield Label(say("screen.shift.count_form"))
            for method in shifts.METHODS:
                with Horizontal(classes="shift-row"):
                    yield Label(say("screen.shift.counted", label=method.label))
                    yield AmountInput(
                        "", id=f"count-{method.value}", placeholder="0.00", compact=True
                    )
            with Horizontal(classes="shift-row", id="supervisor-row"):
                yield Label(say("screen.shift.supervisor_code_label"))
                yield Input(id="sup-code", max_length=16, compact=True)
            with Horizontal(classes="shift-row", id="supervisor-pin-row"):
                yield Label(say("screen.shift.supervisor_pin_label"))
                yield Input(id="sup-pin", password=True, max_length=8, compact=True)
        yield DataTable(id="shift-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="shift-note")
        yield KeyBar()

    def on_mount(self) -> None:
        self.load_state()
        self.load_z_list()

    # -- the station's shift ----------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="shift-state")
    def load_state(self) -> None:
        station = self.app.settings.station_id
        who = self.app.operator
        shift = shifts.open_shift_of(station)
        state = StationShifts(
            current=shifts.shift_info(shift) if shift else None,
            needs_supervisor=shift is not None and shifts.needs_supervisor(shift, who),
            stale_elsewhere=tuple(
                shifts.shift_info(s) for s in shifts.stale_shifts() if s.station_id != station
            ),
        )
        self.app.call_from_thread(self._show_state, state)

    def _show_state(self, state: StationShifts) -> None:
        if not self.is_attached:
            return
        self.state = state
        self.refresh_bindings()
        info = state.current
        if info is None:
            text = NO_SHIFT
        else:
            text = say(
                "screen.shift.current",
                shift_id=info.shift_id,
                value=quoted(info.operator),
                value2=quoted(info.operator_name),
                opened_at=info.opened_at,
                float_amount=info.float_amount.display(),
            )
            if info.stale:
                text += say("screen.shift.stale")
            elif state.needs_supervisor:
                text += say("screen.shift.others_shift")
        if state.stale_elsewhere:
            others = "、".join(
                say(
                    "screen.shift.other_station",
                    value=quoted(s.station_id),
                    value2=quoted(s.operator),
                    opened_at=s.opened_at,
                )
                for s in state.stale_elsewhere
            )
            text += say("screen.shift.others_stale", others=others)
        self.query_one("#shift-state", Static).update(text)

    def _require_shift(self) -> shifts.ShiftInfo | None:
        info = self.state.current if self.state else None
        if info is None:
            self.notify(NO_SHIFT, severity="warning")
        return info

    # -- forms --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The key bar offers what this operator can do now: F2 only with no shift open,
        the shift's keys only with one, the reports only to a supervisor, and while a form
        is open only its own Enter and Esc."""
        from cashier.services.operators import Role

        if action in ("back",):
            return True
        if self.form:
            return action == "submit"
        if action == "submit":
            return False
        has_shift = self.state is not None and self.state.current is not None
        supervisor = self.app.operator is not None and self.app.operator.role.at_least(
            Role.SUPERVISOR
        )
        if action == "open_form":
            return self.state is not None and not has_shift
        if action in ("payout_form", "count_form"):
            return has_shift
        if action in ("x_report", "print_x"):
            return has_shift and supervisor
        return True

    def action_submit(self) -> None:
        """F10: the open form submitted, from whichever field."""
        if self._busy:
            return
        if self.form == "open":
            self._submit_open(self.query_one("#float", Input).value)
        elif self.form == "payout":
            self._submit_payout()
        elif self.form == "count":
            self._submit_count()

    def _show_form(self, name: str) -> None:
        self.form = name
        for form in ("open", "payout", "count"):
            self.query_one(f"#{form}-form").display = form == name
        self.refresh_bindings()
        if name == "count":
            # Blind: nothing expected may be on screen while the cashier counts.
            self._table(say("screen.shift.counting"), [])
            self._note("")

    def action_open_form(self) -> None:
        if self._busy:
            return
        if self.state is not None and self.state.current is not None:
            self.notify(say("screen.shift.still_open"), severity="warning")
            return
        self._show_form("open")
        field = self.query_one("#float", Input)
        field.value = ""
        field.focus()

    def action_payout_form(self) -> None:
        if self._busy:
            return
        if self._require_shift() is None:
            return
        self._show_form("payout")
        for name in ("payout-amount", "payout-reason"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#payout-amount", Input).focus()

    def action_count_form(self) -> None:
        if self._busy:
            return
        if self._require_shift() is None:
            return
        self._show_form("count")
        for method in shifts.METHODS:
            self.query_one(f"#count-{method.value}", Input).value = ""
        ask = bool(self.state and self.state.needs_supervisor)
        for row in ("#supervisor-row", "#supervisor-pin-row"):
            self.query_one(row).display = ask
        for name in ("sup-code", "sup-pin"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one(f"#count-{Method.CASH.value}", Input).focus()

    def action_back(self) -> None:
        if self._busy:
            return
        if self.form:
            self._show_form("")
            return
        self.dismiss(None)

    def handle_scan(self, code) -> None:
        """Keys typed faster than a person types arrive as a scan: they go to the focused field."""
        field = self.focused
        if isinstance(field, Input):
            field.value = code.text
            self.on_input_submitted(Input.Submitted(field, field.value))
        else:
            self.notify(say("screen.shift.no_scan"), severity="warning")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        field = event.input.id or ""
        if field == "float":
            self._submit_open(event.value)
        elif field == "payout-amount":
            self.query_one("#payout-reason", Input).focus()
        elif field == "payout-reason":
            self._submit_payout()
        elif self.form == "count":
            self._next_count_field(field)

    def _submit_open(self, text: str) -> None:
        try:
            amount = Fen.parse(text)
        except CashierError as exc:
            show_error(self, exc)
            return
        self._busy = True
        self.open_shift(amount)

    def _submit_payout(self) -> None:
        amount_field = self.query_one("#payout-amount", Input)
        try:
            amount = Fen.parse(amount_field.value, allow_zero=False)
        except CashierError as exc:
            amount_field.focus()
            show_error(self, exc)
            return
        self._busy = True
        self.pay_out(amount, self.query_one("#payout-reason", Input).value)

    def _next_count_field(self, field: str) -> None:
        order = [f"count-{m.value}" for m in shifts.METHODS]
        if self.query_one("#supervisor-row").display:
            order += ["sup-code", "sup-pin"]
        position = order.index(field) if field in order else len(order) - 1
        if position + 1 < len(order):
            self.query_one(f"#{order[position + 1]}", Input).focus()
            return
        self._submit_count()

    def _submit_count(self) -> None:
        counts: dict[Method, Fen] = {}
        for method in shifts.METHODS:
            field = self.query_one(f"#count-{method.value}", Input)
            try:
                counts[method] = Fen.parse(field.value) if field.value.strip() else Fen(0)
            except CashierError as exc:
                field.focus()
                show_error(self, InputError(f"{method.label}：{exc}"))
                return
        code = self.query_one("#sup-code", Input).value.strip()
        pin = self.query_one("#sup-pin", Input).value
        if self.query_one("#supervisor-row").display and not (code and pin):
            self.query_one("#sup-code" if not code else "#sup-pin", Input).focus()
            self.notify(say("screen.shift.supervisor_pin"), severity="warning")
            return
        counted = " · ".join(f"{m.label} {a}" for m, a in counts.items() if a)
        question = say("screen.shift.confirm_close", value=counted or say("screen.shift.all_zero"))

        def confirmed(ok: bool | None) -> None:
            if ok and not money_busy(self.app):
                self._busy = True
                self._note(say("screen.shift.closing"))
                self.close_shift(counts, code, pin)

        self.app.push_screen(ConfirmDialog(question), confirmed)

    # -- workers: each one call on the core -------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def open_shift(self, amount: Fen) -> None:
        try:
            shift = shifts.open_shift(self.app.settings.station_id, self.app.operator, amount)
        finally:
            self.app.call_from_thread(self._done)
        self.app.call_from_thread(
            self._after, say("screen.shift.opened", id=shift.id, amount=amount.display()), ""
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def pay_out(self, amount: Fen, reason: str) -> None:
        try:
            shift = self._open_shift_row()
            shifts.payout(shift, self.app.operator, amount, reason)
        finally:
            self.app.call_from_thread(self._done)
        self.app.call_from_thread(
            self._after,
            say("screen.shift.paid_out", amount=amount.display(), reason=reason.strip()),
            "",
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def x_report(self, *, print_it: bool = False) -> None:
        settings = self.app.settings
        result = shifts.x_report(self._open_shift_row(), self.app.operator)
        if not get_current_worker().is_cancelled:  # F6 pressed meanwhile: that list shows
            self.app.call_from_thread(self._show_x, result)
        if print_it:
            document = shifts.x_document(
                result, clinic_name=settings.clinic_name, training=settings.training
            )
            printed = printing.print_document(
                settings, document, printing.configured_printer(settings)
            )
            self.app.call_from_thread(
                self.notify, say("screen.shift.x_printed", where=printed.where)
            )

    @work(thread=True, exit_on_error=False, group=MONEY)
    def close_shift(self, counts: dict[Method, Fen], code: str, pin: str) -> None:
        """Money work: never cancelled by another view's worker (the close commits whole)."""
        settings = self.app.settings
        try:
            supervisor = operators.authenticate(settings.station_id, code, pin) if code else None
            shift = self._open_shift_row()
            report = shifts.close_shift(shift, counts, self.app.operator, supervisor=supervisor)
        finally:
            self.app.call_from_thread(self._done)
        self.app.call_from_thread(self._show_close, shift.id, report)
        try:
            self._print_z(report, 0)
        finally:
            # The file checked whole and backed up once the day's shift is closed.
            care = station.after_z_close(settings)
            if care.message:
                severity = "error" if care.problem else "information"
                self.app.call_from_thread(self.notify, care.message, severity=severity)

    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def load_z_list(self) -> None:
        rows = shifts.recent_z_reports(self.app.settings.station_id, who=self.app.operator)
        if get_current_worker().is_cancelled:  # another view was asked for meanwhile
            return
        self.app.call_from_thread(self._show_z_list, [(s.id, s.reprints, z) for s, z in rows])

    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def reprint(self, shift_id: int) -> None:
        shift = Shift.get_by_id(shift_id)
        n = shifts.reprint_z(shift, self.app.operator)
        self._print_z(shifts.z_report_of(shift), n)
        self.app.call_from_thread(self._refresh_z_list_if_shown)

    def _open_shift_row(self) -> Shift:
        shift = shifts.open_shift_of(self.app.settings.station_id)
        if shift is None:
            raise InputError(NO_SHIFT)
        return shift

    def _print_z(self, report: shifts.ZReport, reprint: int) -> None:
        """Print a Z (in a worker). A failed print keeps the Z: it is stored, F11 reprints it."""
        settings = self.app.settings
        document = shifts.z_document(
            report, clinic_name=settings.clinic_name, training=settings.training, reprint=reprint
        )
        try:
            printed = printing.print_document(
                settings, document, printing.configured_printer(settings)
            )
        except DeviceError as exc:
            raise DeviceError(
                say("screen.shift.saved_unprinted", number=report.number, exc=exc)
            ) from None
        word = (
            say("screen.shift.reprint_n", reprint=reprint)
            if reprint
            else say("screen.shift.printed")
        )
        self.app.call_from_thread(
            self.notify,
            say("screen.shift.z_report", number=report.number, word=word, where=printed.where),
        )

    # -- keys that read -----------------------------------------------------------------------
    def action_x_report(self) -> None:
        if self._busy:
            return
        if self._require_shift() is not None:
            self._show_form("")
            self.x_report()

    def action_print_x(self) -> None:
        if self._busy:
            return
        if self._require_shift() is not None:
            self._show_form("")
            self.x_report(print_it=True)

    def action_z_list(self) -> None:
        if self._busy:
            return
        self._show_form("")
        self.load_z_list()

    def action_reprint(self) -> None:
        if self._busy:
            return
        table = self.query_one("#shift-table", DataTable)
        if self.z_rows and table.cursor_row is not None and table.row_count:
            shift_id = self.z_rows[min(table.cursor_row, len(self.z_rows) - 1)]
        elif self.last_closed is not None:
            shift_id = self.last_closed
        else:
            self.notify(say("screen.shift.pick_z"), severity="warning")
            return
        self.reprint(shift_id)

    # -- showing results ----------------------------------------------------------------------
    def _done(self) -> None:
        self._busy = False

    def _after(self, message: str, note: str) -> None:
        self.notify(message)
        self._show_form("")
        self._note(note)
        self.load_state()

    def _note(self, text: str) -> None:
        self.query_one("#shift-note", Static).update(text)

    def _table(self, title: str, columns: list[tuple[str, int]], rows=()) -> DataTable:
        table = self.query_one("#shift-table", DataTable)
        table.clear(columns=True)
        table.border_title = title
        self.z_rows = []
        for n, (label, width) in enumerate(columns):
            table.add_column(_right(label) if n else label, width=width)
        for row in rows:
            table.add_row(*row)
        return table

    def _show_x(self, x: shifts.ShiftFigures) -> None:
        if not self.is_attached:
            return
        rows = [
            (
                m.method.label,
                _money(m.taken),
                _money(m.change),
                _money(m.refunded),
                _money(m.payouts),
                _money(m.expected),
            )
            for m in x.methods
        ]
        self._table(
            say("screen.shift.x_title", as_of=x.as_of),
            [
                (say("screen.shift.col.method"), 8),
                (say("screen.shift.col.taken"), 10),
                (say("screen.shift.col.change"), 10),
                (say("screen.shift.col.refunded"), 10),
                (say("screen.shift.col.payouts"), 10),
                (say("screen.shift.col.expected"), 11),
            ],
            rows,
        )
        ins = x.insured
        insured = (
            say(
                "screen.shift.insured_line",
                settlements=ins.settlements,
                fund_pay=ins.fund_pay,
                acct_pay=ins.acct_pay,
                cash_pay=ins.cash_pay,
            )
            if ins.settlements
            else ""
        )
        self._note(
            say(
                "screen.shift.x_summary",
                sales=x.sales,
                refunds=x.refunds,
                voids=x.voids,
                float_amount=x.float_amount,
                payout_count=x.payout_count,
                payouts=x.payouts,
                insured=insured,
            )
        )

    def _show_close(self, shift_id: int, z: shifts.ZReport) -> None:
        self.last_closed = shift_id
        self._show_form("")
        rows = [
            (c.method.label, _money(c.counted), _money(c.expected), _money(c.variance))
            for c in z.counts
        ]
        rows.append((say("screen.shift.total"), "", "", _money(z.variance)))
        self._table(
            say("screen.shift.z_title", number=z.number),
            [
                (say("screen.shift.col.method"), 10),
                (say("screen.shift.col.counted"), 12),
                (say("screen.shift.col.expected"), 12),
                (say("screen.shift.col.variance"), 12),
            ],
            rows,
        )
        cash = z.count_of(Method.CASH).variance
        word = (
            say("screen.shift.short")
            if cash < Fen(0)
            else say("screen.shift.over")
            if cash > Fen(0)
            else say("screen.shift.even")
        )
        colour = "red" if cash else "green"
        self._note(
            say(
                "screen.shift.closed",
                number=z.number,
                colour=colour,
                word=word,
                cash=abs(cash).display(),
            )
        )
        self.load_state()

    def _show_z_list(self, rows: list[tuple[int, int, shifts.ZReport]]) -> None:
        if not self.is_attached:
            return
        table = self._table(
            say("screen.shift.z_list"),
            [
                (say("screen.shift.col.z"), 18),
                (say("screen.shift.col.cashier"), 12),
                (say("screen.shift.col.closed"), 12),
                (say("screen.shift.col.variance"), 10),
                (say("screen.shift.col.reprints"), 4),
            ],
            [
                (
                    z.number,
                    f"{z.figures.operator} {z.figures.operator_name}",
                    f"{z.closed_at:%m-%d %H:%M}",
                    _money(z.variance),
                    _right(reprints),
                )
                for _, reprints, z in rows
            ],
        )
        self.z_rows = [shift_id for shift_id, _, _ in rows]
        self._note("" if rows else say("screen.shift.no_z"))
        if rows:
            table.focus()

    def _refresh_z_list_if_shown(self) -> None:
        if self.z_rows:
            self.load_z_list()
