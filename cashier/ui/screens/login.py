"""Login: operator code and PIN. The training station shows its demo operators."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import operators
from cashier.services.operators import SignedIn
from cashier.services.station import DEMO_OPERATORS
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.widgets.keybar import KeyBar


class LoginScreen(WorkerErrors, Screen[None]):
    BINDINGS = [
        Binding("ctrl+u", "unlock", say("screen.login.unlock"), id="unlock_operator"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        if settings.training:
            yield Static(say("screen.login.training"), classes="training-banner")
        with Center():
            with Vertical(id="login-box"):
                yield Label(f"{settings.clinic_name}", id="login-title")
                yield Label(
                    say("screen.login.station", station_id=settings.station_id), classes="dim"
                )
                yield Input(placeholder=say("screen.login.code"), id="code", max_length=16)
                yield Input(placeholder="PIN", id="pin", password=True, max_length=8)
                yield Static("", id="login-message")
                if settings.training:
                    demo = "\n".join(  # one per line: a code and its PIN never wrap apart
                        f"  {code} / {pin}（{role.label}）" for code, _, role, pin in DEMO_OPERATORS
                    )
                    yield Static(
                        say("screen.login.demo", demo=demo), classes="dim", id="demo-operators"
                    )
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        code = self.query_one("#code", Input).value.strip()
        pin_input = self.query_one("#pin", Input)
        if event.input.id == "code" or not pin_input.value:
            if code:
                pin_input.focus()
            return
        self.query_one("#login-message", Static).update(say("screen.login.checking"))
        self.sign_in(code, pin_input.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def sign_in(self, code: str, pin: str) -> None:
        try:
            who = operators.authenticate(self.app.settings.station_id, code, pin)
        except CashierError as exc:
            attempts = exc.attempts if isinstance(exc, operators.LoginError) else 0
            self.app.call_from_thread(self._failed, str(exc), attempts)
            return
        self.app.call_from_thread(self._succeeded, who)

    def _failed(self, message: str, attempts: int = 0) -> None:
        """Say why; after repeated wrong PINs the PIN field waits a little longer each time
        (:func:`operators.retry_delay`), so guessing at the console is slow, a typo is not."""
        self.query_one("#login-message", Static).update(Text(message, style="bold red"))
        pin = self.query_one("#pin", Input)
        pin.value = ""
        delay = operators.retry_delay(attempts)
        if delay:
            pin.disabled = True
            self.query_one("#login-message", Static).update(
                Text(say("screen.login.wait", message=message, delay=delay), style="bold red")
            )
            self.set_timer(delay, self._retry_allowed)
            return
        pin.focus()

    def refused(self, message: str) -> None:
        """Signed in, but not let in here (a cashier at the supervisor console): both fields
        emptied, the code field focused, so the next code is typed afresh, never appended."""
        for name in ("code", "pin"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#login-message", Static).update(Text(message, style="bold red"))
        self.query_one("#code", Input).focus()

    def _retry_allowed(self) -> None:
        pin = self.query_one("#pin", Input)
        pin.disabled = False
        pin.focus()

    def _succeeded(self, who: SignedIn) -> None:
        self.app.signed_in(who)

    def action_unlock(self) -> None:
        from cashier.ui.dialogs.unlock import UnlockDialog

        self.app.push_screen(UnlockDialog())
