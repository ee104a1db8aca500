"""Insured visits driven through the real app with Pilot, over the training station's
sandbox insurer on real HTTP. After each, the database, the journal, the sandbox's own
records and the printed receipt (pdftotext) agree to the fen."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from cashier.domain.money import Fen
from cashier.insurer.journal import Status
from cashier.services import orders
from cashier.store.models import (
    AuditEntry,
    Barcode,
    ClinicOrder,
    InsuredSettlement,
    InsurerCall,
    Item,
    Sale,
    Tender,
)
from cashier.ui.dialogs.confirm import ConfirmDialog
from cashier.ui.screens.payment import PaymentScreen
from cashier.ui.screens.sale import SaleScreen
from cashier_sandbox import state
from tests.support.insurer import admin, fault
from tests.support.pilot import open_counter, settle, start
from tests.support.tools import require_tool

pytestmark = pytest.mark.pilot


@pytest.fixture(autouse=True)
def _close_sandbox():
    yield
    if not state.sandbox_db.is_closed():
        state.sandbox_db.close()


def pdf_text(settings, receipt_no: str) -> str:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    pdf = settings.receipts_dir / f"{receipt_no}.pdf"
    return subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def check_books(settings, sale: Sale) -> InsuredSettlement:
    """Database, journal, sandbox and receipt agree to the fen."""
    row = InsuredSettlement.get(InsuredSettlement.sale == sale.id)
    assert row.medfee_sumamt == sale.total
    assert row.fund_pay_sumamt + row.acct_pay + row.psn_cash_pay == row.medfee_sumamt
    tenders = list(Tender.select().where(Tender.sale == sale.id))
    assert Fen.total(t.amount for t in tenders) - sale.change == row.psn_cash_pay
    call = InsurerCall.get_by_id(row.msgid)
    assert call.infno in ("2207", "2102")
    assert call.status in (Status.OK.value, Status.COMMITTED.value)
    theirs = state.Settlement.get(state.Settlement.setl_id == row.setl_id)
    assert not theirs.cancelled
    assert (theirs.medfee_sumamt, theirs.fund_pay_sumamt, theirs.acct_pay) == (
        row.medfee_sumamt,
        row.fund_pay_sumamt,
        row.acct_pay,
    )
    text = pdf_text(settings, sale.receipt_no)
    for needle in (
        row.setl_id,
        row.mdtrt_id,
        row.certno,
        row.psn_name,
        row.medfee_sumamt.display(),
        row.psn_cash_pay.display(),
        row.balc.display(),
    ):
        assert needle in text, needle
    return row


def barcode(code: str) -> str:
    return Barcode.select().join(Item).where(Item.code == code).first().barcode


# -- the visits ---------------------------------------------------------------------------------


async def test_employee_visit_account_then_wechat_and_cash(settings):
    """P001's demo order (甲/乙/丙 lines); the account holds ￥30, the rest WeChat + cash."""
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        state.Person.update(balance=Fen.parse("30.00")).where(
            state.Person.psn_no == "P001"
        ).execute()
        await c.scan(c.qr("P001"))
        part = c.sale.checkout.insured
        assert part is not None and part.order_ids, c.notices()
        assert {ln.list_class for ln in c.sale.checkout.lines} >= {"甲", "乙", "丙"}
        pre = part.presettlement.setlinfo  # pre-settled on its own after the scan
        assert pre.acct_pay == Fen.parse("30.00") and pre.psn_cash_pay > Fen(0)
        screen = c.sale.query_one("#breakdown").render()
        assert "个人账户支付" in str(screen) and "30.00" in str(screen)
        await c.press("f9")  # settle: the payment screen opens with the cash part due
        assert isinstance(app.screen, PaymentScreen)
        due = app.screen.plan.due
        assert due == pre.psn_cash_pay
        from cashier.ui.widgets.keybar import KeyBar

        # Esc says what it leads to on a settled bill (issue 19, item 14)
        assert "Esc返回（可撤销结算）" in app.screen.query_one(KeyBar).visual.plain
        await c.press("w", *"10", "enter", *"4200000000001", "enter")
        await c.press("x", *"100", "enter")
    sale = Sale.get()
    assert sale.kind == "insured" and sale.paid == Fen.parse("110.00")
    assert sale.change == Fen.parse("110.00") - due
    row = check_books(settings, sale)
    assert row.acct_pay == Fen.parse("30.00") and row.balc == Fen(0)
    assert ClinicOrder.get(orders.of_patient("11010519780312001X")).status == "billed"
    assert "微信支付" in pdf_text(settings, sale.receipt_no)


async def test_resident_visit_routine_keys(settings):
    """The routine visit: scan the 医保码, then one key (F10: settle and exact cash)."""
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P004"))  # 刘洋, 城乡居民: order loads, pre-settles by itself
        pre = c.sale.checkout.insured.presettlement.setlinfo
        assert pre.hifp_pay > Fen(0) and pre.acct_pay == Fen(0)
        await c.press("f10")
        assert c.keys == 1
        assert isinstance(app.screen, SaleScreen) and not c.sale.checkout.lines
    sale = Sale.get()
    row = check_books(settings, sale)
    assert row.insutype == "390" and sale.paid == row.psn_cash_pay


async def test_pharmacy_account_only_sale(settings):
    settings = replace(settings, kind="pharmacy")
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P002"))  # identify first: nothing to pre-settle yet
        await c.scan(barcode("Y00001"))
        await c.scan(barcode("Y00004"))
        await c.press("f5")
        pre = c.sale.checkout.insured.presettlement.setlinfo
        assert pre.hifp_pay == Fen(0) and pre.psn_cash_pay == Fen(0)
        await c.press("f9")  # nothing in cash: completes without the payment screen
        assert isinstance(app.screen, SaleScreen) and not c.sale.checkout.lines
    sale = Sale.get()
    row = check_books(settings, sale)
    assert row.kind == "pharmacy" and row.med_type == "41" and row.acct_pay == sale.total
    assert not Tender.select().where(Tender.sale == sale.id).exists()


async def test_cross_region_filed_patient(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P006"))  # insured in Shanghai, temporary referral filed
        assert "异地" in str(c.sale.query_one("#patient").render())
        await c.scan(barcode("Y00004"))
        await c.press("f6")  # no account: the pooled fund and cash
        await c.diagnose()  # a walk-in bill: the diagnosis for 2203, then the pre-settlement
        await c.press("f10")
    sale = Sale.get()
    row = check_books(settings, sale)
    assert row.insuplc_admdvs == "310104" and not row.acct_used


async def test_expired_and_reused_codes_ask_for_a_fresh_code(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P001", lifetime_s=0))
        assert c.sale.checkout.insured is None
        assert "过期" in c.notices() and "刷新" in c.notices()
        payload = c.qr("P004")
        await c.scan(payload)
        await c.press("f10")
        assert Sale.select().count() == 1
        await c.scan(payload)  # the same code again
        assert c.sale.checkout.insured is None
        assert "已使用" in c.notices() or "已用于" in c.notices()
    assert state.Settlement.select().count() == 1


async def test_insurer_timeout_during_settlement_is_resolved_once(settings):
    settings = replace(settings, insurer=replace(settings.insurer, timeout_s=2))
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P004"))
        fault(c.sandbox, "drop_after_commit", "2207")  # settles, then the answer is lost
        await c.press("f10")
        assert isinstance(app.screen, SaleScreen) and not c.sale.checkout.lines, c.notices()
    sale = Sale.get()
    row = check_books(settings, sale)
    assert InsurerCall.get_by_id(row.msgid).status == Status.COMMITTED.value
    assert state.Settlement.select().count() == 1


async def test_patient_cannot_pay_the_settlement_is_reversed(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P004"))
        await c.press("f9")
        assert isinstance(app.screen, PaymentScreen)
        await c.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await c.press("enter")
        part = c.sale.checkout.insured
        assert part is not None and not part.settled and c.sale.checkout.lines
        await c.press("f12", "enter")  # and the bill is voided
    assert not Sale.select().where(Sale.status == "completed").exists()
    cancelled = state.Settlement.get()
    assert cancelled.cancelled
    call = InsurerCall.get(InsurerCall.infno == "2208")
    assert call.status == Status.OK.value
    assert AuditEntry.select().where(AuditEntry.action == "insured.cancel").count() == 1
    assert ClinicOrder.get(orders.of_patient("110105199006070055")).status == "pending"


async def test_inserted_card_identifies_the_patient(settings, tmp_path):
    from cashier_sandbox.virtualcard import SocialSecurityCard
    from tests.support.pcsc import inserted, running_pcscd

    with running_pcscd(tmp_path / "pcscd"):
        app = await open_counter(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            c = await start(app, pilot)
            card = SocialSecurityCard.from_person(state.find_person("P002"))
            with inserted(card):  # no key: the card watcher reads it
                for _ in range(100):
                    if c.sale.checkout.insured is not None:
                        break
                    await pilot.pause(0.1)
                await settle(pilot)
            part = c.sale.checkout.insured
            assert part is not None, c.notices()
            assert part.patient.cert_type == "03" and part.patient.psn_no == "P002"
            assert part.order_ids and part.presettlement is not None
            await c.press("f10")
    row = check_books(settings, Sale.get())
    assert row.psn_no == "P002"


async def test_f2_without_a_card_takes_a_typed_id_number(settings):
    from cashier.ui.dialogs.id_number import IdNumberDialog

    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.press("f2")  # no reader here: the ID number dialog, with why
        assert isinstance(app.screen, IdNumberDialog)
        await c.press(*"110105199006070056", "enter")  # one digit wrong
        assert isinstance(app.screen, IdNumberDialog) and "校验" in c.notices()
        await c.press("backspace", "5", "enter")
        part = c.sale.checkout.insured
        assert part is not None and part.patient.cert_type == "02", c.notices()
        assert part.patient.psn_no == "P004" and part.presettlement is not None
        await c.press("f10")
    check_books(settings, Sale.get())


async def test_insurer_down_hold_the_bill_serve_the_next_then_recall(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        fault(c.sandbox, "http500", "2206")  # the gateway fails the pre-settlement once
        await c.scan(c.qr("P004"))
        part = c.sale.checkout.insured
        assert part is not None and part.presettlement is None
        assert "自费" in c.notices()  # the next step: self-pay, or try again later
        assert "医保平台" in str(c.sale.query_one("#breakdown").render())
        await c.press("ctrl+g")  # hold it
        assert c.sale.checkout.insured is None and len(c.sale.parked) == 1
        await c.scan(barcode("Y00001"))  # the next customer pays cash
        await c.press("f10")
        assert Sale.select().count() == 1
        await c.press("ctrl+r")  # the held bill comes back, patient and lines
        assert c.sale.checkout.insured is part and not c.sale.parked
        await c.press("f5")
        assert part.presettlement is not None
        await c.press("f10")
    assert Sale.select().count() == 2
    check_books(settings, Sale.get(Sale.kind == "insured"))


async def test_errors_patients_meet_say_what_next(settings):
    from cashier.ui.dialogs.insurance import InsuranceDialog

    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P012"))  # the e-voucher was never activated
        assert c.sale.checkout.insured is None and "激活" in c.notices()
        await c.scan("ybm:" + "x" * 30)  # not a 医保码 the service knows
        assert c.sale.checkout.insured is None

        await c.scan(c.qr("P008"))  # insurance suspended: shown, not settled
        part = c.sale.checkout.insured
        assert part is not None and part.patient.problems
        assert "暂停参保" in str(c.sale.query_one("#patient").render())
        await c.scan(barcode("Y00001"))
        await c.press("f5")
        assert part.presettlement is None and "自费" in c.notices()
        await c.press("ctrl+s")  # the cashier offers self-pay
        assert c.sale.checkout.insured is None
        await c.press("f10")
        assert Sale.get().kind == "selfpay"

        await c.scan(c.qr("P005"))  # two insurances: the usual one preselected
        assert isinstance(app.screen, InsuranceDialog)
        await c.press("enter")
        part = c.sale.checkout.insured
        assert part is not None and part.patient.insu.insutype == "310"
        for _ in range(3):
            await c.press("f4")  # nothing selected yet is fine: a notice
        await c.scan(barcode("Y00001"))
        await c.press("f4", *"401", "enter")  # 12.50 × 401 = 5012.50, above the visit limit
        await c.press("f5")
        await c.diagnose()
        assert part.presettlement is None and "限额" in c.notices()
        await c.press("f4", "backspace", *"2", "enter")
        await c.press("f10")  # the lines changed: F10 pre-settles first, to be checked
        assert part.presettlement is not None and not part.settled
        await c.press("f10")
    row = check_books(settings, Sale.get(Sale.kind == "insured"))
    assert row.psn_no == "P005" and row.insutype == "310"


async def test_a_walk_in_bill_asks_for_its_diagnosis_and_esc_leaves_it_unsettled(settings):
    from cashier.ui.dialogs.diagnosis import DiagnosisDialog

    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P003"))  # no doctor's order: a walk-in bill
        await c.scan(barcode("Y00001"))
        await c.press("f5")
        assert isinstance(app.screen, DiagnosisDialog)
        await c.press("escape")
        assert "Ctrl+S" in c.notices() and c.sale.checkout.insured.presettlement is None
        await c.press("f5")
        await c.diagnose("K29.700", "胃炎")
        part = c.sale.checkout.insured
        assert part.presettlement is not None
        assert part.visit["diag_code"] == "K29.700"
        assert state.Visit.get_by_id(part.mdtrt_id).diag_name == "胃炎"


async def test_a_code_scanned_while_the_insurer_is_still_being_reached_waits_for_it(
    settings, monkeypatch
):
    """The start reaches the insurer in the background after the login screen; a 医保码
    scanned the moment the cashier is signed in waits for it (the spinner shows) instead of
    being refused with "医保平台尚未连接"."""
    import threading

    from cashier.services import station

    real, reached, release = station.connect_insurer, [], threading.Event()

    def reached_late(settings):
        connection = real(settings)
        reached.append(connection)
        release.wait(60)  # held until the scan is waiting for it
        return connection

    async def meanwhile(condition) -> None:  # `until` would wait for the held worker
        for _ in range(2000):
            if condition():
                return
            await pilot.pause()
        raise AssertionError("the app never got there")

    monkeypatch.setattr(station, "connect_insurer", reached_late)
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        from tests.support.pilot import until

        await pilot.press(*"1001", "enter", *"1234", "enter")
        await meanwhile(lambda: bool(reached) and isinstance(app.screen, SaleScreen))
        payload = admin(reached[0].sandbox, "/sandbox/admin/qr", {"person": "P001"})["payload"]
        assert app.insurer is None
        await pilot.press(*payload, "enter")
        sale = app.screen
        await meanwhile(lambda: any(w.node is sale and not w.is_finished for w in app.workers))
        release.set()
        await until(pilot, lambda: sale.checkout.insured is not None)
        assert sale.checkout.insured.patient.psn_no == "P001"
