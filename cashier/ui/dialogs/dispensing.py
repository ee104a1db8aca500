"""Dispensing: the prescription a 处方药 is dispensed on, and a supervisor's exception for
boxes sold without their 追溯码."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from cashier.messages import say
from cashier.ui.dialogs.form import FormDialog


class PrescriptionDialog(FormDialog):
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


class TraceWaiveDialog(FormDialog):
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


class InvoiceDialog(FormDialog):
    """A 数电发票's buyer: a name (a person's or a company's) and, for a company, its tax
    number (may be left empty)."""

    FIELDS = ("buyer-name", "buyer-tax")
    OPTIONAL = ("buyer-tax",)
    STEP_THROUGH = True  # Enter after the name goes to the tax number (a company's)

    def __init__(self, values: tuple[str, str] = ("", "")) -> None:
        super().__init__()
        self.values = values  # what was typed before, when it was refused

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.dispensing.invoice_title"))
            yield Input(self.values[0], placeholder=say("dialog.dispensing.buyer_name"),
                        id="buyer-name", max_length=100)  # fmt: skip
            yield Input(self.values[1], placeholder=say("dialog.dispensing.buyer_tax"),
                        id="buyer-tax", max_length=20)  # fmt: skip
            yield Static(say("dialog.dispensing.keys"), classes="dim")
