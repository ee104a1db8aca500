"""The stock screen's forms: a delivery's row typed at the counter, and boxes of a batch
(sent back, written off or counted)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from cashier.messages import say
from cashier.services import stock
from cashier.ui.dialogs.form import FormDialog
from cashier.ui.text import plain

#: The delivery row's fields, named as the delivery CSV's columns.
RECEIVE_FIELDS = ("code", "manu_lotnum", "manu_date", "expy_end", "quantity", "purchase_price",
                  "supplier")  # fmt: skip


class ReceiveDialog(FormDialog):
    """One lot of one item received: scan the box (its barcode fills the item), then the
    maker's lot number, the dates, the boxes, and optionally the price and the supplier."""

    DEFAULT_CSS = """
    ReceiveDialog .field { height: 1; margin-bottom: 1; }
    ReceiveDialog .field Label { width: 12; }
    ReceiveDialog .field Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    ReceiveDialog .field Input:focus { background: $boost; text-style: bold; }
    """
    FIELDS = tuple(f"receive-{name}" for name in RECEIVE_FIELDS)
    OPTIONAL = ("receive-purchase_price", "receive-supplier")
    STEP_THROUGH = True

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.values = values or {}

    def compose(self) -> ComposeResult:
        sizes = {"code": 40, "manu_lotnum": 40, "manu_date": 10, "expy_end": 10, "quantity": 7,
                 "purchase_price": 12, "supplier": 100}  # fmt: skip
        with Vertical(classes="dialog wide"):
            yield Label(say("dialog.stock.receive_title"))
            yield Static("", id="receive-item", classes="dim")
            for name in RECEIVE_FIELDS:  # a label each: 24 rows hold seven fields of one row
                with Horizontal(classes="field"):
                    yield Label(say(f"dialog.stock.label.{name}"))
                    yield Input(self.values.get(name, ""), id=f"receive-{name}",
                                placeholder=say(f"dialog.stock.{name}"), max_length=sizes[name])  # fmt: skip
            yield Static(say("dialog.dispensing.keys"), classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "receive-code":  # say which item the box is, before the rest
            item = stock.find_item(event.value.strip())
            shown = (f"{item.code} {item.name} {item.spec}" if item
                     else say("dialog.stock.no_item", code=event.value.strip()))  # fmt: skip
            self.query_one("#receive-item", Static).update(plain(shown))
        # (Textual calls FormDialog's handler after this one: it moves on.)


class BoxesDialog(FormDialog):
    """Boxes of one batch, and why (when asked): sent back to the supplier, written off,
    or counted on the shelf."""

    def __init__(self, title: str, *, reason: bool) -> None:
        super().__init__()
        self.title_text = title
        self.FIELDS = ("boxes", "why") if reason else ("boxes",)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(placeholder=say("dialog.stock.boxes"), id="boxes",
                        restrict=r"[0-9０-９]*", max_length=7)  # fmt: skip
            if "why" in self.FIELDS:
                yield Input(placeholder=say("dialog.dispensing.reason"), id="why", max_length=150)
            yield Static(say("dialog.dispensing.keys"), classes="dim")
