"""The InsuranceDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from cashier.messages import say
from cashier.ui.text import plain


class InsuranceDialog(ModalScreen[str | None]):
    """1101 answered several insurances: the cashier picks one (the usual one preselected)."""

    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.insurance.cancel"), id="back")]

    def __init__(self, rows: list[tuple[str, str]], preselect: int) -> None:
        super().__init__()
        self.rows = rows  # (insutype, label)
        self.preselect = preselect

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.insurance.title"))
            yield OptionList(*(Option(plain(label)) for _, label in self.rows), id="insurances")
            yield Static(say("dialog.insurance.keys"), classes="dim")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.preselect
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[event.option_index][0])
