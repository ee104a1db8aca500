"""The SplitDialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cashier.receipts.layout import pad_left, pad_right
from cashier.ui.text import printable, quoted


class SplitDialog(ModalScreen[None]):
    """F7: each line's class, self-pay ratio and what the patient pays of it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "关闭", id="back"),
        Binding("f7", "dismiss(None)", "关闭", show=False),
    ]

    def __init__(self, rows: list, funds: list[tuple[str, str, str]] = ()) -> None:
        super().__init__()
        self.rows = rows  # cashier.services.insured.SplitRow
        self.funds = funds  # (fund name, amount, how it was computed)

    def compose(self) -> ComposeResult:
        lines = [
            f"{pad_right('项目', 24)}{pad_right('类别', 6)}{pad_left('自付比例', 9)}"
            f"{pad_left('金额', 10)}{pad_left('自付', 10)}{pad_left('范围内', 10)}"
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
            yield Label("逐项自付明细（医保平台返回）")
            yield Static("\n".join(lines), markup=True)
            yield Static("自付 = 全自费 + 超限价 + 先行自付 · Esc 关闭", classes="dim")
