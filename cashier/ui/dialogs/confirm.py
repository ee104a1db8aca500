"""The ConfirmDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cashier.messages import say


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("enter", "dismiss(True)", say("dialog.confirm.confirm"), id="confirm"),
        Binding("y", "dismiss(True)", say("dialog.confirm.confirm"), show=False),
        Binding("escape", "dismiss(False)", say("dialog.confirm.cancel"), id="back"),
        Binding("n", "dismiss(False)", say("dialog.confirm.cancel"), show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Static(say("dialog.confirm.keys"), classes="dim")
