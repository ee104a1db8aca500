"""The hardware screen: each device and its state, live, with a test for each one.

Printer (status, print queue, test print), card reader (readers, test read),
keyboard-wedge scanner (settings, scan test), cash drawer (opened through the
printer, 收费组长 only) and a small form for the printer and scanner settings.
Every device call runs in a thread worker; the rules live in
:mod:`cashier.services.printing`, :mod:`cashier.devices` and :mod:`cashier.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Select, Static
from textual.worker import Worker, get_current_worker

from cashier.config import PAPERS, ConfigError, Settings, default_config_path, write_settings
from cashier.devices.cardreader import CardData, CardError, list_readers, read_card
from cashier.devices.printer import PrinterStatus, printer_from_url
from cashier.devices.scanner import ScanKind, ScannedCode, mask_id_number
from cashier.errors import CashierError, DeviceError, InputError
from cashier.messages import say
from cashier.services import printing
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.text import quoted
from cashier.ui.widgets.keybar import KeyBar

#: How often the device states are asked again, in seconds.
REFRESH_SECONDS = 3.0
#: Sane ranges for the keyboard-wedge settings: a scanner types a key every few
#: milliseconds, a person every hundred or more; the shortest code is an EAN-8.
MAX_GAP_MS_RANGE = (10, 500)
MIN_LENGTH_RANGE = (4, 20)

SCAN_KIND_LABELS = {
    ScanKind.EVOUCHER: say("screen.hardware.scan.evoucher"),
    ScanKind.GTIN: say("screen.hardware.scan.gtin"),
    ScanKind.ID_NUMBER: say("screen.hardware.scan.id_number"),
    ScanKind.PAYMENT_CODE: say("screen.hardware.scan.payment_code"),
    ScanKind.CODE128: say("screen.hardware.scan.code128"),
    ScanKind.UNKNOWN: say("screen.hardware.scan.unknown"),
}
TERMINATOR_LABELS = {"enter": "Enter", "tab": "Tab"}
_SCAN_SHOWN = 40  # characters of a long scan (a 医保码 payload) shown on one line


@dataclass(frozen=True)
class DeviceSnapshot:
    """What one refresh found out, handed from the worker to the UI thread."""

    printer: PrinterStatus
    waiting: int  # receipts in the print queue
    has_drawer: bool | None  # None: the printer URL is not usable
    readers: tuple[str, ...]
    reader_error: str


def printer_state(status: PrinterStatus) -> tuple[str, str]:
    """The printer's state in one word and the colour to show it in."""
    if not status.known:
        return say("screen.hardware.printer.unknown"), "yellow"
    if status.paper_out:
        return say("screen.hardware.printer.paper_out"), "red"
    if status.cover_open:
        return say("screen.hardware.printer.cover_open"), "red"
    if not status.online:
        return say("screen.hardware.printer.offline"), "red"
    if status.error:
        return say("screen.hardware.printer.fault"), "red"
    if status.paper_near_end:
        return say("screen.hardware.printer.paper_low"), "yellow"
    return say("screen.hardware.printer.online"), "green"


def shown_scan(code: ScannedCode) -> str:
    """The scanned text as the screen shows it: ID numbers and 付款码 masked, long ones cut."""
    text = code.text
    if code.kind in (ScanKind.ID_NUMBER, ScanKind.PAYMENT_CODE):
        text = mask_id_number(text)
    if len(text) > _SCAN_SHOWN:
        text = text[: _SCAN_SHOWN - 1] + "…"
    return text


def _whole_number(text: str, what: str, bounds: tuple[int, int], unit: str) -> int:
    low, high = bounds
    try:
        value = int(text.strip())
    except ValueError:
        raise InputError(
            say("screen.hardware.whole_in_range", what=what, low=low, high=high, unit=unit)
        ) from None
    if not low <= value <= high:
        raise InputError(
            say(
                "screen.hardware.out_of_range",
                what=what,
                low=low,
                high=high,
                unit=unit,
                value=value,
            )
        )
    return value


def edited_settings(
    settings: Settings, *, url: str, paper: str, max_gap_ms: str, min_length: str
) -> Settings:
    """The settings with the form's printer and scanner values; raises a CashierError saying
    what is wrong. The URL is checked by building the printer it names (no device is touched)."""
    url = url.strip()
    if not url:
        raise InputError(say("screen.hardware.printer_needed"))
    if paper not in PAPERS:
        raise InputError(say("screen.hardware.paper_width", value=" / ".join(PAPERS)))
    try:
        printer_from_url(url, data_dir=settings.data_dir, paper=paper)
    except ValueError:  # a port or baud rate that is not a number
        raise InputError(say("screen.hardware.bad_printer", url=url)) from None
    gap = _whole_number(
        max_gap_ms, say("screen.hardware.scan_gap"), MAX_GAP_MS_RANGE, say("screen.hardware.ms")
    )
    length = _whole_number(
        min_length, say("screen.hardware.scan_min"), MIN_LENGTH_RANGE, say("screen.hardware.chars")
    )
    return replace(
        settings,
        printer=replace(settings.printer, url=url, paper=paper),
        scanner=replace(settings.scanner, max_gap_ms=gap, min_length=length),
    )


class HardwareScreen(WorkerErrors, Screen[None]):
    """Devices and their state; t/r/s/d test them, e edits their settings."""

    DEFAULT_CSS = """
    HardwareScreen .device {
        height: auto;
        border: round $primary;
        padding: 0 1;
    }
    HardwareScreen #hw-devices { height: 1fr; }
    """

    BINDINGS = [
        Binding("t", "test_print", say("screen.hardware.key.test_print"), id="hw_test_print"),
        Binding("r", "read_card", say("screen.hardware.key.read_card"), id="hw_read_card"),
        Binding("s", "scan_test", say("screen.hardware.key.scan_test"), id="hw_scan_test"),
        Binding("d", "open_drawer", say("screen.hardware.key.open_drawer"), id="hw_open_drawer"),
        Binding("e", "edit", say("screen.hardware.key.edit"), id="hw_edit"),
        Binding("escape", "dismiss(None)", say("screen.hardware.key.back"), id="back"),
    ]

    #: Scans come here, not to the sale screen underneath: scanning while testing the
    #: scanner must never add an item to the sale.
    ACCEPTS_SCANS = True

    def __init__(self) -> None:
        super().__init__()
        self._refreshing: Worker | None = None
        self._snapshot: DeviceSnapshot | None = None
        self._card_line = say("screen.hardware.card_prompt")
        self._scan_line = say("screen.hardware.scan_prompt")

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.hardware.training") if settings.training else ""
        yield Static(
            say(
                "screen.hardware.topbar",
                training=training,
                station_id=settings.station_id,
                label=self.app.operator.label,
            ),
            id="topbar",
        )
        with Vertical(id="hw-devices"):
            for key, title in (
                ("printer", say("screen.hardware.device.printer")),
                ("reader", say("screen.hardware.device.reader")),
                ("scanner", say("screen.hardware.device.scanner")),
                ("drawer", say("screen.hardware.device.drawer")),
            ):
                device = Static("", id=f"hw-{key}", classes="device")
                device.border_title = title
                yield device
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_all()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self._tick()

    def _show_all(self) -> None:
        settings = self.app.settings
        snap = self._snapshot
        url = quoted(settings.printer.url)

        printer = say("screen.hardware.printer_line", url=url, paper=settings.printer.paper)
        if snap is None:
            printer += say("screen.hardware.printer_asking")
        else:
            word, colour = printer_state(snap.printer)
            why = f"（{quoted(snap.printer.error)}）" if snap.printer.error else ""
            printer += say(
                "screen.hardware.printer_status",
                colour=colour,
                word=word,
                why=why,
                waiting=snap.waiting,
            )
        self._set("printer", printer)

        if snap is None:
            readers = say("screen.hardware.finding_readers")
        elif snap.reader_error:
            readers = f"[red]{quoted(snap.reader_error)}[/]"
        elif snap.readers:
            readers = say("screen.hardware.readers", readers=len(snap.readers)) + quoted(
                "、".join(snap.readers)
            )
        else:
            readers = say("screen.hardware.no_readers")
        self._set("reader", f"{readers}\n{self._card_line}")

        scanner = settings.scanner
        terminator = TERMINATOR_LABELS.get(scanner.terminator, scanner.terminator)
        lines = [
            say(
                "screen.hardware.keyboard_scanner",
                max_gap_ms=scanner.max_gap_ms,
                min_length=scanner.min_length,
                terminator=terminator,
            )
        ]
        if scanner.serial_port:
            lines.append(
                say(
                    "screen.hardware.serial_scanner",
                    value=quoted(scanner.serial_port),
                    serial_baud=scanner.serial_baud,
                )
            )
        if scanner.camera:
            lines.append(say("screen.hardware.camera", value=quoted(scanner.camera)))
        self._set("scanner", "\n".join([*lines, self._scan_line]))

        if snap is not None and snap.has_drawer is False:
            drawer = say("screen.hardware.pdf_no_drawer")
        else:
            kick = (
                say("screen.hardware.kick_on")
                if settings.printer.kick_drawer
                else say("screen.hardware.kick_off")
            )
            drawer = say("screen.hardware.drawer_line", url=url, kick=kick)
        self._set("drawer", say("screen.hardware.drawer_key", drawer=drawer))

    def _set(self, key: str, text: str) -> None:
        self.query_one(f"#hw-{key}", Static).update(text)

    # -- live state ---------------------------------------------------------------
    def _tick(self, *, again: bool = False) -> None:
        """Ask the devices. A slow printer must not pile up threads: the timer asks again
        only after the last answer; ``again`` (new settings) replaces a refresh under way."""
        if not again and self._refreshing is not None and not self._refreshing.is_finished:
            return
        self._refreshing = self.refresh_devices()

    @work(thread=True, exclusive=True, exit_on_error=False, group="hardware-status")
    def refresh_devices(self) -> None:
        """Ask the printer, the print queue and PC/SC; show what they say."""
        settings = self.app.settings
        has_drawer: bool | None = None
        try:
            printer = printing.configured_printer(settings)
            has_drawer = printer.has_drawer
            status = printing.printer_status(settings, printer=printer)
        except DeviceError as exc:
            status = PrinterStatus.offline(str(exc))
        waiting = len(printing.pending_jobs(settings.station_id))
        try:
            readers, reader_error = tuple(list_readers()), ""
        except CardError as exc:
            readers, reader_error = (), str(exc)
        snapshot = DeviceSnapshot(status, waiting, has_drawer, readers, reader_error)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._refreshed, snapshot)

    def _refreshed(self, snapshot: DeviceSnapshot) -> None:
        if not self.is_attached:  # left the screen while the printer was asked
            return
        self._snapshot = snapshot
        self._show_all()

    def _update(self, *, again: bool = False) -> None:
        """Show the current lines now and ask the devices again."""
        if self.is_attached:
            self._show_all()
            self._tick(again=again)

    # -- tests ----------------------------------------------------------------------
    def action_test_print(self) -> None:
        self.notify(say("screen.hardware.printing_test"))
        self.test_print()

    @work(thread=True, exclusive=True, exit_on_error=False, group="printer")
    def test_print(self) -> None:
        settings = self.app.settings
        printed = printing.print_test(settings, printing.configured_printer(settings))
        self.app.call_from_thread(
            self.notify, say("screen.hardware.test_printed", where=printed.where), timeout=8
        )
        self.app.call_from_thread(self._update)

    def action_read_card(self) -> None:
        self._card_line = say("screen.hardware.card_reading")
        self._show_all()
        self.read_card_test()

    @work(thread=True, exclusive=True, exit_on_error=False, group="card")
    def read_card_test(self) -> None:
        try:
            card = read_card()
        except CardError as exc:
            self.app.call_from_thread(self._card_read, None, str(exc))
            return
        self.app.call_from_thread(self._card_read, card, "")

    def _card_read(self, card: CardData | None, error: str) -> None:
        if card is None:
            self._card_line = say("screen.hardware.card_failed", value=quoted(error))
            self.notify(error, severity="warning", timeout=6)
        else:
            self._card_line = say(
                "screen.hardware.card_read",
                value=quoted(card.masked_name),
                value2=quoted(card.card_no),
                expiry_date=card.expiry_date.isoformat(),
            )
        self._update()

    def action_scan_test(self) -> None:
        self._scan_line = say("screen.hardware.scan_waiting")
        self._show_all()

    def handle_scan(self, code: ScannedCode) -> None:
        """A scan from any scanner while this screen is open: what it was and what it said."""
        kind = SCAN_KIND_LABELS[code.kind]
        self._scan_line = say("screen.hardware.scanned", kind=kind, value=quoted(shown_scan(code)))
        self._show_all()

    def action_open_drawer(self) -> None:
        self.open_drawer()

    @work(thread=True, exclusive=True, exit_on_error=False, group="drawer")
    def open_drawer(self) -> None:
        """Only the pulse is sent; :func:`cashier.services.printing.open_drawer` checks the role."""
        settings = self.app.settings
        printing.open_drawer(settings, self.app.operator, settings.station_id)
        self.app.call_from_thread(self.notify, say("screen.hardware.drawer_opened"))

    # -- settings -----------------------------------------------------------------------
    def action_edit(self) -> None:
        def edited(new: Settings | None) -> None:
            if new is not None:
                self.save_settings(new)

        self.app.push_screen(HardwareSettingsDialog(self.app.settings), edited)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hardware-settings")
    def save_settings(self, new: Settings) -> None:
        """Write the configuration file (a training station gets one at the default place)."""
        path = new.config_path or default_config_path()
        try:
            write_settings(new, path)
        except OSError as exc:
            raise ConfigError(
                say("screen.hardware.config_unwritable", path=path, value=exc.strerror or exc)
            ) from None
        self.app.call_from_thread(self._saved, replace(new, config_path=path))

    def _saved(self, new: Settings) -> None:
        old = self.app.settings
        # Printing takes effect at once: every job builds its printer from app.settings.
        self.app.settings = new
        message = say("screen.hardware.saved", config_path=new.config_path)
        if new.scanner != old.scanner:
            apply = getattr(self.app, "apply_scanner_settings", None)
            if apply is not None:
                apply()
            else:
                message += say("screen.hardware.scanner_after_restart")
        self.notify(message, timeout=8)
        self._snapshot = None
        self._update(again=True)


class HardwareSettingsDialog(ModalScreen[Settings | None]):
    """The printer and scanner settings; Enter checks and returns them, Esc leaves them."""

    DEFAULT_CSS = """
    HardwareSettingsDialog .form-row { height: 1; margin-top: 1; }
    HardwareSettingsDialog .form-label { width: 16; }
    HardwareSettingsDialog .form-row Input, HardwareSettingsDialog .form-row Select {
        width: 1fr;
    }
    HardwareSettingsDialog #hw-form-message { height: auto; margin-top: 1; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", say("screen.hardware.key.save"), id="hw_save"),
        Binding("escape", "dismiss(None)", say("screen.hardware.key.cancel"), id="back"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.current = settings

    def compose(self) -> ComposeResult:
        printer, scanner = self.current.printer, self.current.scanner
        low_gap, high_gap = MAX_GAP_MS_RANGE
        low_len, high_len = MIN_LENGTH_RANGE
        fields = (
            (
                say("screen.hardware.field.printer"),
                Input(printer.url, id="printer-url", compact=True),
            ),
            (
                say("screen.hardware.field.paper"),
                Select(
                    [(p, p) for p in PAPERS],
                    value=printer.paper,
                    allow_blank=False,
                    id="paper",
                    compact=True,
                ),
            ),
            (
                say("screen.hardware.field.gap", low_gap=low_gap, high_gap=high_gap),
                self._number(scanner.max_gap_ms, "max-gap"),
            ),
            (
                say("screen.hardware.field.length", low_len=low_len, high_len=high_len),
                self._number(scanner.min_length, "min-length"),
            ),
        )
        with Vertical(classes="dialog wide"):
            yield Label(say("screen.hardware.form_title"))
            for label, field in fields:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield field
            yield Static("", id="hw-form-message")
            yield Static(
                say("screen.hardware.form_keys"),
                classes="dim",
            )

    @staticmethod
    def _number(value: int, widget_id: str) -> Input:
        return Input(str(value), id=widget_id, restrict=r"[0-9]*", max_length=4, compact=True)

    def on_mount(self) -> None:
        self.query_one("#printer-url", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        paper = self.query_one("#paper", Select).value
        try:
            new = edited_settings(
                self.current,
                url=self.query_one("#printer-url", Input).value,
                paper=paper if isinstance(paper, str) else "",
                max_gap_ms=self.query_one("#max-gap", Input).value,
                min_length=self.query_one("#min-length", Input).value,
            )
        except CashierError as exc:
            self.app.bell()
            self.query_one("#hw-form-message", Static).update(f"[b red]{quoted(str(exc))}[/]")
            return
        self.dismiss(None if new == self.current else new)
