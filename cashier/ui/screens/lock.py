"""The idle lock: the screen hides the sale until the same operator (or a supervisor) returns."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import operators
from cashier.services.operators import Role
from cashier.ui.screens.base import WorkerErrors


class LockScreen(WorkerErrors, ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+q", "switch_operator", say("screen.lock.switch_operator"), id="logout")
    ]

    def compose(self) -> ComposeResult:
        who = self.app.operator
        with Vertical(classes="dialog", id="lock-box"):
            yield Label(say("screen.lock.title"), id="lock-title")
            yield Label(say("screen.lock.prompt", label=who.label))
            yield Input(placeholder=say("screen.lock.code_hint"), id="lock-code")
            yield Input(placeholder="PIN", id="lock-pin", password=True)
            yield Static("", id="lock-message")

    def on_mount(self) -> None:
        self.query_one("#lock-pin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        code = self.query_one("#lock-code", Input).value.strip() or self.app.operator.code
        pin = self.query_one("#lock-pin", Input)
        if pin.value:
            self.try_unlock(code, pin.value)
        else:
            pin.focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def try_unlock(self, code: str, pin: str) -> None:
        station = self.app.settings.station_id
        try:
            who = operators.authenticate(station, code, pin)
            if who.code != self.app.operator.code:
                who.require(Role.SUPERVISOR)
        except CashierError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._unlocked)

    def _failed(self, message: str) -> None:
        self.query_one("#lock-message", Static).update(f"[b red]{message}[/]")
        self.query_one("#lock-pin", Input).value = ""

    def _unlocked(self) -> None:
        import time

        self.app.last_input = time.monotonic()
        self.dismiss(None)

    def action_switch_operator(self) -> None:
        self.app.logout()
