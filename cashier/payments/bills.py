"""The providers' own bills, read as they come, as rows of what the provider says happened to
each merchant order:

* WeChat Pay's day bill: CSV whose every field starts with a back-tick, a summary header and
  row at the end;
* Alipay's: a zip of two GBK CSV files (the detail 业务明细 and its summary 汇总), each
  framed by ``#`` comment lines, numbers and ids padded with a tab, refunds as rows of
  their own with a negative amount and the refund's request number.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from cashier.domain.money import Fen, MoneyError
from cashier.messages import say


@dataclass(frozen=True)
class BillRow:
    out_trade_no: str
    trade_no: str
    state: str  # paid | refund | revoked (paid, then reversed: nothing kept)
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


class BillError(ValueError):
    """A bill file that is not what the provider sends."""


def alipay_rows(archive: bytes) -> list[BillRow]:
    """Alipay's trade bill zip: the rows of its detail file (the summary is left out)."""
    try:
        members = zipfile.ZipFile(io.BytesIO(archive))
        texts = [_gbk(members.read(info)) for info in members.infolist()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise BillError(say("pay.bills.not_zip", exc=exc)) from None
    details = [t for t in texts if t.lstrip("\ufeff").startswith("#支付宝业务明细查询")]
    if not details:
        raise BillError(say("pay.bills.no_detail_file"))
    lines = [line for line in details[0].splitlines() if line and not line.startswith("#")]
    reader = csv.reader(lines)
    names = [h.strip() for h in next(reader, [])]
    if "商户订单号" not in names or "业务类型" not in names:
        raise BillError(say("pay.bills.bad_header"))

    def col(values: list[str], name: str) -> str:
        at = names.index(name) if name in names else -1
        return values[at].strip() if 0 <= at < len(values) else ""

    rows = []
    for values in reader:
        kind = col(values, "业务类型")
        try:
            amount = Fen.parse(col(values, "订单金额（元）") or "0", allow_negative=True)
        except MoneyError:
            raise BillError(
                say("pay.bills.bad_amount", value=col(values, "订单金额（元）"))
            ) from None
        if kind == "交易":
            rows.append(BillRow(col(values, "商户订单号"), col(values, "支付宝交易号"), "paid",
                                amount, Fen(0)))  # fmt: skip
        elif kind == "退款":
            rows.append(BillRow(col(values, "商户订单号"), col(values, "支付宝交易号"), "refund",
                                Fen(0), Fen(abs(amount.fen))))  # fmt: skip
    return rows


def _gbk(raw: bytes) -> str:
    """Alipay writes its bills in GBK (GB18030 reads every GBK file, and then some)."""
    try:
        return raw.decode("utf-8")  # a bill re-saved by a spreadsheet
    except UnicodeDecodeError:
        return raw.decode("gb18030", "replace")
