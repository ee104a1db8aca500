"""The supervisor console: reports, shifts, lookup and reconciliation, in a browser through
textual-serve (``cashier console``) or in a second terminal (``cashier console --app``).

Supervisors only, behind the same login. No devices: no scanner, card reader, printer
queue, drawer or customer display — those stay with the counter. It never runs the
start-up recovery either: that is the counter's, and a console must not cancel a
settlement a counter is still tendering.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services.operators import Role, SignedIn
from cashier.ui.app import CashierApp
from cashier.ui.widgets.keybar import KeyBar

#: The console's entries: the function menu's, less what needs the counter's devices.
CONSOLE_ENTRIES = (
    ("1", say("ui.console.entry.shift"), "cashier.ui.screens.shift:ShiftScreen"),
    ("2", say("ui.console.entry.lookup"), "cashier.ui.screens.lookup:LookupScreen"),
    ("3", say("ui.console.entry.eod"), "cashier.ui.screens.reports:ReportScreen"),
    ("4", say("ui.console.entry.reconcile"), "cashier.ui.screens.reconcile:ReconcileScreen"),
    (
        "5",
        say("ui.console.entry.payrecon"),
        "cashier.ui.screens.payment_reconcile:PaymentReconcileScreen",
    ),
)


class ConsoleHome(Screen[None]):
    BINDINGS = [
        *(Binding(key, f"open('{target}')", label) for key, label, target in CONSOLE_ENTRIES),
        Binding("ctrl+q", "logout", say("ui.console.logout"), id="logout"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        lines = "\n".join(f"  {key}  {label}" for key, label, _ in CONSOLE_ENTRIES)
        yield Static(
            say(
                "ui.console.page",
                clinic_name=settings.clinic_name,
                label=self.app.operator.label,
                lines=lines,
            ),
            id="console-home",
        )
        yield KeyBar()

    def action_logout(self) -> None:
        self.app.logout()

    def action_open(self, target: str) -> None:
        from cashier.ui.screens.menu import open_entry

        open_entry(self.app, target)


class ConsoleApp(CashierApp):
    CONSOLE = True
    TITLE = say("ui.console.title")

    def signed_in(self, who: SignedIn) -> None:
        if not who.role.at_least(Role.SUPERVISOR):
            from cashier.ui.screens.login import LoginScreen

            message = say("ui.console.supervisors_only")
            self.notify(message, severity="error")
            if isinstance(self.screen, LoginScreen):
                self.screen.refused(message)
            return
        self.operator = who
        self.switch_screen(ConsoleHome())

    def logout(self) -> None:
        from cashier.ui.screens.login import LoginScreen

        self.operator = None
        self.counter = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())

    @work(thread=True, exclusive=True, exit_on_error=False, group="insurer")
    def connect_insurer(self) -> None:
        """Reach the insurer for reconciliation; never the start-up recovery (see the module)."""
        from cashier.services.station import connect_insurer

        try:
            self.insurer = connect_insurer(self.settings)
        except CashierError as exc:
            self.call_from_thread(
                self.notify, say("ui.console.insurer_away", exc=exc), severity="warning"
            )

    # The counter's devices are not the console's.
    def start_device_scanners(self) -> None:
        pass

    def show_customer(self, method: str, *args) -> None:
        pass

    def action_hardware(self) -> None:
        self.notify(say("ui.console.devices_at_counter"), severity="warning")


def serve(settings, *, host: str, port: int, config: str | None, data_dir: str | None) -> int:
    """``cashier console``: one console per browser tab, each its own process. The page is
    the cashier's own (Chinese, nothing loaded from another host), and its addresses are the
    ones the browser used, so a console bound to 0.0.0.0 works from a supervisor's PC."""
    import shlex
    import sys

    command = [sys.executable, "-m", "cashier.cli"]
    if config:
        command += ["--config", config]
    command += ["--data-dir", str(data_dir or settings.data_dir), "console", "--app"]
    console_server(
        " ".join(shlex.quote(part) for part in command),
        host=host,
        port=port,
        title=say("ui.console.clinic_title", clinic_name=settings.clinic_name),
        public_url=settings.console_public_url,
    ).serve()
    return 0


def console_server(command: str, *, host: str, port: int, title: str, public_url: str = ""):
    """textual-serve's server with the cashier's page and the request's own address, or
    ``public_url`` when one is set (the console behind a reverse proxy)."""
    from pathlib import Path

    from textual_serve.server import Server

    class ConsoleServer(Server):
        async def handle_index(self, request):
            if public_url:  # set by the technician: every page is built with it
                return await super().handle_index(request)
            # The page's addresses are built from public_url: the browser's own, for this
            # request (nothing is awaited while it is used, so requests never mix).
            configured, self.public_url = self.public_url, f"{request.scheme}://{request.host}"
            try:
                return await super().handle_index(request)
            finally:
                self.public_url = configured

    return ConsoleServer(
        command,
        host=host,
        port=port,
        title=title,
        templates_path=Path(__file__).with_name("console_page"),
        public_url=public_url.rstrip("/") or None,
    )
