"""What a receipt says and in what order: the one layout every renderer uses.

:func:`receipt_layout` turns a :class:`~cashier.receipts.model.Receipt` into a list of
:class:`LayoutLine` (content, order and style, independent of the medium).
:func:`split_line` fits one of them into a width with any measure (display
cells for text and ESC/POS, points for PDF), and :func:`receipt_text_lines`
does that for a fixed number of columns.

Widths are display cells: East Asian wide and full-width characters take two
cells, everything else one (``ambiguous=2`` counts East Asian ambiguous
characters such as ``×`` and ``—`` as two, which is how a thermal printer in
Chinese mode prints them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from cashier.domain.money import Fen
from cashier.receipts.model import Receipt, ReceiptLine

__all__ = [
    "LABELS",
    "MIN_COLUMNS",
    "LayoutLine",
    "Style",
    "TextLine",
    "center",
    "display_width",
    "fit",
    "pad_left",
    "pad_right",
    "receipt_layout",
    "receipt_text_lines",
    "split_line",
    "wrap",
]

#: The narrowest layout: a 58 mm roll prints 32 columns.
MIN_COLUMNS = 32

#: Every word the receipt prints, in one place.
LABELS: dict[str, str] = {
    "training": "培训模式 — 非正式票据",
    "reprint": "重打（第{n}次）",
    "receipt_no": "票据号",
    "station": "收款台",
    "operator": "操作员",
    "issued_at": "时间",
    "patient": "患者",
    "no_category": "其他",
    "subtotal": "小计",
    "total": "合计",
    "fulamt_ownpay": "全自费",
    "preselfpay": "先行自付",
    "deductible": "其中计入起付线",
    "insutype": "医保类型",
    "setl_id": "结算号",
    "mdtrt_id": "就诊号",
    "fund_pay": "医保统筹",
    "other_fund_pay": "其他基金",
    "account_pay": "个人账户",
    "mutual_aid_pay": "共济",
    "cash_part": "现金部分",
    "unmapped": "未对照项目（自费）",
    "balance_after": "账户余额",
    "paid": "实收",
    "change": "找零",
    "reference": "交易号",
    "list_class": "{cls}类",
}

#: ``title`` header, ``notice`` training / reprint warning, ``big`` totals
#: printed double size where the device can, ``rule`` a separator, ``qr``
#: where the QR code goes (its payload is the line's text).
Style = Literal["title", "notice", "normal", "bold", "big", "rule", "qr"]


@dataclass(frozen=True)
class LayoutLine:
    """One logical line: ``left`` text, an optional ``right`` part flush right."""

    style: Style
    left: str = ""
    right: str = ""
    align: Literal["left", "center"] = "left"
    indent: int = 0  # in cells; continuation rows keep it


class TextLine(NamedTuple):
    """One laid-out row of fixed-width text and its style tag."""

    style: Style
    text: str


def display_width(s: str, *, ambiguous: int = 1) -> int:
    """Cells ``s`` takes: wide (W) and full-width (F) characters 2, others 1."""
    width = 0
    for ch in s:
        eaw = unicodedata.east_asian_width(ch)
        width += 2 if eaw in ("W", "F") else ambiguous if eaw == "A" else 1
    return width


def fit(s: str, width: float, measure: Callable[[str], float] = display_width) -> str:
    """``s`` cut to at most ``width``, never splitting a character."""
    if measure(s) <= width:
        return s
    used = 0.0
    for i, ch in enumerate(s):
        used += measure(ch)
        if used > width:
            return s[:i]
    return s


def pad_right(s: str, width: int, measure: Callable[[str], int] = display_width) -> str:
    """``s`` fitted to ``width`` and padded with spaces on the right (left-aligned)."""
    s = fit(s, width, measure)
    return s + " " * (width - measure(s))


def pad_left(s: str, width: int, measure: Callable[[str], int] = display_width) -> str:
    """``s`` fitted to ``width`` and padded with spaces on the left (right-aligned)."""
    s = fit(s, width, measure)
    return " " * (width - measure(s)) + s


def center(s: str, width: int, measure: Callable[[str], int] = display_width) -> str:
    """``s`` fitted to ``width`` and centred; no trailing spaces."""
    s = fit(s, width, measure)
    return " " * ((width - measure(s)) // 2) + s


def wrap(s: str, width: float, measure: Callable[[str], float] = display_width) -> list[str]:
    """``s`` broken into rows of at most ``width``; always at least one row.

    Chinese has no spaces, so rows break between any two characters; a row
    that ends inside a word of Latin letters or digits breaks at its last
    space instead when there is one.
    """
    rows: list[str] = []
    rest = s
    while measure(rest) > width:
        head = fit(rest, width, measure) or rest[0]  # a character wider than the row
        cut = len(head)
        if _in_word(head[-1]) and _in_word(rest[cut]) and " " in head.strip():
            cut = head.rindex(" ") + 1
        elif rest[cut] in _NO_ROW_START and cut > 1:
            cut -= 1  # a closing mark never starts a row: take a character down with it
        rows.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
    if rest or not rows:
        rows.append(rest)
    return rows


_NO_ROW_START = frozenset("，。、；：？！）》」』】〕〉”’…—,.;:?!)]}%")


def _in_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def split_line(
    line: LayoutLine,
    width: float,
    measure: Callable[[str], float] = display_width,
    *,
    gap: float | None = None,
    indent: float | None = None,
) -> list[tuple[str, str]]:
    """The rows ``line`` takes in ``width``, each a ``(left, right)`` pair.

    The right part shares the last row with the left text when both fit with
    ``gap`` between them; otherwise it gets a row of its own, so nothing is
    ever cut off. ``indent`` is how wide the line's indent is in the caller's
    unit (by default ``line.indent`` spaces).
    """
    gap = measure(" ") if gap is None else gap
    indent = line.indent * measure(" ") if indent is None else indent
    rows: list[tuple[str, str]] = [(text, "") for text in wrap(line.left, width - indent, measure)]
    if line.right:
        last = rows[-1][0]
        room = width - indent - measure(last) - gap if last else width
        if measure(line.right) <= room:
            rows[-1] = (last, line.right)
        else:
            rows.extend(("", part) for part in wrap(line.right, width, measure))
    return rows


def receipt_text_lines(
    receipt: Receipt, columns: int, *, big_scale: int = 1, ambiguous: int = 1
) -> list[TextLine]:
    """The receipt laid out in ``columns`` cells, one :class:`TextLine` per row.

    ``big`` rows get ``columns // big_scale`` cells (2 on a printer that
    prints them double width). ``ambiguous`` is the width of East Asian
    ambiguous characters (1 in a terminal, 2 on a printer in Chinese mode).
    A ``qr`` row carries the QR payload, not printable text.
    """
    if columns < MIN_COLUMNS:
        raise ValueError(f"a receipt needs at least {MIN_COLUMNS} columns, not {columns}")

    def measure(s: str) -> int:
        return display_width(s, ambiguous=ambiguous)

    out: list[TextLine] = []
    for line in receipt_layout(receipt):
        if line.style == "rule":
            out.append(TextLine("rule", "-" * columns))
            continue
        if line.style == "qr":
            out.append(TextLine("qr", line.left))
            continue
        width = columns // big_scale if line.style == "big" else columns
        for left, right in split_line(line, width, measure):
            if line.align == "center":
                out.append(TextLine(line.style, center(left, width, measure)))
                continue
            left = " " * line.indent + left if left else left
            spaces = width - measure(left) - measure(right)
            out.append(TextLine(line.style, (left + " " * spaces + right).rstrip()))
    return out


# -- the content ----------------------------------------------------------------


def receipt_layout(receipt: Receipt) -> list[LayoutLine]:
    """What the receipt says, in order, independent of the medium."""
    lines: list[LayoutLine] = []
    add = lines.append

    add(LayoutLine("title", receipt.clinic_name, align="center"))
    add(LayoutLine("title", receipt.title, align="center"))
    if receipt.training:
        add(LayoutLine("notice", LABELS["training"], align="center"))
    if receipt.reprint > 0:
        add(LayoutLine("notice", LABELS["reprint"].format(n=receipt.reprint), align="center"))
    add(_field("receipt_no", receipt.receipt_no))
    add(_field("station", receipt.station_id))
    add(_field("operator", receipt.operator))
    add(_field("issued_at", receipt.issued_at.strftime("%Y-%m-%d %H:%M:%S")))
    if receipt.patient:
        add(_field("patient", receipt.patient))
    add(LayoutLine("rule"))

    lines.extend(_items(receipt.lines))
    add(LayoutLine("rule"))
    add(LayoutLine("big", receipt.total_label or LABELS["total"], receipt.total.display()))

    ins = receipt.insurance
    if ins is not None:
        add(LayoutLine("rule"))
        add(LayoutLine("normal", LABELS["insutype"], ins.insutype_name))
        add(LayoutLine("normal", LABELS["setl_id"], ins.setl_id))
        add(LayoutLine("normal", LABELS["mdtrt_id"], ins.mdtrt_id))
        add(LayoutLine("normal", LABELS["fulamt_ownpay"], ins.fulamt_ownpay.display()))
        add(LayoutLine("normal", LABELS["preselfpay"], ins.preselfpay.display()))
        add(LayoutLine("normal", LABELS["fund_pay"], ins.fund_pay.display()))
        if ins.deductible:
            add(LayoutLine("normal", LABELS["deductible"], ins.deductible.display(), indent=2))
        if ins.other_fund_pay:
            add(LayoutLine("normal", LABELS["other_fund_pay"], ins.other_fund_pay.display()))
        add(LayoutLine("normal", LABELS["account_pay"], ins.account_pay.display()))
        if ins.mutual_aid_pay:
            add(LayoutLine("normal", LABELS["mutual_aid_pay"], ins.mutual_aid_pay.display()))
        if ins.unmapped:
            add(LayoutLine("normal", LABELS["unmapped"], ins.unmapped.display()))
        add(LayoutLine("bold", LABELS["cash_part"], (ins.cash_part + ins.unmapped).display()))
        if ins.balance_after is not None:
            add(LayoutLine("normal", LABELS["balance_after"], ins.balance_after.display()))

    add(LayoutLine("rule"))
    for label, amount in receipt.reckoning:
        add(LayoutLine("normal", label, amount.display()))
    for tender in receipt.tenders:
        add(LayoutLine("normal", tender.method_name, tender.amount.display()))
        if tender.reference:
            add(LayoutLine("normal", f"{LABELS['reference']}：{tender.reference}", indent=2))
    if receipt.paid_label:
        add(LayoutLine("big", receipt.paid_label, receipt.paid.display()))
    else:
        add(LayoutLine("bold", LABELS["paid"], receipt.paid.display()))
        add(LayoutLine("big", LABELS["change"], receipt.change.display()))
    add(LayoutLine("rule"))

    add(LayoutLine("qr", receipt.qr_payload, align="center"))
    for text in receipt.ebill:
        add(LayoutLine("normal", text, align="center"))
    if receipt.ebill_qr:
        add(LayoutLine("qr", receipt.ebill_qr, align="center"))
    for text in receipt.footer:
        add(LayoutLine("normal", text, align="center"))
    return lines


def _field(label: str, value: str) -> LayoutLine:
    return LayoutLine("normal", f"{LABELS[label]}：{value}")


def _items(items: tuple[ReceiptLine, ...]) -> list[LayoutLine]:
    """Item rows, grouped by fee category with subtotals when there are several."""
    groups: dict[str, list[ReceiptLine]] = {}
    for item in items:
        groups.setdefault(item.fee_category or LABELS["no_category"], []).append(item)
    grouped = len(groups) > 1
    lines: list[LayoutLine] = []
    for category, members in groups.items():
        if grouped:
            lines.append(LayoutLine("bold", f"【{category}】"))
        for item in members:
            lines.extend(_item(item))
        if grouped:
            subtotal = Fen.total(item.amount for item in members)
            lines.append(
                LayoutLine("normal", f"{category}{LABELS['subtotal']}", subtotal.display())
            )
    return lines


def _item(item: ReceiptLine) -> list[LayoutLine]:
    name = f"{item.name} {item.spec}" if item.spec else item.name
    detail = f"{item.quantity}{item.unit} × {item.price}"
    if item.list_class:
        detail = f"{LABELS['list_class'].format(cls=item.list_class)}  {detail}"
    return [
        LayoutLine("normal", name),
        LayoutLine("normal", detail, str(item.amount), indent=2),
    ]
