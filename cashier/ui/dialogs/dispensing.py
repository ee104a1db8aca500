"""Dispensing: the prescription a 处方药 is dispensed on, and a supervisor's exception for
boxes sold without their 追溯码."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.messages import say


class _Form(ModalScreen[tuple[str, ...] | None]):
    """Fields filled in order: Enter moves on, Enter on the last one gives them back."""

    ACCEPTS_SCANS = True  # a scanned prescription number lands in the field that has focus
    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.dispensing.cancel"), id="back")]
    FIELDS: tuple[str, ...] = ()
    OPTIONAL: tuple[str, ...] = ()  # may be left empty

    def handle_scan(self, code) -> None:
        field = self.focused if isinstance(self.focused, Input) else self._fields()[0]
        field.value = code.text
        self.on_input_submitted(Input.Submitted(field, field.value))

    def _fields(self) -> list[Input]:
        return [self.query_one(f"#{name}", Input) for name in self.FIELDS]

    def on_mount(self) -> None:
        empty = [f for f in self._fields() if not f.value]
        (empty or self._fields())[0].focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fields = self._fields()
        empty = [f for f in fields if not f.value.strip() and f.id not in self.OPTIONAL]
        if not empty:
            self.dismiss(tuple(f.value.strip() for f in fields))
            return
        at = fields.index(event.input) if event.input in fields else -1
        target = next((f for f in empty if fields.index(f) > at), empty[0])
        if target is event.input:
            self.notify(say("dialog.dispensing.fill_all"), severity="warning")
        target.focus()


class PrescriptionDialog(_Form):
    """The prescription's number and doctor, and the checking pharmacist's code (the
    operator signed in when they have a 执业资格证号)."""

    FIELDS = ("rx-no", "rx-doctor", "rx-pharmacist")

    def __init__(self, pharmacist_code: str = "") -> None:
        super().__init__()
        self.pharmacist_code = pharmacist_code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.dispensing.rx_title"))
            yield Input(placeholder=say("dialog.dispensing.rx_no"), id="rx-no", max_length=40)
            yield Input(
                placeholder=say("dialog.dispensing.rx_doctor"), id="rx-doctor", max_length=50
            )
            yield Input(
                self.pharmacist_code,
                placeholder=say("dialog.dispensing.rx_pharmacist"),
                id="rx-pharmacist",
                max_length=16,
            )
            yield Static(say("dialog.dispensing.keys"), classes="dim")


class TraceWaiveDialog(_Form):
    """A supervisor records why a line's remaining boxes go without their 追溯码."""

    FIELDS = ("waive-reason", "waive-code", "waive-pin")

    def __init__(self, line_name: str, boxes: int) -> None:
        super().__init__()
        self.line_name, self.boxes = line_name, boxes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.dispensing.waive_title", name=self.line_name, boxes=self.boxes))
            yield Input(
                placeholder=say("dialog.dispensing.waive_reason"), id="waive-reason", max_length=100
            )
            yield Input(placeholder=say("dialog.dispensing.supervisor_code"), id="waive-code")
            yield Input(
                placeholder=say("dialog.dispensing.supervisor_pin"), id="waive-pin", password=True
            )
            yield Static(say("dialog.dispensing.keys"), classes="dim")


class ReasonDialog(_Form):
    """One line of text: why (a document given up, …)."""

    FIELDS = ("reason",)

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(placeholder=say("dialog.dispensing.reason"), id="reason", max_length=100)
            yield Static(say("dialog.dispensing.keys"), classes="dim")


class InvoiceDialog(_Form):
    """A 数电发票's buyer: a name (a person's or a company's) and, for a company, its tax
    number (may be left empty)."""

    FIELDS = ("buyer-name", "buyer-tax")
    OPTIONAL = ("buyer-tax",)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.dispensing.invoice_title"))
            yield Input(placeholder=say("dialog.dispensing.buyer_name"), id="buyer-name",
                        max_length=100)  # fmt: skip
            yield Input(placeholder=say("dialog.dispensing.buyer_tax"), id="buyer-tax",
                        max_length=20)  # fmt: skip
            yield Static(say("dialog.dispensing.keys"), classes="dim")
