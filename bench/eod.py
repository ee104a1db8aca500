"""The end-of-day report on one year of a busy pharmacy, next to bare SQL, in one run.

    python -m bench.eod [--sales N] [--days D] [--runs R] [--quick]

Generates ``--sales`` sales (default 200,000: about 1,000,000 lines; 40 % insured
with their settlements; a few voids and refunds; several stations, operators and
fee categories; local hours 8–20) over ``--days`` days into a temporary SQLite
database with bulk inserts, then times ``eod_report`` for one day and for the
whole period (median of ``--runs``), each next to one hand-written SQL statement
over the same tables and period that computes the same figures (a ``UNION ALL``
of the same ``GROUP BY``s, rows fetched, nothing else), and, for information, a
minimal one (takings by method only). Reported, never asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from peewee import chunked

from bench.report import Figure, Section, median_seconds
from cashier.config import settings_from_dict
from cashier.domain.money import Fen
from cashier.reports.eod import eod_report
from cashier.services.station import open_station
from cashier.store.models import (
    InsuredSettlement,
    Operator,
    Refund,
    RefundTender,
    Sale,
    SaleLine,
    Station,
    Tender,
    database,
)

FIRST_DAY = date(2025, 1, 1)
STATIONS = ("YF-01", "YF-02", "YF-03")
OPERATORS = tuple(f"2{n:03d}" for n in range(1, 9))
CATEGORIES = (
    ("西药费", 60),
    ("中成药费", 20),
    ("中药饮片费", 5),
    ("卫生材料费", 8),
    ("其他费", 7),
)
INSUTYPES = (("310", 70), ("390", 25), ("320", 5))
CHUNK = 1000
TARGET = 1.2  # issue 22: one day and one year, against the bare SQL


def _weighted(rng: random.Random, table) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def generate(n_sales: int, days: int, seed: int = 7) -> dict[str, int]:
    """Fill the open database; the number of rows written per table."""
    rng = random.Random(seed)
    for code in STATIONS:
        Station.get_or_create(
            station_id=code, defaults={"name": f"药店 {code}", "kind": "pharmacy"}
        )
    Operator.insert_many(
        [
            {"code": c, "name": f"店员{c}", "role": "cashier", "pin_salt": "", "pin_hash": ""}
            for c in OPERATORS
        ]
    ).on_conflict_ignore().execute()
    sales, lines, tenders, settlements, refunds, refund_tenders = [], [], [], [], [], []
    seq = dict.fromkeys(STATIONS, 0)
    for sale_id in range(1, n_sales + 1):
        day = FIRST_DAY + timedelta(days=(sale_id - 1) * days // n_sales)
        local = datetime(day.year, day.month, day.day, rng.randint(8, 20), rng.randint(0, 59),
                         rng.randint(0, 59)).astimezone()  # fmt: skip
        closed = local.astimezone(UTC).replace(tzinfo=None) + timedelta(
            microseconds=rng.randint(0, 999_999)
        )
        station = rng.choice(STATIONS)
        roll = rng.random()
        status = "voided" if roll < 0.005 else ("refunded" if roll < 0.008 else "completed")
        insured = status != "voided" and rng.random() < 0.4
        total = 0
        for line_no in range(1, rng.randint(1, 9) + 1):
            qty = rng.randint(1, 3)
            price = rng.randint(50, 6000)
            total += qty * price
            lines.append(
                (sale_id, line_no, f"Y{rng.randint(1, 400):05d}", "药品", qty, Fen(price),
                 Fen(qty * price), _weighted(rng, CATEGORIES))
            )  # fmt: skip
        due = total
        if insured:
            fund = total * rng.randint(0, 70) // 100
            acct = (total - fund) * rng.randint(0, 100) // 100
            due = total - fund - acct
            hifp = fund * 9 // 10
            settlements.append(
                (sale_id, station, "pharmacy", f"M{sale_id:012d}", f"S{sale_id}", f"D{sale_id}",
                 "P", "*", "*", _weighted(rng, INSUTYPES), "41", Fen(total), Fen(fund),
                 Fen(hifp), Fen(fund - hifp), Fen(acct), Fen(due), Fen(0), "{}",
                 "cancelled" if status == "refunded" else "settled", closed)
            )  # fmt: skip
        paid, change = 0, 0
        if status != "voided" and due:
            method = rng.choice(("cash", "cash", "wechat", "alipay", "bankcard"))
            if method == "cash":
                paid = -(-due // 1000) * 1000  # rounded up to ten yuan
                change = paid - due
            else:
                paid = due
            tenders.append((sale_id, 1, method, Fen(paid)))
        if status == "voided":
            receipt = (None, None)
        else:
            seq[station] += 1
            receipt = (seq[station], f"{station}-{seq[station]:08d}")
        sales.append(
            (sale_id, station, rng.choice(OPERATORS), status, "insured" if insured else "selfpay",
             *receipt, Fen(total), Fen(paid), Fen(change), closed, closed, _day(closed))
        )  # fmt: skip
        if status == "refunded":
            refund_id = len(refunds) + 1
            refunds.append(
                (refund_id, sale_id, station, "full", "9001", "9001", rng.choice(OPERATORS), "退药",
                 Fen(paid - change), Fen(total), Fen(acct if insured else 0),
                 Fen(fund if insured else 0), f"{station}-R{refund_id:07d}",
                 closed + timedelta(minutes=30), _day(closed))
            )  # fmt: skip
            if paid - change:
                refund_tenders.append((refund_id, 1, tenders[-1][2], Fen(paid - change)))

    def put(model, fields, rows) -> None:
        with database.atomic():
            for chunk in chunked(rows, CHUNK):
                model.insert_many(chunk, fields=fields).execute()

    put(Sale, [Sale.id, Sale.station, Sale.operator, Sale.status, Sale.kind, Sale.receipt_seq,
               Sale.receipt_no, Sale.total, Sale.paid, Sale.change, Sale.created_at,
               Sale.closed_at, Sale.business_day], sales)  # fmt: skip
    put(SaleLine, [SaleLine.sale, SaleLine.line_no, SaleLine.code, SaleLine.name,
                   SaleLine.quantity, SaleLine.price, SaleLine.amount, SaleLine.fee_category],
        lines)  # fmt: skip
    put(Tender, [Tender.sale, Tender.seq, Tender.method, Tender.amount], tenders)
    i = InsuredSettlement
    put(i, [i.sale, i.station, i.kind, i.msgid, i.setl_id, i.mdtrt_id, i.psn_no, i.psn_name,
            i.certno, i.insutype, i.med_type, i.medfee_sumamt, i.fund_pay_sumamt, i.hifp_pay,
            i.hifmi_pay, i.acct_pay, i.psn_cash_pay, i.balc, i.setlinfo, i.status, i.settled_at],
        settlements)  # fmt: skip
    r = Refund
    put(r, [r.id, r.sale, r.station, r.kind, r.requested_by, r.approved_by, r.completed_by,
            r.reason, r.amount, r.total, r.acct_returned, r.fund_returned, r.refund_no,
            r.created_at, r.business_day], refunds)  # fmt: skip
    put(RefundTender, [RefundTender.refund, RefundTender.seq, RefundTender.method,
                       RefundTender.amount], refund_tenders)  # fmt: skip
    database.execute_sql("ANALYZE")
    return {
        "sale": len(sales),
        "sale_line": len(lines),
        "tender": len(tenders),
        "insured_settlement": len(settlements),
        "refund": len(refunds),
    }


#: The same figures as the report, as one statement: each GROUP BY of the report, summed
#: per station, in one UNION ALL (the settlement's twelve amounts included).
_SUMS = (
    "SUM(i.medfee_sumamt), SUM(i.hifp_pay), SUM(i.cvlserv_pay), SUM(i.hifes_pay),"
    " SUM(i.hifmi_pay), SUM(i.hifob_pay), SUM(i.maf_pay), SUM(i.oth_pay), SUM(i.fund_pay_sumamt),"
    " SUM(i.acct_pay), SUM(i.acct_mulaid_pay), SUM(i.psn_cash_pay)"
)
_PAD = ", 0" * 9
SAME_FIGURES = f"""
SELECT 's', s.station_id, s.operator_id || s.status || s.kind, COUNT(*), SUM(s.total),
       SUM(s.paid - s."change"), SUM(s."change"){_PAD}
  FROM sale s WHERE s.business_day >= ?1 AND s.business_day <= ?2 GROUP BY 2, 3
UNION ALL
SELECT 't', s.station_id, t.method, 0, SUM(t.amount), 0, 0{_PAD}
  FROM tender t JOIN sale s ON s.id = t.sale_id
 WHERE s.business_day >= ?1 AND s.business_day <= ?2 AND s.status IN ('completed', 'refunded')
 GROUP BY 2, 3
UNION ALL
SELECT 'h', s.station_id, substr(s.closed_at, 1, 13), COUNT(*), SUM(s.paid - s."change"), 0, 0{_PAD}
  FROM sale s WHERE s.business_day >= ?1 AND s.business_day <= ?2 AND s.status IN ('completed', 'refunded')
 GROUP BY 2, 3
UNION ALL
SELECT 'l', s.station_id, l.fee_category, COUNT(*), SUM(l.amount), 0, 0{_PAD}
  FROM sale_line l JOIN sale s ON s.id = l.sale_id
 WHERE s.business_day >= ?1 AND s.business_day <= ?2 AND s.status IN ('completed', 'refunded')
 GROUP BY 2, 3
UNION ALL
SELECT 'i', s.station_id, i.insutype, COUNT(*), {_SUMS}
  FROM insured_settlement i JOIN sale s ON s.id = i.sale_id
 WHERE s.business_day >= ?1 AND s.business_day <= ?2 AND s.status IN ('completed', 'refunded')
 GROUP BY 2, 3
UNION ALL
SELECT 'r', r.station_id, r.completed_by, COUNT(*), SUM(s.total), SUM(r.total), SUM(r.amount){_PAD}
  FROM refund r JOIN sale s ON s.id = r.sale_id
 WHERE r.business_day >= ?1 AND r.business_day <= ?2 GROUP BY 2, 3
UNION ALL
SELECT 'rt', r.station_id, rt.method, 0, SUM(rt.amount), 0, 0{_PAD}
  FROM refund_tender rt JOIN refund r ON r.id = rt.refund_id
 WHERE r.business_day >= ?1 AND r.business_day <= ?2 GROUP BY 2, 3
UNION ALL
SELECT 'rh', r.station_id, substr(r.created_at, 1, 13), COUNT(*), SUM(r.amount), 0, 0{_PAD}
  FROM refund r WHERE r.business_day >= ?1 AND r.business_day <= ?2 GROUP BY 2, 3
UNION ALL
SELECT 'rl', r.station_id, l.fee_category, COUNT(*), SUM(l.amount), 0, 0{_PAD}
  FROM refund r JOIN sale_line l ON l.sale_id = r.sale_id
 WHERE r.business_day >= ?1 AND r.business_day <= ?2 GROUP BY 2, 3
UNION ALL
SELECT 'ri', r.station_id, i.insutype, COUNT(*), {_SUMS}
  FROM refund r JOIN insured_settlement i ON i.sale_id = r.sale_id
 WHERE r.business_day >= ?1 AND r.business_day <= ?2 GROUP BY 2, 3
"""
#: The least a report could do: takings by method over the tenders.
TAKINGS_ONLY = """
SELECT t.method, SUM(t.amount) FROM tender t JOIN sale s ON s.id = t.sale_id
 WHERE s.business_day >= ?1 AND s.business_day <= ?2 AND s.status IN ('completed', 'refunded')
 GROUP BY t.method
"""


def _bare(query: str, first: date, last: date) -> Callable[[], object]:
    """A hand-written statement over the same business days (stored as ISO text)."""
    start, end = first.isoformat(), last.isoformat()
    return lambda: database.execute_sql(query, (start, end)).fetchall()


def _day(at: datetime) -> date:
    """The business day of a generated sale: the local date it was taken (one shift a day)."""
    return at.replace(tzinfo=UTC).astimezone().date()


def run(
    quick: bool = False,
    sales: int | None = None,
    days: int | None = None,
    runs: int | None = None,
) -> Section:
    sales = sales or (2_000 if quick else 200_000)
    days = days or (14 if quick else 365)
    runs = runs or (3 if quick else 5)
    last_day = FIRST_DAY + timedelta(days=days - 1)
    busy_day = FIRST_DAY + timedelta(days=days // 2)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = open_station(settings_from_dict({}, data_dir=Path(tmp)), seed=False)
        try:
            t0 = time.perf_counter()
            counts = generate(sales, days)
            made = time.perf_counter() - t0
            rows = []
            for label, first, last in (
                ("one day", busy_day, busy_day),
                (f"whole period ({days} days)", FIRST_DAY, last_day),
            ):
                report = eod_report(first, last)  # warm the cache and check the figures agree
                takings = dict(_bare(TAKINGS_ONLY, first, last)())
                if report.total.method("cash").tendered != Fen(int(takings.get("cash", 0))):
                    raise RuntimeError(f"{label}: the report's cash takings differ from SQL")
                t_report = median_seconds(lambda f=first, la=last: eod_report(f, la), runs)
                t_same = median_seconds(_bare(SAME_FIGURES, first, last), runs)
                t_takings = median_seconds(_bare(TAKINGS_ONLY, first, last), runs)
                rows.append((label, report.total.sales, t_report, t_same, t_takings))
        finally:
            ctx.close()
    figures = [
        Figure(
            "eod",
            f"end-of-day report, {label}",
            r * 1000,
            "ms",
            baseline=s * 1000,
            baseline_name="bare SQL, same figures",
            target=f"≤ {TARGET}× bare",
            met=r <= TARGET * s,
        )
        for label, _, r, s, _ in rows
    ]
    body = [
        f"{counts['sale']:,} sales ({counts['sale_line']:,} lines, "
        f"{counts['insured_settlement']:,} insured, {counts['refund']:,} refunds) over "
        f"{days} days, 3 stations, SQLite, generated in {made:.0f} s; median of {runs} runs, ms.",
        "",
        "| period | sales | eod_report | bare SQL, same figures | ratio | bare SQL, takings only |",
        "|---|---|---|---|---|---|",
        *(
            f"| {label} | {n:,} | {r * 1000:.1f} | {s * 1000:.1f} | {r / s:.2f}× | {t * 1000:.1f} |"
            for label, n, r, s, t in rows
        ),
        "",
        "*Bare SQL, same figures* is one hand-written statement over the same tables and",
        "period computing what the report computes (a `UNION ALL` of the same `GROUP BY`s, rows",
        "fetched, no Python); the ratio is against it. *Takings only* is the least a report",
        "could ask (tenders by method), for scale: the report computes ten breakdowns, and",
        "the fee categories alone join every line of the period.",
        "",
        "Plans (`EXPLAIN QUERY PLAN`): a day goes through indexes the schema already has —",
        "`sale.business_day`, `refund.business_day` and the foreign keys of `sale_line`, `tender`,",
        "`insured_settlement` and `refund_tender`; a year is bound by the grouping and the",
        "line join, in the report as in the bare statement. Covering indexes",
        "(`sale(business_day, status, station_id, operator_id, kind, total, paid, change)`,",
        "`sale_line(sale_id, fee_category, amount)`, `tender(sale_id, method, amount)`) were",
        "tried and changed neither figure measurably, so none is added.",
        "",
        "**One day misses 1.2×, and why.** Migration 15 dropped the index of a sale's status,",
        "which the planner took over the day's (with 100,000 sales kept, a statement of a day's",
        "report took 17 ms): one day went from 7.2 ms to 3.5 ms, and the bare statement, which had the",
        "same wrong plan, from 5.4 to 2.4 ms. What is left is fixed cost: the report sends ten",
        "statements (one a breakdown, the report screen's progress bar moves after each) where",
        "the bare SQL sends one, some 0.1 ms each of peewee and the driver around a statement,",
        "and builds the report's objects from the rows. One statement would meet the budget at",
        "the price of the progress and of one query per breakdown that both databases share;",
        "at 3.5 ms for a day it is not worth it.",
    ]
    return Section("eod", "End-of-day report", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, help="default 200,000 (quick 2,000)")
    parser.add_argument("--days", type=int, help="default 365 (quick 14)")
    parser.add_argument("--runs", type=int, help="default 5 (quick 3)")
    parser.add_argument("--quick", action="store_true", help="2,000 sales over 14 days, 3 runs")
    args = parser.parse_args(argv)
    print(run(args.quick, args.sales, args.days, args.runs).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
