"""Issue 20, e-receipts: every completed clinic sale gets its 财政电子票据 through the outbox
(the vendor interface's signing, base64 JSON, S0000), reversed (冲红) on refund; a partial
refund reverses and issues anew; a receipt whose answer was lost is issued exactly once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.tender import Method
from cashier.ebills import EBillInDoubt
from cashier.ebills.fiscal import FiscalService
from cashier.receipts.layout import receipt_text_lines
from cashier.services import catalog, ebills, outbox, senders
from cashier.services.checkout import Checkout, receipt_for
from cashier.services.refunds import approve, execute, plan_refund
from cashier.services.station import _EBILL_SANDBOXES, connect_ebills
from cashier.store.models import EBillRecord, Outbox, Sale


def provider(settings, kind: str):
    """The station issuing through ``kind`` (its training sandbox), stopped after."""
    configured = replace(settings, receipts=replace(settings.receipts, provider=kind))
    yield configured, connect_ebills(configured)
    running = _EBILL_SANDBOXES.pop(str(settings.data_dir), None)
    if running is not None:
        running.stop()


@pytest.fixture
def fiscal(station, settings):
    yield from provider(settings, "fiscal")


def sell(settings, who, *codes) -> Sale:
    co = Checkout(settings.station_id, who, ebill_place=settings.ebill_place)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.due)
    return Sale.get_by_id(co.complete(plan).sale_id)


def sandbox(settings):
    return _EBILL_SANDBOXES[str(settings.data_dir)]


def test_a_sale_gets_its_e_receipt_and_the_slip_says_where(fiscal, cashier_1001):
    settings, service = fiscal
    sale = sell(settings, cashier_1001, "Y00001", "Y00004")
    waiting = receipt_for(sale, clinic_name="诊所", training=True)
    assert "电子票据开具中" in waiting.ebill[0]  # printed before the service answered
    bill = ebills.issue_now(service, sale)
    assert bill is not None and bill.number
    held = sandbox(settings).book.bills[sale.receipt_no]
    assert held["totalAmt"] == str(sale.total.to_decimal())
    slip = receipt_for(sale, clinic_name="诊所", training=True)
    text = "\n".join(line.text for line in receipt_text_lines(slip, 48))
    assert bill.number in text and bill.check_code in text
    assert slip.ebill_qr == held["billQRCode"]


def test_a_refund_reverses_it_and_a_partial_one_issues_anew(fiscal, cashier_1001):
    settings, service = fiscal
    supervisor = approve(settings.station_id, "9001", "9999")
    sale = sell(settings, cashier_1001, "Y00001", "Y00004")
    ebills.issue_now(service, sale)
    lines = {ln.code: ln for ln in sale.lines}
    plan = plan_refund(sale, {lines["Y00004"].id: 1})
    done = execute(settings, plan, requested_by=cashier_1001, approved_by=supervisor,
                   completed_by=cashier_1001, reason="退药")  # fmt: skip
    report = outbox.send_due(senders.sender(None, fiscal=service))
    assert report.refused == 0 and not outbox.waiting()
    book = sandbox(settings).book.bills
    assert book[sale.receipt_no]["state"] == "2"  # 冲红
    new = Sale.get_by_id(done.new_sale_id)
    assert book[new.receipt_no]["totalAmt"] == str(new.total.to_decimal())
    red = EBillRecord.get((EBillRecord.sale == sale.id) & EBillRecord.red)
    assert red.number.startswith("R")


def test_an_e_receipt_whose_answer_was_lost_is_issued_once(fiscal, cashier_1001):
    settings, service = fiscal
    sale = sell(settings, cashier_1001, "Y00001")
    sandbox(settings).fault("drop_after_commit", "invEBillOutpatient")
    assert ebills.issue_now(service, sale) is None  # the slip says it is on its way
    assert len(sandbox(settings).book.bills) == 1  # the service issued it
    doc = Outbox.get(Outbox.sale == sale.id)
    report = outbox.send_due(senders.sender(None, fiscal=service), now=doc.next_try_at)
    assert report.sent == 1 and ebills.of_sale(sale.id) is not None
    assert len(sandbox(settings).book.bills) == 1
    # In doubt, the counter asked for it by its busNo rather than issuing again.
    assert sandbox(settings).book.calls[-2:] == ["invEBillOutpatient", "getEBillStatesByBillInfo"]
    assert (
        ebills.of_sale(sale.id).number
        == next(iter(sandbox(settings).book.bills.values()))["billNo"]
    )


def test_a_receipt_in_doubt_that_never_arrived_is_issued_then(fiscal, cashier_1001):
    settings, service = fiscal
    sale = sell(settings, cashier_1001, "Y00001")
    sandbox(settings).fault("timeout", "invEBillOutpatient")  # never reaches the book
    quick = replace(service, timeout=0.5)
    assert ebills.issue_now(quick, sale) is None
    assert not sandbox(settings).book.bills
    doc = Outbox.get(Outbox.sale == sale.id)
    report = outbox.send_due(senders.sender(None, fiscal=service), now=doc.next_try_at)
    assert report.sent == 1 and len(sandbox(settings).book.bills) == 1
    assert sandbox(settings).book.calls[-2:] == ["getEBillStatesByBillInfo", "invEBillOutpatient"]


def test_an_answer_that_does_not_check_out_with_our_key_is_not_trusted(fiscal, cashier_1001):
    """A wrong key: the service refuses the request (签名错误) and signs its answer with the
    right one, which our key cannot check: nothing is trusted, nothing kept, tried again."""
    _settings, service = fiscal
    wrong = FiscalService(service.url, service.appid, "not-the-key", 5)
    with pytest.raises(EBillInDoubt):
        wrong.issue({"busNo": "X"})
    assert not EBillRecord.select().exists()


def test_the_z_report_lists_the_e_receipts_issued_and_waiting(fiscal, cashier_1001):
    from cashier.services import shifts
    from cashier.store.models import Shift

    settings, service = fiscal
    first = sell(settings, cashier_1001, "Y00001")
    ebills.issue_now(service, first)
    sell(settings, cashier_1001, "Y00004")  # its e-receipt not yet issued
    shift = Shift.get_by_id(first.shift_id)
    z = shifts.close_shift(shift, {Method.CASH: first.total}, cashier_1001)
    document = shifts.z_document(z, clinic_name="诊所", training=True)
    (section,) = [s for s in document.sections if s.heading == "财政电子票据"]
    texts = [f"{r.label} {r.value}" for r in section.rows]
    assert texts[0] == "已开具 1 张" and texts[-1] == "待开具 1 张"


@pytest.fixture
def tax(station, settings):
    yield from provider(settings, "tax")


def invoiced_sale(settings, who, buyer=("张三", "")) -> Sale:
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan("Y00001"), 2)
    co.ask_invoice(*buyer, settings)
    plan = co.start_payment()
    plan.add(Method.CASH, plan.due)
    return Sale.get_by_id(co.complete(plan).sale_id)


def tax_sender(settings, service):
    return senders.sender(None, tax=service, settings=settings)


def test_an_invoice_asked_for_is_issued_and_reddened_on_refund(tax, cashier_1001):
    settings, service = tax
    supervisor = approve(settings.station_id, "9001", "9999")
    sale = invoiced_sale(settings, cashier_1001, ("某某科技有限公司", "91110105MA01234565"))
    report = outbox.send_due(tax_sender(settings, service))
    assert report.sent == 1, Outbox.get(Outbox.sale == sale.id).last_error
    blue = ebills.of_sale(sale.id)
    assert blue.kind == "tax" and len(blue.number) == 20
    held = _EBILL_SANDBOXES[str(settings.data_dir)].tax.orders[sale.receipt_no]
    assert held["invoiceType"] == "1"
    slip = receipt_for(sale, clinic_name="药店", training=True)
    assert blue.number in slip.ebill[0]
    plan = plan_refund(sale)
    execute(settings, plan, requested_by=cashier_1001, approved_by=supervisor,
            completed_by=cashier_1001, reason="退药")  # fmt: skip
    assert outbox.send_due(tax_sender(settings, service)).sent == 1, [
        d.last_error for d in Outbox.select()
    ]
    red = EBillRecord.get((EBillRecord.sale == sale.id) & EBillRecord.red)
    orders = _EBILL_SANDBOXES[str(settings.data_dir)].tax.orders
    assert orders[f"{sale.receipt_no}-R"]["invoiceType"] == "2" and red.number


def test_an_invoice_whose_answer_was_lost_is_issued_once(tax, cashier_1001):
    settings, service = tax
    sale = invoiced_sale(settings, cashier_1001)
    sandbox(settings).fault("drop_after_commit", "nuonuo.OpeMplatform.requestBillingNew")
    first = outbox.send_due(tax_sender(settings, service))
    assert first.sent == 0
    doc = Outbox.get(Outbox.sale == sale.id)
    again = outbox.send_due(tax_sender(settings, service), now=doc.next_try_at)
    assert again.sent == 1  # the order number found, not issued again
    assert len(_EBILL_SANDBOXES[str(settings.data_dir)].tax.orders) == 1


def test_an_invoice_is_only_where_the_station_issues_them(station, settings, cashier_1001):
    from cashier.errors import InputError

    co = Checkout(settings.station_id, cashier_1001)
    with pytest.raises(InputError):
        co.ask_invoice("张三", "", settings)  # provider none


def test_e_receipts_go_while_the_insurer_is_away(fiscal, cashier_1001):
    """One service not there never holds back another's documents."""
    settings, service = fiscal
    sale = sell(settings, cashier_1001, "Y00001")
    outbox.enqueue("3505", "3505-X-1-1", "item:Y00001", {"selinfo": {}}, station=sale.station_id,
                   operator="1001")  # fmt: skip
    report = outbox.send_due(senders.sender(None, fiscal=service))  # no insurer client
    assert report.sent == 1 and ebills.of_sale(sale.id) is not None
    assert [d.infno for d in outbox.waiting()] == ["3505"]  # waits for the insurer
