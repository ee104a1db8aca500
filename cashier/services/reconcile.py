"""Reconciliation with the insurer (医保对账): 3201 totals per group, 3202 details. No UI.

One day is reconciled for the whole database, every station of it: a clinic or
pharmacy reconciles as one ``fixmedins_code``, and every counter sharing the
database is that institution. The rules follow how the insurer counts (the
sandbox's ``reconcile_totals`` / ``reconcile_details``):

- A settlement belongs to the day the insurer booked it: the ``setl_time`` of its
  stored ``setlinfo`` (the insurer's local time), else ``settled_at`` (stored in
  UTC) in local time. So a sale settled at 23:59 and paid at 00:01 is still
  the day the insurer counts it.
- A cancelled settlement (``status`` cancelled: a refund's 2208 / 2103, or a
  recovery) does not count at all, on the day it was made or any other: the
  insurer drops a cancelled settlement from 3201 and flags it ``refd_setl_flag``
  "1" in 3202's file, which is read the same way: not a settlement of the day.
- 3201 is sent once per (``insutype``, ``clr_type``) that the cashier has that
  day, with its totals: ``medfee_sumamt``, ``fund_pay_sumamt``, ``acct_pay`` and
  the count; the insurer answers 平 ("0") or 不平 ("1") for the group.
  ``setl_optins`` is the station's area (``settings.admvs``).
- 3202 is run once for the day as real gateways run it, a file each way (9101
  upload, 3202 with its ``file_qury_no`` and the day's whole totals, 9102
  download: :func:`detail_from_insurer`), for every group, so that a settlement in
  a group the cashier does not have at all is found too. Its rows are matched to
  the cashier's by
  ``setl_id`` (by ``msgid`` when one side has no ``setl_id``): a match whose
  amounts differ is ``amount_differs`` (each field, both values); a settlement
  only here is ``missing_at_insurer``; one only at the insurer is
  ``missing_here``, with what the cashier knows of it anyway (a local row of
  another day or cancelled here; a 2207 / 2102 in the journal whose sale never
  completed).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier.insurer import protocol
from cashier.insurer.protocol import INSUTYPES, ReconDetail, ReconTotals
from cashier.messages import say
from cashier.services import audit
from cashier.services.operators import Role, SignedIn
from cashier.store.models import InsuredSettlement, InsurerCall, Sale

#: 清算类别 (clr_type).
CLR_TYPES = {"11": "门诊", "41": "药店购药", "99": "其他"}
#: The amounts 3201 and 3202 compare, with their names on screen.
FIELDS = (
    ("medfee_sumamt", "医疗费总额"),
    ("fund_pay_sumamt", "基金支付"),
    ("acct_pay", "个人账户"),
)
FIELD_LABELS = dict(FIELDS)


class MismatchKind(StrEnum):
    MISSING_AT_INSURER = "missing_at_insurer"
    MISSING_HERE = "missing_here"
    AMOUNT_DIFFERS = "amount_differs"

    @property
    def label(self) -> str:
        return {
            "missing_at_insurer": "平台无此笔",
            "missing_here": "本地无此笔",
            "amount_differs": "金额不符",
        }[self.value]


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    count: int
    medfee_sumamt: Fen
    fund_pay_sumamt: Fen
    acct_pay: Fen

    @classmethod
    def of(cls, rows: Iterable[LocalSettlement | ReconDetail]) -> Totals:
        rows = list(rows)
        return cls(
            len(rows),
            Fen.total(r.medfee_sumamt for r in rows),
            Fen.total(r.fund_pay_sumamt for r in rows),
            Fen.total(r.acct_pay for r in rows),
        )


@dataclass(frozen=True)
class LocalSettlement:
    """One settlement as the cashier stored it, with its sale: the drill-down."""

    sale_id: int
    receipt_no: str
    station: str
    operator: str
    kind: str  # clinic | pharmacy
    status: str  # settled | cancelled
    setl_id: str
    msgid: str
    mdtrt_id: str
    insutype: str
    clr_type: str
    med_type: str
    psn_name: str  # masked
    certno: str  # masked
    medfee_sumamt: Fen
    fund_pay_sumamt: Fen
    acct_pay: Fen
    psn_cash_pay: Fen
    sale_total: Fen
    settled_at: datetime  # local time
    day: date  # the day the insurer books it
    psn_no: str = ""  # the insurer's person number, for 3202's upload

    @property
    def group(self) -> tuple[str, str]:
        return (self.insutype, self.clr_type)

    @classmethod
    def from_row(cls, row: InsuredSettlement) -> LocalSettlement:
        sale = row.sale
        settled_at = local_time(row.settled_at)
        return cls(
            sale_id=sale.id,
            receipt_no=sale.receipt_no or "",
            station=row.station,
            operator=sale.operator_id,
            kind=row.kind,
            status=row.status,
            setl_id=row.setl_id,
            msgid=row.msgid,
            mdtrt_id=row.mdtrt_id,
            insutype=row.insutype,
            clr_type=row.clr_type or ("41" if row.kind == "pharmacy" else "11"),
            med_type=row.med_type,
            psn_name=row.psn_name,
            certno=row.certno,
            psn_no=row.psn_no,
            medfee_sumamt=row.medfee_sumamt,
            fund_pay_sumamt=row.fund_pay_sumamt,
            acct_pay=row.acct_pay,
            psn_cash_pay=row.psn_cash_pay,
            sale_total=sale.total,
            settled_at=settled_at,
            day=_booked_day(row.setlinfo) or settled_at.date(),
        )


@dataclass(frozen=True)
class GroupResult:
    """One 3201: the cashier's totals of a group and the insurer's 平 / 不平."""

    insutype: str
    clr_type: str
    ours: Totals
    balanced: bool
    stmt_rslt: str
    description: str = ""

    @property
    def label(self) -> str:
        return group_label(self.insutype, self.clr_type)


@dataclass(frozen=True)
class Difference:
    field: str
    ours: Fen
    theirs: Fen

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    def __str__(self) -> str:
        return f"{self.label} 本地 {self.ours.display()} / 平台 {self.theirs.display()}"


@dataclass(frozen=True)
class Mismatch:
    """A settlement on which the two sides disagree. ``local`` is the cashier's row (None
    when it has none), ``theirs`` the insurer's 3202 row (None when it has none)."""

    kind: MismatchKind
    setl_id: str
    msgid: str
    local: LocalSettlement | None
    theirs: ReconDetail | None
    differences: tuple[Difference, ...] = ()
    note: str = ""

    @property
    def receipt_no(self) -> str:
        return self.local.receipt_no if self.local else ""

    @property
    def summary(self) -> str:
        if self.kind is MismatchKind.AMOUNT_DIFFERS:
            text = "；".join(str(d) for d in self.differences)
        else:
            side = self.local if self.kind is MismatchKind.MISSING_AT_INSURER else self.theirs
            text = f"医疗费 {side.medfee_sumamt.display()}" if side is not None else ""
        return "，".join(filter(None, (text, self.note)))


@dataclass(frozen=True)
class Reconciliation:
    day: date
    fixmedins_code: str
    groups: tuple[GroupResult, ...]
    matched: tuple[LocalSettlement, ...]
    mismatches: tuple[Mismatch, ...]
    insurer_count: int  # settlements in the insurer's 3202

    @property
    def ours(self) -> Totals:
        return Totals.of([*self.matched, *(m.local for m in self.mismatches if _counted_here(m))])

    @property
    def balanced(self) -> bool:
        """平: every group balanced and every settlement matched."""
        return all(g.balanced for g in self.groups) and not self.mismatches

    def of_kind(self, kind: MismatchKind) -> tuple[Mismatch, ...]:
        return tuple(m for m in self.mismatches if m.kind is kind)


def _counted_here(m: Mismatch) -> bool:
    return m.local is not None and m.kind is not MismatchKind.MISSING_HERE


# -- reading the cashier's books ----------------------------------------------------------------
def local_time(utc_naive: datetime) -> datetime:
    """A stored (UTC, naive) time in local time, naive."""
    return utc_naive.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def utc_bounds(day: date) -> tuple[datetime, datetime]:
    """The local calendar day as stored times (UTC, naive): [start, end)."""

    def utc(d: date) -> datetime:
        return datetime.combine(d, time.min).astimezone().astimezone(UTC).replace(tzinfo=None)

    return utc(day), utc(day + timedelta(days=1))


def _booked_day(setlinfo: str) -> date | None:
    try:
        text = str(json.loads(setlinfo or "{}").get("setl_time") or "")
        return date.fromisoformat(text[:10]) if text else None
    except (ValueError, AttributeError):
        return None


def detail_from_insurer(client, operator, period: dict, ours: list[LocalSettlement]):
    """3202 as real gateways run it: the day's settlements uploaded as a file (9101), 3202
    with its ``file_qury_no`` and the day's totals, the answer's file downloaded (9102) and
    read into rows."""
    code = client.caller.fixmedins_code
    text = protocol.recon_upload_file(
        {
            "setl_id": s.setl_id,
            "mdtrt_id": s.mdtrt_id,
            "psn_no": s.psn_no,
            "medfee_sumamt": s.medfee_sumamt,
            "fund_pay_sumamt": s.fund_pay_sumamt,
            "acct_pay": s.acct_pay,
            "refd_setl_flag": "0",
        }
        for s in ours
    )
    name = f"{code}{datetime.now():%Y%m%d%H%M%S}"
    data = protocol.zip_text(f"{name}.txt", text)
    uploaded = protocol.FileInfo.from_json(
        client.call(
            "9101",
            protocol.input_9101(filename=f"{name}.txt.zip", data=data, fixmedins_code=code),
            operator=operator,
        )
    )
    totals = Totals.of(ours)
    output = client.call(
        "3202",
        protocol.input_3202(
            **period,
            file_qury_no=uploaded.file_qury_no,
            medfee_sumamt=totals.medfee_sumamt,
            fund_pay_sumamt=totals.fund_pay_sumamt,
            cash_payamt=Fen.total(s.psn_cash_pay for s in ours),
            fixmedins_setl_cnt=totals.count,
        ),
        operator=operator,
    )
    result = protocol.FileInfo.from_json(output.get("fileinfo"))
    answer = client.download(
        protocol.input_9102(
            file_qury_no=result.file_qury_no, filename=result.filename, fixmedins_code=code
        ),
        operator=operator,
    )
    return protocol.read_recon_result(answer)


def local_settlements(day: date) -> list[LocalSettlement]:
    """The day's settlements that count (status settled), every station, oldest first.

    Read a day either side of the local day's stored bounds, then kept by the day
    the insurer booked each one."""
    start, end = utc_bounds(day)
    rows = (
        InsuredSettlement.select(InsuredSettlement, Sale)
        .join(Sale)
        .where(
            (InsuredSettlement.settled_at >= start - timedelta(days=1))
            & (InsuredSettlement.settled_at < end + timedelta(days=1))
            & (InsuredSettlement.status == "settled")
        )
        .order_by(InsuredSettlement.settled_at, InsuredSettlement.id)
    )
    found = (LocalSettlement.from_row(r) for r in rows)
    return [s for s in found if s.day == day]


def group_totals(rows: Iterable[LocalSettlement]) -> dict[tuple[str, str], Totals]:
    """Totals per (insutype, clr_type), in code order."""
    groups: dict[tuple[str, str], list[LocalSettlement]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    return {key: Totals.of(groups[key]) for key in sorted(groups)}


#: Short insurance names, where a table column is narrow.
INSUTYPE_SHORT = {
    "310": "职工医保",
    "320": "公务员补助",
    "330": "大额补助",
    "390": "居民医保",
    "392": "居民大病",
    "510": "生育保险",
}


def group_label(insutype: str, clr_type: str, *, short: bool = False) -> str:
    """``310 职工基本医疗保险 · 11 门诊`` (``short``: ``310 职工医保 · 11 门诊``)."""
    names = INSUTYPE_SHORT if short else INSUTYPES
    parts = (insutype, names.get(insutype, ""), "·", clr_type, CLR_TYPES.get(clr_type, ""))
    return " ".join(p for p in parts if p)


# -- matching -----------------------------------------------------------------------------------
def compare(
    ours: Sequence[LocalSettlement], theirs: Sequence[ReconDetail]
) -> tuple[tuple[LocalSettlement, ...], tuple[Mismatch, ...]]:
    """Match the cashier's settlements with the insurer's 3202 rows: (matched, mismatches).

    Mismatches come in the order: amounts that differ and settlements the insurer
    lacks (in the cashier's order), then settlements only the insurer has."""
    counted = [t for t in theirs if t.refd_setl_flag != "1"]
    by_setl = {t.setl_id: t for t in counted if t.setl_id}
    by_msgid = {t.msgid: t for t in counted if t.msgid}
    used: set[int] = set()
    matched: list[LocalSettlement] = []
    mismatches: list[Mismatch] = []
    for o in ours:
        t = by_setl.get(o.setl_id) if o.setl_id else None
        if t is None and o.msgid:
            candidate = by_msgid.get(o.msgid)
            if candidate is not None and not (o.setl_id and candidate.setl_id):
                t = candidate  # by msgid only when one side has no setl_id
        if t is None or id(t) in used:
            mismatches.append(
                Mismatch(MismatchKind.MISSING_AT_INSURER, o.setl_id, o.msgid, o, None)
            )
            continue
        used.add(id(t))
        differences = tuple(
            Difference(name, getattr(o, name), getattr(t, name))
            for name, _ in FIELDS
            if getattr(o, name) != getattr(t, name)
        )
        if differences:
            mismatches.append(
                Mismatch(
                    MismatchKind.AMOUNT_DIFFERS, o.setl_id, o.msgid, o, t, differences=differences
                )
            )
        else:
            matched.append(o)
    for t in counted:
        if id(t) not in used:
            local, note = what_we_know(t)
            mismatches.append(
                Mismatch(MismatchKind.MISSING_HERE, t.setl_id, t.msgid, local, t, note=note)
            )
    return tuple(matched), tuple(mismatches)


def what_we_know(theirs: ReconDetail) -> tuple[LocalSettlement | None, str]:
    """What the cashier knows of a settlement only the insurer lists for the day: a local
    row of another day or cancelled here, or a settlement message in the journal."""
    query = InsuredSettlement.select()
    row = None
    if theirs.setl_id:
        row = query.where(InsuredSettlement.setl_id == theirs.setl_id).first()
    if row is None and theirs.msgid:
        row = query.where(InsuredSettlement.msgid == theirs.msgid).first()
    if row is not None:
        local = LocalSettlement.from_row(row)
        if local.status == "cancelled":
            return local, say("reconcile.cancelled_here")
        return local, say("reconcile.kept_on", day=local.day.isoformat())
    call = InsurerCall.get_or_none(InsurerCall.msgid == theirs.msgid) if theirs.msgid else None
    if call is not None:
        name = protocol.TRANSACTIONS.get(call.infno, call.infno)
        return None, say(
            "reconcile.sent_unfinished", name=name, station=call.station, status=call.status
        )
    return None, say("reconcile.no_record")


# -- asking the insurer -------------------------------------------------------------------------
def reconcile_day(client, settings, day: date, who: SignedIn) -> Reconciliation:
    """Reconcile ``day`` (local calendar day) with the insurer: 3201 per group, one 3202.

    ``client`` is a :class:`cashier.insurer.client.InsurerClient`; ``who`` must be a
    supervisor (收费组长). Raises what the client raises (unreachable, refused)."""
    who.require(Role.SUPERVISOR)
    if day > date.today():
        raise InputError(say("reconcile.future"))
    operator = (who.code, who.name)
    ours = local_settlements(day)
    period = {
        "setl_optins": settings.admvs,
        "stmt_begndate": day,
        "stmt_enddate": day,
    }
    groups = []
    for (insutype, clr_type), totals in group_totals(ours).items():
        output = client.call(
            "3201",
            protocol.input_3201(insutype=insutype, clr_type=clr_type, **period, **_sums(totals)),
            operator=operator,
        )
        answer = ReconTotals.from_json(output)
        groups.append(
            GroupResult(
                insutype,
                clr_type,
                totals,
                answer.balanced,
                answer.stmt_rslt,
                answer.stmt_rslt_dscr,
            )
        )
    theirs = detail_from_insurer(client, operator, period, ours)
    matched, mismatches = compare(ours, theirs)
    result = Reconciliation(
        day=day,
        fixmedins_code=client.caller.fixmedins_code,
        groups=tuple(groups),
        matched=matched,
        mismatches=mismatches,
        insurer_count=sum(1 for t in theirs if t.refd_setl_flag != "1"),
    )
    audit.record(
        settings.station_id,
        "insurer.reconcile",
        operator=who.code,
        subject=day.isoformat(),
        balanced=result.balanced,
        groups=len(groups),
        matched=len(matched),
        mismatches={k.value: len(result.of_kind(k)) for k in MismatchKind},
    )
    return result


def _sums(t: Totals) -> dict:
    return {
        "medfee_sumamt": t.medfee_sumamt,
        "fund_pay_sumamt": t.fund_pay_sumamt,
        "acct_pay": t.acct_pay,
        "fixmedins_setl_cnt": t.count,
    }


def parse_day(text: str, *, today: date | None = None) -> date:
    """What the supervisor types: ``2026-05-01``, ``20260501``, ``2026/5/1``; empty is today."""
    today = today or date.today()
    raw = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace(".", "-")
    if not raw:
        return today
    try:
        if raw.isdigit() and len(raw) == 8:
            day = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        else:
            y, m, d = (int(p) for p in raw.split("-"))
            day = date(y, m, d)
    except ValueError:
        raise InputError(say("reconcile.not_date", text=text, today=today.isoformat())) from None
    if day > today:
        raise InputError(say("reconcile.future"))
    return day


# -- the workbook for finance -------------------------------------------------------------------
def write_xlsx(result: Reconciliation, path, *, clinic_name: str, training: bool = False):
    """The day's reconciliation as a workbook (``recon-YYYY-MM-DD.xlsx``): its verdict,
    the groups as 3201 answered them, every mismatch with both sides' figures, and the
    settlements that matched. The same figures as the screen; amounts as numeric cells."""
    from cashier.reports.render import Table, write_workbook

    def yuan(amount: Fen | None) -> str:
        return str(amount) if amount is not None else ""

    heading = [
        ("医保对账", clinic_name),
        ("日期", result.day.isoformat()),
        ("定点机构", result.fixmedins_code),
        ("结果", "平" if result.balanced else "不平"),
        ("本地笔数", str(result.ours.count)),
        ("平台笔数", str(result.insurer_count)),
        ("已核对", str(len(result.matched))),
    ]
    if training:
        heading.append(("培训模式", "数据仅供练习"))
    groups = Table(
        "对账汇总（3201）",
        ("险种 · 清算类别", "结果", "笔数", "医疗费总额", "基金支付", "个人账户", "说明"),
        tuple(
            (group_label(g.insutype, g.clr_type), "平" if g.balanced else "不平",
             str(g.ours.count), yuan(g.ours.medfee_sumamt), yuan(g.ours.fund_pay_sumamt),
             yuan(g.ours.acct_pay), g.description)
            for g in result.groups
        ),
        text_columns=2,
    )  # fmt: skip
    mismatches = Table(
        "不符明细（3202）",
        ("类型", "结算ID", "收据号", "医疗费（本地）", "医疗费（平台）", "基金（本地）",
         "基金（平台）", "个账（本地）", "个账（平台）", "说明"),
        tuple(
            (m.kind.label, m.setl_id, m.receipt_no,
             yuan(m.local.medfee_sumamt if m.local else None),
             yuan(m.theirs.medfee_sumamt if m.theirs else None),
             yuan(m.local.fund_pay_sumamt if m.local else None),
             yuan(m.theirs.fund_pay_sumamt if m.theirs else None),
             yuan(m.local.acct_pay if m.local else None),
             yuan(m.theirs.acct_pay if m.theirs else None), m.summary)
            for m in result.mismatches
        ),
        text_columns=3,
    )  # fmt: skip
    matched = Table(
        "已核对",
        ("收据号", "结算ID", "险种 · 清算类别", "结算时间", "医疗费总额", "基金支付",
         "个人账户", "现金"),
        tuple(
            (s.receipt_no, s.setl_id, group_label(s.insutype, s.clr_type),
             f"{s.settled_at:%Y-%m-%d %H:%M:%S}", yuan(s.medfee_sumamt),
             yuan(s.fund_pay_sumamt), yuan(s.acct_pay), yuan(s.psn_cash_pay))
            for s in result.matched
        ),
        text_columns=4,
    )  # fmt: skip
    return write_workbook(path, heading, (groups, mismatches, matched))
