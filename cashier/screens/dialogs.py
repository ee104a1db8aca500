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
  扫码            直接扫商品条码，无需按键；同一商品再扫一次数量加一
  F1  帮助        F3  查找商品（编码、名称、拼音首字母）
  F4  改数量      Del 删除选中行
  F9  收款        F10 现金足额收款（一键完成）
  F11 重打上一张收据
  F8  设备状态与测试    F12 作废本单
  Ctrl+L 锁屏    Ctrl+Q 退出登录
[b]收款[/b]
  ↑↓ 或 x 现金 · w 微信 · z 支付宝 · y 银行卡 · q 其他
  输入金额后 Enter；电子支付需输入或扫描交易参考号
  F7 收 ￥50 · F8 收 ￥100 · F10 现金足额 · Del 删除一笔 · Esc 返回
  扫付款码自动识别微信 / 支付宝 / 银联
[b]Esc 关闭帮助[/b]"""


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
