"""E-receipts at the counter: every completed clinic sale gets its 财政电子票据 (provider
``fiscal``), reversed (冲红) when the sale is refunded; a partial refund's kept lines are a
new sale and get their own. Documents go through the outbox (``services.outbox``), queued
in the sale's or refund's transaction, sent in the background and, for the slip, at once
when the service answers in time.

The business number (``busNo``) is the receipt number: the service issues a business
number once and answers a repeat with the bill it has, so a receipt whose answer was lost
is issued once, never twice. A reversal waits behind its receipt (the same outbox batch)
and names it by its number once issued (by ``busNo`` before).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC

from cashier.messages import say
from cashier.services import outbox
from cashier.store.models import EBillRecord, InsuredSettlement, Outbox, Refund, Sale, database

ISSUE, WRITE_OFF = "fiscal.issue", "fiscal.writeoff"
#: Data for the service, in its language whatever the counter's: a walk-in payer, a
#: refund's reason when none was typed.
WALK_IN_PAYER, REFUND_REASON = "个人", "退费"
#: 交费渠道 of the vendor interface, by tender method.
PAY_CHANNELS = {"cash": "02", "wechat": "03", "alipay": "04", "bankcard": "05", "other": "99"}


def _yuan(fen) -> str:
    return str(fen.to_decimal())


def _time(at) -> str:
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y%m%d%H%M%S%f")[:17]


def issue_data(sale: Sale, place_code: str) -> dict:
    """``invEBillOutpatient``'s data for a stored sale."""
    setl = sale.settlements.where(InsuredSettlement.status == "settled").first()
    lines = list(sale.lines)
    by_category: dict[str, list] = defaultdict(list)
    for line in lines:
        by_category[line.fee_category or "其他费"].append(line)
    paid: dict[str, int] = defaultdict(int)
    for t in sale.tenders:
        paid[PAY_CHANNELS.get(t.method, "99")] += t.amount.fen
    if sale.change:
        paid["02"] -= sale.change.fen  # the change given back comes off the cash
    fund = setl.fund_pay_sumamt if setl else None
    acct = setl.acct_pay if setl else None
    return {
        "busNo": sale.receipt_no,
        "busType": "02",  # 门诊
        "payer": setl.psn_name if setl else WALK_IN_PAYER,
        "busDateTime": _time(sale.closed_at),
        "placeCode": place_code,
        "payee": sale.operator.name,
        "author": sale.operator.name,
        "totalAmt": _yuan(sale.total),
        "fundPay": _yuan(fund) if fund is not None else "0.00",
        "accountPay": _yuan(acct) if acct is not None else "0.00",
        "ownPay": _yuan(setl.psn_cash_pay) if setl else _yuan(sale.total),
        "selfCashPay": _yuan(setl.psn_cash_pay) if setl else _yuan(sale.total),
        "medicalInsuranceID": setl.setl_id if setl else "",
        "medicalCareType": "1" if setl else "",
        "chargeDetail": [
            {
                "chargeCode": f"{n:02d}",
                "chargeName": name,
                "unit": "项",
                "std": _yuan(sum((ln.amount for ln in group), start=type(sale.total)(0))),
                "number": "1",
                "amt": _yuan(sum((ln.amount for ln in group), start=type(sale.total)(0))),
                "selfAmt": "0.00",
            }
            for n, (name, group) in enumerate(sorted(by_category.items()), 1)
        ],
        "listDetail": [
            {
                "listDetailNo": str(line.line_no),
                "chargeCode": line.fee_category,
                "chargeName": line.fee_category,
                "code": line.code,
                "name": line.name,
                "std": _yuan(line.price),
                "unit": line.unit,
                "number": str(line.quantity),
                "amt": _yuan(line.amount),
            }
            for line in lines
        ],
        "payChannelDetail": [
            {"payChannelCode": code, "payChannelValue": f"{fen / 100:.2f}"}
            for code, fen in sorted(paid.items())
            if fen
        ],
    }


def queue_issue(sale: Sale, place_code: str) -> None:
    """In the sale's transaction: its e-receipt, queued."""
    outbox.enqueue(ISSUE, f"{ISSUE}-{sale.receipt_no}", f"ebill:{sale.receipt_no}",
                   issue_data(sale, place_code), station=sale.station_id,
                   operator=sale.operator_id, sale=sale.id)  # fmt: skip


def queue_write_off(refund: Refund, sale: Sale, place_code: str) -> bool:
    """In the refund's transaction: the sale's e-receipt reversed, if it has one (issued or
    queued); whether one was queued."""
    has = (
        EBillRecord.select().where((EBillRecord.sale == sale.id) & (EBillRecord.kind == "fiscal"))
        .exists()
        or Outbox.select().where((Outbox.infno == ISSUE) & (Outbox.sale == sale.id)).exists()
    )  # fmt: skip
    if not has:
        return False
    outbox.enqueue(
        WRITE_OFF,
        f"{WRITE_OFF}-{refund.refund_no}",
        f"ebill:{sale.receipt_no}",
        {
            "busNo": sale.receipt_no,
            "reason": refund.reason or REFUND_REASON,
            "operator": refund.completed_by,
            "busDateTime": _time(refund.created_at),
            "placeCode": place_code,
        },
        station=refund.station_id,
        operator=refund.completed_by,
        sale=sale.id,
        refund=refund.id,
    )
    return True


def send(service, infno: str, body: dict, doc: Outbox) -> dict:
    """The outbox's sender for e-receipt documents; the result kept with its sale."""
    if infno == ISSUE:
        # An earlier try may have reached the service and lost its answer: ask first.
        bill = service.find(str(body["busNo"])) if doc.attempts else None
        bill = bill or service.issue(body)
        _keep(doc.sale_id, None, bill, red=False)
        return {"_msgid": bill.number}
    issued = EBillRecord.get_or_none(
        (EBillRecord.sale == doc.sale_id) & (EBillRecord.kind == "fiscal") & ~EBillRecord.red
    )
    if issued is not None:  # named by its number, as the service knows it
        body = {**body, "billBatchCode": issued.batch_code, "billNo": issued.number}
        body.pop("busNo", None)
    red = service.write_off(body)
    _keep(doc.sale_id, doc.refund_id, red, red=True)
    return {"_msgid": red.number}


def _keep(sale_id: int, refund_id: int | None, bill, *, red: bool, kind: str = "fiscal") -> None:
    with database.atomic():
        EBillRecord.insert(
            sale=sale_id, refund=refund_id, kind=kind, red=red, batch_code=bill.batch_code,
            number=bill.number, check_code=bill.check_code, qr=bill.qr, url=bill.url,
            created=bill.created,
        ).on_conflict_ignore().execute()  # fmt: skip


def of_sale(sale_id: int) -> EBillRecord | None:
    return EBillRecord.get_or_none((EBillRecord.sale == sale_id) & ~EBillRecord.red)


def issue_now(service, sale: Sale) -> EBillRecord | None:
    """For the slip: the sale's e-receipt sent now if it waits (nothing else of the
    outbox); ``None`` when the service did not answer in time (it goes later)."""
    if of_sale(sale.id) is None:
        outbox.send_due(
            lambda doc, body: send(service, doc.infno, body, doc), batch=f"ebill:{sale.receipt_no}"
        )
    return of_sale(sale.id)


# -- 数电发票 (provider "tax"): issued when the patient asks, reddened on refund ------------
TAX_ISSUE, TAX_RED = "tax.issue", "tax.red"


def invoice_order(sale: Sale, buyer: tuple[str, str], settings, *, red_of: str = "") -> dict:
    """``requestBillingNew``'s order for a stored sale: blue, or (``red_of`` the blue's
    number) the red one reversing it, every line negated."""
    sign = -1 if red_of else 1
    r = settings.receipts
    order = {
        "buyerName": buyer[0],
        "buyerTaxNum": buyer[1],
        "salerTaxNum": r.saler_tax_num,
        "orderNo": sale.receipt_no if not red_of else f"{sale.receipt_no}-R",
        "invoiceDate": sale.closed_at.replace(tzinfo=UTC)
        .astimezone()
        .strftime("%Y-%m-%d %H:%M:%S"),
        "clerk": sale.operator.name,
        "pushMode": "-1",
        "invoiceType": "2" if red_of else "1",
        "invoiceLine": "pc",  # 数电普票
        "invoiceDetail": [
            {
                "goodsName": line.name,
                "goodsCode": r.goods_code,
                "specType": line.spec,
                "unit": line.unit,
                "num": str(sign * line.quantity),
                "price": _yuan(line.price),
                "withTaxFlag": "1",
                "taxRate": r.tax_rate,
                "taxIncludedAmount": _yuan(line.amount * sign),
            }
            for line in sale.lines
        ],
    }
    if red_of:
        order["invoiceNum"] = red_of
    return order


def queue_invoice(sale: Sale, buyer: tuple[str, str], settings) -> None:
    """In the sale's transaction: the invoice the patient asked for, queued."""
    outbox.enqueue(TAX_ISSUE, f"{TAX_ISSUE}-{sale.receipt_no}", f"ebill:{sale.receipt_no}",
                   invoice_order(sale, buyer, settings), station=sale.station_id,
                   operator=sale.operator_id, sale=sale.id)  # fmt: skip


def queue_red(refund: Refund, sale: Sale, settings) -> bool:
    """In the refund's transaction: the sale's invoice reversed by a red one, if it has one."""
    issued = Outbox.get_or_none((Outbox.infno == TAX_ISSUE) & (Outbox.sale == sale.id))
    if issued is None:
        return False
    buyer = outbox.payload_of(issued)
    outbox.enqueue(TAX_RED, f"{TAX_RED}-{refund.refund_no}", f"ebill:{sale.receipt_no}",
                   {"buyer": [buyer["buyerName"], buyer["buyerTaxNum"]]},
                   station=refund.station_id, operator=refund.completed_by, sale=sale.id,
                   refund=refund.id)  # fmt: skip
    return True


def send_tax(service, settings, infno: str, body: dict, doc: Outbox) -> dict:
    sale = Sale.get_by_id(doc.sale_id)
    if infno == TAX_ISSUE:
        bill = service.issue({**body, "salerTaxNum": service.saler_tax_num})  # the seller: us
        _keep(doc.sale_id, None, bill, red=False, kind="tax")
        return {"_msgid": bill.number}
    blue = EBillRecord.get_or_none(
        (EBillRecord.sale == doc.sale_id) & (EBillRecord.kind == "tax") & ~EBillRecord.red
    )
    if blue is None:  # its blue invoice not found yet: it waits behind it
        from cashier.ebills import EBillInDoubt

        raise EBillInDoubt(say("ebills.tax.no_blue", receipt_no=sale.receipt_no))
    order = invoice_order(sale, tuple(body["buyer"]), settings, red_of=blue.number)
    red = service.issue({**order, "salerTaxNum": service.saler_tax_num})
    _keep(doc.sale_id, doc.refund_id, red, red=True, kind="tax")
    return {"_msgid": red.number}
