"""Shifts: open with a float, the X report against independent SQL, the blind close with a
cash shortage, gap-free Z numbers, reprints, stale shifts and payouts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from cashier.devices.printer import PdfPrinter
from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError, NotAllowed
from cashier.receipts.escpos import escpos_text
from cashier.receipts.shift_report import render_shift_report_escpos, render_shift_report_text
from cashier.services import audit, catalog, operators, shifts
from cashier.services.checkout import Checkout
from cashier.services.operators import Role, SignedIn
from cashier.services.printing import JobKind, print_document
from cashier.store.models import (
    AuditEntry,
    InsuredSettlement,
    PrintJob,
    Refund,
    RefundTender,
    Sale,
    Shift,
    ShiftCount,
    Station,
    database,
)

fen = Fen.parse


def sell(station_id: str, who: SignedIn, codes, tenders) -> Sale:
    """Ring up ``codes`` and pay with ``tenders`` ((method, amount text or None = the rest))."""
    co = Checkout(station_id, who)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    for n, (method, amount) in enumerate(tenders):
        plan.add(method, plan.remaining if amount is None else fen(amount), f"REF{n:013d}")
    return Sale.get_by_id(co.complete(plan).sale_id)


def price(code: str) -> Fen:
    return catalog.find_by_scan(code).price


def refund_row(shift: Shift, sale: Sale, *tenders: tuple[Method, str], who="9001", **extra):
    """A refund as the books hold it (cashier.services.refunds writes these rows)."""
    refund = Refund.create(
        sale=sale.id,
        station=shift.station_id,
        shift=shift.id,
        kind="full",
        requested_by="1001",
        approved_by="9001",
        completed_by=who,
        reason="test",
        amount=Fen.total(fen(a) for _, a in tenders),
        total=sale.total,
        refund_no=f"R-{sale.id}",
        **extra,
    )
    for n, (method, amount) in enumerate(tenders, 1):
        RefundTender.create(refund=refund.id, seq=n, method=method.value, amount=fen(amount))
    return refund


def actions(name: str) -> list[AuditEntry]:
    return list(AuditEntry.select().where(AuditEntry.action == name).order_by(AuditEntry.id))


def sql_rows(query: str, *params) -> list[tuple]:
    """Raw SQL over the tables, no model code; ``?`` for parameters on either database."""
    query = query.replace("?", database.obj.param)  # SQLite's ? is PostgreSQL's %s
    return database.execute_sql(query, params).fetchall()


def sql_sum(query: str, *params) -> dict:
    """An independent sum: raw SQL over the tables, no model code."""
    return {k: v for k, v in sql_rows(query, *params)}


# -- opening ------------------------------------------------------------------------------------


def test_open_with_a_float_one_per_station_and_sales_belong_to_it(station, cashier_1001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("200.00"))
    assert shifts.open_shift_of(sid).id == shift.id
    assert shift.float_amount == fen("200.00") and shift.status == "open"
    with pytest.raises(InputError, match="已有未交班的班次"):
        shifts.open_shift(sid, cashier_1001, Fen(0))
    with pytest.raises(InputError, match="负数"):
        shifts.open_shift("OTHER", cashier_1001, fen("-1"))
    [entry] = actions("shift.open")
    assert entry.subject == str(shift.id) and json.loads(entry.detail)["float_amount"] == "200.00"

    sale = sell(sid, cashier_1001, ["Y00001"], [(Method.CASH, "20")])
    assert sale.shift_id == shift.id
    assert not actions("shift.auto_open")


def test_a_sale_with_no_shift_open_opens_one_with_no_float(station, cashier_1001):
    sale = sell(station.station_id, cashier_1001, ["Y00001"], [(Method.CASH, None)])
    shift = Shift.get_by_id(sale.shift_id)
    assert shift.float_amount == Fen(0) and shift.status == "open"
    assert len(actions("shift.auto_open")) == 1


# -- the X report -------------------------------------------------------------------------------


def test_x_report_agrees_with_an_independent_sql_sum(station, cashier_1001, supervisor_9001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("200.00"))
    cash = sell(sid, cashier_1001, ["Y00001", "Y00004"], [(Method.CASH, "100")])
    mixed = sell(sid, cashier_1001, ["Y00010"], [(Method.WECHAT, "10"), (Method.CASH, "50")])
    card = sell(sid, supervisor_9001, ["Y00004"], [(Method.BANKCARD, None)])
    sell(sid, cashier_1001, ["Y00007"], [(Method.ALIPAY, None)])
    InsuredSettlement.create(
        sale=card.id, station=sid, kind="clinic", msgid="M1", setl_id="S1", mdtrt_id="D1",
        psn_no="P1", psn_name="张*", certno="1101**", insutype="310", med_type="11",
        medfee_sumamt=fen("26.80"), fund_pay_sumamt=fen("15.00"), hifp_pay=fen("15.00"),
        acct_pay=fen("5.00"), psn_cash_pay=fen("6.80"), balc=fen("100"), setlinfo="{}",
    )  # fmt: skip
    refund_row(shift, cash, (Method.CASH, "12.50"), acct_returned=Fen(0))
    refund_row(shift, mixed, (Method.WECHAT, "10.00"), (Method.CASH, "5.00"), who="1001")
    shifts.payout(shift, cashier_1001, fen("20.00"), "买打印纸")
    voided = Checkout(sid, cashier_1001)
    voided.add(catalog.find_by_scan("Y00001"))
    voided.void("顾客不要了")
    # Another station's sale is not in this shift.
    Station.create(station_id="S2", name="二号台", kind="clinic")
    sell("S2", cashier_1001, ["Y00001"], [(Method.CASH, "100")])

    with pytest.raises(NotAllowed):
        shifts.x_report(shift, cashier_1001)  # the count at close is blind
    x = shifts.x_report(shift, supervisor_9001)

    taken = sql_sum(
        "SELECT t.method, SUM(t.amount) FROM tender t JOIN sale s ON t.sale_id = s.id"
        " WHERE s.shift_id = ? GROUP BY t.method",
        shift.id,
    )
    refunded = sql_sum(
        "SELECT rt.method, SUM(rt.amount) FROM refund_tender rt"
        " JOIN refund r ON rt.refund_id = r.id WHERE r.shift_id = ? GROUP BY rt.method",
        shift.id,
    )
    [(change,)] = sql_rows("SELECT SUM(change) FROM sale WHERE shift_id = ?", shift.id)
    [(paid_out,)] = sql_rows("SELECT SUM(amount) FROM payout WHERE shift_id = ?", shift.id)
    for m in x.methods:
        assert m.taken.fen == taken.get(m.method.value, 0), m.method
        assert m.refunded.fen == refunded.get(m.method.value, 0), m.method
    assert x.of(Method.CASH).change.fen == change
    assert x.payouts.fen == paid_out == 2000
    # float + cash taken − change − cash refunds − payouts; electronic: taken − refunded.
    assert x.cash_expected.fen == 20000 + taken["cash"] - change - refunded["cash"] - paid_out
    assert x.of(Method.WECHAT).expected == Fen(0)  # 10.00 taken, 10.00 refunded
    assert x.of(Method.BANKCARD).expected == price("Y00004")
    assert x.of(Method.ALIPAY).expected == price("Y00007")
    assert x.of(Method.OTHER).expected == Fen(0)
    # By hand: cash 100 − change, 50 − change; refunds 12.50 + 5.00; payout 20.
    net_cash = fen("100") - cash.change + fen("50") - mixed.change
    assert x.cash_expected == fen("200") + net_cash - fen("17.50") - fen("20")

    assert (x.sales, x.refunds, x.voids, x.payout_count) == (4, 2, 1, 1)
    assert x.float_amount == fen("200.00")
    assert x.insured.settlements == 1
    assert (x.insured.fund_pay, x.insured.acct_pay, x.insured.cash_pay) == (
        fen("15.00"),
        fen("5.00"),
        fen("6.80"),
    )
    by_op = {op.code: op for op in x.operators}
    assert by_op["1001"].sales == 3 and by_op["9001"].sales == 1
    assert by_op["9001"].fund_pay == fen("15.00") and by_op["1001"].fund_pay == Fen(0)
    assert by_op["9001"].refunds == 1 and by_op["9001"].refunded == fen("12.50")
    assert by_op["1001"].collected == Fen.total(
        s.paid - s.change
        for s in Sale.select().where((Sale.shift == shift.id) & (Sale.operator == "1001"))
    )
    assert [e.subject for e in actions("shift.x_report")] == [str(shift.id)]
    # The X report closes nothing.
    assert Shift.get_by_id(shift.id).status == "open"


# -- the blind close ----------------------------------------------------------------------------


def test_blind_close_with_a_cash_shortage_records_the_variance(station, cashier_1001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("100.00"))
    sell(sid, cashier_1001, ["Y00001", "Y00010"], [(Method.CASH, "100")])
    sell(sid, cashier_1001, ["Y00004"], [(Method.WECHAT, None)])
    sell(sid, cashier_1001, ["Y00007"], [(Method.BANKCARD, None)])
    expected_cash = fen("100.00") + price("Y00001") + price("Y00010")

    # The cashier counts blind: 10.00 short in cash, WeChat as the terminal says, the
    # card terminal's slip 1.00 over; Alipay and 其他 left out (counted 0).
    counts = {
        Method.CASH: expected_cash - fen("10.00"),
        Method.WECHAT: price("Y00004"),
        Method.BANKCARD: price("Y00007") + fen("1.00"),
    }
    z = shifts.close_shift(shift, counts, cashier_1001)

    assert z.z_no == 1 and z.number == f"{sid}-Z000001"
    cash = z.count_of(Method.CASH)
    assert (cash.counted, cash.expected, cash.variance) == (
        expected_cash - fen("10.00"),
        expected_cash,
        -fen("10.00"),
    )
    assert z.count_of(Method.WECHAT).variance == Fen(0)
    assert z.count_of(Method.BANKCARD).variance == fen("1.00")
    assert z.count_of(Method.ALIPAY) == shifts.MethodCount(Method.ALIPAY, Fen(0), Fen(0), Fen(0))
    assert z.variance == -fen("9.00")

    stored = {c.method: c for c in ShiftCount.select().where(ShiftCount.shift == shift.id)}
    assert set(stored) == {m.value for m in Method}
    assert stored["cash"].variance == -fen("10.00")  # recorded, not forced to zero
    assert stored["cash"].counted == expected_cash - fen("10.00")
    assert stored["bankcard"].variance == fen("1.00")

    row = Shift.get_by_id(shift.id)
    assert (row.status, row.z_no, row.closed_by) == ("closed", 1, "1001")
    assert shifts.ZReport.from_json(row.z_report) == z == shifts.z_report_of(row)
    [entry] = actions("shift.close")
    detail = json.loads(entry.detail)
    assert entry.subject == z.number
    assert detail["variance"]["cash"] == "-10.00" and detail["counted"]["alipay"] == "0.00"
    assert audit.verify().ok

    # Closed is closed: no second close, no payout; the next sale opens a new shift.
    with pytest.raises(InputError, match="已交班"):
        shifts.close_shift(row, counts, cashier_1001)
    with pytest.raises(InputError, match="已交班"):
        shifts.payout(row, cashier_1001, fen("1"), "x")
    later = sell(sid, cashier_1001, ["Y00001"], [(Method.CASH, None)])
    assert later.shift_id != shift.id
    assert shifts.z_report_of(Shift.get_by_id(shift.id)) == z  # the Z does not change

    text = render_shift_report_text(shifts.z_document(z, clinic_name="培训诊所", training=True))
    assert "结班报表（Z）" in text and z.number in text
    assert "差额（短款）" in text and "-￥10.00" in text
    assert "差额（长款）" in text and "￥1.00" in text
    assert f"￥{expected_cash}" in text


def test_counts_are_checked(station, cashier_1001):
    shift = shifts.open_shift(station.station_id, cashier_1001, Fen(0))
    with pytest.raises(InputError, match="不能为负数"):
        shifts.close_shift(shift, {Method.CASH: fen("-1")}, cashier_1001)
    with pytest.raises(TypeError):
        shifts.close_shift(shift, {"cash": Fen(0)}, cashier_1001)
    assert Shift.get_by_id(shift.id).status == "open"


def test_z_numbers_are_gap_free_per_station(station, cashier_1001, monkeypatch):
    sid = station.station_id
    Station.create(station_id="S2", name="二号台", kind="clinic")

    def open_and_close(station_id: str) -> int:
        shift = shifts.open_shift(station_id, cashier_1001, Fen(0))
        return shifts.close_shift(shift, {}, cashier_1001).z_no

    assert open_and_close(sid) == 1
    assert open_and_close("S2") == 1
    # A close that fails inside its transaction takes no number and leaves the shift open.
    shift = shifts.open_shift(sid, cashier_1001, Fen(0))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        shifts.close_shift(shift, {}, cashier_1001)
    monkeypatch.undo()
    row = Shift.get_by_id(shift.id)
    assert (row.status, row.z_no, row.z_report) == ("open", None, "")
    assert not ShiftCount.select().where(ShiftCount.shift == shift.id).exists()
    assert shifts.close_shift(row, {}, cashier_1001).z_no == 2
    assert open_and_close(sid) == 3
    assert open_and_close("S2") == 2
    numbers = [s.z_no for s in Shift.select().where(Shift.station == sid).order_by(Shift.z_no)]
    assert numbers == [1, 2, 3]
    assert [z.z_no for _, z in shifts.recent_z_reports(sid, who=cashier_1001)] == [3, 2, 1]


def test_reprint_is_counted_audited_and_says_so(station, settings, cashier_1001, supervisor_9001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("50"))
    sell(sid, cashier_1001, ["Y00001"], [(Method.CASH, "20")])
    z = shifts.close_shift(shift, {Method.CASH: fen("62.50")}, cashier_1001)
    row = Shift.get_by_id(shift.id)
    assert shifts.reprint_z(row, cashier_1001) == 1
    assert shifts.reprint_z(row, supervisor_9001) == 2
    other = SignedIn("1002", "赵收费", Role.CASHIER)
    with pytest.raises(NotAllowed):
        shifts.reprint_z(row, other)
    assert Shift.get_by_id(shift.id).reprints == 2
    assert [(e.subject, json.loads(e.detail)["n"]) for e in actions("shift.reprint_z")] == [
        (z.number, 1),
        (z.number, 2),
    ]
    open_one = shifts.open_shift(sid, cashier_1001, Fen(0))
    with pytest.raises(InputError, match="尚未交班"):
        shifts.reprint_z(open_one, cashier_1001)

    document = shifts.z_document(z, clinic_name=settings.clinic_name, training=False, reprint=2)
    assert "重打（第2次）" in render_shift_report_text(document)
    # Through the printer: a PDF named after the Z number, recorded as a document job …
    printed = print_document(settings, document, PdfPrinter(settings.receipts_dir))
    assert printed.path == settings.receipts_dir / f"{z.number}-重打2.pdf"
    assert printed.path.read_bytes().startswith(b"%PDF")
    job = PrintJob.get(PrintJob.kind == JobKind.DOCUMENT.value)
    assert job.status == "printed"
    # … and on a thermal printer the same words in Chinese mode.
    data = render_shift_report_escpos(document, 58)
    assert b"\x1c\x26" in data
    thermal = escpos_text(data)
    assert "重打（第2次）" in thermal and z.number in thermal and "差额合计" in thermal


# -- who may close ----------------------------------------------------------------------------


def test_a_stale_shift_is_flagged_and_only_a_supervisor_closes_it(
    station, cashier_1001, supervisor_9001
):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("100"))
    sell(sid, cashier_1001, ["Y00001"], [(Method.CASH, None)])
    assert shifts.stale_shifts() == [] and not shifts.is_stale(shift)
    assert not shifts.needs_supervisor(shift, cashier_1001)

    tomorrow = datetime.now().astimezone() + timedelta(days=1)
    assert [s.id for s in shifts.stale_shifts(tomorrow)] == [shift.id]
    assert [s.id for s in shifts.stale_shifts(tomorrow, station_id=sid)] == [shift.id]
    assert shifts.stale_shifts(tomorrow, station_id="S2") == []
    assert shifts.shift_info(shift, now=tomorrow).stale
    assert shifts.needs_supervisor(shift, cashier_1001, now=tomorrow)
    assert not shifts.needs_supervisor(shift, supervisor_9001, now=tomorrow)

    with pytest.raises(NotAllowed, match="跨日未交班"):
        shifts.close_shift(shift, {}, cashier_1001, now=tomorrow)
    another_cashier = SignedIn("1002", "赵收费", Role.CASHIER)
    with pytest.raises(NotAllowed, match="不是收费组长"):
        shifts.close_shift(shift, {}, cashier_1001, supervisor=another_cashier, now=tomorrow)
    assert Shift.get_by_id(shift.id).status == "open"
    assert not actions("shift.close")

    # The supervisor's code and PIN on the cashier's screen.
    supervisor = operators.authenticate(sid, "9001", "9999")
    counts = {Method.CASH: fen("100") + price("Y00001")}
    z = shifts.close_shift(shift, counts, cashier_1001, supervisor=supervisor, now=tomorrow)
    assert z.stale and z.closed_by == "9001" and z.count_of(Method.CASH).variance == Fen(0)
    assert Shift.get_by_id(shift.id).closed_by == "9001"
    assert json.loads(actions("shift.close")[0].detail)["supervisor"] == "9001"
    assert "跨日未交班，由收费组长结班" in render_shift_report_text(
        shifts.z_document(z, clinic_name="c", training=False)
    )
    assert shifts.stale_shifts(tomorrow) == []


def test_another_operators_shift_needs_a_supervisor(station, cashier_1001, supervisor_9001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, Fen(0))
    other = SignedIn("1002", "赵收费", Role.CASHIER)
    assert shifts.needs_supervisor(shift, other)
    with pytest.raises(NotAllowed, match="1001 的班次"):
        shifts.close_shift(shift, {}, other)
    z = shifts.close_shift(shift, {}, supervisor_9001)
    assert z.closed_by == "9001" and not z.stale


# -- payouts ------------------------------------------------------------------------------------


def test_payouts_lower_expected_cash_and_cannot_exceed_it(station, cashier_1001, supervisor_9001):
    sid = station.station_id
    shift = shifts.open_shift(sid, cashier_1001, fen("50.00"))
    assert shifts.figures(shift).cash_expected == fen("50.00")
    shifts.payout(shift, cashier_1001, fen("20.00"), "买打印纸")
    assert shifts.figures(shift).cash_expected == fen("30.00")
    with pytest.raises(InputError, match="超过钱箱应有现金"):
        shifts.payout(shift, cashier_1001, fen("30.01"), "垫付")
    with pytest.raises(InputError, match="事由"):
        shifts.payout(shift, cashier_1001, fen("1"), "  ")
    with pytest.raises(InputError, match="大于零"):
        shifts.payout(shift, cashier_1001, Fen(0), "x")
    with pytest.raises(NotAllowed):
        shifts.payout(shift, SignedIn("1002", "赵收费", Role.CASHIER), fen("1"), "x")
    shifts.payout(shift, supervisor_9001, fen("30.00"), "交存银行")
    x = shifts.figures(shift)
    assert (x.cash_expected, x.payouts, x.payout_count) == (Fen(0), fen("50.00"), 2)
    assert [json.loads(e.detail)["amount"] for e in actions("shift.payout")] == ["20.00", "30.00"]
    # The blind count of an empty drawer balances.
    z = shifts.close_shift(shift, {Method.CASH: Fen(0)}, cashier_1001)
    assert z.count_of(Method.CASH).variance == Fen(0)


def test_no_refund_once_the_shift_is_closed(station, settings, cashier_1001, supervisor_9001):
    """Issue 19, item 9: a refund after the shift was closed never opens a shift with no
    float behind the cashier's back: it is refused until a shift is opened."""
    from cashier.domain.tender import Method
    from cashier.errors import InputError
    from cashier.services import catalog, refunds
    from cashier.services.checkout import Checkout
    from cashier.store.models import Refund

    co = Checkout(settings.station_id, cashier_1001)
    co.add(catalog.find_by_scan("Y00001"))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.due)
    sale = Sale.get_by_id(co.complete(plan).sale_id)
    shift = shifts.open_shift_of(settings.station_id)
    shifts.close_shift(shift, {m: Fen(0) for m in shifts.METHODS}, cashier_1001)
    refund_plan = refunds.plan_refund(refunds.find_refundable(sale.receipt_no))
    with pytest.raises(InputError, match="请先开班"):
        refunds.execute(settings, refund_plan, requested_by=cashier_1001,
                        approved_by=supervisor_9001, completed_by=cashier_1001, reason="退药")  # fmt: skip
    assert not Refund.select().exists() and shifts.open_shift_of(settings.station_id) is None
    shifts.open_shift(settings.station_id, cashier_1001, Fen(20000))
    done = refunds.execute(settings, refund_plan, requested_by=cashier_1001,
                           approved_by=supervisor_9001, completed_by=cashier_1001, reason="退药")  # fmt: skip
    assert done.back_to_patient == sale.total
