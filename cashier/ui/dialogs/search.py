"""The SearchDialog."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cashier.messages import say
from cashier.receipts.layout import pad_left, pad_right
from cashier.services import catalog
from cashier.store.models import Item
from cashier.ui.screens.base import WorkerErrors
from cashier.ui.text import plain, printable


class SearchDialog(WorkerErrors, ModalScreen[Item | None]):
    """F3: find an item by code, barcode, name or 拼音 initials, as the cashier types."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", say("dialog.search.cancel"), id="back"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.items: list[Item] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(say("dialog.search.title"))
            yield Input(self.initial, id="query")
            yield OptionList(id="results")
            yield Static(say("dialog.search.keys"), classes="dim")

    def on_mount(self) -> None:
        self.query_one("#results", OptionList).can_focus = False
        self.query_one("#query", Input).focus()
        if self.initial:
            self.run_search(self.initial)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def run_search(self, query: str) -> None:
        items = catalog.search(query)
        self.app.call_from_thread(self._show, items)

    def _show(self, items: list[Item]) -> None:
        self.items = items
        results = self.query_one("#results", OptionList)
        results.clear_options()
        results.add_options(
            Option(
                plain(
                    say(
                        "dialog.search.row",
                        code=it.code,
                        value=pad_right(printable(f"{it.name} {it.spec}"), 32),
                        value2=pad_left(it.price.display(), 10),
                        value3=pad_right(printable(it.unit), 2),
                        stock=it.stock,
                    )
                )
            )
            for it in items
        )
        if items:
            results.highlighted = 0

    def action_move(self, step: int) -> None:
        results = self.query_one("#results", OptionList)
        if self.items:
            current = results.highlighted or 0
            results.highlighted = max(0, min(len(self.items) - 1, current + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        results = self.query_one("#results", OptionList)
        if self.items and results.highlighted is not None:
            self.dismiss(self.items[results.highlighted])
        else:
            self.notify(say("dialog.search.no_item"), severity="warning")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[event.option_index])
