"""The providers' own bills, read as they come: WeChat Pay's day bill (CSV whose every field
starts with a back-tick, a summary header and row at the end) as rows of what the provider
says happened to each merchant order."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from cashier.domain.money import Fen


@dataclass(frozen=True)
class BillRow:
    out_trade_no: str
    trade_no: str
    state: str  # paid | refund | revoked (as the provider says)
    amount: Fen  # the order's amount
    refunded: Fen  # what this row refunds (refund rows)


def wechat_rows(text: str) -> list[BillRow]:
    """WeChat Pay's ALL bill: the trade rows (the summary at the end is left out)."""
    rows = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        return rows
    names = [h.strip() for h in header]

    def col(values: list[str], name: str) -> str:
        return values[names.index(name)].strip().lstrip("`") if name in names else ""

    for values in reader:
        if not values or values[0].strip().startswith("总交易单数"):
            break  # the summary
        if len(values) < len(names):
            continue
        state = col(values, "交易状态").upper()
        rows.append(
            BillRow(
                out_trade_no=col(values, "商户订单号"),
                trade_no=col(values, "微信订单号"),
                state={"SUCCESS": "paid", "REFUND": "refund", "REVOKED": "revoked"}.get(
                    state, state.lower()
                ),
                amount=Fen.parse(col(values, "应结订单金额") or "0"),
                refunded=Fen.parse(col(values, "退款金额") or "0"),
            )
        )
    return rows
