"""The function menu (Ctrl+O): shifts, refunds, reports, reconciliation, lookup and audit,
the insurer's documents, catalog and stock. A digit opens its entry (0 the tenth)."""

from __future__ import annotations

from importlib import import_module

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static

from cashier.messages import say
from cashier.services.operators import Role

#: (label, "module:Screen", role needed to open it). Each screen checks again in the core.
ENTRIES: tuple[tuple[str, str, Role], ...] = (
    (
        say("screen.menu.entry.shift"),
        "cashier.ui.screens.shift:ShiftScreen",
        Role.CASHIER,
    ),
    (say("screen.menu.entry.refund"), "cashier.ui.screens.refund:RefundScreen", Role.CASHIER),
    (say("screen.menu.entry.lookup"), "cashier.ui.screens.lookup:LookupScreen", Role.CASHIER),
    (say("screen.menu.entry.eod"), "cashier.ui.screens.reports:ReportScreen", Role.SUPERVISOR),
    (
        say("screen.menu.entry.reconcile"),
        "cashier.ui.screens.reconcile:ReconcileScreen",
        Role.SUPERVISOR,
    ),
    (
        say("screen.menu.entry.payrecon"),
        "cashier.ui.screens.payment_reconcile:PaymentReconcileScreen",
        Role.SUPERVISOR,
    ),
    (say("screen.menu.entry.quit"), "app:quit_program", Role.SUPERVISOR),
    (say("screen.menu.entry.outbox"), "cashier.ui.screens.outbox:OutboxScreen", Role.SUPERVISOR),
    (say("screen.menu.entry.mapping"), "cashier.ui.screens.mapping:MappingScreen", Role.SUPERVISOR),
    (say("screen.menu.entry.stock"), "cashier.ui.screens.stock:StockScreen", Role.SUPERVISOR),
)


def switch_to(app, target: str) -> None:
    """Replace the top screen with the one named ``module:Class`` (a tab of the same work:
    the two reconciliations), with no import between the two screens."""
    module, _, name = target.partition(":")
    app.switch_screen(getattr(import_module(module), name)())


def open_entry(app, target: str) -> None:
    """Push the screen named ``module:Class`` (``app:method``: call the app's method)."""
    module, _, name = target.partition(":")
    if module == "app":
        getattr(app, name)()
        return
    app.push_screen(getattr(import_module(module), name)())


class MenuScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss(None)", say("screen.menu.key.back"), id="back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("screen.menu.title"))
            yield OptionList(*(label for label, _, _ in ENTRIES), id="menu")
            yield Static(say("screen.menu.keys"), classes="dim")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():
            index = (int(event.character) or 10) - 1  # 0 opens the tenth
            if 0 <= index < len(ENTRIES):
                event.stop()
                self._open(index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def _open(self, index: int) -> None:
        label, target, role = ENTRIES[index]
        who = self.app.operator
        if who is None or not who.role.at_least(role):
            self.notify(
                say("screen.menu.needs_role", label=label[2:], label2=role.label),
                severity="warning",
            )
            return
        self.dismiss(None)
        open_entry(self.app, target)
