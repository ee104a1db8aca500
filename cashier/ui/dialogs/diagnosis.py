"""The DiagnosisDialog: a walk-in clinic bill's diagnosis, for 2203."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.messages import say


class DiagnosisDialog(ModalScreen[tuple[str, str] | None]):
    """Diagnosis code (ICD-10, as the doctor wrote it) and name; Esc: no insured settlement."""

    ACCEPTS_SCANS = True  # a scanned code (a prescription's barcode) lands in the field
    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.diagnosis.cancel"), id="back")]

    def handle_scan(self, code) -> None:
        field = (
            self.focused if isinstance(self.focused, Input) else self.query_one("#diag-code", Input)
        )
        field.value = code.text
        self.on_input_submitted(Input.Submitted(field, field.value))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(say("dialog.diagnosis.title"))
            yield Input(
                placeholder=say("dialog.diagnosis.code_hint"), id="diag-code", max_length=20
            )
            yield Input(
                placeholder=say("dialog.diagnosis.name_hint"), id="diag-name", max_length=100
            )
            yield Static(say("dialog.diagnosis.keys"), classes="dim")

    def on_mount(self) -> None:
        self.query_one("#diag-code", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        code = self.query_one("#diag-code", Input).value.strip()
        name = self.query_one("#diag-name", Input).value.strip()
        if event.input.id == "diag-code" and not name:
            self.query_one("#diag-name", Input).focus()
            return
        if not code or not name:
            self.notify(say("dialog.diagnosis.diagnosis_needed"), severity="warning")
            return
        self.dismiss((code, name))
