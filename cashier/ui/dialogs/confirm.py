"""The ConfirmDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("enter", "dismiss(True)", "确认", id="confirm"),
        Binding("y", "dismiss(True)", "确认", show=False),
        Binding("escape", "dismiss(False)", "取消", id="back"),
        Binding("n", "dismiss(False)", "取消", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Static("Enter 确认 · Esc 取消", classes="dim")
