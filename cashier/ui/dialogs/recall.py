"""The RecallDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static


class RecallDialog(ModalScreen[int | None]):
    """取单: which parked bill to take back."""

    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def __init__(self, labels: list[str]) -> None:
        super().__init__()
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("取回挂起的单")
            yield OptionList(*self.labels, id="parked")
            yield Static("↑↓ 选择 · Enter 取回 · Esc 取消", classes="dim")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)
