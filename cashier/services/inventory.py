"""进销存 for the insurer: the documents a pharmacy reports, built from the local change
they report and queued in the outbox in its transaction (``cashier.services.outbox``).

- **3503 采购** (``purcinfo``): a batch received.
- **3505 商品销售** (``selinfo``): one per sale line and batch, its boxes' 追溯码 in
  ``drugtracinfo`` (one object per box) and, for an insured sale, its ``setl_id``.
- **3506 销售退货** (``selinfo``): a refund brings back every box of the sale it refunds
  (the insurer's settlement is cancelled whole); a partial refund's kept boxes are then
  sold again with the kept lines' new sale, and reported with its own 3505 and ``setl_id``.
  Every box's code is so sold once, returned once, in the insurer's books as in ours.

Field names as the national interface spells them (docs/insurer-interface.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cashier.domain.money import Fen
from cashier.errors import CashierError, InputError
from cashier.messages import say
from cashier.services import audit, outbox, trace
from cashier.store.models import (
    Batch,
    InsuredSettlement,
    Operator,
    Outbox,
    Refund,
    Sale,
    SaleLine,
    SaleLineBatch,
    database,
)

#: 人员证件类型: 01 居民身份证; 99 其他 (a walk-in self-pay customer shows none).
ID_CARD, NO_CERT = "01", "99"
#: ``prsc_dr_name`` of a line sold without a prescription (the field is required): data
#: for the insurer, in its language whatever the counter's.
NO_PRESCRIBER = "无"


def _time(at: datetime) -> str:
    """A stored (naive UTC) time as the interface writes it, local."""
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _yuan(amount: Fen) -> str:
    return str(amount.to_decimal())


def _name_of(code: str) -> str:
    op = Operator.get_or_none(Operator.code == code)
    return op.name if op is not None else code


def _chunks(codes: tuple[str, ...], sizes: list[int]) -> list[tuple[str, ...]]:
    """The line's codes shared out over its batches, in the order they were scanned."""
    out, at = [], 0
    for size in sizes:
        out.append(codes[at : at + size])
        at += size
    return out


def _sold_lines(sale: Sale):
    """Each line of a sale with its batches [(bchno, lot, dates, quantity)] and codes."""
    codes = trace.codes_of_sale(sale.id)
    for line in sale.lines.order_by(SaleLine.line_no):
        batches = [
            (row.batch, row.quantity)
            for row in SaleLineBatch.select().where(SaleLineBatch.line == line.id)
            .order_by(SaleLineBatch.id)
        ]  # fmt: skip
        if not batches:
            batches = [(None, line.quantity)]
        shares = _chunks(codes.get(line.line_no, ()), [q for _, q in batches])
        for k, ((batch, quantity), share) in enumerate(zip(batches, shares, strict=True), 1):
            yield line, k, batch, quantity, share


def _pharmacist(code: str) -> Operator | None:
    """Who answers for a sale's dispensing: the prescription's pharmacist, or the operator
    when licensed, else the pharmacy's licensed pharmacist on the books (驻店药师: the first
    active operator with a 执业资格证号)."""
    op = Operator.get_or_none(Operator.code == code)
    if op is not None and op.prac_cert_no:
        return op
    return (
        Operator.select()
        .where((Operator.prac_cert_no != "") & (Operator.active == True))  # noqa: E712
        .order_by(Operator.code)
        .first()
    ) or op


def reportable(line: SaleLine) -> bool:
    """A drug (西药 X…, 中成药 Z…, 中药饮片 T…) or a box with its 追溯码: stock the insurer
    counts; a service or a material is not reported."""
    return line.trac_required or line.med_list_codg[:1] in ("X", "Z", "T")


def _selinfo(
    sale: Sale,
    line: SaleLine,
    batch: Batch | None,
    quantity: int,
    codes: tuple[str, ...],
    *,
    settlement: InsuredSettlement | None,
    certno: str,
    when: datetime,
    operator: str,
    doc_no: str,
) -> dict:
    rx = json.loads(sale.dispensing) if sale.dispensing else {}
    insured = settlement is not None
    pharmacist = _pharmacist(rx.get("phar_code") or sale.operator_id)
    return {
        "med_list_codg": line.med_list_codg,
        "fixmedins_hilist_id": line.code,
        "fixmedins_hilist_name": line.name,
        "fixmedins_bchno": batch.bchno if batch is not None else "",
        "prsc_dr_cert_type": "",
        "prsc_dr_certno": "",
        "prsc_dr_name": rx.get("prsc_dr_name") or NO_PRESCRIBER,
        "phar_cert_type": "",
        "phar_certno": "",
        "phar_name": rx.get("phar_name") or (pharmacist.name if pharmacist else ""),
        "phar_prac_cert_no": rx.get("phar_prac_cert_no")
        or (pharmacist.prac_cert_no if pharmacist else ""),
        "hi_feesetl_type": "1" if insured else "2",
        "setl_id": settlement.setl_id if insured else "",
        "mdtrt_sn": (settlement.mdtrt_id or sale.receipt_no) if insured else sale.receipt_no,
        "psn_no": settlement.psn_no if insured else "",
        "psn_cert_type": ID_CARD if insured and certno else NO_CERT,
        "certno": certno if insured else "",
        "psn_name": settlement.psn_name if insured else "",
        "manu_lotnum": batch.manu_lotnum if batch is not None else "",
        "manu_date": batch.manu_date.isoformat() if batch is not None else "",
        "expy_end": batch.expy_end.isoformat() if batch is not None else "",
        "rx_flag": "1" if line.rx_flag else "0",
        "trdn_flag": "0",  # whole boxes (拆零 not sold at this counter)
        "finl_trns_pric": _yuan(line.price),
        "rxno": rx.get("rxno", ""),
        "rx_circ_flag": "0",
        "rtal_docno": sale.receipt_no,
        "stoout_no": sale.receipt_no,
        "bchno": batch.bchno if batch is not None else "",
        "drug_prod_barc": "",
        "shelf_posi": "",
        "sel_retn_cnt": str(quantity),
        "sel_retn_time": _time(when),
        "sel_retn_opter_name": _name_of(operator),
        "mdtrt_setl_type": "1" if insured else "2",
        "memo": "",
        "medins_prod_sel_no": doc_no,
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def queue_sale(sale: Sale, certno: str = "") -> int:
    """In the sale's transaction: a 3505 per reported line and batch; how many."""
    settlement = sale.settlements.where(InsuredSettlement.status == "settled").first()
    return _queue_sold(
        "3505", sale, sale.receipt_no, settlement, certno, sale.closed_at, sale.operator_id,
        station=sale.station_id, sale=sale.id,
    )  # fmt: skip


def queue_refund(refund: Refund, sale: Sale) -> int:
    """In the refund's transaction: a 3506 for every reported line and batch of the sale
    (its every box comes back to the books); how many."""
    return _queue_sold(
        "3506", sale, refund.refund_no, sale.settlements.first(), _certno_of(sale),
        refund.created_at, refund.completed_by, station=refund.station_id, refund=refund.id,
    )  # fmt: skip


def _queue_sold(
    infno: str, sold: Sale, number: str, settlement, certno: str, when, operator: str, **into
) -> int:
    """A ``selinfo`` document (``infno``) per reported line and batch of ``sold``, named by
    ``number`` (the receipt's or the refund's); ``into`` its station and sale or refund."""
    queued = 0
    for line, k, batch, quantity, codes in _sold_lines(sold):
        if not reportable(line):
            continue
        doc_no = f"{infno}-{number}-{line.line_no}-{k}"
        payload = _selinfo(
            sold, line, batch, quantity, codes, settlement=settlement, certno=certno,
            when=when, operator=operator, doc_no=doc_no,
        )  # fmt: skip
        outbox.enqueue(
            infno,
            doc_no,
            batch.bchno if batch is not None else f"item:{line.code}",
            {"selinfo": payload},
            operator=operator,
            **into,
        )
        queued += 1
    return queued


def _certno_of(sale: Sale) -> str:
    """The patient's ID number as the sale's 3505 sent it (the outbox keeps it sealed)."""
    doc = sale.documents.where(Outbox.infno == "3505").first()
    return outbox.payload_of(doc)["selinfo"].get("certno", "") if doc is not None else ""


def queue_purchase(station_id: str, batch: Batch, by) -> None:
    """In the delivery's transaction: a 3503 采购 for the batch."""
    info = _purcinfo(
        batch, batch.received, batch.received_at, by, dynt_no="", prodentp_name="", aprvno="",
        purc_invo_codg="", purc_invo_no="", prod_geay_flag="0",
    )  # fmt: skip
    outbox.enqueue("3503", f"3503-{batch.bchno}", batch.bchno, {"purcinfo": info},
                   station=station_id, operator=by.code)  # fmt: skip


def _invinfo(batch: Batch) -> dict:
    item = batch.item
    return {
        "med_list_codg": item.med_list_codg,
        "fixmedins_hilist_id": item.code,
        "fixmedins_hilist_name": item.name,
        "rx_flag": "1" if item.rx_flag else "0",
        "fixmedins_bchno": batch.bchno,
        "manu_lotnum": batch.manu_lotnum,
        "manu_date": batch.manu_date.isoformat(),
        "expy_end": batch.expy_end.isoformat(),
    }


def queue_change(station_id: str, batch: Batch, inv_chg_type: str, boxes: int, memo: str, by):
    """In the change's transaction: a 3502 库存变更 (盘盈 103, 盘亏 104, 报损 105 …)."""
    from cashier.store.models import utcnow

    now = utcnow()
    doc_no = f"3502-{batch.bchno}-{now:%Y%m%d%H%M%S%f}"
    info = {
        **_invinfo(batch),
        "inv_chg_type": inv_chg_type,
        "pric": _yuan(batch.item.price),
        "cnt": str(boxes),
        "inv_chg_time": _time(now),
        "inv_chg_opter_name": by.name,
        "trdn_flag": "0",
        "memo": memo[:500],
        "drugtracinfo": [],
    }
    outbox.enqueue("3502", doc_no, batch.bchno, {"invinfo": info}, station=station_id,
                   operator=by.code)  # fmt: skip


def queue_count(station_id: str, batch: Batch, counted: int, on, by) -> None:
    """In the count's transaction: a 3501 盘存 of the batch."""
    info = {**_invinfo(batch), "invdate": on.isoformat(), "inv_cnt": str(counted), "memo": "",
            "drugtracinfo": []}  # fmt: skip
    outbox.enqueue("3501", f"3501-{batch.bchno}-{on.isoformat()}", batch.bchno,
                   {"invinfo": info}, station=station_id, operator=by.code)  # fmt: skip


def queue_purchase_return(station_id: str, batch: Batch, boxes: int, by) -> None:
    """In the return's transaction: a 3504 采购退货."""
    from cashier.store.models import utcnow

    now = utcnow()
    info = _purcinfo(batch, boxes, now, by, medins_prod_purc_no="")
    outbox.enqueue("3504", f"3504-{batch.bchno}-{now:%Y%m%d%H%M%S%f}", batch.bchno,
                   {"purcinfo": info}, station=station_id, operator=by.code)  # fmt: skip


def _purcinfo(batch: Batch, boxes: int, when: datetime, by, **extra: str) -> dict:
    """A ``purcinfo`` of 3503 (boxes in from the supplier) or 3504 (back to it)."""
    return {
        **_invinfo(batch),
        "spler_name": batch.supplier,
        "spler_pmtno": "",
        "finl_trns_pric": _yuan(batch.purchase_price) if batch.purchase_price else "",
        "purc_retn_cnt": str(boxes),
        "purc_retn_stoin_time": _time(when),
        "purc_retn_opter_name": by.name,
        "memo": "",
        "drugtracinfo": [],
        **extra,
    }


#: ``inv_data_type`` of 3507: which kind of document is deleted.
INV_DATA_TYPES = {"3501": "1", "3502": "2", "3503": "3", "3504": "3", "3505": "4", "3506": "4"}


def queue_withdrawal(doc: Outbox, by) -> None:
    """A document the insurer took in error, deleted there (3507) by its batch number."""
    body = outbox.payload_of(doc)
    info = next(iter(body.values()))
    outbox.enqueue(
        "3507",
        f"3507-{doc.doc_no}",
        doc.batch,
        {"data": {"fixmedins_bchno": info.get("fixmedins_bchno", ""),
                  "inv_data_type": INV_DATA_TYPES[doc.infno]}},
        station=doc.station,
        operator=by.code,
    )  # fmt: skip


def withdraw(doc_id: int, station: str, by, reason: str) -> None:
    """A document the insurer took that should not stand (a wrong count, a sale booked on
    the wrong batch): deleted there with a 3507, queued behind it, audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise InputError(say("outbox.drop_reason"))
    doc = Outbox.get_or_none(Outbox.id == doc_id)
    if doc is None or doc.status != outbox.SENT or doc.infno not in INV_DATA_TYPES:
        raise CashierError(say("outbox.not_withdrawable", doc_id=doc_id))
    with database.atomic():
        queue_withdrawal(doc, by)
        audit.record(station, "outbox.withdraw", operator=by.code, subject=doc.doc_no,
                     reason=reason[:150])  # fmt: skip
