"""The SplitDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cashier.messages import say
from cashier.receipts.layout import pad_left, pad_right
from cashier.ui.text import printable, quoted


class SplitDialog(ModalScreen[None]):
    """F7: each line's class, self-pay ratio and what the patient pays of it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", say("dialog.split.close"), id="back"),
        Binding("f7", "dismiss(None)", say("dialog.split.close"), show=False),
    ]

    def __init__(self, rows: list, funds: list[tuple[str, str, str]] = ()) -> None:
        super().__init__()
        self.rows = rows  # cashier.services.insured.SplitRow
        self.funds = funds  # (fund name, amount, how it was computed)

    def compose(self) -> ComposeResult:
        lines = [
            pad_right(say("dialog.split.col.item"), 24)
            + pad_right(say("dialog.split.col.class"), 6)
            + pad_left(say("dialog.split.col.ratio"), 9)
            + pad_left(say("dialog.split.col.amount"), 10)
            + pad_left(say("dialog.split.col.self_pay"), 10)
            + pad_left(say("dialog.split.col.in_scope"), 10)
        ]
        for r in self.rows:
            ratio = "—" if r.selfpay_prop is None else f"{r.selfpay_prop * 100:.0f}%"
            lines.append(
                f"{pad_right(printable(r.name[:12]), 24)}{pad_right(r.list_class or '—', 6)}"
                f"{pad_left(ratio, 9)}{pad_left(str(r.amount), 10)}"
                f"{pad_left(str(r.self_paid), 10)}{pad_left(str(r.in_range), 10)}"
            )
        lines = [quoted(line) for line in lines]
        for name, amount, info in self.funds:
            lines.append(f"[b]{quoted(name)} {amount}[/]" + (f"\n  {quoted(info)}" if info else ""))
        with Vertical(classes="dialog wide"):
            yield Label(say("dialog.split.title"))
            yield Static("\n".join(lines), markup=True)
            yield Static(say("dialog.split.keys"), classes="dim")
