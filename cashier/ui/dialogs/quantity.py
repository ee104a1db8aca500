"""The QuantityDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services.checkout import parse_quantity
from cashier.ui.text import quoted


class QuantityDialog(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.quantity.cancel"), id="back")]

    def __init__(self, name: str, quantity: int, *, most: int | None = None) -> None:
        """``most``: a quantity to give back (0 to ``most``) rather than one to sell."""
        super().__init__()
        self.item_name = name
        self.quantity = quantity
        self.most = most

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if self.most is None:
                yield Label(say("dialog.quantity.change", value=quoted(self.item_name)))
            else:
                yield Label(
                    say("dialog.quantity.return", value=quoted(self.item_name), most=self.most)
                )
            yield Input(str(self.quantity), id="quantity", restrict=r"[0-9０-９]*", max_length=4)
            yield Static(say("dialog.quantity.keys"), classes="dim")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.select_all()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_quantity(event.value, most=self.most))
        except CashierError as exc:
            self.notify(str(exc), severity="error")
