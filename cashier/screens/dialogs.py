"""Small modal dialogs: quantity, confirm, catalog search, help, supervisor unlock."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cashier import catalog, operators
from cashier.checkout import parse_quantity
from cashier.errors import CashierError
from cashier.screens.base import WorkerErrors
from cashier.store.models import Item
from receipts.layout import pad_left, pad_right


class QuantityDialog(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def __init__(self, name: str, quantity: int) -> None:
        super().__init__()
        self.item_name = name
        self.quantity = quantity

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"修改数量：{self.item_name}")
            yield Input(str(self.quantity), id="quantity", restrict=r"[0-9０-９]*", max_length=4)
            yield Static("Enter 确认 · Esc 取消", classes="dim")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.select_all()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_quantity(event.value))
        except CashierError as exc:
            self.notify(str(exc), severity="error")


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("enter", "dismiss(True)", "确认", id="confirm"),
        Binding("y", "dismiss(True)", "确认", show=False),
        Binding("escape", "dismiss(False)", "取消", id="back"),
        Binding("n", "dismiss(False)", "取消", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Static("Enter 确认 · Esc 取消", classes="dim")


class SearchDialog(WorkerErrors, ModalScreen[Item | None]):
    """F3: find an item by code, barcode, name or 拼音 initials, as the cashier types."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "取消", id="back"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.items: list[Item] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("查找商品（编码 / 条码 / 名称 / 拼音首字母，如 amxl）")
            yield Input(self.initial, id="query")
            yield OptionList(id="results")
            yield Static("↑↓ 选择 · Enter 加入 · Esc 取消", classes="dim")

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
                f"{it.code:<8} {pad_right(f'{it.name} {it.spec}', 32)}"
                f"{pad_left(it.price.display(), 10)}/{pad_right(it.unit, 2)} 存{it.stock}"
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
            self.notify("没有找到商品", severity="warning")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[event.option_index])


HELP_TEXT = """\
[b]收费台按键[/b]
  扫码     商品条码、医保码、身份证号都直接扫，无需按键
  F1 帮助  F2 读社保卡/输身份证号  F3 查找商品  F4 改数量
  F5 预结算  F6 个人账户开/关  F7 逐项自付明细  Del 删除选中行
  F9 结算收款  F10 现金足额（医保单先结算）  F11 重打  F12 作废
  Ctrl+S 医保转自费  Ctrl+G 挂单  Ctrl+R 取单  Ctrl+O 功能（班次/退款/报表）
  F8 设备
  Ctrl+L 锁屏  Ctrl+Q 退出登录
[b]收款[/b]
  ↑↓ 或 x 现金 · w 微信 · z 支付宝 · y 银行卡 · q 其他
  输入金额后 Enter；电子支付需输入或扫描交易参考号
  F7 收 ￥50 · F8 收 ￥100 · F10 现金足额 · Del 删除一笔 · Esc 返回
  扫付款码自动识别微信 / 支付宝 / 银联
[b]Esc 关闭帮助[/b]"""


class IdNumberDialog(ModalScreen[str | None]):
    """F2 without a card: the patient's ID number, typed or scanned (checksum checked)."""

    ACCEPTS_SCANS = True  # a scanned ID number lands here, not on the sale below
    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def handle_scan(self, code) -> None:
        field = self.query_one(Input)
        field.value = code.text
        self.on_input_submitted(Input.Submitted(field, field.value))

    def __init__(self, why: str = "") -> None:
        super().__init__()
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if self.why:
                yield Static(f"[yellow]{self.why}[/]")
            yield Label("输入患者身份证号（18 位）")
            yield Input(id="certno", max_length=18, restrict=r"[0-9xX０-９ｘＸ]*")
            yield Static("Enter 查询 · Esc 取消", classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from cashier.insured import parse_id_number

        try:
            self.dismiss(parse_id_number(event.value))
        except CashierError as exc:
            self.notify(str(exc), severity="error")


class InsuranceDialog(ModalScreen[str | None]):
    """1101 answered several insurances: the cashier picks one (the usual one preselected)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def __init__(self, rows: list[tuple[str, str]], preselect: int) -> None:
        super().__init__()
        self.rows = rows  # (insutype, label)
        self.preselect = preselect

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("该患者有多个险种，请选择本次结算的险种")
            yield OptionList(*(Option(label) for _, label in self.rows), id="insurances")
            yield Static("↑↓ 选择 · Enter 确认 · Esc 取消", classes="dim")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.preselect
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[event.option_index][0])


class RecallDialog(ModalScreen[int | None]):
    """取单: which parked bill to take back."""

    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def __init__(self, labels: list[str]) -> None:
        super().__init__()
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("取回挂起的单")
            yield OptionList(*self.labels, id="parked")
            yield Static("↑↓ 选择 · Enter 取回 · Esc 取消", classes="dim")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)


class SplitDialog(ModalScreen[None]):
    """F7: each line's class, self-pay ratio and what the patient pays of it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "关闭", id="back"),
        Binding("f7", "dismiss(None)", "关闭", show=False),
    ]

    def __init__(self, rows: list, funds: list[tuple[str, str, str]] = ()) -> None:
        super().__init__()
        self.rows = rows  # cashier.insured.SplitRow
        self.funds = funds  # (fund name, amount, how it was computed)

    def compose(self) -> ComposeResult:
        lines = [
            f"{pad_right('项目', 24)}{pad_right('类别', 6)}{pad_left('自付比例', 9)}"
            f"{pad_left('金额', 10)}{pad_left('自付', 10)}{pad_left('范围内', 10)}"
        ]
        for r in self.rows:
            ratio = "—" if r.selfpay_prop is None else f"{r.selfpay_prop * 100:.0f}%"
            lines.append(
                f"{pad_right(r.name[:12], 24)}{pad_right(r.list_class or '—', 6)}"
                f"{pad_left(ratio, 9)}{pad_left(str(r.amount), 10)}"
                f"{pad_left(str(r.self_paid), 10)}{pad_left(str(r.in_range), 10)}"
            )
        from rich.markup import escape

        lines = [escape(line) for line in lines]
        for name, amount, info in self.funds:
            lines.append(f"[b]{escape(name)} {amount}[/]" + (f"\n  {escape(info)}" if info else ""))
        with Vertical(classes="dialog wide"):
            yield Label("逐项自付明细（医保平台返回）")
            yield Static("\n".join(lines), markup=True)
            yield Static("自付 = 全自费 + 超限价 + 先行自付 · Esc 关闭", classes="dim")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "关闭", id="back"),
        Binding("f1", "dismiss(None)", "关闭", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(HELP_TEXT)


class UnlockDialog(WorkerErrors, ModalScreen[None]):
    """A supervisor unlocks an operator locked by wrong PINs."""

    BINDINGS = [Binding("escape", "dismiss(None)", "取消", id="back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("组长解锁")
            yield Input(placeholder="要解锁的工号", id="target")
            yield Input(placeholder="组长工号", id="sup-code")
            yield Input(placeholder="组长 PIN", id="sup-pin", password=True)
            yield Static("", id="unlock-message")

    def on_mount(self) -> None:
        self.query_one("#target", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fields = [self.query_one(f"#{i}", Input) for i in ("target", "sup-code", "sup-pin")]
        for field in fields:
            if not field.value.strip():
                field.focus()
                return
        self.unlock(*(f.value.strip() for f in fields))

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def unlock(self, target: str, code: str, pin: str) -> None:
        station = self.app.settings.station_id
        supervisor = operators.authenticate(station, code, pin)
        operators.unlock(station, target, supervisor)
        self.app.call_from_thread(self.notify, f"已解锁 {target}")
        self.app.call_from_thread(self.dismiss, None)
