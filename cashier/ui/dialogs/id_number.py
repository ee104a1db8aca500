"""The IdNumberDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.errors import CashierError
from cashier.messages import say


class IdNumberDialog(ModalScreen[str | None]):
    """F2 without a card: the patient's ID number, typed or scanned (checksum checked)."""

    ACCEPTS_SCANS = True  # a scanned ID number lands here, not on the sale below
    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.id_number.cancel"), id="back")]

    def handle_scan(self, code) -> None:
        field = self.query_one(Input)
        field.value = code.text
        self.on_input_submitted(Input.Submitted(field, field.value))

    def __init__(self, why: str = "") -> None:
        super().__init__()
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if self.why:
                yield Static(f"[yellow]{self.why}[/]")
            yield Label(say("dialog.id_number.title"))
            yield Input(id="certno", max_length=18, restrict=r"[0-9xX０-９ｘＸ]*")
            yield Static(say("dialog.id_number.keys"), classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from cashier.services.patient import parse_id_number

        try:
            self.dismiss(parse_id_number(event.value))
        except CashierError as exc:
            self.notify(str(exc), severity="error")
