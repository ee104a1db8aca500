"""The end-of-day report (日结报表): the figures of a day or a range of days. No UI.

Days are business days: a sale or a refund belongs to the business day of the
shift it was taken in (the local date the shift opened; ``business_day`` on the
row, indexed), not to the wall clock's date when it closed, so a shift that runs
past midnight or a clock set back does not move money between days. Every figure is an SQL aggregate (``GROUP BY``), never a loop over sales,
and all the queries run in one read transaction, so the figures agree with each
other even while the counters keep selling.

What is counted, and when (the same books as :mod:`cashier.services.refunds` and the
shift reports):

* **Sales** are the sales of the period's business days that are ``completed`` or
  ``refunded``: a refunded sale was a sale, its money was taken, and its
  refund gives the money back.
* **Voids** are the sales voided in the period; they move no money.
* **Refunds** are the refunds *done* in the period (their own business day). A
  refund reverses its sale in full: what went back over the tenders
  (``RefundTender``), the sale's 医疗费 (``Sale.total``), its lines (every fee
  category) and, for an insured sale, the settlement it cancelled (every fund,
  the personal account and the cash part). A partial refund's kept lines are
  an ordinary new sale, counted with the sales. ``Refund.total`` (the lines the
  patient gave back) is shown as well, for information.
* **Insurance**: the settlements of the insured sales above, whatever their
  status now (a refunded sale's settlement is ``cancelled``, and counted again,
  negatively, with its refund); net = settled − cancelled by refunds.
* **Takings by method**: handed over − change (cash only) − given back by
  refunds. The personal account and the funds are not tenders: they are in the
  insurance figures.
* **By hour**: the local hour a sale closed (money taken) or a refund was done
  (money given back).

Per station and for the whole clinic (or for the one station asked for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cashier.domain.money import Fen
from cashier.domain.tender import METHOD_LABELS, Method
from cashier.errors import InputError
from cashier.insurer.protocol import INSUTYPES, OTHER_FUNDS, SETLINFO_LABELS
from cashier.messages import say
from cashier.store.models import database

__all__ = [
    "FUNDS",
    "CategoryTotals",
    "EodReport",
    "Figures",
    "HourTotals",
    "InsutypeTotals",
    "MethodTakings",
    "OperatorTotals",
    "Progress",
    "Settled",
    "eod_report",
    "parse_day",
    "utc_bounds",
]

#: Called with (queries done, queries in all) as the report runs.
Progress = Callable[[int, int], None]

#: Sale statuses that count as sales (money was taken).
SOLD = ("completed", "refunded")

#: The settlement's amounts the report sums, in the order they are shown, with their labels.
FUNDS: tuple[tuple[str, str], ...] = tuple(
    (key, SETLINFO_LABELS[key])
    for key in (
        "medfee_sumamt",
        "hifp_pay",
        *OTHER_FUNDS,
        "fund_pay_sumamt",
        "acct_pay",
        "acct_mulaid_pay",
        "psn_cash_pay",
    )
)
_FUND_KEYS = tuple(key for key, _ in FUNDS)
UNCATEGORISED = "未分类"
CLINIC = "全院"


# -- the figures ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settled:
    """Sums over insured settlements (one per insured sale): how many, and each amount."""

    count: int = 0
    medfee_sumamt: Fen = Fen(0)
    hifp_pay: Fen = Fen(0)
    cvlserv_pay: Fen = Fen(0)
    hifes_pay: Fen = Fen(0)
    hifmi_pay: Fen = Fen(0)
    hifob_pay: Fen = Fen(0)
    maf_pay: Fen = Fen(0)
    oth_pay: Fen = Fen(0)
    hifdm_pay: Fen = Fen(0)
    othfund_pay: Fen = Fen(0)
    fund_pay_sumamt: Fen = Fen(0)
    acct_pay: Fen = Fen(0)
    acct_mulaid_pay: Fen = Fen(0)
    psn_cash_pay: Fen = Fen(0)

    def amount(self, key: str) -> Fen:
        """One of :data:`FUNDS`' amounts by its key."""
        if key not in _FUND_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __add__(self, other: Settled) -> Settled:
        return Settled(
            count=self.count + other.count,
            **{k: self.amount(k) + other.amount(k) for k in _FUND_KEYS},
        )


@dataclass(frozen=True)
class MethodTakings:
    """One payment method: handed over, change given, refunded; net is what stays."""

    method: str
    tendered: Fen
    change: Fen
    refunded: Fen
    trades: int = 0  # tenders taken (for WeChat Pay / Alipay: the provider's trades)

    @property
    def label(self) -> str:
        try:
            return METHOD_LABELS[Method(self.method)]
        except ValueError:
            return self.method

    @property
    def net(self) -> Fen:
        return self.tendered - self.change - self.refunded


@dataclass(frozen=True)
class InsutypeTotals:
    """One insurance type (险种): its settlements and those cancelled by refunds."""

    insutype: str
    settled: Settled
    cancelled: Settled

    @property
    def label(self) -> str:
        name = INSUTYPES.get(self.insutype)
        return f"{self.insutype} {name}" if name else self.insutype

    def net(self, key: str) -> Fen:
        return self.settled.amount(key) - self.cancelled.amount(key)


@dataclass(frozen=True)
class OperatorTotals:
    """One operator: sales closed and voided by them, refunds they carried out."""

    code: str
    name: str
    sales: int
    voids: int
    refunds: int
    sales_total: Fen  # 医疗费 of their sales
    received: Fen  # handed over less change
    refunded: Fen  # given back over the tenders

    @property
    def net(self) -> Fen:
        return self.received - self.refunded


@dataclass(frozen=True)
class CategoryTotals:
    """One fee category (费用类别): sold lines, and lines reversed by refunds."""

    category: str
    lines: int
    sold: Fen
    refunded_lines: int
    refunded: Fen

    @property
    def label(self) -> str:
        return self.category or UNCATEGORISED

    @property
    def net(self) -> Fen:
        return self.sold - self.refunded


@dataclass(frozen=True)
class HourTotals:
    """One local hour (``hour`` 0–23, summed over the days of the period)."""

    hour: int
    sales: int
    refunds: int
    received: Fen  # handed over less change
    refunded: Fen  # given back over the tenders

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00–{(self.hour + 1) % 24:02d}:00"

    @property
    def net(self) -> Fen:
        return self.received - self.refunded


@dataclass(frozen=True)
class Figures:
    """The figures of one station, or of the whole clinic (``station`` empty)."""

    station: str
    label: str
    sales: int
    insured_sales: int
    selfpay_sales: int
    sales_total: Fen  # 医疗费 of the sales
    received: Fen  # over the tenders: handed over less change
    voids: int
    voids_total: Fen
    refunds: int
    refunds_total: Fen  # 医疗费 of the refunded sales (reversed in full)
    refunded_lines_total: Fen  # Refund.total: the lines given back (information)
    refunded: Fen  # given back to patients over the tenders
    methods: tuple[MethodTakings, ...]
    settled: Settled  # the insured sales' settlements
    cancelled: Settled  # the settlements reversed by the refunds
    insutypes: tuple[InsutypeTotals, ...]
    operators: tuple[OperatorTotals, ...]
    categories: tuple[CategoryTotals, ...]
    hours: tuple[HourTotals, ...]

    @property
    def net_total(self) -> Fen:
        """医疗费 net of refunds."""
        return self.sales_total - self.refunds_total

    @property
    def net_takings(self) -> Fen:
        """What the patients paid over the tenders, net of change and refunds."""
        return self.received - self.refunded

    def method(self, method: str | Method) -> MethodTakings:
        """The takings of one method (zero when it was not used)."""
        for row in self.methods:
            if row.method == str(method):
                return row
        return MethodTakings(str(method), Fen(0), Fen(0), Fen(0))

    def net_fund(self, key: str) -> Fen:
        return self.settled.amount(key) - self.cancelled.amount(key)


@dataclass(frozen=True)
class EodReport:
    """The report: the period (local days, both included), each station, and the total."""

    date_from: date
    date_to: date
    station: str | None  # the one station asked for; None: the whole clinic
    generated_at: datetime  # local, aware
    stations: tuple[Figures, ...]
    total: Figures  # the whole clinic, or the station asked for
    audit_head: str = ""  # the audit chain's head when the report was made (printed)

    @property
    def period(self) -> str:
        if self.date_from == self.date_to:
            return f"{self.date_from:%Y-%m-%d}"
        return f"{self.date_from:%Y-%m-%d} 至 {self.date_to:%Y-%m-%d}"

    @property
    def scope(self) -> str:
        return self.total.label

    @property
    def shown(self) -> tuple[Figures, ...]:
        """The figures to print: the total, then each station when there are several."""
        return (self.total, *self.stations) if len(self.stations) > 1 else (self.total,)


# -- dates ------------------------------------------------------------------------------------------
def parse_day(text: str, what: str = "日期") -> date:
    """``YYYY-MM-DD`` as a date; an :class:`InputError` saying what to type otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InputError(say("reports.eod.not_date", what=what, text=text)) from None


def utc_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC (naive, as stored) instants where local ``date_from`` starts and the local
    day after ``date_to`` starts: the period is ``[start, end)``."""
    start = datetime.combine(date_from, time()).astimezone()  # naive → local, aware
    end = datetime.combine(date_to + timedelta(days=1), time()).astimezone()
    return (
        start.astimezone(UTC).replace(tzinfo=None),
        end.astimezone(UTC).replace(tzinfo=None),
    )


# -- the queries --------------------------------------------------------------------------------
_SETTLED_SUMS = ", ".join(f"SUM(i.{key})" for key in _FUND_KEYS)


def _queries(bucket: Callable[[str], str], station: bool) -> dict[str, str]:
    """The report's SQL, ``{p}`` for a parameter. Sales and refunds are filtered by their
    business day (their shift's); ``station`` adds a filter on the station."""
    sale_where = "s.business_day >= {p} AND s.business_day <= {p}" + (
        " AND s.station_id = {p}" if station else ""
    )
    sold = f"{sale_where} AND s.status IN ('completed', 'refunded')"
    refund_where = "r.business_day >= {p} AND r.business_day <= {p}" + (
        " AND r.station_id = {p}" if station else ""
    )
    return {
        "sales": (
            "SELECT s.station_id, s.operator_id, s.status, s.kind, COUNT(*), SUM(s.total),"
            ' SUM(s.paid - s."change"), SUM(s."change")'
            f" FROM sale s WHERE {sale_where} GROUP BY 1, 2, 3, 4"
        ),
        "tenders": (
            "SELECT s.station_id, t.method, SUM(t.amount), COUNT(*)"
            f" FROM tender t JOIN sale s ON s.id = t.sale_id WHERE {sold} GROUP BY 1, 2"
        ),
        "sale_hours": (
            f'SELECT s.station_id, {bucket("s.closed_at")}, COUNT(*), SUM(s.paid - s."change")'
            f" FROM sale s WHERE {sold} GROUP BY 1, 2"
        ),
        "sale_lines": (
            "SELECT s.station_id, l.fee_category, COUNT(*), SUM(l.amount)"
            f" FROM sale_line l JOIN sale s ON s.id = l.sale_id WHERE {sold} GROUP BY 1, 2"
        ),
        "settled": (
            f"SELECT s.station_id, i.insutype, COUNT(*), {_SETTLED_SUMS}"
            " FROM insured_settlement i JOIN sale s ON s.id = i.sale_id"
            f" WHERE {sold} GROUP BY 1, 2"
        ),
        "refunds": (
            "SELECT r.station_id, r.completed_by, COUNT(*), SUM(s.total), SUM(r.total),"
            " SUM(r.amount)"
            f" FROM refund r JOIN sale s ON s.id = r.sale_id WHERE {refund_where} GROUP BY 1, 2"
        ),
        "refund_tenders": (
            "SELECT r.station_id, rt.method, SUM(rt.amount)"
            " FROM refund_tender rt JOIN refund r ON r.id = rt.refund_id"
            f" WHERE {refund_where} GROUP BY 1, 2"
        ),
        "refund_hours": (
            f"SELECT r.station_id, {bucket('r.created_at')}, COUNT(*), SUM(r.amount)"
            f" FROM refund r WHERE {refund_where} GROUP BY 1, 2"
        ),
        "refund_lines": (
            "SELECT r.station_id, l.fee_category, COUNT(*), SUM(l.amount)"
            " FROM refund r JOIN sale_line l ON l.sale_id = r.sale_id"
            f" WHERE {refund_where} GROUP BY 1, 2"
        ),
        "cancelled": (
            f"SELECT r.station_id, i.insutype, COUNT(*), {_SETTLED_SUMS}"
            " FROM refund r JOIN insured_settlement i ON i.sale_id = r.sale_id"
            f" WHERE {refund_where} GROUP BY 1, 2"
        ),
    }


def _is_postgres(db: Any) -> bool:
    from peewee import PostgresqlDatabase

    return isinstance(db, PostgresqlDatabase)


def _hour_bucket(db: Any) -> Callable[[str], str]:
    """SQL for a stored UTC time's hour as ``YYYY-MM-DD HH`` text, turned local in Python
    (the local offset may change inside the period; in a zone whose offset is not whole
    hours, a UTC hour counts in the local hour it starts in)."""
    if _is_postgres(db):
        return lambda column: f"to_char({column}, 'YYYY-MM-DD HH24')"
    # SQLite keeps peewee's datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text.
    return lambda column: f"substr({column}, 1, 13)"


def _fen(value: Any) -> Fen:
    """An SQL sum (int, PostgreSQL's Decimal for a bigint sum, or NULL) as Fen; the many
    zeros of a report share one (Fen is immutable)."""
    return Fen(int(value)) if value else _ZERO


_ZERO = Fen(0)


# -- adding the rows up ---------------------------------------------------------------------------
@dataclass
class _Tally:
    """Figures being added up for one station (or the clinic), from grouped rows."""

    sales: int = 0
    insured_sales: int = 0
    selfpay_sales: int = 0
    sales_total: int = 0
    received: int = 0
    change: int = 0
    voids: int = 0
    voids_total: int = 0
    refunds: int = 0
    refunds_total: int = 0
    refunded_lines_total: int = 0
    refunded: int = 0
    tendered_by: dict[str, int] = field(default_factory=dict)
    trades_by: dict[str, int] = field(default_factory=dict)
    refunded_by: dict[str, int] = field(default_factory=dict)
    # insutype → [count, *the FUNDS sums]
    settled: dict[str, list[int]] = field(default_factory=dict)
    cancelled: dict[str, list[int]] = field(default_factory=dict)
    # code → [sales, voids, refunds, sales_total, received, refunded]
    operators: dict[str, list[int]] = field(default_factory=dict)
    # category → [lines, sold, refunded lines, refunded]
    categories: dict[str, list[int]] = field(default_factory=dict)
    # hour → [sales, refunds, received, refunded]
    hours: dict[int, list[int]] = field(default_factory=dict)

    def operator(self, code: str) -> list[int]:
        return self.operators.setdefault(code, [0] * 6)

    def category(self, name: str) -> list[int]:
        return self.categories.setdefault(name or "", [0] * 4)

    def hour(self, hour: int) -> list[int]:
        return self.hours.setdefault(hour, [0] * 4)

    def freeze(self, station: str, label: str, operator_names: dict[str, str]) -> Figures:
        methods = [m.value for m in Method]
        methods += sorted((self.tendered_by.keys() | self.refunded_by.keys()) - set(methods))
        return Figures(
            station=station,
            label=label,
            sales=self.sales,
            insured_sales=self.insured_sales,
            selfpay_sales=self.selfpay_sales,
            sales_total=_fen(self.sales_total),
            received=_fen(self.received),
            voids=self.voids,
            voids_total=_fen(self.voids_total),
            refunds=self.refunds,
            refunds_total=_fen(self.refunds_total),
            refunded_lines_total=_fen(self.refunded_lines_total),
            refunded=_fen(self.refunded),
            methods=tuple(
                MethodTakings(
                    m,
                    _fen(self.tendered_by.get(m, 0)),
                    _fen(self.change if m == Method.CASH.value else 0),
                    _fen(self.refunded_by.get(m, 0)),
                    self.trades_by.get(m, 0),
                )
                for m in methods
            ),
            settled=_settled_of(_column_sums(self.settled.values())),
            cancelled=_settled_of(_column_sums(self.cancelled.values())),
            insutypes=tuple(
                InsutypeTotals(
                    t,
                    _settled_of(self.settled.get(t, _NO_SUMS)),
                    _settled_of(self.cancelled.get(t, _NO_SUMS)),
                )
                for t in sorted(self.settled.keys() | self.cancelled.keys())
            ),
            operators=tuple(
                OperatorTotals(
                    code,
                    operator_names.get(code, ""),
                    *v[:3],
                    *(_fen(x) for x in v[3:]),
                )
                for code, v in sorted(self.operators.items())
            ),
            categories=tuple(
                CategoryTotals(name, v[0], _fen(v[1]), v[2], _fen(v[3]))
                for name, v in sorted(self.categories.items(), key=lambda kv: (not kv[0], kv[0]))
            ),
            hours=tuple(
                HourTotals(h, v[0], v[1], _fen(v[2]), _fen(v[3]))
                for h, v in sorted(self.hours.items())
            ),
        )


_NO_SUMS = (0,) * (1 + len(_FUND_KEYS))


def _column_sums(rows: Iterable[list[int]]) -> list[int]:
    total = list(_NO_SUMS)
    for row in rows:
        for n, value in enumerate(row):
            total[n] += value
    return total


def _settled_of(row) -> Settled:
    """``[count, *the FUNDS sums]`` as a Settled."""
    if not any(row):
        return _NO_SETTLEMENTS
    return Settled(
        count=int(row[0]), **{k: _fen(v) for k, v in zip(_FUND_KEYS, row[1:], strict=True)}
    )


_NO_SETTLEMENTS = Settled()


# -- the report ----------------------------------------------------------------------------------
def eod_report(
    date_from: date,
    date_to: date | None = None,
    *,
    station: str | None = None,
    progress: Progress | None = None,
) -> EodReport:
    """The end-of-day report of local days ``date_from`` to ``date_to`` (both included;
    ``None``: the one day), for ``station`` or the whole clinic (``None``).

    ``progress(done, total)`` is called before the first query and after each one.
    Raises :class:`InputError` for a period that ends before it starts or an unknown station.
    See the module's docstring for what is counted and when.
    """
    date_to = date_from if date_to is None else date_to
    if date_to < date_from:
        raise InputError(say("reports.eod.dates_reversed", date_to=date_to, date_from=date_from))
    db = database.obj
    if db is None:
        raise InputError(say("reports.eod.db_closed"))
    stations = dict(db.execute_sql("SELECT station_id, name FROM station").fetchall())
    if station is not None and station not in stations:
        raise InputError(say("reports.eod.no_station", station=station))
    queries = _queries(_hour_bucket(db), station is not None)
    postgres = _is_postgres(db)
    stamp: Callable[[date], Any] = (
        (lambda d: d) if postgres else (lambda d: d.isoformat())  # stored text on SQLite
    )
    params = [stamp(date_from), stamp(date_to)] + ([station] if station is not None else [])
    placeholder = db.param
    total_steps = len(queries) + 1
    results: dict[str, list[tuple]] = {}
    if progress:
        progress(0, total_steps)
    outer = db.in_transaction()  # then its own isolation stands (a savepoint cannot set one)
    with database.atomic():
        if postgres and not outer:  # every query sees one snapshot, as in SQLite's read txn
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        names = dict(db.execute_sql("SELECT code, name FROM operator").fetchall())
        head = db.execute_sql("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
        if progress:
            progress(1, total_steps)
        for done, (name, sql) in enumerate(queries.items(), 2):
            results[name] = list(db.execute_sql(sql.format(p=placeholder), params).fetchall())
            if progress:
                progress(done, total_steps)

    tallies: dict[str, _Tally] = {}
    clinic = _Tally()

    def both(station_id: str) -> tuple[_Tally, _Tally]:
        return tallies.setdefault(station_id, _Tally()), clinic

    for st, operator, status, kind, count, total, received, change in results["sales"]:
        for t in both(st):
            if status in SOLD:
                t.sales += count
                t.sales_total += int(total or 0)
                t.received += int(received or 0)
                t.change += int(change or 0)
                if kind == "insured":
                    t.insured_sales += count
                else:
                    t.selfpay_sales += count
                op = t.operator(operator)
                op[0] += count
                op[3] += int(total or 0)
                op[4] += int(received or 0)
            elif status == "voided":
                t.voids += count
                t.voids_total += int(total or 0)
                t.operator(operator)[1] += count
    for st, method, amount, trades in results["tenders"]:
        for t in both(st):
            t.tendered_by[method] = t.tendered_by.get(method, 0) + int(amount or 0)
            t.trades_by[method] = t.trades_by.get(method, 0) + int(trades or 0)
    for st, operator, count, sale_total, lines_total, amount in results["refunds"]:
        for t in both(st):
            t.refunds += count
            t.refunds_total += int(sale_total or 0)
            t.refunded_lines_total += int(lines_total or 0)
            t.refunded += int(amount or 0)
            op = t.operator(operator)
            op[2] += count
            op[5] += int(amount or 0)
    for st, method, amount in results["refund_tenders"]:
        for t in both(st):
            t.refunded_by[method] = t.refunded_by.get(method, 0) + int(amount or 0)
    for key in ("settled", "cancelled"):
        for st, insutype, *sums in results[key]:
            row = [int(v or 0) for v in sums]
            for t in both(st):
                book = t.settled if key == "settled" else t.cancelled
                have = book.setdefault(insutype, list(_NO_SUMS))
                for n, value in enumerate(row):
                    have[n] += value
    for key, offset in (("sale_lines", 0), ("refund_lines", 2)):
        for st, category, count, amount in results[key]:
            for t in both(st):
                c = t.category(category)
                c[offset] += count
                c[offset + 1] += int(amount or 0)
    local_hour = _LocalHours()
    for key, offset in (("sale_hours", 0), ("refund_hours", 1)):
        for st, bucket, count, amount in results[key]:
            hour = local_hour(bucket)
            for t in both(st):
                h = t.hour(hour)
                h[offset] += count
                h[offset + 2] += int(amount or 0)

    per_station = tuple(
        tallies[st].freeze(st, _station_label(st, stations), names) for st in sorted(tallies)
    )
    if station is not None:
        total = clinic.freeze(station, _station_label(station, stations), names)
    else:
        total = clinic.freeze("", CLINIC, names)
    return EodReport(
        date_from=date_from,
        date_to=date_to,
        station=station,
        generated_at=datetime.now().astimezone(),
        stations=per_station,
        total=total,
        audit_head=f"#{head[0]} {head[1][:16]}" if head and head[0] else "#0",
    )


def _station_label(station_id: str, names: dict[str, str]) -> str:
    name = names.get(station_id, "")
    return f"{station_id} {name}" if name and name != station_id else station_id


class _LocalHours:
    """A UTC ``YYYY-MM-DD HH`` bucket → the local hour (0–23), each bucket converted once."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, bucket: str) -> int:
        hour = self._seen.get(bucket)
        if hour is None:
            utc = datetime(
                int(bucket[:4]), int(bucket[5:7]), int(bucket[8:10]), int(bucket[11:13]), tzinfo=UTC
            )
            hour = self._seen[bucket] = utc.astimezone().hour
        return hour
