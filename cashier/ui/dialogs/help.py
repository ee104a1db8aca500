"""The HelpScreen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]收费台按键[/b]
  扫码  商品条码、医保码、身份证号都直接扫，无需按键
  ↑↓ 选行  Del 删除选中行  F3 查找商品  F4 改数量
  F2 读社保卡 / 输身份证号  F5 预结算  F6 个人账户开/关
  F7 逐项自付明细  Ctrl+S 医保转自费
  F9 结算收款  F10 现金足额（医保单先结算）  F12 作废  F11 重打
  Ctrl+G 挂单  Ctrl+R 取单
  Ctrl+O 功能：班次、退款、查单、报表、对账
  F8 设备  Ctrl+L 锁屏  Ctrl+Q 退出登录  Ctrl+P 命令
[b]收款[/b]
  ↑↓ 或 x 现金 · w 微信 · z 支付宝 · y 银行卡 · q 其他
  输入金额后 Enter；银行卡输入或扫描签购单参考号
  扫顾客付款码即由微信支付 / 支付宝扣款
  F7 收 ￥50 · F8 收 ￥100 · F10 现金足额 · Del 删除一笔
[b]Esc 关闭帮助[/b]"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "关闭", id="back"),
        Binding("f1", "dismiss(None)", "关闭", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(HELP_TEXT)
