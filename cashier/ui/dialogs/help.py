"""The HelpScreen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cashier.messages import say

HELP_TEXT = say("dialog.help.text")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", say("dialog.help.close"), id="back"),
        Binding("f1", "dismiss(None)", say("dialog.help.close"), show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(HELP_TEXT)
