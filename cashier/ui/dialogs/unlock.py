"""The UnlockDialog."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.messages import say
from cashier.services import operators
from cashier.ui.screens.base import WorkerErrors


class UnlockDialog(WorkerErrors, ModalScreen[None]):
    """A supervisor unlocks an operator locked by wrong PINs."""

    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.unlock.cancel"), id="back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.unlock.title"))
            yield Input(placeholder=say("dialog.unlock.target"), id="target")
            yield Input(placeholder=say("dialog.unlock.supervisor_code"), id="sup-code")
            yield Input(
                placeholder=say("dialog.unlock.supervisor_pin"), id="sup-pin", password=True
            )
            yield Static("", id="unlock-message")

    def on_mount(self) -> None:
        self.query_one("#target", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fields = [self.query_one(f"#{i}", Input) for i in ("target", "sup-code", "sup-pin")]
        for field in fields:
            if not field.value.strip():
                field.focus()
                return
        self.unlock(*(f.value.strip() for f in fields))

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def unlock(self, target: str, code: str, pin: str) -> None:
        station = self.app.settings.station_id
        supervisor = operators.authenticate(station, code, pin)
        operators.unlock(station, target, supervisor)
        self.app.call_from_thread(self.notify, say("dialog.unlock.unlocked", target=target))
        self.app.call_from_thread(self.dismiss, None)
