"""The sandbox insurer's outpatient settlement rules: who pays what, to the fen.

A :class:`Policy` holds every number (read from ``default_policy.toml`` or a
file like it); :meth:`Policy.settle` applies them, in the order of "The
sandbox's default policy" in the insurer-interface document, to a
:class:`SettlementRequest` and the insurer's 医保目录. The result is shaped like
``setlinfo``, ``setldetail[]`` and the per-line ``result[]`` / ``detlcutinfo[]``.

Pure functions over frozen values: no I/O but reading the policy file, no
floats, every rounding explicit and ROUND_HALF_UP to the fen.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from cashier.domain.money import Fen, MoneyError
from cashier.errors import CashierError

__all__ = [
    "FILINGS",
    "GROUPS",
    "MED_TYPES",
    "CatalogEntry",
    "FeeLine",
    "FundPayment",
    "GroupRule",
    "InsuredPerson",
    "LineSplit",
    "Policy",
    "PolicyFileError",
    "PolicyRefusal",
    "SettlementRequest",
    "SettlementResult",
    "YearToDate",
    "check_invariants",
    "split_line",
]

EMPLOYEE = "310"
RESIDENT = "390"
PHARMACY = "41"
#: 普通门诊, 急诊, 门诊慢特病, 定点药店购药
MED_TYPES = frozenset({"11", "13", "14", "41"})
LEVELS = (1, 2, 3)
FILINGS = ("none", "long_term", "temporary_referral", "temporary_emergency", "temporary_other")
#: The insured groups the policy file gives numbers for; see :meth:`Policy.group_of`.
GROUPS = ("employee", "retiree", "retiree_elderly", "resident")

CLASS_A, CLASS_B, CLASS_C = "01", "02", "03"  # chrgitm_lv: 甲, 乙, 丙 (and outside the 目录)

FUND_EMPLOYEE_POOL = "310100"
FUND_EMPLOYEE_ACCOUNT = "310200"
FUND_CIVIL_SERVANT = "320100"
FUND_RESIDENT_POOL = "390100"
FUND_NAMES = {
    FUND_EMPLOYEE_POOL: "职工基本医疗保险统筹基金",
    FUND_EMPLOYEE_ACCOUNT: "职工基本医疗保险个人账户",
    FUND_CIVIL_SERVANT: "公务员医疗补助资金",
    FUND_RESIDENT_POOL: "城乡居民基本医疗保险基金",
}

#: Insurances that only add to a basic one: paid within its settlement, never settled alone.
_SETTLED_WITH = {"320": EMPLOYEE, "330": EMPLOYEE, "392": RESIDENT}
_INSUTYPE_NAMES = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "390": "城乡居民基本医疗保险",
    "392": "城乡居民大病医疗保险",
    "510": "生育保险",
}
_NOT_FILED = "未办理异地就医备案，请按自费结算后回参保地报销"
_SUSPENDED = "参保状态异常（暂停参保），不能医保结算，请按自费结算"
_FILING_NAMES = {
    "long_term": "长期备案",
    "temporary_referral": "转诊备案",
    "temporary_emergency": "急诊备案",
    "temporary_other": "临时外出备案",
}
_ZERO_RATIO = Decimal("0.00")
_FULL_RATIO = Decimal("1.00")


class PolicyRefusal(CashierError):
    """The insurer will not settle this directly; the message says what to do instead."""


class PolicyFileError(CashierError):
    """A policy file that cannot be read or has a bad setting, named in the message."""


# -- what comes in --------------------------------------------------------------
@dataclass(frozen=True)
class CatalogEntry:
    """One row of the insurer's 医保目录."""

    med_list_codg: str
    name: str
    list_class: str  # "甲" | "乙" | "丙"
    selfpay_prop: Decimal  # 乙类 first self-pay ratio, e.g. Decimal("0.10"); 甲 0; 丙 1
    price_cap: Fen | None  # unit price cap, None = none


@dataclass(frozen=True)
class FeeLine:
    """One uploaded fee line (2204 ``feedetail`` / 2101 ``drugdetail``)."""

    feedetl_sn: str
    med_list_codg: str
    cnt: Decimal  # quantity, may be fractional
    pric: Fen  # unit price
    det_item_fee_sumamt: Fen  # line amount (= pric × cnt, rounded half up, as sent)


@dataclass(frozen=True)
class InsuredPerson:
    """Who is being settled, as the insurer knows them (1101 ``baseinfo``/``insuinfo``)."""

    psn_no: str
    insutype: str  # "310" 职工 | "390" 城乡居民; others are refused
    retired: bool
    age: int
    cvlserv_flag: bool  # civil servant subsidy
    insuplc_admdvs: str  # insured region (6 digits)
    filing: str  # cross-region filing, one of FILINGS
    insured: bool = True  # False: insurance suspended → PolicyRefusal


@dataclass(frozen=True)
class YearToDate:
    """What this year's outpatient care has already used."""

    deductible_used: Fen
    pooled_paid: Fen


@dataclass(frozen=True)
class SettlementRequest:
    """One settlement (2206/2207 or 2101/2102) with everything the rules need."""

    person: InsuredPerson
    ytd: YearToDate
    account_balance: Fen  # the person's own personal account (0 for residents)
    family_account_balance: Fen  # a linked family member's account for 共济 (0 if none)
    acct_used_flag: bool
    med_type: str  # "11" 普通门诊, "13" 急诊, "14" 门诊慢特病, "41" 定点药店购药
    hospital_level: int  # 1, 2 or 3
    mdtrtarea_admvs: str  # treatment region (6 digits)
    lines: tuple[FeeLine, ...]


# -- what goes out ----------------------------------------------------------------
@dataclass(frozen=True)
class LineSplit:
    """One line's split (2204 ``result[]`` / 2101 ``detlcutinfo[]``)."""

    feedetl_sn: str
    det_item_fee_sumamt: Fen
    selfpay_prop: Decimal
    fulamt_ownpay_amt: Fen
    overlmt_amt: Fen
    preselfpay_amt: Fen
    inscp_scp_amt: Fen
    chrgitm_lv: str  # "01" 甲, "02" 乙, "03" 丙 (and items not in the 目录)


@dataclass(frozen=True)
class FundPayment:
    """One ``setldetail[]`` entry."""

    fund_pay_type: str  # 310100, 310200, 320100, 390100, ...
    fund_pay_type_name: str
    inscp_scp_amt: Fen
    fund_payamt: Fen
    crt_payb_lmt_amt: Fen  # the cap remaining after this settlement, 0 when not applicable
    setl_proc_info: str


@dataclass(frozen=True)
class SettlementResult:
    """``setlinfo`` and ``setldetail[]`` of one settlement, plus the state after it."""

    lines: tuple[LineSplit, ...]
    medfee_sumamt: Fen
    fulamt_ownpay_amt: Fen
    overlmt_selfpay: Fen
    preselfpay_amt: Fen
    inscp_scp_amt: Fen
    act_pay_dedc: Fen
    hifp_pay: Fen
    pool_prop_selfpay: Decimal  # the person's share ratio of the pooled part
    cvlserv_pay: Fen
    hifes_pay: Fen
    hifmi_pay: Fen
    hifob_pay: Fen
    maf_pay: Fen
    oth_pay: Fen
    fund_pay_sumamt: Fen
    psn_part_amt: Fen
    acct_pay: Fen  # all personal-account money, own + family (共济)
    acct_mulaid_pay: Fen  # the part of acct_pay drawn from the family account
    psn_cash_pay: Fen
    hosp_part_amt: Fen
    balc: Fen  # own account balance after
    family_balc: Fen  # family account balance after
    ytd_after: YearToDate
    fund_details: tuple[FundPayment, ...]


# -- the rules --------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupRule:
    """One insured group's outpatient numbers; tuples are by level (一级, 二级, 三级)."""

    deductible: tuple[Fen, Fen, Fen]  # annual outpatient deductible (起付线)
    pooled_ratio: tuple[Decimal, Decimal, Decimal]  # the pooled fund's share
    pooled_cap: Fen  # annual pooled-fund cap (年度最高支付限额)


@dataclass(frozen=True)
class Policy:
    """Every number of the outpatient settlement rules; :meth:`settle` applies them."""

    groups: Mapping[str, GroupRule] = field(hash=False)  # keyed by GROUPS
    elderly_age: int
    cross_region_ratio_cut: Mapping[str, Decimal] = field(hash=False)  # by filing, not "none"
    civil_servant_ratio: Decimal
    account_pays_class_c: bool
    pharmacy_uses_pool: bool
    #: 单次结算限额 by med_type: a settlement above it is refused; a med_type not listed has none.
    settlement_limit: Mapping[str, Fen] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        """Read a policy TOML file; ``None`` reads the packaged ``default_policy.toml``."""
        if path is None:
            where = "default_policy.toml"
            resource = resources.files("cashier_sandbox").joinpath(where)
            text = resource.read_text(encoding="utf-8")
        else:
            where = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PolicyFileError(f"无法读取结算政策文件 {where}：{exc}") from None
        try:
            # Decimal for every TOML float: amounts and ratios stay exactly as written.
            raw = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyFileError(f"结算政策文件 {where} 格式错误：{exc}") from None
        return _policy_from_toml(raw, where)

    def group_of(self, person: InsuredPerson) -> str:
        """The person's group in :data:`GROUPS`; other insurance types are refused."""
        if person.insutype == RESIDENT:
            return "resident"
        if person.insutype == EMPLOYEE:
            if not person.retired:
                return "employee"
            return "retiree_elderly" if person.age >= self.elderly_age else "retiree"
        name = _INSUTYPE_NAMES.get(person.insutype, "")
        base = _SETTLED_WITH.get(person.insutype)
        if base is not None:
            raise PolicyRefusal(
                f"险种 {person.insutype} {name}不能单独结算，"
                f"请改选险种 {base} {_INSUTYPE_NAMES[base]}结算"
            )
        raise PolicyRefusal(f"险种 {person.insutype} {name}不能在此直接结算门诊费用，请按自费结算")

    def pooled_ratio(self, request: SettlementRequest) -> Decimal:
        """The pooled fund's share for this visit, cross-region cut included."""
        rule = self.groups[self.group_of(request.person)]
        ratio = rule.pooled_ratio[_level_index(request.hospital_level)]
        if _cross_region(request):
            filing = _filing(request.person)
            if filing == "none":
                raise PolicyRefusal(_NOT_FILED)
            ratio = max(_ZERO_RATIO, ratio - self.cross_region_ratio_cut[filing])
        return ratio

    def settle(
        self, request: SettlementRequest, catalog: Mapping[str, CatalogEntry]
    ) -> SettlementResult:
        """Split a settlement between the funds, the accounts and the person's cash.

        Raises :class:`PolicyRefusal` (a message for the cashier) when the
        insurer would not settle it directly, ``ValueError`` for state that
        no insurer could hold (a negative balance, an unknown filing).
        """
        _check_request(request)
        person, ytd = request.person, request.ytd
        rule = self.groups[self.group_of(person)]
        if _cross_region(request) and _filing(person) == "none":
            raise PolicyRefusal(_NOT_FILED)
        level = _level_index(request.hospital_level)
        lines = tuple(split_line(line, catalog.get(line.med_list_codg)) for line in request.lines)
        medfee = Fen.total(s.det_item_fee_sumamt for s in lines)
        limit = self.settlement_limit.get(request.med_type)
        if limit is not None and medfee > limit:
            raise PolicyRefusal(
                f"本次医疗费用 {medfee} 元超过单次结算限额 {limit} 元，请分次结算或按自费结算"
            )
        fulamt = Fen.total(s.fulamt_ownpay_amt for s in lines)
        overlmt = Fen.total(s.overlmt_amt for s in lines)
        preselfpay = Fen.total(s.preselfpay_amt for s in lines)
        inscp = Fen.total(s.inscp_scp_amt for s in lines)

        details: list[FundPayment] = []
        employee = person.insutype == EMPLOYEE
        if request.med_type != PHARMACY or self.pharmacy_uses_pool:
            ratio = self.pooled_ratio(request)
            deductible = rule.deductible[level]
            dedc = min(inscp, _at_least_zero(deductible - ytd.deductible_used))
            cap_left = _at_least_zero(rule.pooled_cap - ytd.pooled_paid)
            hifp = min((inscp - dedc).mul_ratio(ratio), cap_left)
            cvlserv = Fen(0)
            if person.cvlserv_flag:
                cvlserv = (inscp - hifp).mul_ratio(self.civil_servant_ratio)
            if hifp:
                fund = FUND_EMPLOYEE_POOL if employee else FUND_RESIDENT_POOL
                info = (
                    f"起付标准{deductible}元，本年已付起付{ytd.deductible_used}元，"
                    f"本次起付{dedc}元；支付比例{_percent(ratio)}%"
                    f"{self._cross_region_note(request)}；"
                    f"年度限额{rule.pooled_cap}元，本次后剩余{cap_left - hifp}元"
                )
                details.append(_payment(fund, inscp, hifp, cap_left - hifp, info))
            if cvlserv:
                info = (
                    f"符合范围个人负担{inscp - hifp}元 × 补助比例"
                    f"{_percent(self.civil_servant_ratio)}%"
                )
                details.append(_payment(FUND_CIVIL_SERVANT, inscp, cvlserv, Fen(0), info))
        else:
            ratio, dedc, hifp, cvlserv = _ZERO_RATIO, Fen(0), Fen(0), Fen(0)

        # hifes/hifmi/hifob/maf/oth and the hospital's share are 0 under this policy.
        fund_sum = hifp + cvlserv
        hosp_part = Fen(0)
        psn_part = medfee - fund_sum - hosp_part
        payable = psn_part if self.account_pays_class_c else psn_part - fulamt
        own = family = Fen(0)
        if request.acct_used_flag:
            if employee:  # residents have no personal account of their own
                own = min(payable, request.account_balance)
            family = min(payable - own, request.family_account_balance)
        acct_pay = own + family
        balc = request.account_balance - own
        family_balc = request.family_account_balance - family
        if acct_pay:
            info = f"本人账户支付{own}元，余额{balc}元；共济账户支付{family}元，余额{family_balc}元"
            details.append(_payment(FUND_EMPLOYEE_ACCOUNT, inscp, acct_pay, Fen(0), info))

        return SettlementResult(
            lines=lines,
            medfee_sumamt=medfee,
            fulamt_ownpay_amt=fulamt,
            overlmt_selfpay=overlmt,
            preselfpay_amt=preselfpay,
            inscp_scp_amt=inscp,
            act_pay_dedc=dedc,
            hifp_pay=hifp,
            pool_prop_selfpay=_FULL_RATIO - ratio,
            cvlserv_pay=cvlserv,
            hifes_pay=Fen(0),
            hifmi_pay=Fen(0),
            hifob_pay=Fen(0),
            maf_pay=Fen(0),
            oth_pay=Fen(0),
            fund_pay_sumamt=fund_sum,
            psn_part_amt=psn_part,
            acct_pay=acct_pay,
            acct_mulaid_pay=family,
            psn_cash_pay=psn_part - acct_pay,
            hosp_part_amt=hosp_part,
            balc=balc,
            family_balc=family_balc,
            ytd_after=YearToDate(ytd.deductible_used + dedc, ytd.pooled_paid + hifp),
            fund_details=tuple(sorted(details, key=lambda d: d.fund_pay_type)),
        )

    def _cross_region_note(self, request: SettlementRequest) -> str:
        if not _cross_region(request):
            return ""
        filing = _filing(request.person)
        cut = self.cross_region_ratio_cut[filing]
        return f"（异地就医{_FILING_NAMES[filing]}，下调{_percent(cut)}个百分点）"


def split_line(line: FeeLine, entry: CatalogEntry | None) -> LineSplit:
    """One fee line's split by the 目录 entry for its code (``None``: not in the 目录).

    丙类 and codes outside the 目录 are wholly self-paid; otherwise the part of
    the unit price above the cap times the quantity is over the limit, 乙类's
    first self-pay is (amount − over-cap part) × ``selfpay_prop`` (each
    ROUND_HALF_UP to the fen), and the rest is within range. A line whose
    amount is not price × quantity is refused, as the insurer refuses it at upload.
    """
    _check_line(line)
    amount = line.det_item_fee_sumamt
    if entry is None or entry.list_class == "丙":
        return LineSplit(
            feedetl_sn=line.feedetl_sn,
            det_item_fee_sumamt=amount,
            selfpay_prop=_FULL_RATIO,
            fulamt_ownpay_amt=amount,
            overlmt_amt=Fen(0),
            preselfpay_amt=Fen(0),
            inscp_scp_amt=Fen(0),
            chrgitm_lv=CLASS_C,
        )
    if entry.list_class == "甲":
        prop, level = _ZERO_RATIO, CLASS_A
    elif entry.list_class == "乙":
        prop, level = entry.selfpay_prop, CLASS_B
        if not (isinstance(prop, Decimal) and prop.is_finite() and 0 <= prop <= 1):
            raise ValueError(f"目录 {entry.med_list_codg}: selfpay_prop {prop!r} not in 0..1")
    else:
        raise ValueError(f"目录 {entry.med_list_codg}: list_class {entry.list_class!r}")
    over = Fen(0)
    if entry.price_cap is not None:
        if entry.price_cap < 0:
            raise ValueError(f"目录 {entry.med_list_codg}: negative price_cap")
        if line.pric > entry.price_cap:
            over = min(amount, (line.pric - entry.price_cap).mul_ratio(line.cnt))
    pre = (amount - over).mul_ratio(prop)
    return LineSplit(
        feedetl_sn=line.feedetl_sn,
        det_item_fee_sumamt=amount,
        selfpay_prop=prop,
        fulamt_ownpay_amt=Fen(0),
        overlmt_amt=over,
        preselfpay_amt=pre,
        inscp_scp_amt=amount - over - pre,
        chrgitm_lv=level,
    )


def check_invariants(result: SettlementResult) -> list[str]:
    """Each broken money invariant of a settlement, described; ``[]`` when all hold.

    The per-line rule is the general form of the documented one: the first
    self-pay is taken from what is left after the 全自费 and over-cap parts,
    so it is 0 on 丙类 lines and smaller on lines priced above their cap.
    """
    problems: list[str] = []

    def need(ok: bool, text: str) -> None:
        if not ok:
            problems.append(text)

    for s in result.lines:
        sn = f"明细 {s.feedetl_sn}"
        for name in _LINE_AMOUNTS:
            need(getattr(s, name) >= 0, f"{sn}: {name} {getattr(s, name)} 为负数")
        need(Decimal(0) <= s.selfpay_prop <= 1, f"{sn}: selfpay_prop {s.selfpay_prop} 不在 0..1")
        need(s.chrgitm_lv in (CLASS_A, CLASS_B, CLASS_C), f"{sn}: chrgitm_lv {s.chrgitm_lv!r}")
        rest = s.det_item_fee_sumamt - s.fulamt_ownpay_amt - s.overlmt_amt
        need(
            s.inscp_scp_amt == rest - s.preselfpay_amt,
            f"{sn}: inscp_scp_amt {s.inscp_scp_amt} ≠ det_item_fee_sumamt − fulamt_ownpay_amt"
            f" − overlmt_amt − preselfpay_amt = {rest - s.preselfpay_amt}",
        )
        need(
            s.preselfpay_amt == rest.mul_ratio(s.selfpay_prop),
            f"{sn}: preselfpay_amt {s.preselfpay_amt} ≠ (det_item_fee_sumamt − fulamt_ownpay_amt"
            f" − overlmt_amt) × {s.selfpay_prop} = {rest.mul_ratio(s.selfpay_prop)}",
        )
    for total_name, line_name in _TOTALS:
        total = getattr(result, total_name)
        summed = Fen.total(getattr(s, line_name) for s in result.lines)
        need(total == summed, f"{total_name} {total} ≠ 明细 {line_name} 之和 {summed}")

    for f in fields(SettlementResult):
        value = getattr(result, f.name)
        if isinstance(value, Fen):
            need(value >= 0, f"{f.name} {value} 为负数")
    for name in ("deductible_used", "pooled_paid"):
        value = getattr(result.ytd_after, name)
        need(value >= 0, f"ytd_after.{name} {value} 为负数")
    need(
        Decimal(0) <= result.pool_prop_selfpay <= 1,
        f"pool_prop_selfpay {result.pool_prop_selfpay} 不在 0..1",
    )

    r = result
    funds = Fen.total(getattr(r, name) for name in _FUNDS)
    need(r.fund_pay_sumamt == funds, f"fund_pay_sumamt {r.fund_pay_sumamt} ≠ 各基金之和 {funds}")
    need(
        r.medfee_sumamt == r.fund_pay_sumamt + r.psn_part_amt + r.hosp_part_amt,
        f"medfee_sumamt {r.medfee_sumamt} ≠ fund_pay_sumamt {r.fund_pay_sumamt}"
        f" + psn_part_amt {r.psn_part_amt} + hosp_part_amt {r.hosp_part_amt}",
    )
    need(
        r.psn_part_amt == r.acct_pay + r.psn_cash_pay,
        f"psn_part_amt {r.psn_part_amt} ≠ acct_pay {r.acct_pay} + psn_cash_pay {r.psn_cash_pay}",
    )
    need(
        r.acct_mulaid_pay <= r.acct_pay,
        f"acct_mulaid_pay {r.acct_mulaid_pay} 超过 acct_pay {r.acct_pay}",
    )
    need(
        r.act_pay_dedc + r.hifp_pay <= r.inscp_scp_amt,
        f"act_pay_dedc {r.act_pay_dedc} + hifp_pay {r.hifp_pay}"
        f" 超过 inscp_scp_amt {r.inscp_scp_amt}",
    )
    need(
        r.fund_pay_sumamt <= r.inscp_scp_amt,
        f"fund_pay_sumamt {r.fund_pay_sumamt} 超过 inscp_scp_amt {r.inscp_scp_amt}",
    )

    types = [d.fund_pay_type for d in r.fund_details]
    need(len(types) == len(set(types)), f"setldetail 基金类型重复：{types}")
    for d in r.fund_details:
        need(d.fund_payamt > 0, f"setldetail {d.fund_pay_type}: fund_payamt {d.fund_payamt} 不为正")
        need(d.crt_payb_lmt_amt >= 0, f"setldetail {d.fund_pay_type}: crt_payb_lmt_amt 为负数")
    account = Fen.total(d.fund_payamt for d in r.fund_details if d.fund_pay_type in _ACCOUNTS)
    pooled = Fen.total(d.fund_payamt for d in r.fund_details if d.fund_pay_type not in _ACCOUNTS)
    need(account == r.acct_pay, f"setldetail 个人账户 {account} ≠ acct_pay {r.acct_pay}")
    need(
        pooled == r.fund_pay_sumamt,
        f"setldetail 基金 {pooled} ≠ fund_pay_sumamt {r.fund_pay_sumamt}",
    )
    return problems


_LINE_AMOUNTS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)
_TOTALS = (
    ("medfee_sumamt", "det_item_fee_sumamt"),
    ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
    ("overlmt_selfpay", "overlmt_amt"),
    ("preselfpay_amt", "preselfpay_amt"),
    ("inscp_scp_amt", "inscp_scp_amt"),
)
_FUNDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
_ACCOUNTS = frozenset({FUND_EMPLOYEE_ACCOUNT})


# -- checks and small pieces --------------------------------------------------------------
def _check_request(request: SettlementRequest) -> None:
    person = request.person
    if not person.insured:
        raise PolicyRefusal(_SUSPENDED)
    _filing(person)
    if request.med_type not in MED_TYPES:
        raise PolicyRefusal(f"医疗类别 {request.med_type} 不能在此结算")
    _level_index(request.hospital_level)
    for name in ("account_balance", "family_account_balance"):
        if getattr(request, name) < 0:
            raise ValueError(f"{name} is negative: {getattr(request, name)}")
    if request.ytd.deductible_used < 0 or request.ytd.pooled_paid < 0:
        raise ValueError(f"year-to-date amounts are negative: {request.ytd}")
    if not request.lines:
        raise PolicyRefusal("没有费用明细，不能结算")
    seen: set[str] = set()
    for line in request.lines:
        if line.feedetl_sn in seen:
            raise PolicyRefusal(f"费用明细流水号重复：{line.feedetl_sn}")
        seen.add(line.feedetl_sn)


def _check_line(line: FeeLine) -> None:
    sn = line.feedetl_sn
    if not isinstance(line.cnt, Decimal):
        raise TypeError(f"cnt must be a Decimal, not {type(line.cnt).__name__}")
    if not (line.cnt.is_finite() and line.cnt > 0):
        raise PolicyRefusal(f"费用明细 {sn}：数量必须大于零，而不是 {line.cnt}")
    if line.pric < 0:
        raise PolicyRefusal(f"费用明细 {sn}：单价不能为负数")
    expected = line.pric.mul_ratio(line.cnt)
    if line.det_item_fee_sumamt != expected:
        raise PolicyRefusal(
            f"费用明细 {sn}：金额 {line.det_item_fee_sumamt} 与单价 {line.pric}"
            f" × 数量 {line.cnt} = {expected} 不符"
        )


def _filing(person: InsuredPerson) -> str:
    if person.filing not in FILINGS:
        raise ValueError(f"unknown filing {person.filing!r}; expected one of {FILINGS}")
    return person.filing


def _cross_region(request: SettlementRequest) -> bool:
    return request.person.insuplc_admdvs != request.mdtrtarea_admvs


def _level_index(level: int) -> int:
    if isinstance(level, bool) or level not in LEVELS:
        raise ValueError(f"hospital_level must be 1, 2 or 3, not {level!r}")
    return level - 1


def _at_least_zero(amount: Fen) -> Fen:
    return max(Fen(0), amount)


def _percent(ratio: Decimal) -> str:
    return format((ratio * 100).normalize(), "f")


def _payment(fund: str, inscp: Fen, paid: Fen, cap_left: Fen, info: str) -> FundPayment:
    return FundPayment(fund, FUND_NAMES[fund], inscp, paid, cap_left, info)


# -- reading the policy file ---------------------------------------------------------------
_T = TypeVar("_T")
_TOP_KEYS = (
    "account_pays_class_c",
    "pharmacy_uses_pool",
    "civil_servant_ratio",
    "elderly_age",
    "cross_region_ratio_cut",
    "groups",
)
_OPTIONAL_KEYS = ("settlement_limit",)
_GROUP_KEYS = ("deductible", "pooled_ratio", "pooled_cap")


def _policy_from_toml(raw: Mapping[str, Any], where: str) -> Policy:
    _keys(where, "", raw, _TOP_KEYS, optional=_OPTIONAL_KEYS)
    cuts_raw = _table(where, "cross_region_ratio_cut", raw["cross_region_ratio_cut"])
    _keys(where, "cross_region_ratio_cut.", cuts_raw, FILINGS[1:])
    cuts = {
        filing: _ratio(where, f"cross_region_ratio_cut.{filing}", cuts_raw[filing])
        for filing in FILINGS[1:]
    }
    groups_raw = _table(where, "groups", raw["groups"])
    _keys(where, "groups.", groups_raw, GROUPS)
    groups = {}
    for name in GROUPS:
        key = f"groups.{name}"
        table = _table(where, key, groups_raw[name])
        _keys(where, f"{key}.", table, _GROUP_KEYS)
        groups[name] = GroupRule(
            deductible=_by_level(where, f"{key}.deductible", table["deductible"], _amount),
            pooled_ratio=_by_level(where, f"{key}.pooled_ratio", table["pooled_ratio"], _ratio),
            pooled_cap=_amount(where, f"{key}.pooled_cap", table["pooled_cap"]),
        )
    age = raw["elderly_age"]
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150:
        raise PolicyFileError(f"{where}：elderly_age 应为年龄（整数），而不是 {age}")
    return Policy(
        groups=MappingProxyType(groups),
        elderly_age=age,
        cross_region_ratio_cut=MappingProxyType(cuts),
        civil_servant_ratio=_ratio(where, "civil_servant_ratio", raw["civil_servant_ratio"]),
        account_pays_class_c=_flag(where, "account_pays_class_c", raw["account_pays_class_c"]),
        pharmacy_uses_pool=_flag(where, "pharmacy_uses_pool", raw["pharmacy_uses_pool"]),
        settlement_limit=MappingProxyType(_limits(where, raw.get("settlement_limit", {}))),
    )


def _limits(where: str, value: object) -> dict[str, Fen]:
    table = _table(where, "settlement_limit", value)
    unknown = sorted(set(table) - MED_TYPES)
    if unknown:
        names = "、".join(f"settlement_limit.{k}" for k in unknown)
        raise PolicyFileError(
            f"{where}：未知的医疗类别 {names}（可用 {'、'.join(sorted(MED_TYPES))}）"
        )
    return {
        med_type: _amount(where, f"settlement_limit.{med_type}", table[med_type])
        for med_type in sorted(table)
    }


def _keys(
    where: str,
    prefix: str,
    table: Mapping[str, Any],
    expected: Iterable[str],
    *,
    optional: Iterable[str] = (),
) -> None:
    expected = set(expected)
    unknown = sorted(set(table) - expected - set(optional))
    missing = sorted(expected - set(table))
    if unknown:
        names = "、".join(prefix + k for k in unknown)
        raise PolicyFileError(f"{where}：未知的设置 {names}")
    if missing:
        names = "、".join(prefix + k for k in missing)
        raise PolicyFileError(f"{where}：缺少设置 {names}")


def _table(where: str, key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PolicyFileError(f"{where}：{key} 应为表（[{key}]）")
    return value


def _amount(where: str, key: str, value: object) -> Fen:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        try:
            fen = Fen.from_json(value)
        except MoneyError:
            pass
        else:
            if fen >= 0:
                return fen
    raise PolicyFileError(f"{where}：{key} 应为不小于 0、最多两位小数的元金额，而不是 {value}")


def _ratio(where: str, key: str, value: object) -> Decimal:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        ratio = Decimal(value)
        if ratio.is_finite() and 0 <= ratio <= 1:
            return ratio
    raise PolicyFileError(f"{where}：{key} 应为 0 到 1 之间的比例，而不是 {value}")


def _flag(where: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise PolicyFileError(f"{where}：{key} 应为 true 或 false，而不是 {value}")
    return value


def _by_level(
    where: str, key: str, value: object, convert: Callable[[str, str, object], _T]
) -> tuple[_T, _T, _T]:
    if not isinstance(value, list) or len(value) != len(LEVELS):
        raise PolicyFileError(f"{where}：{key} 应为按一级、二级、三级排列的三个数")
    first, second, third = (convert(where, f"{key}[{i}]", v) for i, v in enumerate(value))
    return first, second, third
