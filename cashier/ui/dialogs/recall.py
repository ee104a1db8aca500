"""The RecallDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static

from cashier.messages import say


class RecallDialog(ModalScreen[int | None]):
    """取单: which parked bill to take back."""

    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.recall.cancel"), id="back")]

    def __init__(self, labels: list[str]) -> None:
        super().__init__()
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.recall.title"))
            yield OptionList(*self.labels, id="parked")
            yield Static(say("dialog.recall.keys"), classes="dim")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)
