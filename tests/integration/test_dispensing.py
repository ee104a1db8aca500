"""Issue 20: 追溯码 at dispensing, 处方药, stock by batch and the 进销存 outbox, against the
sandbox insurer: a pharmacy's insured sale of three boxes, the same box refused in a second
sale, a return of one box that frees its code, and documents sent exactly once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from cashier.domain.money import Fen
from cashier.errors import InputError, NotAllowed
from cashier.services import catalog, inventory, outbox, senders, stock, trace
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.refunds import approve, execute, plan_refund
from cashier.store.models import Batch, InsuredSettlement, Outbox, Sale, SaleLineBatch, TraceCode
from cashier_sandbox import state
from tests.support.counter import qr
from tests.support.insurer import fault

METFORMIN = "Y00088"  # 盐酸二甲双胍片 0.5g*20片: 处方药, each box's 追溯码
VITAMIN_C = "Y00153"  # 维生素C片: not on prescription, each box's 追溯码
CODES = ("81000000000000000011", "81000000000000000012", "81000000000000000013")


def box(n: int) -> str:
    return f"8100000000000000{n:04d}"


@pytest.fixture
def pharmacy(settings):
    return replace(settings, kind="pharmacy")


@pytest.fixture
def supervisor(station, settings):
    return approve(settings.station_id, "9001", "9999")


@pytest.fixture
def received(station, pharmacy, supervisor):
    """Two lots of metformin and one of vitamin C in stock; the older lot expires first."""
    rows = stock.read_delivery(
        [
            "code,manu_lotnum,manu_date,expy_end,quantity,purchase_price,supplier",
            f"{METFORMIN},L2026A,2026-01-05,{date.today() + timedelta(days=200)},2,6.00,国药控股",
            f"{METFORMIN},L2026B,2026-03-01,{date.today() + timedelta(days=400)},10,6.00,国药控股",
            f"{VITAMIN_C},VC001,2026-02-01,{date.today() + timedelta(days=300)},5,2.00,国药控股",
        ],
        "delivery.csv",
    )
    return stock.receive(pharmacy.station_id, rows, supervisor, reports=True, source="test")


def send(insurer):
    return outbox.send_due(senders.sender(insurer.client))


def insured_pharmacy_bill(insurer, pharmacy, who, person: str, codes=CODES) -> tuple:
    insurance = Insurance(insurer.client, pharmacy)
    co = Checkout(pharmacy.station_id, who, reports_inventory=True)
    co.identify(insurance.identify_qr(qr(insurer, person), who), "pharmacy")
    co.add(catalog.find_by_scan(METFORMIN), 3)
    for code in codes:
        co.add_trace(code)
    return insurance, co


def complete(insurance, co):
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.exact_cash()
    return Sale.get_by_id(co.complete(plan).sale_id)


def test_three_boxes_under_insurance_go_to_the_insurer_with_their_codes_and_setl_id(
    insurer, pharmacy, cashier_1001, received
):
    from cashier.services import operators

    insurance, co = insured_pharmacy_bill(insurer, pharmacy, cashier_1001, "P002")
    with pytest.raises(InputError) as no_rx:
        insurance.settle(co)  # a 处方药: nothing reaches the insurer without the prescription
    assert no_rx.value.code == "rx.missing"
    co.set_prescription("RX20261207001", "张医生", operators.pharmacist("9001"))
    sale = complete(insurance, co)
    setl_id = InsuredSettlement.get(InsuredSettlement.sale == sale.id).setl_id

    assert trace.codes_of_sale(sale.id) == {1: CODES}
    # First to expire, first out: two boxes of lot A, one of lot B.
    line = sale.lines.get()
    taken = [(r.batch.manu_lotnum, r.quantity) for r in SaleLineBatch.select().where(
        SaleLineBatch.line == line.id).order_by(SaleLineBatch.id)]  # fmt: skip
    assert taken == [("L2026A", 2), ("L2026B", 1)]
    docs = [d for d in outbox.waiting() if d.infno == "3505"]
    assert [len(outbox.payload_of(d)["selinfo"]["drugtracinfo"]) for d in docs] == [2, 1]

    report = send(insurer)
    assert report.sent == 5 and report.refused == 0  # 3 purchases (3503), 2 sales (3505)
    held = [state.InventoryDoc.get(state.InventoryDoc.key.endswith(d.doc_no)) for d in docs]
    sent = [json.loads(h.payload) for h in held]
    assert [c["drug_trac_codg"] for s in sent for c in s["drugtracinfo"]] == list(CODES)
    assert {s["setl_id"] for s in sent} == {setl_id}
    assert {s["mdtrt_setl_type"] for s in sent} == {"1"}
    assert {s["rxno"] for s in sent} == {"RX20261207001"}
    assert {s["phar_prac_cert_no"] for s in sent} == {"TRAIN-PHARM-0001"}
    assert all(state.TracedBox.get_by_id(c).sold for c in CODES)


def test_the_same_box_in_a_second_sale_is_refused_with_the_sale_that_holds_it(
    insurer, pharmacy, cashier_1001, received
):
    from cashier.services import operators

    insurance, co = insured_pharmacy_bill(insurer, pharmacy, cashier_1001, "P002")
    co.set_prescription("RX1", "张医生", operators.pharmacist("9001"))
    sale = complete(insurance, co)
    again = Checkout(pharmacy.station_id, cashier_1001)
    again.add(catalog.find_by_scan(METFORMIN))
    with pytest.raises(trace.TraceRefused, match=sale.receipt_no) as refused:
        again.add_trace(CODES[1])
    assert refused.value.code == "trace.sold"
    # A second counter scanning a box the first holds on its bill is told where it is.
    first = Checkout(pharmacy.station_id, cashier_1001)
    first.add(catalog.find_by_scan(VITAMIN_C))
    first.add_trace(box(1))
    other = Checkout("TRAIN-02", cashier_1001)
    other.add(catalog.find_by_scan(VITAMIN_C))
    with pytest.raises(trace.TraceRefused):
        other.add_trace(box(1))


def test_a_box_of_the_wrong_shape_or_sold_twice_is_refused_by_the_insurer(
    insurer, pharmacy, cashier_1001, received
):
    from cashier.insurer import protocol
    from cashier.services import operators

    insurance, co = insured_pharmacy_bill(insurer, pharmacy, cashier_1001, "P002")
    co.set_prescription("RX1", "张医生", operators.pharmacist("9001"))
    complete(insurance, co)
    send(insurer)
    doc = outbox.payload_of(Outbox.get(Outbox.infno == "3505"))["selinfo"]
    forged = dict(doc, medins_prod_sel_no="OTHER-1", rtal_docno="OTHER")
    with pytest.raises(protocol.InsurerError, match="不能重复销售"):
        insurer.client.call("3505", {"selinfo": forged}, operator=("1001", "王小美"))
    odd = dict(forged, medins_prod_sel_no="OTHER-2", drugtracinfo=[{"drug_trac_codg": "123"}])
    with pytest.raises(protocol.InsurerError, match="格式不正确"):
        insurer.client.call("3505", {"selinfo": odd}, operator=("1001", "王小美"))
    missing = dict(forged, medins_prod_sel_no="OTHER-3", manu_lotnum="")
    with pytest.raises(protocol.InsurerError, match="manu_lotnum"):
        insurer.client.call("3505", {"selinfo": missing}, operator=("1001", "王小美"))


def test_a_return_of_one_box_sends_3506_and_frees_that_code(
    insurer, pharmacy, cashier_1001, supervisor, received
):
    from cashier.services import operators

    insurance, co = insured_pharmacy_bill(insurer, pharmacy, cashier_1001, "P002")
    co.set_prescription("RX1", "张医生", operators.pharmacist("9001"))
    sale = complete(insurance, co)
    send(insurer)
    line = sale.lines.get()
    with pytest.raises(InputError) as unnamed:  # which box comes back? its code says
        plan_refund(sale, {line.id: 1})
    assert unnamed.value.code == "trace.missing"
    plan = plan_refund(sale, {line.id: 1}, {line.id: (CODES[0],)})
    patient = insurance.identify_qr(qr(insurer, "P002"), cashier_1001)
    done = execute(
        pharmacy, plan, requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="患者退药", insurance=insurance, patient=patient,
    )  # fmt: skip
    assert trace.codes_of_sale(done.new_sale_id) == {1: CODES[1:]}
    returned = TraceCode.get((TraceCode.code == CODES[0]) & (TraceCode.sale == sale.id))
    assert (returned.state, returned.back) == ("returned", True)

    report = send(insurer)
    assert report.refused == 0
    kinds = [(d.infno, len(outbox.payload_of(d)["selinfo"]["drugtracinfo"]))
             for d in Outbox.select().where(Outbox.infno.in_(("3505", "3506")))
             .order_by(Outbox.id)]  # fmt: skip
    # The sale (2 lots), its return whole (the settlement is cancelled whole), the kept
    # boxes sold again under the new settlement.
    assert kinds == [("3505", 2), ("3505", 1), ("3506", 2), ("3506", 1), ("3505", 2)]
    assert not state.TracedBox.get_by_id(CODES[0]).sold
    assert all(state.TracedBox.get_by_id(c).sold for c in CODES[1:])
    new_setl = InsuredSettlement.get(InsuredSettlement.sale == done.new_sale_id).setl_id
    last = outbox.payload_of(Outbox.select().order_by(Outbox.id.desc()).get())["selinfo"]
    assert last["setl_id"] == new_setl
    # The freed box may be sold again.
    again = Checkout(pharmacy.station_id, cashier_1001)
    again.add(catalog.find_by_scan(METFORMIN))
    again.add_trace(CODES[0])
    # Stock: 12 received, 3 sold, 3 back, 2 sold again.
    assert sum(b.quantity for b in Batch.select().where(Batch.item == line.item_id)) == 10


def test_a_document_whose_answer_was_lost_is_kept_once(insurer, pharmacy, cashier_1001, received):
    fault(insurer.sandbox, "drop_after_commit", "3503")
    first = send(insurer)  # the insurer kept the first, its answer was lost: all wait
    assert first.sent == 0 and first.error
    assert state.InventoryDoc.select().count() == 1
    later = outbox.send_due(
        senders.sender(insurer.client),
        now=Outbox.select().order_by(Outbox.next_try_at.desc()).get().next_try_at,
    )
    assert later.sent == 3 and later.refused == 0  # the first a repeat: delivered already
    assert "重复上传" in Outbox.select().order_by(Outbox.id).first().last_error
    assert state.InventoryDoc.select().where(state.InventoryDoc.infno == "3503").count() == 3
    assert not outbox.waiting()


def test_no_network_leaves_the_documents_queued_in_order(insurer, pharmacy, cashier_1001, received):
    fault(insurer.sandbox, "http500", "3503", count=1)
    report = send(insurer)
    assert report.sent == 0 and report.waiting == 3  # a gateway error page: all wait
    assert [d.doc_no for d in outbox.waiting()] == sorted(d.doc_no for d in outbox.waiting())
    final = outbox.send_due(
        senders.sender(insurer.client),
        now=Outbox.select().order_by(Outbox.next_try_at.desc()).get().next_try_at,
    )
    assert final.refused == 0 and not outbox.waiting()
    assert state.InventoryDoc.select().count() == 3


def test_an_expired_batch_is_not_sold(station, pharmacy, cashier_1001, supervisor):
    rows = stock.read_delivery(
        [
            "code,manu_lotnum,manu_date,expy_end,quantity",
            f"{VITAMIN_C},OLD,2020-01-01,{date.today() - timedelta(days=1)},5",
        ]
    )
    stock.receive(pharmacy.station_id, rows, supervisor, reports=False)
    co = Checkout(pharmacy.station_id, cashier_1001)
    co.add(catalog.find_by_scan(VITAMIN_C))
    co.add_trace(box(7))
    with pytest.raises(InputError) as short:
        co.start_payment()
    assert short.value.code == "stock.short"


def test_a_supervisor_records_an_exception_for_a_box_without_its_code(
    station, settings, cashier_1001, supervisor
):
    from cashier.store.models import AuditEntry

    co = Checkout(settings.station_id, cashier_1001)
    co.add(catalog.find_by_scan(VITAMIN_C), 2)
    co.add_trace(box(9))
    with pytest.raises(InputError) as missing:
        co.start_payment()
    assert missing.value.code == "trace.missing"
    with pytest.raises(NotAllowed):
        co.waive_trace(0, "追溯码破损", cashier_1001)  # a cashier may not
    co.waive_trace(0, "追溯码破损", supervisor)
    plan = co.start_payment()
    plan.exact_cash()
    sale = Sale.get_by_id(co.complete(plan).sale_id)
    assert sale.lines.get().trace_waived == "9001: 追溯码破损"
    assert AuditEntry.select().where(AuditEntry.action == "trace.waive").exists()
    assert Fen(0) < sale.total


def test_a_crash_between_the_insurer_keeping_a_document_and_our_marking_it_sends_it_once(
    insurer, pharmacy, cashier_1001, received
):
    """The counter dies after the insurer took a document and before the outbox said so:
    the next start sends it again, the insurer says it holds it, and it counts once."""
    real = senders.sender(insurer.client)
    calls = []

    def dies_after_the_first(doc, body):
        real(doc, body)
        calls.append(doc.infno)
        raise SystemExit("power cut")  # nothing after the insurer's answer is written

    with pytest.raises(SystemExit):
        outbox.send_due(dies_after_the_first)
    assert calls == ["3503"] and len(outbox.waiting()) == 3
    report = outbox.send_due(real)
    assert (report.sent, report.refused, report.waiting) == (3, 0, 0)
    assert state.InventoryDoc.select().where(state.InventoryDoc.infno == "3503").count() == 3


def test_counts_changes_returns_recalls_and_a_withdrawal_reach_the_insurer(
    insurer, pharmacy, cashier_1001, supervisor, received
):
    lot_a, lot_b, vit = received.batches
    found = stock.count(pharmacy.station_id, {lot_a: 1, lot_b: 10}, supervisor, reports=True)
    assert found == [(lot_a, 2, 1), (lot_b, 10, 10)]  # one box of lot A missing: 盘亏
    stock.adjust(pharmacy.station_id, vit, 1, "damage", "药盒破损", supervisor, reports=True)
    stock.return_to_supplier(pharmacy.station_id, lot_b, 4, "近效期", supervisor, reports=True)
    with pytest.raises(NotAllowed):
        stock.recall(pharmacy.station_id, lot_b, "召回", cashier_1001)
    stock.recall(pharmacy.station_id, lot_b, "厂家召回", supervisor)
    assert stock.sellable(Batch.get(Batch.bchno == lot_a).item_id) == 1  # lot B recalled
    report = send(insurer)
    assert report.refused == 0 and report.waiting == 0
    theirs = {
        (d.infno, d.fixmedins_bchno): d.quantity
        for d in state.InventoryDoc.select().where(state.InventoryDoc.infno != "3503")
    }
    assert theirs == {
        ("3501", lot_a): 0, ("3501", lot_b): 0,  # counts
        ("3502", lot_a): -1,  # 盘亏 one box
        ("3502", vit): -1,  # 报损
        ("3504", lot_b): -4,  # back to the supplier
    }  # fmt: skip
    # The count of lot B was taken in error: withdrawn (3507), deleted at the insurer.
    sent = Outbox.get((Outbox.infno == "3501") & (Outbox.batch == lot_b))
    inventory.withdraw(sent.id, pharmacy.station_id, supervisor, "盘点录错")
    assert send(insurer).sent == 1
    gone = state.InventoryDoc.get(
        (state.InventoryDoc.infno == "3501") & (state.InventoryDoc.fixmedins_bchno == lot_b)
    )
    assert gone.deleted


def test_a_batch_about_to_expire_is_named_at_the_counter(station, pharmacy, supervisor):
    rows = stock.read_delivery(
        [
            "code,manu_lotnum,manu_date,expy_end,quantity",
            f"{VITAMIN_C},SOON,2025-01-01,{date.today() + timedelta(days=10)},3",
            f"{VITAMIN_C},LATER,2026-01-01,{date.today() + timedelta(days=300)},3",
        ]
    )
    stock.receive(pharmacy.station_id, rows, supervisor, reports=False)
    item = catalog.find_by_scan(VITAMIN_C)
    assert stock.near_expiry(item.id, 30).manu_lotnum == "SOON"  # sold first, expires soon
    assert stock.near_expiry(item.id, 5) is None


def test_a_sale_without_prescription_names_the_pharmacy_pharmacist(
    insurer, pharmacy, cashier_1001, received
):
    co = Checkout(pharmacy.station_id, cashier_1001, reports_inventory=True)
    co.add(catalog.find_by_scan(VITAMIN_C))
    co.add_trace(box(31))
    plan = co.start_payment()
    plan.exact_cash()
    co.complete(plan)
    report = send(insurer)
    assert report.refused == 0  # 1001 has no licence: the pharmacy's pharmacist answers
    doc = Outbox.get(Outbox.infno == "3505")
    assert outbox.payload_of(doc)["selinfo"]["phar_prac_cert_no"] == "TRAIN-PHARM-0001"
