"""Forms of a few fields filled in order (Enter moves on, Enter on the last one gives them
back) and the one-line dialog built on them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cashier.messages import say


class FormDialog(ModalScreen[tuple[str, ...] | None]):
    """Fields filled in order: Enter moves on, Enter on the last one gives them back."""

    ACCEPTS_SCANS = True  # a scanned code (a prescription's, a box's) lands in the field with focus
    BINDINGS = [Binding("escape", "dismiss(None)", say("dialog.dispensing.cancel"), id="back")]
    FIELDS: tuple[str, ...] = ()
    OPTIONAL: tuple[str, ...] = ()  # may be left empty
    #: Enter on any field but the last moves on, even when the rest is filled (a form whose
    #: optional fields matter); else Enter gives the form back as soon as nothing is missing.
    STEP_THROUGH = False

    def handle_scan(self, code) -> None:
        field = self.focused if isinstance(self.focused, Input) else self._fields()[0]
        field.value = code.text
        field.post_message(Input.Submitted(field, field.value))  # as if Enter: every handler

    def _fields(self) -> list[Input]:
        return [self.query_one(f"#{name}", Input) for name in self.FIELDS]

    def on_mount(self) -> None:
        empty = [f for f in self._fields() if not f.value]
        (empty or self._fields())[0].focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fields = self._fields()
        if self.STEP_THROUGH and event.input in fields[:-1]:
            fields[fields.index(event.input) + 1].focus()
            return
        empty = [f for f in fields if not f.value.strip() and f.id not in self.OPTIONAL]
        if not empty:
            self.dismiss(tuple(f.value.strip() for f in fields))
            return
        at = fields.index(event.input) if event.input in fields else -1
        target = next((f for f in empty if fields.index(f) > at), empty[0])
        if target is event.input:
            self.notify(say("dialog.dispensing.fill_all"), severity="warning")
        target.focus()


class ReasonDialog(FormDialog):
    """One line of text: why (a document given up, …), or what (a file's path)."""

    FIELDS = ("reason",)

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text, self.hint, self.initial = title, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(self.initial, placeholder=self.hint or say("dialog.dispensing.reason"),
                        id="reason", max_length=200)  # fmt: skip
            yield Static(say("dialog.dispensing.keys"), classes="dim")
