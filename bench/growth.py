"""Ten years in the database: what the counter does each day, timed as the sales pile up.

    python -m bench.growth [--sizes 10000,100000,1000000,5000000] [--runs R] [--quick]

One training station's SQLite database (the demo catalog and operators, station
``TRAIN-01`` and two more) is filled with completed sales going back in time from
yesterday: a busy clinic, some 1,400 sales a day over three counters, so 10,000 sales
are a week and 5,000,000 ten years. Each sale has one to five lines, a tender, a shift
of its counter's day and, for two in five, an insured settlement with a masked ID
number; ids grow with time, as they do at a counter. At each size (the history made
longer, today's data the same), timed, median of ``--runs``:

- **start-up**: a fresh process to a ready sale screen (``bench/_probe.py sale``);
- **completing a sale**: three items, exact cash, ``Checkout.complete`` (the transaction);
- **lookup by receipt number** and **by the end of an ID number**: the lookup screen's
  ``find_sales`` for yesterday with the end of a receipt number / the last four of an ID;
- **the Z report**: yesterday's shift of ``TRAIN-01``, its figures (``shifts.figures``);
- **one day's end-of-day report** (``eod_report``, yesterday, the whole clinic).

Each figure next to its own at the first size: the issue's budget is 1.5× at 5M. The
curve is drawn to ``docs/growth.svg`` (reportlab, as the receipts) and tabled.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.report import Figure, Section

DOCS = Path(__file__).resolve().parent.parent / "docs"
STATIONS = ("TRAIN-01", "MZ-02", "MZ-03")
OPERATORS = ("1001", "9001")  # the demo cashier and supervisor
PER_DAY = 1_370  # sales a day over the three counters: 5M sales are ten years
CHUNK = 20_000
SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
QUICK_SIZES = (1_000, 5_000)
GROWTH_TARGET = 1.5


class History:
    """Sales written backwards in time from yesterday, in chunks, with ids that grow with
    time: the ``n``-th newest sale has id ``top - 1 - n`` (shifts likewise)."""

    def __init__(self, top: int, seed: int = 11) -> None:
        self.top = top  # ids below it are the history's; the counter's own sales come after
        self.made = 0
        self.rng = random.Random(seed)
        self.yesterday_end = datetime.combine(date.today(), datetime.min.time()).astimezone()
        self.shifts: dict[tuple[str, date], int] = {}

    def _at(self, n: int) -> datetime:
        """The stored (naive UTC) time of the ``n``-th newest sale: a day's sales spread
        over 8:00–20:00 local."""
        day, k = divmod(n, PER_DAY)
        local_day = self.yesterday_end - timedelta(days=day + 1)
        local = local_day + timedelta(hours=20) - timedelta(seconds=k * 12 * 3600 // PER_DAY)
        return local.astimezone(UTC).replace(tzinfo=None)

    def grow(self, to: int) -> None:
        """Make the history ``to`` sales long."""
        from cashier.domain.money import Fen
        from cashier.store import bulk
        from cashier.store.models import (
            InsuredSettlement,
            Sale,
            SaleLine,
            Shift,
            Tender,
            database,
        )

        rng = self.rng
        while self.made < to:
            upto = min(to, self.made + CHUNK)
            sales, lines, tenders, settled, shifts = [], [], [], [], []
            for n in range(self.made, upto):
                sale_id = self.top - 1 - n
                at = self._at(n)
                station = STATIONS[n % len(STATIONS)]
                day = at.replace(tzinfo=UTC).astimezone().date()
                shift = self.shifts.get((station, day))
                if shift is None:
                    shift = self.shifts[(station, day)] = self.top - 1 - len(self.shifts)
                    shifts.append((shift, station, OPERATORS[0], Fen(0), "closed",
                                   at - timedelta(hours=1), at + timedelta(hours=13), day))  # fmt: skip
                total = 0
                for line_no in range(1, rng.randint(1, 5) + 1):
                    qty, price = rng.randint(1, 3), rng.randint(50, 6000)
                    total += qty * price
                    lines.append((sale_id, line_no, f"Y{rng.randint(1, 400):05d}", "药品", qty,
                                  Fen(price), Fen(qty * price), "西药费"))  # fmt: skip
                insured = rng.random() < 0.4
                due = total
                if insured:
                    fund = total * rng.randint(0, 70) // 100
                    due = total - fund
                    certno = f"110105{rng.randint(1950, 2010)}{rng.randint(1, 12):02d}" + (
                        f"{rng.randint(1, 28):02d}{rng.randint(0, 9999):04d}"
                    )
                    masked = certno[:4] + "*" * 10 + certno[-4:]
                    settled.append((sale_id, station, "clinic", f"M{sale_id:014d}",
                                    f"S{sale_id:012d}", f"D{sale_id}", "P", "*某", masked, "310",
                                    "11", Fen(total), Fen(fund), Fen(fund), Fen(0), Fen(due),
                                    Fen(0), "{}", at))  # fmt: skip
                seq = sale_id  # unique, and below the counters' own (the receipt counter)
                sales.append((sale_id, station, OPERATORS[n % 2], "completed",
                              "insured" if insured else "selfpay", seq, f"{station}-{seq:08d}",
                              Fen(total), Fen(due), Fen(0), at, at, day, shift))  # fmt: skip
                if due:
                    tenders.append((sale_id, 1, rng.choice(("cash", "wechat", "alipay")), Fen(due)))
            with database.atomic():
                for model, fields, rows in (
                    (Shift, [Shift.id, Shift.station, Shift.operator, Shift.float_amount,
                             Shift.status, Shift.opened_at, Shift.closed_at, Shift.business_day],
                     shifts),
                    (Sale, [Sale.id, Sale.station, Sale.operator, Sale.status, Sale.kind,
                            Sale.receipt_seq, Sale.receipt_no, Sale.total, Sale.paid,
                            Sale.change, Sale.created_at, Sale.closed_at, Sale.business_day,
                            Sale.shift], sales),
                    (SaleLine, [SaleLine.sale, SaleLine.line_no, SaleLine.code, SaleLine.name,
                                SaleLine.quantity, SaleLine.price, SaleLine.amount,
                                SaleLine.fee_category], lines),
                    (Tender, [Tender.sale, Tender.seq, Tender.method, Tender.amount], tenders),
                    (InsuredSettlement,
                     [InsuredSettlement.sale, InsuredSettlement.station, InsuredSettlement.kind,
                      InsuredSettlement.msgid, InsuredSettlement.setl_id,
                      InsuredSettlement.mdtrt_id, InsuredSettlement.psn_no,
                      InsuredSettlement.psn_name, InsuredSettlement.certno,
                      InsuredSettlement.insutype, InsuredSettlement.med_type,
                      InsuredSettlement.medfee_sumamt, InsuredSettlement.fund_pay_sumamt,
                      InsuredSettlement.hifp_pay, InsuredSettlement.acct_pay,
                      InsuredSettlement.psn_cash_pay, InsuredSettlement.balc,
                      InsuredSettlement.setlinfo, InsuredSettlement.settled_at], settled),
                ):  # fmt: skip
                    bulk.insert_rows(model, fields, rows)
            self.made = upto
        # years of sales were written over years, checkpointed as they went; here in one go
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timings(
    data_dir: Path, top: int, shift_id: int, runs: int, starts: int = 3
) -> dict[str, float]:
    """The day's operations on the open station, median ms (``top``: the history's ids lie
    below it; ``shift_id``: yesterday's shift of ``TRAIN-01``)."""
    from bench.startup import probe
    from bench.till import timed_cash_sale
    from cashier.reports.eod import eod_report
    from cashier.services import lookup, shifts
    from cashier.services.operators import Role, SignedIn
    from cashier.store.models import InsuredSettlement, Sale, Shift

    yesterday = date.today() - timedelta(days=1)
    newest = Sale.get_by_id(top - 1)  # yesterday's last sale
    receipt_end = newest.receipt_no[-6:]
    certno = (
        InsuredSettlement.select(InsuredSettlement.certno)
        .where(InsuredSettlement.sale < top)
        .order_by(InsuredSettlement.sale.desc())
        .scalar()
    )
    shift = Shift.get_by_id(shift_id)

    who = SignedIn("1001", "王小美", Role.CASHIER)
    found = lookup.find_sales(receipt_end, yesterday)
    if not any(s.id == newest.id for s in found):
        raise RuntimeError("the lookup by receipt number did not find the sale")
    if not lookup.find_sales(certno[-4:], yesterday):
        raise RuntimeError("the lookup by ID number found nothing")
    out = {
        "complete": statistics.median(
            timed_cash_sale("TRAIN-01", who) * 1000 for _ in range(max(runs, 9))
        ),
        "receipt": _median_ms(lambda: lookup.find_sales(receipt_end, yesterday), runs),
        "idcard": _median_ms(lambda: lookup.find_sales(certno[-4:], yesterday), runs),
        "z": _median_ms(lambda: shifts.figures(shift), runs),
        "eod": _median_ms(lambda: eod_report(yesterday), runs),
    }
    out["startup"] = statistics.median(probe("sale", data_dir, 0.1)[0] for _ in range(starts))
    out["startup"] *= 1000
    return out


NAMES = {
    "startup": "start-up to a ready sale screen",
    "complete": "completing a sale",
    "receipt": "lookup by receipt number",
    "idcard": "lookup by the end of an ID number",
    "z": "the Z report (a day's shift)",
    "eod": "one day's end-of-day report",
}


def _history(data_dir: Path, top: int) -> History:
    """A station in ``data_dir`` ready for a history below ``top`` (its database left open)."""
    from bench.startup import seeded_station
    from cashier.config import load_settings
    from cashier.services.station import open_station
    from cashier.store.models import ReceiptCounter, Station

    seeded_station(data_dir)
    open_station(load_settings(None, data_dir), seed=False)
    # The history's ids lie between the seeded rows' and ``top``; the counter's own sales
    # and shifts come after (SQLite: the largest id plus one), receipt numbers above it.
    for station in STATIONS:
        Station.get_or_create(station_id=station, defaults={"name": station, "kind": "clinic"})
    ReceiptCounter.insert(station="TRAIN-01", last_no=top).on_conflict_replace().execute()
    return History(top)


def _fresh(data_dir: Path, history: History, runs: int, starts: int) -> dict[str, float]:
    """:func:`timings` in a fresh process, as a counter's day starts."""
    yesterday = date.today() - timedelta(days=1)
    shift = history.shifts[("TRAIN-01", yesterday)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.growth", "--measure", str(data_dir), "--top",
         str(history.top), "--shift", str(shift), "--runs", str(runs), "--starts", str(starts)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(
    sizes: tuple[int, ...], runs: int, starts: int = 3
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, float]]]:
    """(at each size, its figures; and the first size's, measured again beside them).

    Making millions of sales is minutes of work the machine feels after (a virtual
    machine's clock slows when it has run flat out): so a second database, kept at the
    first size, is measured beside the growing one at every size, alternately, each in a
    fresh process; the ratio at each size is of two figures of the same moment."""
    from bench.startup import compile_project
    from cashier.store.models import database

    compile_project()
    curve: dict[int, dict[str, float]] = {}
    beside: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_dir, big_dir = Path(tmp) / "first", Path(tmp) / "growing"
        base_top = sizes[0] + 100_000
        base = _history(base_dir, base_top)
        base.grow(sizes[0])
        database.close()
        big = _history(big_dir, max(sizes) + 100_000)
        try:
            for size in sizes:
                started = time.perf_counter()
                big.grow(size)
                print(f"  {size:,} sales made in {time.perf_counter() - started:.0f} s", flush=True)
                rounds: dict[str, list[dict[str, float]]] = {"base": [], "big": []}
                order = ("base", "big") if runs < 5 else ("base", "big", "big", "base")
                for key in order:  # ABBA: a drift weighs on both (quick: once each)
                    where, history = (base_dir, base) if key == "base" else (big_dir, big)
                    rounds[key].append(_fresh(where, history, runs, starts))
                for key, into in (("base", beside), ("big", curve)):
                    into[size] = {k: statistics.median(r[k] for r in rounds[key]) for k in NAMES}
                print(f"  {size:,}: " + ", ".join(
                    f"{k} {curve[size][k]:.1f} ({beside[size][k]:.1f})" for k in NAMES),
                    flush=True)  # fmt: skip
        finally:
            database.close()
    return curve, beside


def _label(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:g}M"
    return f"{size / 1_000:g}k"


def plot(ratio: dict[int, dict[str, float]], out: Path) -> None:
    """Each figure over its own on the first size's database, against the sales kept."""
    import math

    from reportlab.graphics import renderSVG
    from reportlab.graphics.charts.legends import LineLegend
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    sizes = sorted(ratio)
    palette = (colors.darkblue, colors.firebrick, colors.darkgreen, colors.darkorange,
               colors.purple, colors.teal)  # fmt: skip
    drawing = Drawing(560, 300)
    chart = LinePlot()
    chart.x, chart.y, chart.width, chart.height = 50, 50, 330, 220
    chart.data = [[(math.log10(s), ratio[s][k]) for s in sizes] for k in NAMES]
    for n, _ in enumerate(NAMES):
        chart.lines[n].strokeColor = palette[n % len(palette)]
        chart.lines[n].strokeWidth = 1.5
    chart.xValueAxis.valueMin = math.log10(sizes[0])
    chart.xValueAxis.valueMax = math.log10(sizes[-1])
    chart.xValueAxis.valueSteps = [math.log10(s) for s in sizes]
    chart.xValueAxis.labelTextFormat = lambda v: _label(round(10**v))
    top = max(1.6, max(p[1] for line in chart.data for p in line) * 1.1)
    chart.yValueAxis.valueMin, chart.yValueAxis.valueMax = 0, top
    chart.yValueAxis.labelTextFormat = "%.1f×"
    drawing.add(chart)
    drawing.add(String(50, 280, f"time at N sales / the same at {_label(sizes[0])}, measured beside it",
                       fontSize=10))  # fmt: skip
    drawing.add(String(215, 20, "completed sales in the database (log)", fontSize=9,
                       textAnchor="middle"))  # fmt: skip
    legend = LineLegend()
    legend.x, legend.y = 395, 260
    legend.fontSize = 8
    legend.colorNamePairs = [(palette[n % len(palette)], name) for n, name in
                             enumerate(NAMES.values())]  # fmt: skip
    drawing.add(legend)
    renderSVG.drawToFile(drawing, str(out))


def run(quick: bool = False, sizes: tuple[int, ...] | None = None, runs: int | None = None):
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    runs = runs or (3 if quick else 7)
    starts = 1 if quick else 3
    curve, beside = measure(sizes, runs, starts)
    ratio = {s: {k: curve[s][k] / beside[s][k] for k in NAMES} for s in sizes}
    last = sizes[-1]
    header = (
        "| figure | " + " | ".join(_label(s) for s in sizes) + " |\n|---|" + "---|" * len(sizes)
    )
    rows = [
        f"| {name} | "
        + " | ".join(f"{curve[s][k]:,.1f} ms ({ratio[s][k]:.2f}×)" for s in sizes)
        + " |"
        for k, name in NAMES.items()
    ]
    svg = ""
    if not quick:
        plot(ratio, DOCS / "growth.svg")
        svg = f"\n![each figure against its own at {_label(sizes[0])} sales](growth.svg)\n"
    body = f"""
Completed sales going back in time from yesterday, some {PER_DAY:,} a day over three
counters (10,000 sales a week, 5,000,000 ten years), each with one to five lines, a
tender and its counter's shift, two in five with an insured settlement. At each size,
two fresh processes (as a counter's day starts) on the growing database and two on a
second one kept at {_label(sizes[0])} sales, in the order ABBA, each taking the median of {runs}
runs (start-up: {starts} fresh process{"es" if starts > 1 else ""} each); in brackets, the
figure against the same figure on the {_label(sizes[0])} database measured beside it. Writing
millions of sales is minutes of flat-out work this virtual machine feels afterwards (its
clock slows: measured, 40 % slower just after a minute's load), so only figures of the
same moment are compared. The budget: within {GROWTH_TARGET}× at 5M.

{header}
{chr(10).join(rows)}
{svg}"""
    figures = tuple(
        Figure("growth", f"{name}, {_label(last)} sales", curve[last][k], "ms", 1,
               beside[last][k], f"the same at {_label(sizes[0])} sales, beside it",
               f"≤ {GROWTH_TARGET}× at 5M", ratio[last][k] <= GROWTH_TARGET)
        for k, name in NAMES.items()
    )  # fmt: skip
    return Section("growth", "Ten years in the database", body, figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="comma-separated sales counts (default 10k…5M)")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--quick", action="store_true")
    # one measuring process (bench.growth's own): the day's operations on DIR, as JSON
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--top", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--shift", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--starts", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        from cashier.config import load_settings
        from cashier.services.station import open_station

        ctx = open_station(load_settings(None, args.measure), seed=False)
        try:
            print(json.dumps(timings(args.measure, args.top, args.shift, args.runs or 7,
                                     args.starts)))  # fmt: skip
        finally:
            ctx.close()
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    print(run(args.quick, sizes, args.runs).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
