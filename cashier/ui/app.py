"""CashierApp: wiring only. Screens turn keys into calls on the core."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Input

from cashier import allocator, logs
from cashier.devices.scanner import BurstDetector, Pass, Scan, classify
from cashier.errors import CashierError
from cashier.messages import say
from cashier.services.operators import SignedIn
from cashier.services.station import StationContext
from cashier.ui import textual_fixes
from cashier.ui.text import printable

textual_fixes.apply()

QUIT_HINT = say("ui.app.quit_hint")
#: The longest a key waits for the focused field to take in what was typed before it.
TYPED_IN_WAIT_S = 0.5
#: The longest an insurer step waits for the start's first try to reach the insurer.
INSURER_START_WAIT_S = 30.0


class CashierApp(App[None]):
    """The counter application. ``ctx`` is an open station (database migrated)."""

    CSS_PATH = Path(__file__).with_name("cashier.tcss")
    TITLE = "cashier"
    ENABLE_COMMAND_PALETTE = True
    #: Textual's own Ctrl+Q (quit) and Ctrl+C (an English hint) replaced: neither leaves.
    BINDINGS = [
        Binding("ctrl+q", "ctrl_q", say("ui.app.logout"), show=False, priority=True),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    def __init__(self, ctx: StationContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = ctx.settings
        self.operator: SignedIn | None = None
        self.insurer = None  # cashier.services.station.InsurerConnection, once reached
        self._insurer_tried = threading.Event()  # the first try to reach it has ended
        self.payments = None  # cashier.services.station.PaymentsConnection, once reached
        self.counter = None  # cashier.services.counter.Counter of the signed-in operator
        self._customer_display = None  # the customer display, opened on first use
        self._devices_stop = threading.Event()  # ends the serial and camera scanner workers
        self._outbox_wake = threading.Event()  # a sale or refund queued documents to send
        self._outbox_started = False
        self.ebills = None  # the e-receipt service ([receipts] provider = "fiscal"), once reached
        self._scanners_started = False
        self._covered = False  # a TooSmall cover may be on a screen
        scanner = self.settings.scanner
        self._burst = BurstDetector(
            max_gap=scanner.max_gap_ms / 1000,
            min_length=scanner.min_length,
            terminators={scanner.terminator},
        )
        self._burst_timer: Timer | None = None
        # Keys typed after an Enter in a field, held until what the Enter does has been done
        # (the form's next field focused, a dialog closed): None when no Enter is on its way.
        self._held_keys: list[events.Key | Scan] | None = None
        self._after_enter_task: asyncio.Task | None = None
        self.last_input = time.monotonic()
        self.sub_title = f"{self.settings.clinic_name} · {self.settings.station_id}"
        if self.settings.low_spec:  # docs/low-spec.md
            if not self.current_theme.ansi:  # TEXTUAL_THEME=ansi-light is kept
                self.theme = "ansi-dark"  # the terminal's own 16 colours, nothing converted
            self.animation_level = "none"

    # -- a terminal too small says so (never drops columns, keys or digits silently) -----
    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.check_size)

    def check_size(self) -> None:
        """Cover the screen on top with what size is needed while the terminal is smaller
        than the counter's layout; uncover every screen once it is big enough."""
        from cashier.ui.widgets.too_small import TooSmall, too_small

        columns, rows = self.size
        small = too_small(columns, rows)
        if not small and not self._covered:
            return  # the usual case, every second: nothing to look for
        self._covered = small
        for screen in self.screen_stack:
            for cover in screen.query(TooSmall):
                if not small or screen is not self.screen:
                    cover.remove()
        if small:
            covers = self.screen.query(TooSmall)
            cover = covers.first() if covers else TooSmall()
            if not covers:
                self.screen.mount(cover)
            cover.show_size(columns, rows)

    @property
    def size_too_small(self) -> bool:
        from cashier.ui.widgets.too_small import too_small

        return too_small(*self.size)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.settings.low_spec and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False  # a blinking cursor repaints twice a second

    # -- start-up ---------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notice is text: it carries data (a name, the insurer's own words), so it is
        never read as markup, whatever a caller asks, and control characters never reach
        the terminal."""
        text = printable(message, lines=True)
        if severity == "error":  # every error the cashier is shown is in the log (masked)
            logs.shown(text, where=type(self.screen).__name__ if self.screen_stack else "app")
        super().notify(
            text, title=printable(title), severity=severity, timeout=timeout, markup=False,
        )  # fmt: skip

    def on_load(self) -> None:
        # before any thread worker: one malloc arena for them all (cashier/allocator.py),
        # and the pool's threads keep nothing of a finished one
        allocator.one_arena()
        asyncio.get_running_loop().set_default_executor(
            textual_fixes.FreshContextExecutor(thread_name_prefix="cashier-worker")
        )

    def on_mount(self) -> None:
        from cashier.config import DEFAULT_KEYMAP

        overrides = {k: v for k, v in self.settings.keymap.items() if DEFAULT_KEYMAP.get(k) != v}
        if overrides:
            self.set_keymap(overrides)
        self.set_interval(5, self._check_idle)
        self.set_interval(1, self.check_size)  # a screen pushed while too small is covered too
        from cashier.store.db import on_connection_lost

        on_connection_lost(self._connection_lost)
        self.show_login()
        from cashier.config import config_warnings

        for warning in config_warnings(self.settings):
            self.notify(warning, severity="warning", timeout=30)
        # After the login screen is up: the sandbox's imports must not delay the first paint.
        self.set_timer(0.5, self.connect_insurer)
        self.set_timer(0.5, self.connect_payments)
        if self.settings.receipts.provider in ("fiscal", "tax"):
            self.set_timer(0.5, self.connect_ebills)

    def _connection_lost(self) -> None:
        """The database server went away and the connection is being re-opened (any thread)."""
        import threading

        def tell() -> None:
            self.notify(say("ui.app.db_reconnecting"), severity="warning", timeout=6)

        if threading.get_ident() == getattr(self, "_thread_id", None):
            tell()
        elif self.is_running:
            try:
                self.call_from_thread(tell)
            except RuntimeError:  # the app is shutting down
                pass

    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def connect_insurer(self) -> None:
        """Start (training) or reach the insurer and resolve in-doubt calls, off the UI thread."""
        from cashier.services.station import connect_insurer, recover_insurer_calls

        try:
            try:
                self.insurer = connect_insurer(self.settings)
                self.insurer.client.on_clock_off = self._clock_off
            finally:
                self._insurer_tried.set()
            resolved = recover_insurer_calls(self.settings, self.insurer)
        except Exception as exc:  # a worker's failure is a notice, never a traceback
            why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
            self.call_from_thread(
                self.notify,
                say("ui.app.insurer_away", why=why),
                severity="warning",
                timeout=10,
            )
            return
        if self.settings.reports_inventory:
            self.call_from_thread(self.start_outbox)
        held = [r.held for r in resolved if getattr(r, "held", "")]
        for message in held:  # a person must ask the 医保科: said until dismissed
            self.call_from_thread(self.notify, message, severity="error", timeout=60)
        refunds = [r.message for r in resolved if hasattr(r, "message")]
        for message in refunds:  # a refund finished or undone: money may be owed back
            self.call_from_thread(self.notify, message, severity="warning", timeout=60)
        from cashier.services.refunds import pending_resales

        for refund in pending_resales(self.settings.station_id):
            self.call_from_thread(
                self.notify,
                say("ui.app.kept_unrecharged", refund_no=refund.refund_no),
                severity="warning",
                timeout=60,
            )
        rest = len(resolved) - len(held) - len(refunds)
        if rest:
            self.call_from_thread(
                self.notify, say("ui.app.checked_unfinished", rest=rest), timeout=8
            )

    def _clock_off(self, offset) -> None:
        """The insurer's answer says our clock is minutes off (from a worker's thread)."""
        minutes = max(1, round(abs(offset.total_seconds()) / 60))
        key = "ui.app.clock_slow" if offset.total_seconds() > 0 else "ui.app.clock_fast"
        self.call_from_thread(self.notify, say(key, minutes=minutes), severity="warning",
                              timeout=30)  # fmt: skip

    @work(thread=True, exclusive=True, exit_on_error=False, group="payments")
    def connect_payments(self) -> None:
        """Reach the payment providers (training: start the payment sandbox), then give back
        every 付款码 charge a crash left without its sale."""
        from cashier.services.payments import finish_refunds, resolve_open
        from cashier.services.station import connect_payments

        try:
            self.payments = connect_payments(self.settings)
            resolved = resolve_open(self.payments.providers, self.settings.station_id)
            resolved += finish_refunds(self.payments.providers, self.settings.station_id)
        except Exception as exc:  # a worker's failure is a notice, never a traceback
            why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
            self.call_from_thread(
                self.notify, say("ui.app.paycodes_away", why=why), severity="warning", timeout=10
            )
            return
        for r in resolved:  # whose money went where: said until dismissed
            severity = "error" if r.state in ("in_doubt", "failed") else "warning"
            self.call_from_thread(self.notify, r.message, severity=severity, timeout=60)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ebills")
    def connect_ebills(self) -> None:
        """The e-receipt service (training: its sandbox), then its documents in the outbox."""
        from cashier.services.station import connect_ebills

        try:
            self.ebills = connect_ebills(self.settings)
        except Exception as exc:  # a worker's failure is a notice, never a traceback
            why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
            self.call_from_thread(self.notify, say("ui.app.ebills_away", why=why),
                                  severity="warning", timeout=10)  # fmt: skip
            return
        self.call_from_thread(self.start_outbox)

    def ebill_services(self) -> dict:
        """The e-receipt service as the outbox's sender takes it (by its kind)."""
        kind = self.settings.receipts.provider
        if self.ebills is None or kind not in ("fiscal", "tax"):
            return {}
        return {kind: self.ebills, "settings": self.settings}

    def start_outbox(self) -> None:
        """The outbox sender, once (the insurer's documents and the e-receipts share it)."""
        if not self._outbox_started:
            self._outbox_started = True
            self.send_outbox()
        else:
            self.poke_outbox()

    @work(thread=True, exclusive=True, exit_on_error=False, group="outbox")
    def send_outbox(self) -> None:
        """进销存 documents to the insurer in the background, never in the cashier's way: at
        start, after each sale or refund (:meth:`poke_outbox`), and each minute (a retry's
        time comes round). A refusal is said once, for a supervisor."""
        from cashier.services import outbox, senders

        told = 0
        while not self._devices_stop.is_set():
            self._outbox_wake.clear()
            try:
                client = self.insurer.client if self.insurer is not None else None
                outbox.send_due(
                    senders.sender(client, **self.ebill_services()),
                    station=self.settings.station_id,
                )
                refused = outbox.counts(self.settings.station_id)["refused"]
            except Exception as exc:  # the next round tries again; the log keeps why
                logs.shown(str(exc), exc, where="outbox")
                refused = told
            if refused > told:
                self.call_from_thread(
                    self.notify, say("ui.app.outbox_refused", refused=refused),
                    severity="error", timeout=30,
                )  # fmt: skip
            told = refused
            self._outbox_wake.wait(60)

    def poke_outbox(self) -> None:
        """A sale or refund was written: its documents go now (no-op when not reporting)."""
        self._outbox_wake.set()

    def on_unmount(self) -> None:
        self._devices_stop.set()
        self._outbox_wake.set()
        if self.insurer is not None:
            self.insurer.close()
        if self.payments is not None:
            self.payments.close()

    # -- serial and camera scanners ---------------------------------------------------------
    def start_device_scanners(self) -> None:
        """Serial and camera scanners, once someone is logged in (and then until the app ends)."""
        if self._scanners_started:
            return
        self._scanners_started = True
        scanner = self.settings.scanner
        if scanner.serial_port:
            self.run_serial_scanner()
        if scanner.camera:
            self.run_camera_scanner()
        if self.settings.kind == "clinic":
            self.watch_orders()
        self.watch_cards()

    @work(thread=True, exclusive=True, exit_on_error=False, group="card-reader")
    def watch_cards(self) -> None:
        """An inserted social-security card identifies the patient, whatever has focus.

        Without a PC/SC service or reader it looks again every 10 s, quietly: many
        counters have no reader and use the 医保码 only.
        """
        from cashier.devices.cardreader import CardError, read_card, wait_for_card, wait_for_removal

        stop = self._devices_stop
        while not stop.is_set():
            try:
                reader = wait_for_card(60, cancel=stop)
                if reader is None:
                    continue
                try:
                    card = read_card(reader)
                except CardError as exc:
                    self.call_from_thread(
                        self.notify, say("ui.app.card_failed", exc=exc), severity="warning"
                    )
                else:
                    self.call_from_thread(self._deliver_card, card)
                while not stop.is_set() and not wait_for_removal(60, reader, cancel=stop):
                    pass
            except CardError:
                stop.wait(10)
            except Exception as exc:  # a device failure is a notice, never a traceback
                self._device_failed(say("ui.app.card_reader"), exc)
                stop.wait(10)

    def _deliver_card(self, card) -> None:
        target = self.scan_target()
        if target is not None and hasattr(target, "handle_card"):
            target.handle_card(card)
        elif self.operator is not None:
            self.notify(say("ui.app.insert_card_at_sale"), severity="warning")

    @work(thread=True, exclusive=True, exit_on_error=False, group="orders")
    def watch_orders(self) -> None:
        """The clinic system's drop folder: orders placed there are imported as they arrive."""
        from cashier.services.orders import watch_folder

        def imported(result) -> None:
            self.call_from_thread(
                self.notify,
                result.summary(),
                severity="information" if result.ok else "error",
                timeout=8,
            )

        try:
            interval = 5.0 if self.settings.low_spec else 2.0
            watch_folder(self.settings.orders_dir, self._devices_stop, imported, interval)
        except Exception as exc:  # a failing folder is a notice, never a traceback
            self._device_failed(say("ui.app.orders_folder"), exc)

    def _deliver_scan(self, code) -> None:
        target = self.scan_target()
        if target is not None:
            target.handle_scan(code)

    def _device_failed(self, what: str, exc: Exception) -> None:
        why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
        self.call_from_thread(self.notify, f"{what}：{why}", severity="warning", timeout=10)

    @work(thread=True, exclusive=True, exit_on_error=False, group="serial-scanner")
    def run_serial_scanner(self) -> None:
        from cashier.devices.serial_scanner import SerialScanner

        scanner = self.settings.scanner
        try:
            with SerialScanner(scanner.serial_port, scanner.serial_baud) as device:
                device.run(
                    lambda code: self.call_from_thread(self._deliver_scan, code), self._devices_stop
                )
        except Exception as exc:  # a device failure is a notice, never a traceback
            self._device_failed(say("ui.app.scanner"), exc)

    @work(thread=True, exclusive=True, exit_on_error=False, group="camera")
    def run_camera_scanner(self) -> None:
        from pathlib import Path

        from cashier.devices.camera import (
            CameraScanner,
            CodeDecoder,
            ImageFolderSource,
            VideoDeviceSource,
        )

        where = self.settings.scanner.camera
        try:
            source = (
                VideoDeviceSource(where)
                if where.startswith("/dev/")
                else ImageFolderSource(Path(where), fps=10)
            )
            CameraScanner(source, CodeDecoder()).run(
                lambda code: self.call_from_thread(self._deliver_scan, code), self._devices_stop
            )
        except Exception as exc:  # a device failure is a notice, never a traceback
            self._device_failed(say("ui.app.camera"), exc)

    # -- customer display (客显) -------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="display")
    def show_customer(self, method: str, *args) -> None:
        """Send one update to the customer display; a failing display is a notice, never a stop.

        Exclusive: when the cashier is faster than a 2400-baud display, only the newest shows.
        """
        from cashier.devices.display import display_from_config

        try:
            if self._customer_display is None:
                self._customer_display = display_from_config(self.settings.display.url)
            getattr(self._customer_display, method)(*args)
        except CashierError as exc:
            self._customer_display = (
                None  # opened again next time: it may have been plugged back in
            )
            self.call_from_thread(
                self.notify, say("ui.app.display_failed", exc=exc), severity="warning", timeout=4
            )

    def show_login(self) -> None:
        from cashier.ui.screens.login import LoginScreen

        self.operator = None
        self.push_screen(LoginScreen())

    def signed_in(self, who: SignedIn) -> None:
        from cashier.ui.screens.sale import SaleScreen

        self.operator = who
        self.last_input = time.monotonic()
        self.switch_screen(SaleScreen())
        self.print_waiting_receipts()
        self.start_device_scanners()

    @work(thread=True, exclusive=True, exit_on_error=False, group="printer")
    def print_waiting_receipts(self) -> None:
        """Receipts left in the print queue (a dead printer, a crash) print at login."""
        from cashier.services.printing import configured_printer, pending_jobs, retry_pending
        from cashier.services.refunds import print_unprinted

        try:
            # Refund slips a crash kept from the printer (or a refund finished at start-up):
            # the patient is owed that money back, and the slip says how much.
            slips = print_unprinted(self.settings, configured_printer(self.settings))
        except Exception as exc:  # a worker's failure is a notice, never a traceback
            why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
            self.call_from_thread(
                self.notify, say("ui.app.refund_reprint_failed", why=why), severity="warning"
            )
            slips = []
        if slips:
            self.call_from_thread(
                self.notify,
                say("ui.app.refund_slip_reprinted", value="、".join(slips)),
                severity="warning",
                timeout=30,
            )
        if not pending_jobs(self.settings.station_id):
            return
        try:
            results = retry_pending(self.settings, configured_printer(self.settings), self.operator)
        except Exception as exc:  # a worker's failure is a notice, never a traceback
            why = str(exc) if isinstance(exc, CashierError) else type(exc).__name__
            self.call_from_thread(
                self.notify, say("ui.app.receipt_reprint_failed", why=why), severity="warning"
            )
            return
        waiting = len(pending_jobs(self.settings.station_id))
        printed = sum(1 for r in results if r.ok)
        message = say("ui.app.reprinted_count", printed=printed) + (
            say("ui.app.still_waiting", waiting=waiting) if waiting else ""
        )
        self.call_from_thread(
            self.notify, message, severity="warning" if waiting else "information"
        )

    def logout(self) -> None:
        """Back to the login screen, if the counter allows it (a bill with lines is voided
        and audited; money in hand, a settled bill or parked bills refuse)."""
        from cashier.ui.screens.login import LoginScreen

        counter = self.counter
        if counter is not None:
            refusal = counter.logout_refusal(void_open_bill=True)
            if refusal:
                self.notify(refusal, severity="warning")
                return
            counter.end_session(say("ui.app.unfinished_at_logout"))
        self.operator = None
        self.counter = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())

    # -- leaving: Ctrl+Q logs out, Ctrl+C copies, closing is a supervisor's menu item ------
    def action_ctrl_q(self) -> None:
        """Ctrl+Q never leaves the program: the screen's own logout (or, locked, its switch
        of operator); elsewhere it says where to go."""
        for name in ("logout", "switch_operator"):
            action = getattr(self.screen, f"action_{name}", None)
            if action is not None:
                action()
                return
        if self.operator is None:
            self.notify(QUIT_HINT, timeout=8)
        else:
            self.notify(say("ui.app.back_first"), severity="warning")

    def action_help_quit(self) -> None:
        """Ctrl+C (nothing to copy): it never quits; says what does, in Chinese."""
        self.notify(say("ui.app.ctrl_c", QUIT_HINT=QUIT_HINT), timeout=8)

    def quit_program(self) -> None:
        """The supervisor's menu item: refused while a bill or a payment is open; audited."""
        from cashier.services import audit
        from cashier.services.operators import Role

        who = self.operator
        if who is None or not who.role.at_least(Role.SUPERVISOR):
            self.notify(say("ui.app.quit_needs", label=Role.SUPERVISOR.label), severity="warning")
            return
        refusal = self.counter.quit_refusal() if self.counter is not None else ""
        if refusal:
            self.notify(say("ui.app.cannot_quit", refusal=refusal), severity="warning")
            return
        audit.record(self.settings.station_id, "app.quit", operator=who.code)
        self.exit()

    def action_command_palette(self) -> None:
        """Ctrl+P: the cashier's own commands, in Chinese (never Textual's system ones)."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CommandPalette(placeholder=say("ui.app.palette_hint"), id="--command-palette")
            )

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        """The palette's commands: what the signed-in operator may do, in Chinese."""
        from cashier.services.operators import Role
        from cashier.ui.screens.menu import ENTRIES, open_entry

        who = self.operator
        if who is None:
            return
        yield SystemCommand(say("ui.app.cmd.lock"), say("ui.app.cmd.lock_help"), self.action_lock)
        yield SystemCommand(say("ui.app.logout"), say("ui.app.cmd.logout_help"), self.action_ctrl_q)
        yield SystemCommand(
            say("ui.app.cmd.devices"), say("ui.app.cmd.devices_help"), self.action_hardware
        )
        for label, target, role in ENTRIES:
            if who.role.at_least(role) and not target.startswith("app:"):
                name = label.split(" ", 1)[1]
                yield SystemCommand(
                    name,
                    say("ui.app.cmd.menu_entry", label=label[:1]),
                    partial(open_entry, self, target),
                )
        if who.role.at_least(Role.SUPERVISOR):
            yield SystemCommand(
                say("ui.app.cmd.quit"), say("ui.app.cmd.quit_help"), self.quit_program
            )

    # -- idle lock ----------------------------------------------------------------
    def _check_idle(self) -> None:
        from cashier.ui.screens.lock import LockScreen

        limit = self.settings.idle_lock_seconds
        if self.operator is None or limit <= 0 or isinstance(self.screen, LockScreen):
            return
        if time.monotonic() - self.last_input >= limit:
            self.push_screen(LockScreen())

    def action_hardware(self) -> None:
        """Open the hardware screen: device states, tests, printer and scanner settings."""
        from cashier.ui.screens.hardware import HardwareScreen

        if self.operator is not None and not isinstance(self.screen, HardwareScreen):
            self.push_screen(HardwareScreen())

    def apply_scanner_settings(self) -> None:
        """New wedge timing takes effect at once; keys being held are not lost."""
        scanner = self.settings.scanner
        self._burst.max_gap = scanner.max_gap_ms / 1000
        self._burst.min_length = scanner.min_length

    def action_lock(self) -> None:
        from cashier.ui.screens.lock import LockScreen

        if self.operator is not None and not isinstance(self.screen, LockScreen):
            self.push_screen(LockScreen())

    # -- keyboard-wedge scanner -------------------------------------------------------
    def scan_target(self):
        """The screen a scan goes to: the top one that takes scans, looking through dialogs
        (a scan while the help or a quantity dialog is open still reaches the sale); none
        while the screen is locked or nobody is logged in."""
        from cashier.ui.screens.lock import LockScreen

        if self.operator is None:
            return None
        for screen in reversed(self.screen_stack):
            if isinstance(screen, LockScreen):
                return None
            if getattr(screen, "ACCEPTS_SCANS", False):
                return screen
        return None

    def reached_insurer(self):
        """The insurer connection; from a worker, waited for while the start is still
        reaching it (a 医保码 scanned the moment the cashier is signed in waits for it, up to
        ``INSURER_START_WAIT_S``, instead of being refused). None when it is not reached."""
        if self.insurer is None and threading.get_ident() != getattr(self, "_thread_id", None):
            self._insurer_tried.wait(INSURER_START_WAIT_S)
        return self.insurer

    async def typed_in(self) -> None:
        """Wait until the focused field has taken in the keys already handed to it.

        A key reaches a field through the field's own queue, while a binding (F10) or a
        scan acts as the app receives its key: without this, an amount typed just before a
        付款码 is scanned was not yet in its field when the charge read it. Bounded: a field
        that is going away does not hold the keyboard."""
        if self.focused is not None:
            await self._through([self.focused])

    async def _through(self, nodes: list) -> None:
        """Wait until each of ``nodes`` in turn has handled what was in its queue (a
        callback posted behind it has run); bounded by ``TYPED_IN_WAIT_S`` in all, and
        stopped at the app or at a node that is gone."""

        async def each() -> None:
            for node in nodes:
                if node is self or not node.is_attached:
                    return
                done = asyncio.Event()
                node.call_later(done.set)
                await done.wait()

        try:
            await asyncio.wait_for(each(), TYPED_IN_WAIT_S)
        except TimeoutError:
            pass

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.last_input = time.monotonic()
            if self.size_too_small:  # nothing typed blind: the cover says why
                self.check_size()
                if isinstance(event, events.Key):
                    self.bell()
                    return
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self.scan_target() is not None
        ):
            # The key's own time stamp (taken as it arrived), so a busy event
            # loop does not split a scanner's burst.
            actions = self._burst.push(event.key, event.character, event.time)
            await self._apply_burst(actions)
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self._hand_on(event)
            return
        await super().on_event(event)

    async def _hand_on(self, key: events.Key) -> None:
        """A key to its binding or the focused field; a function key (Enter, F10 …) acts on
        what was typed before it, so it waits for the field to take that in. Keys typed
        after an Enter in a field wait for what that Enter does (the next field focused,
        a dialog closed), then go where the focus is by then, in order."""
        if self._held_keys is not None:
            self._held_keys.append(key)
            return
        if not key.is_printable:
            await self.typed_in()
        field = self.focused
        await super().on_event(key)
        if key.key == "enter" and isinstance(field, Input) and self.focused is field:
            self._held_keys = []
            self._after_enter_task = asyncio.create_task(self._after_enter(field))

    async def _after_enter(self, field: Input) -> None:
        """Wait until the field's Enter has been handled up to its screen (its Submitted
        message bubbles a queue at a time), then hand on the keys held meanwhile: after any
        focus change the handler asked for, which waits in the app's queue before this."""
        try:
            await self._through([field, field, *field.ancestors_with_self[1:]])
        finally:  # whatever happened, the keyboard is never held for good
            self.call_later(self._release_keys)

    async def _release_keys(self) -> None:
        held, self._held_keys = self._held_keys or [], None
        for item in held:
            if isinstance(item, Scan):
                await self._scan(item)
            else:
                await self._hand_on(item)

    async def _scan(self, scan: Scan) -> None:
        """A scanner's burst to the screen that takes scans, in its turn with the keys."""
        if self._held_keys is not None:
            self._held_keys.append(scan)
            return
        await self.typed_in()  # an amount typed before the scan is in its field
        target = self.scan_target()
        if target is not None:
            target.handle_scan(classify(scan.text, self.settings.trace_patterns))

    async def _apply_burst(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, Pass):
                await self._hand_on(events.Key(action.key, action.char))
            elif isinstance(action, Scan):
                await self._scan(action)
        if self._burst_timer is not None:
            self._burst_timer.stop()
            self._burst_timer = None
        deadline = self._burst.deadline()
        if deadline is not None:
            delay = max(deadline - time.monotonic(), 0.001)
            self._burst_timer = self.set_timer(delay, self._expire_burst)

    async def _expire_burst(self) -> None:
        self._burst_timer = None
        await self._apply_burst(self._burst.expire(time.monotonic()))
