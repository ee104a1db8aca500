"""The end-of-day report: every figure against an independent SQL query over the same
database, local days and hours (Asia/Shanghai, so local ≠ UTC), a range, one station,
and the command line (PDF read back with pdftotext, CSV with the csv module)."""

from __future__ import annotations

import csv
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import InputError
from cashier.reports.eod import FUNDS, eod_report, parse_day, utc_bounds
from cashier.reports.render import hour_chart, sections
from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.operators import Role, SignedIn
from cashier.services.refunds import approve, execute, plan_refund
from cashier.store.models import InsuredSettlement, Refund, RefundTender, Sale, Station, database
from tests.support.cli import assert_one_line_error, run, run_as_supervisor
from tests.support.counter import AMOXICILLIN, CEFIXIME, TERBINAFINE, qr
from tests.support.tools import local_zone, require_tool

fen = Fen.parse
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 3, 10)
EXAM = "S00001"  # 诊察费 10.00
BLOOD = "S00007"  # 化验费 20.00
LIANHUA = "Y00203"  # 中成药费 14.80
SUPERVISOR = SignedIn("9001", "李组长", Role.SUPERVISOR)


@pytest.fixture(autouse=True)
def _shanghai():
    """Local time is China's (UTC+8), so a local day and a UTC day differ."""
    with local_zone("Asia/Shanghai"):
        yield


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Shanghai) time as stored: UTC, naive."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
    return local.astimezone(UTC).replace(tzinfo=None)


def local_day(when: datetime) -> date:
    return when.replace(tzinfo=UTC).astimezone(SHANGHAI).date()


def close_at(sale_id: int, when: datetime) -> None:
    """The sale as if taken at ``when``, in a shift of that local day."""
    Sale.update(closed_at=when, business_day=local_day(when)).where(Sale.id == sale_id).execute()


def refund_at(refund_id: int, when: datetime) -> None:
    Refund.update(created_at=when, business_day=local_day(when)).where(
        Refund.id == refund_id
    ).execute()


def sell(station_id: str, who: SignedIn, codes, tenders, when: datetime | None) -> Sale:
    co = Checkout(station_id, who)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    for method, amount, ref in tenders:
        plan.add(method, fen(amount), ref)
    sale_id = co.complete(plan).sale_id
    if when is not None:
        close_at(sale_id, when)
    return Sale.get_by_id(sale_id)


def sell_insured(insurer, settings, who, person, codes, *, acct_used: bool, when: datetime | None):
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, who)
    co.identify(insurance.identify_qr(qr(insurer, person), who), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in clinic bill needs one
    co.set_account(acct_used)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.add(Method.CASH, plan.remaining + fen("10.00"))  # change to hand back
    sale_id = co.complete(plan).sale_id
    if when is not None:
        close_at(sale_id, when)
    return insurance, Sale.get_by_id(sale_id)


@dataclass
class Day:
    """What the scenario rang up, for the hand-known checks."""

    a: Sale  # 08:30 self-pay, WeChat + cash with change
    b: Sale  # 09:15 self-pay, partly refunded at 10:05 (kept lines sold again as c)
    c: Sale
    d: Sale  # 11:20 insured (account), by the supervisor
    e: Sale  # 14:00 insured (cash), refunded in full at 15:30 (settlement cancelled)
    f: Sale  # 17:45 self-pay, refund row written directly at 18:10
    g: Sale  # 23:30 self-pay at station MZ-02
    h: Sale  # next local day 00:10 (same UTC date as the 10th)
    i: Sale  # the local day before, 23:50
    void_id: int


@pytest.fixture
def day(station, settings, insurer, cashier_1001) -> Day:
    supervisor = approve(settings.station_id, "9001", "9999")
    sid = settings.station_id
    Station.create(station_id="MZ-02", name="收费台 2", kind="clinic")

    a = sell(
        sid, cashier_1001, [AMOXICILLIN, CEFIXIME, EXAM],
        [(Method.WECHAT, "20.00", "4200000000000001"), (Method.CASH, "50.00", "")],
        at(DAY, 8, 30),
    )  # fmt: skip
    b = sell(
        sid, cashier_1001, [AMOXICILLIN, AMOXICILLIN, BLOOD],
        [(Method.ALIPAY, "30.00", "2088000000000001"), (Method.CASH, "40.00", "")],
        None,  # today: only a sale of today may be refunded
    )  # fmt: skip
    lines = {ln.code: ln for ln in b.lines}
    done = execute(
        settings, plan_refund(b, {lines[BLOOD].id: 1}),
        requested_by=cashier_1001, approved_by=supervisor, completed_by=cashier_1001,
        reason="不做化验",
    )  # fmt: skip
    close_at(b.id, at(DAY, 9, 15))
    close_at(done.new_sale_id, at(DAY, 10, 5))
    refund_at(done.refund_id, at(DAY, 10, 5))
    c = Sale.get_by_id(done.new_sale_id)

    _, d = sell_insured(
        insurer, settings, SUPERVISOR, "P003", [AMOXICILLIN, TERBINAFINE, LIANHUA],
        acct_used=True, when=at(DAY, 11, 20),
    )  # fmt: skip
    insurance, e = sell_insured(
        insurer, settings, cashier_1001, "P004", [CEFIXIME, EXAM],
        acct_used=False, when=None,
    )  # fmt: skip
    done = execute(
        settings, plan_refund(e), requested_by=cashier_1001, approved_by=supervisor,
        completed_by=supervisor, reason="患者要求", insurance=insurance,
    )  # fmt: skip
    close_at(e.id, at(DAY, 14, 0))
    refund_at(done.refund_id, at(DAY, 15, 30))

    co = Checkout(sid, cashier_1001)
    co.add(catalog.find_by_scan(BLOOD))
    void_id = co.void("患者离开")
    close_at(void_id, at(DAY, 16, 0))

    f = sell(sid, cashier_1001, [LIANHUA], [(Method.CASH, "20.00", "")], at(DAY, 17, 45))
    # A refund written directly, as another system might: the whole sale back in cash.
    refund = Refund.create(
        sale=f.id, station=sid, kind="full", requested_by="1001", approved_by="9001",
        completed_by="1001", reason="直接写入", amount=f.total, total=f.total,
        refund_no=f"{sid}-R9999999", created_at=at(DAY, 18, 10), business_day=DAY,
    )  # fmt: skip
    RefundTender.create(refund=refund.id, seq=1, method="cash", amount=f.total)
    Sale.update(status="refunded").where(Sale.id == f.id).execute()

    g = sell(
        "MZ-02", cashier_1001, [EXAM], [(Method.BANKCARD, "10.00", "6222001")], at(DAY, 23, 30)
    )
    h = sell(sid, cashier_1001, [EXAM], [(Method.CASH, "10.00", "")], at(date(2025, 3, 11), 0, 10))
    i = sell(sid, cashier_1001, [BLOOD], [(Method.CASH, "20.00", "")], at(date(2025, 3, 9), 23, 50))
    return Day(a, Sale.get_by_id(b.id), c, d, Sale.get_by_id(e.id), Sale.get_by_id(f.id), g, h,
               i, void_id)  # fmt: skip


# -- the independent SQL --------------------------------------------------------------------------
def sql(query: str, *params) -> list[tuple]:
    """Rows of ``query`` (``?`` for a parameter), sums as int on every backend."""
    rows = database.execute_sql(query.replace("?", database.param), params).fetchall()
    return [tuple(int(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


def one(query: str, *params) -> int:
    return int(sql(query, *params)[0][0] or 0)


class Books:
    """The period's figures straight from the tables, written differently from the report:
    sets of ids (IN subqueries) rather than joins, bounds from zoneinfo."""

    def __init__(self, first: date, last: date, station: str | None = None) -> None:
        after = last + timedelta(days=1)
        lo = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI).astimezone(UTC)
        hi = datetime(after.year, after.month, after.day, tzinfo=SHANGHAI).astimezone(UTC)
        self.lo = lo.replace(tzinfo=None).isoformat(sep=" ")
        self.hi = hi.replace(tzinfo=None).isoformat(sep=" ")
        only = f" AND station_id = '{station}'" if station else ""
        self.sold = (
            "SELECT id FROM sale WHERE status <> 'voided' AND closed_at >= ? AND closed_at < ?"
            + only
        )
        self.voided = (
            "SELECT id FROM sale WHERE status = 'voided' AND closed_at >= ? AND closed_at < ?"
            + only
        )
        self.refunds = "SELECT id FROM refund WHERE created_at >= ? AND created_at < ?" + only
        self.refunded_sales = (
            "SELECT sale_id FROM refund WHERE created_at >= ? AND created_at < ?" + only
        )

    @property
    def p(self) -> tuple[str, str]:
        return (self.lo, self.hi)

    def count(self, ids: str) -> int:
        return one(f"SELECT COUNT(*) FROM ({ids}) AS ids", *self.p)

    def net_by_method(self) -> dict[str, Fen]:
        tendered = dict(
            sql(f"SELECT method, SUM(amount) FROM tender WHERE sale_id IN ({self.sold})"
                " GROUP BY method", *self.p)
        )  # fmt: skip
        change = one(f'SELECT SUM("change") FROM sale WHERE id IN ({self.sold})', *self.p)
        back = dict(
            sql(f"SELECT method, SUM(amount) FROM refund_tender WHERE refund_id IN"
                f" ({self.refunds}) GROUP BY method", *self.p)
        )  # fmt: skip
        net = {}
        for method in tendered.keys() | back.keys():
            net[method] = Fen(
                tendered.get(method, 0) - (change if method == "cash" else 0) - back.get(method, 0)
            )
        return net

    def fund(self, key: str) -> tuple[Fen, Fen]:
        settled = one(
            f"SELECT SUM({key}) FROM insured_settlement WHERE sale_id IN ({self.sold})", *self.p
        )
        cancelled = one(
            f"SELECT SUM({key}) FROM insured_settlement WHERE sale_id IN ({self.refunded_sales})",
            *self.p,
        )
        return Fen(settled), Fen(cancelled)

    def by_category(self) -> dict[str, Fen]:
        sold = dict(
            sql(f"SELECT fee_category, SUM(amount) FROM sale_line WHERE sale_id IN ({self.sold})"
                " GROUP BY fee_category", *self.p)
        )  # fmt: skip
        back = dict(
            sql(f"SELECT fee_category, SUM(amount) FROM sale_line WHERE sale_id IN"
                f" ({self.refunded_sales}) GROUP BY fee_category", *self.p)
        )  # fmt: skip
        return {k: Fen(sold.get(k, 0) - back.get(k, 0)) for k in sold.keys() | back.keys()}

    def by_insutype(self, key: str) -> dict[str, Fen]:
        settled = dict(
            sql(f"SELECT insutype, SUM({key}) FROM insured_settlement WHERE sale_id IN"
                f" ({self.sold}) GROUP BY insutype", *self.p)
        )  # fmt: skip
        cancelled = dict(
            sql(f"SELECT insutype, SUM({key}) FROM insured_settlement WHERE sale_id IN"
                f" ({self.refunded_sales}) GROUP BY insutype", *self.p)
        )  # fmt: skip
        return {
            t: Fen(settled.get(t, 0) - cancelled.get(t, 0))
            for t in settled.keys() | cancelled.keys()
        }

    def by_operator(self) -> dict[str, tuple[int, int, int]]:
        sales = dict(
            sql(f"SELECT operator_id, COUNT(*) FROM sale WHERE id IN ({self.sold})"
                " GROUP BY operator_id", *self.p)
        )  # fmt: skip
        voids = dict(
            sql(f"SELECT operator_id, COUNT(*) FROM sale WHERE id IN ({self.voided})"
                " GROUP BY operator_id", *self.p)
        )  # fmt: skip
        refunds = dict(
            sql(f"SELECT completed_by, COUNT(*) FROM refund WHERE id IN ({self.refunds})"
                " GROUP BY completed_by", *self.p)
        )  # fmt: skip
        return {
            code: (sales.get(code, 0), voids.get(code, 0), refunds.get(code, 0))
            for code in sales.keys() | voids.keys() | refunds.keys()
        }


# -- the tests ----------------------------------------------------------------------------------
def test_day_totals_equal_the_sales_and_refunds_in_the_database(day, settings):
    report = eod_report(DAY)
    books = Books(DAY, DAY)
    total = report.total
    # counts: a, b, c, d, e, f and g (another station); one void; b, e and f refunded
    assert total.sales == books.count(books.sold) == 7
    assert total.voids == books.count(books.voided) == 1
    assert total.refunds == books.count(books.refunds) == 3
    assert (total.insured_sales, total.selfpay_sales) == (2, 5)
    assert total.sales_total == Fen(one(f"SELECT SUM(total) FROM sale WHERE id IN ({books.sold})",
                                        *books.p))  # fmt: skip
    assert total.refunds_total == Fen(
        one(f"SELECT SUM(total) FROM sale WHERE id IN ({books.refunded_sales})", *books.p)
    )
    assert total.refunded == Fen(
        one(f"SELECT SUM(amount) FROM refund WHERE id IN ({books.refunds})", *books.p)
    )

    # takings by method: every method, to the fen
    expected = books.net_by_method()
    for method in Method:
        assert total.method(method).net == expected.get(method.value, Fen(0)), method
    assert total.net_takings == Fen.total(expected.values())
    # by hand: what stayed with the clinic is a, the kept lines c, d's cash part and g
    d_cash = Fen.total(t.amount for t in day.d.tenders) - day.d.change
    assert total.net_takings == day.a.total + day.c.total + d_cash + day.g.total
    # b's Alipay went back with its refund; c (the kept lines) was paid from it
    c_alipay = Fen.total(t.amount for t in day.c.tenders if t.method == "alipay")
    assert total.method(Method.ALIPAY).net == c_alipay > Fen(0)
    assert total.method(Method.CASH).change == Fen(
        one(f'SELECT SUM("change") FROM sale WHERE id IN ({books.sold})', *books.p)
    )

    # insurance: settled − cancelled, every fund; only d's settlement is left
    d_row = InsuredSettlement.get(InsuredSettlement.sale == day.d.id)
    e_row = InsuredSettlement.get(InsuredSettlement.sale == day.e.id)
    assert e_row.status == "cancelled"
    for key, _ in FUNDS:
        settled, cancelled = books.fund(key)
        assert total.settled.amount(key) == settled, key
        assert total.cancelled.amount(key) == cancelled, key
        assert total.net_fund(key) == getattr(d_row, key), key
    assert total.net_fund("hifp_pay") > Fen(0) and total.net_fund("acct_pay") > Fen(0)
    assert (total.settled.count, total.cancelled.count) == (2, 1)
    for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        assert {t.insutype: t.net(key) for t in total.insutypes} == books.by_insutype(key), key
    assert Fen.total(t.net("fund_pay_sumamt") for t in total.insutypes) == d_row.fund_pay_sumamt

    # fee categories and operators
    assert {c.category: c.net for c in total.categories} == books.by_category()
    assert {c.category for c in total.categories} >= {"西药费", "诊察费", "化验费", "中成药费"}
    ops = {o.code: (o.sales, o.voids, o.refunds) for o in total.operators}
    assert ops == books.by_operator()
    assert ops["9001"] == (1, 0, 1)  # d sold, e's refund done by the supervisor
    assert Fen.total(o.net for o in total.operators) == total.net_takings
    assert Fen.total(h.net for h in total.hours) == total.net_takings

    # the tables the screen, the PDF and the CSV show carry the same totals
    summary = sections(report)[0]
    assert summary.rows[0][-1] == str(total.net_takings)
    assert summary.rows[0][1] == "7"


def test_local_days_and_hours(day):
    report = eod_report(DAY)
    hours = {h.hour: h for h in report.total.hours}
    # local hours, not UTC ones (08:30 local is 00:30 UTC)
    assert set(hours) == {8, 9, 10, 11, 14, 15, 17, 18, 23}
    a_net = day.a.total
    assert hours[8].sales == 1 and hours[8].net == a_net
    assert hours[9].received == Fen.total(t.amount for t in day.b.tenders) - day.b.change
    assert hours[10].refunds == 1 and hours[10].sales == 1  # b's refund and the resale c
    assert hours[15].refunds == 1 and hours[15].sales == 0 and hours[15].net < Fen(0)
    assert hours[23].net == day.g.total
    chart = dict(hour_chart(report.total))
    assert chart["08"] == int(a_net.to_decimal()) and chart["12"] == 0
    # 00:10 local on the 11th is still the 10th in UTC: it belongs to the 11th
    assert day.h.closed_at.date() == date(2025, 3, 10)
    next_day = eod_report(date(2025, 3, 11))
    assert next_day.total.sales == 1 and {h.hour for h in next_day.total.hours} == {0}
    # and 23:50 local on the 9th is the 9th's
    assert eod_report(date(2025, 3, 9)).total.net_takings == day.i.total
    assert utc_bounds(DAY, DAY) == (at(DAY, 0), at(date(2025, 3, 11), 0))


def test_a_range_is_the_sum_of_its_days(day):
    days = [eod_report(date(2025, 3, d)) for d in (9, 10, 11)]
    whole = eod_report(date(2025, 3, 9), date(2025, 3, 11))
    assert whole.period == "2025-03-09 至 2025-03-11"
    assert whole.total.sales == sum(r.total.sales for r in days) == 9
    assert whole.total.net_takings == Fen.total(r.total.net_takings for r in days)
    for method in Method:
        assert whole.total.method(method).net == Fen.total(r.total.method(method).net for r in days)
    books = Books(date(2025, 3, 9), date(2025, 3, 11))
    assert whole.total.net_takings == Fen.total(books.net_by_method().values())
    hours = {h.hour: h for h in whole.total.hours}
    assert hours[0].sales == 1 and hours[23].sales == 2  # h; g and i


def test_per_station_and_the_whole_clinic(day, settings):
    report = eod_report(DAY)
    assert [f.station for f in report.stations] == ["MZ-02", settings.station_id]
    assert report.total.label == "全院" and len(report.shown) == 3
    mz2, own = report.stations
    assert mz2.label == "MZ-02 收费台 2"
    assert (mz2.sales, mz2.refunds, mz2.voids) == (1, 0, 0)
    assert mz2.method(Method.BANKCARD).net == day.g.total
    assert own.net_takings + mz2.net_takings == report.total.net_takings
    assert own.sales + mz2.sales == report.total.sales

    only = eod_report(DAY, station="MZ-02")
    assert only.station == "MZ-02" and only.scope == "MZ-02 收费台 2"
    assert (
        only.total.net_takings
        == day.g.total
        == Fen.total(Books(DAY, DAY, "MZ-02").net_by_method().values())
    )
    ours = eod_report(DAY, station=settings.station_id)
    books = Books(DAY, DAY, settings.station_id)
    assert ours.total.net_takings == Fen.total(books.net_by_method().values())
    assert ours.total.refunds == books.count(books.refunds) == 3
    with pytest.raises(InputError, match="没有收费台"):
        eod_report(DAY, station="NOPE")


def test_bad_periods_are_refused(empty_station):
    with pytest.raises(InputError, match="早于"):
        eod_report(date(2025, 3, 2), date(2025, 3, 1))
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_day("2025-02-30")
    quiet = eod_report(date(2025, 3, 1))
    assert quiet.total.sales == 0 and quiet.total.net_takings == Fen(0) and quiet.stations == ()
    steps = []
    eod_report(date(2025, 3, 1), progress=lambda done, total: steps.append((done, total)))
    assert steps[0][0] == 0 and steps[-1][0] == steps[-1][1] and len(steps) == steps[-1][1] + 1


# -- the command line --------------------------------------------------------------------------
def test_cli_pdf_and_csv_hold_the_totals(day, settings, tmp_path):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    report = eod_report(DAY)
    total = report.total
    database.close()  # the command opens the database itself
    env = {"TZ": "Asia/Shanghai"}
    data = settings.data_dir

    pdf = tmp_path / "eod.pdf"
    proc = run_as_supervisor(
        "report", "eod", "--date", "2025-03-10", "--out", str(pdf), data_dir=data, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert f"实收净额 {total.net_takings}" in proc.stdout
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "日结报表" in text and "2025-03-10" in text
    for figure in (total.net_takings, total.sales_total, total.net_fund("hifp_pay")):
        assert str(figure) in text, figure
    assert str(total.method(Method.CASH).net) in text

    out = tmp_path / "eod.csv"
    proc = run_as_supervisor(
        "report", "eod", "--date", "2025-03-10", "--to", "2025-03-10", "--format", "csv",
        "--out", str(out), data_dir=data, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    summary = rows[rows.index(["汇总"]) + 2]
    assert summary[0] == "全院" and summary[1] == str(total.sales)
    assert summary[-1] == str(total.net_takings)
    methods = rows.index(["支付方式（收款 − 找零 − 退款 = 净额）"])
    cash = next(r for r in rows[methods:] if r[:2] == ["全院", "现金"])
    assert cash[-1] == str(total.method(Method.CASH).net)
    assert ["MZ-02 收费台 2", "1", "0", "1", "0", "0", "10.00", "0.00", "10.00", "10.00"] in rows

    station = tmp_path / "mz2.csv"
    proc = run_as_supervisor("report", "eod", "--date", "2025-03-10", "--station", "MZ-02",
               "--out", str(station), data_dir=data, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "MZ-02" in proc.stdout and str(day.g.total) in proc.stdout


def test_the_xlsx_holds_every_table_as_numbers_equal_to_the_csvs(day, settings, tmp_path):
    from decimal import Decimal

    from openpyxl import load_workbook

    from cashier.reports.render import sections, write_csv, write_xlsx

    report = eod_report(DAY)
    # A hostile operator name is text, never a formula.
    report = replace(report, total=replace(report.total, operators=(
        *report.total.operators[:1],
        *(replace(o, name="=HYPERLINK(\"http://x\")") for o in report.total.operators[1:2]),
        *report.total.operators[2:],
    )))  # fmt: skip
    xlsx = write_xlsx(report, tmp_path / "eod.xlsx", clinic_name="某诊所")
    csv_path = write_csv(report, tmp_path / "eod.csv", clinic_name="某诊所")
    rows = list(csv.reader(csv_path.read_bytes().decode("utf-8-sig").splitlines()))
    # A text cell a spreadsheet would evaluate is inert in the CSV (a leading apostrophe).
    hostile = write_csv(report, tmp_path / "h.csv", clinic_name='=HYPERLINK("http://x")')
    heading = next(csv.reader(hostile.read_bytes().decode("utf-8-sig").splitlines()))
    assert heading[1] == '\'=HYPERLINK("http://x")'
    book = load_workbook(xlsx)
    tables = sections(report)
    assert book.sheetnames[0] == "概要" and len(book.sheetnames) == 1 + len(tables) + 1
    for table, sheet in zip(tables, book.worksheets[1:], strict=False):
        assert sheet.title == table.title[:31]
        got = [[c.value for c in r] for r in sheet.iter_rows()]
        assert [str(v) for v in got[0]] == list(table.columns)
        start = rows.index([table.title]) + 2
        for want, have in zip(rows[start : start + len(table.rows)], got[1:], strict=True):
            for i, (w, h) in enumerate(zip(want, have, strict=True)):
                if i >= table.text_columns and w.strip():
                    assert isinstance(h, int | float) and not isinstance(h, bool), (w, h)
                    assert Decimal(str(h)).quantize(Decimal("0.01")) == Decimal(w)
                else:
                    assert (h or "") == w
        for cell in (c for r in sheet.iter_rows() for c in r):
            assert cell.data_type != "f"  # nothing in a report is a formula
    summary = book.worksheets[1]
    assert summary.cell(row=2, column=1).value == "全院"
    assert Decimal(str(summary.cell(row=2, column=summary.max_column).value)) == (
        report.total.net_takings.to_decimal()
    )
    chart_sheet = book.worksheets[-1]
    assert chart_sheet._charts, "the takings by hour come with their chart"
    hours = {r[0].value: r[1].value for r in chart_sheet.iter_rows(min_row=2)}
    assert sum(Decimal(str(v)) for v in hours.values()) == sum(
        (h.net.to_decimal() for h in report.total.hours), Decimal(0)
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--date", "2025-02-30", "--out", "X.pdf"), "不是日期"),
        (("--date", "2025-03-10", "--to", "10/03/2025", "--out", "X.pdf"), "不是日期"),
        (("--date", "2025-03-10", "--to", "2025-03-09", "--out", "X.pdf"), "早于"),
        (("--date", "2025-03-10", "--out", "X.txt"), "--format"),
        (("--date", "2025-03-10", "--out", "/nonexistent/dir/eod.pdf"), "无法写入"),
        (("--date", "2025-03-10", "--station", "NOPE", "--out", "X.csv"), "没有收费台"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, says):
    args = tuple(str(tmp_path / a) if a.startswith("X.") else a for a in args)
    assert run("operator", "list", data_dir=tmp_path / "d").returncode == 0  # the station
    proc = run_as_supervisor("report", "eod", *args, data_dir=tmp_path / "d")
    assert_one_line_error(proc)
    assert proc.returncode == 1 and says in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not list(tmp_path.glob("X.*"))
