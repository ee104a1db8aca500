"""The sandbox insurer's settlement rules: worked cases by hand, then any cart.

Amounts in the comments are yuan; every rounding is ROUND_HALF_UP to the fen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier_sandbox.policy import (
    FILINGS,
    MED_TYPES,
    CatalogEntry,
    FeeLine,
    InsuredPerson,
    Policy,
    PolicyFileError,
    PolicyRefusal,
    SettlementRequest,
    SettlementResult,
    YearToDate,
    check_invariants,
    split_line,
)

POLICY = Policy.load()
HERE = "110105"  # the clinic's region
ELSEWHERE = "440300"

CATALOG = {
    e.med_list_codg: e
    for e in (
        CatalogEntry("XA01", "阿莫西林胶囊", "甲", Decimal("0"), None),
        CatalogEntry("XB02", "头孢克肟片", "乙", Decimal("0.10"), None),
        CatalogEntry("XC03", "维生素C泡腾片", "丙", Decimal("1"), None),
        CatalogEntry("XB04", "血糖试纸", "乙", Decimal("0.20"), Fen(1500)),
    )
}

NOT_FILED = "未办理异地就医备案，请按自费结算后回参保地报销"
NO_LIMITS: Mapping[str, Fen] = MappingProxyType({})
SUSPENDED = "参保状态异常（暂停参保），不能医保结算，请按自费结算"


def yuan(text: str) -> Fen:
    return Fen.parse(text)


def line(sn: str, code: str, pric: str, cnt: str) -> FeeLine:
    price, count = yuan(pric), Decimal(cnt)
    return FeeLine(sn, code, count, price, price.mul_ratio(count))


def person(**changes: object) -> InsuredPerson:
    """An employee in service, 45, insured here, no filing; ``changes`` override."""
    base = InsuredPerson(
        psn_no="43000000000000000001",
        insutype="310",
        retired=False,
        age=45,
        cvlserv_flag=False,
        insuplc_admdvs=HERE,
        filing="none",
    )
    return replace(base, **changes)


def request(
    who: InsuredPerson,
    lines: tuple[FeeLine, ...],
    *,
    deductible_used: str = "0",
    pooled_paid: str = "0",
    balance: str = "0",
    family: str = "0",
    acct_used: bool = True,
    med_type: str = "11",
    level: int = 1,
    area: str = HERE,
) -> SettlementRequest:
    return SettlementRequest(
        person=who,
        ytd=YearToDate(yuan(deductible_used), yuan(pooled_paid)),
        account_balance=yuan(balance),
        family_account_balance=yuan(family),
        acct_used_flag=acct_used,
        med_type=med_type,
        hospital_level=level,
        mdtrtarea_admvs=area,
        lines=lines,
    )


def settle(req: SettlementRequest, policy: Policy = POLICY) -> SettlementResult:
    result = policy.settle(req, CATALOG)
    assert check_invariants(result) == []
    return result


def assert_amounts(result: SettlementResult, **expected: str) -> None:
    """Each named amount field equals the yuan text; the rest of setlinfo's funds are 0."""
    for name in ("hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hosp_part_amt"):
        expected.setdefault(name, "0")
    got = {name: str(getattr(result, name)) for name in expected}
    want = {name: str(yuan(text)) for name, text in expected.items()}
    assert got == want


def details(result: SettlementResult) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            d.fund_pay_type,
            d.fund_pay_type_name,
            str(d.inscp_scp_amt),
            str(d.fund_payamt),
            str(d.crt_payb_lmt_amt),
        )
        for d in result.fund_details
    ]


# A 甲, a 乙 (selfpay 0.10) and a 丙 line, used by several cases:
#   XA01 12.50 × 2 = 25.00   甲: all in range                           inscp 25.00
#   XB02 33.33 × 3 = 99.99   乙: preselfpay 99.99 × 0.10 = 9.999 → 10.00, inscp 89.99
#   XC03 20.00 × 1 = 20.00   丙: 全自费 20.00
#   medfee 144.99 = fulamt 20.00 + preselfpay 10.00 + inscp 114.99
CART = (
    line("0001", "XA01", "12.50", "2"),
    line("0002", "XB02", "33.33", "3"),
    line("0003", "XC03", "20.00", "1"),
)
CART_SPLIT = dict(
    medfee_sumamt="144.99",
    fulamt_ownpay_amt="20.00",
    overlmt_selfpay="0",
    preselfpay_amt="10.00",
    inscp_scp_amt="114.99",
)


# -- (1) employee in service, 一级, deductible partly left --------------------------------
def test_employee_in_service_with_deductible_left():
    # Deductible 1800 − 1750 used = 50.00 left, all consumed (in range 114.99 ≥ 50).
    # Pooled: (114.99 − 50.00) × 90% = 64.99 × 0.9 = 58.491 → 58.49; cap left 20000.
    # Person: 144.99 − 58.49 = 86.50, all from the account (500.00 → 413.50).
    req = request(person(), CART, deductible_used="1750", balance="500")
    result = settle(req)
    assert [
        (s.feedetl_sn, s.chrgitm_lv, s.selfpay_prop, str(s.preselfpay_amt), str(s.inscp_scp_amt))
        for s in result.lines
    ] == [
        ("0001", "01", Decimal("0"), "0.00", "25.00"),
        ("0002", "02", Decimal("0.10"), "10.00", "89.99"),
        ("0003", "03", Decimal("1"), "0.00", "0.00"),
    ]
    assert result.lines[2].fulamt_ownpay_amt == yuan("20.00")
    assert_amounts(
        result,
        **CART_SPLIT,
        act_pay_dedc="50.00",
        hifp_pay="58.49",
        cvlserv_pay="0",
        fund_pay_sumamt="58.49",
        psn_part_amt="86.50",
        acct_pay="86.50",
        acct_mulaid_pay="0",
        psn_cash_pay="0",
        balc="413.50",
        family_balc="0",
    )
    assert result.pool_prop_selfpay == Decimal("0.10")
    assert result.ytd_after == YearToDate(yuan("1800.00"), yuan("58.49"))
    assert details(result) == [
        # crt_payb_lmt_amt: 20000 − 58.49 = 19941.51
        ("310100", "职工基本医疗保险统筹基金", "114.99", "58.49", "19941.51"),
        ("310200", "职工基本医疗保险个人账户", "114.99", "86.50", "0.00"),
    ]


# -- (2) the same with too little in the account -------------------------------------------
def test_employee_account_short():
    # As (1), but the account holds 30.00: it pays 30.00, cash 86.50 − 30.00 = 56.50.
    req = request(person(), CART, deductible_used="1750", balance="30")
    result = settle(req)
    assert_amounts(
        result,
        **CART_SPLIT,
        act_pay_dedc="50.00",
        hifp_pay="58.49",
        psn_part_amt="86.50",
        acct_pay="30.00",
        acct_mulaid_pay="0",
        psn_cash_pay="56.50",
        balc="0",
    )


def test_account_not_used_when_the_patient_says_no():
    result = settle(request(person(), CART, deductible_used="1750", balance="500", acct_used=False))
    assert_amounts(result, acct_pay="0", psn_cash_pay="86.50", balc="500.00")
    assert [d.fund_pay_type for d in result.fund_details] == ["310100"]


# -- (3) resident at 一级 ---------------------------------------------------------------------
def test_resident_level_1():
    # XA01 22.46 × 5 = 112.30 (甲), XC03 20.00 (丙): medfee 132.30, in range 112.30.
    # Deductible 100 at 一级, none used: 100.00 consumed.
    # Pooled: (112.30 − 100.00) × 55% = 12.30 × 0.55 = 6.765 → 6.77 (half up, not 6.76).
    # Person: 132.30 − 6.77 = 125.53, all cash (no account of their own).
    cart = (line("0001", "XA01", "22.46", "5"), line("0002", "XC03", "20.00", "1"))
    result = settle(request(person(insutype="390", age=30), cart))
    assert_amounts(
        result,
        medfee_sumamt="132.30",
        fulamt_ownpay_amt="20.00",
        inscp_scp_amt="112.30",
        act_pay_dedc="100.00",
        hifp_pay="6.77",
        fund_pay_sumamt="6.77",
        psn_part_amt="125.53",
        acct_pay="0",
        psn_cash_pay="125.53",
    )
    assert result.pool_prop_selfpay == Decimal("0.45")
    assert result.ytd_after == YearToDate(yuan("100.00"), yuan("6.77"))
    # crt_payb_lmt_amt: 4500 − 6.77 = 4493.23
    assert details(result) == [
        ("390100", "城乡居民基本医疗保险基金", "112.30", "6.77", "4493.23"),
    ]


def test_resident_deductible_is_higher_above_level_1():
    # 二级: deductible 550 swallows the whole in-range 114.99; no pooled fund, no setldetail.
    result = settle(request(person(insutype="390"), CART, level=2))
    assert_amounts(result, act_pay_dedc="114.99", hifp_pay="0", psn_cash_pay="144.99")
    assert result.pool_prop_selfpay == Decimal("0.50")
    assert result.fund_details == ()


def test_resident_own_account_balance_is_ignored():
    # Residents have no personal account: a balance handed in is neither used nor changed.
    result = settle(request(person(insutype="390"), CART, balance="999", deductible_used="100"))
    assert_amounts(result, acct_pay="0", balc="999.00")


# -- (4) retiree aged 72 hitting the annual cap -------------------------------------------
def test_retiree_70_plus_hits_the_annual_cap():
    # Retired, 72: ratio 90% at every level; deductible 1300 already used up.
    # XA01 12.50 × 20 = 250.00 in range; 250.00 × 0.9 = 225.00 but cap left 20000 − 19950 = 50.00.
    # Person: 250.00 − 50.00 = 200.00 from the account (1000.00 → 800.00).
    who = person(retired=True, age=72)
    cart = (line("0001", "XA01", "12.50", "20"),)
    req = request(who, cart, deductible_used="1300", pooled_paid="19950", balance="1000", level=3)
    result = settle(req)
    assert_amounts(
        result,
        medfee_sumamt="250.00",
        inscp_scp_amt="250.00",
        act_pay_dedc="0",
        hifp_pay="50.00",
        fund_pay_sumamt="50.00",
        psn_part_amt="200.00",
        acct_pay="200.00",
        psn_cash_pay="0",
        balc="800.00",
    )
    assert result.pool_prop_selfpay == Decimal("0.10")
    assert result.ytd_after == YearToDate(yuan("1300.00"), yuan("20000.00"))
    assert details(result)[0] == ("310100", "职工基本医疗保险统筹基金", "250.00", "50.00", "0.00")

    # The next visit that year: the cap is spent, the fund pays nothing.
    again = settle(replace(req, ytd=result.ytd_after, account_balance=result.balc))
    assert_amounts(again, hifp_pay="0", psn_part_amt="250.00", acct_pay="250.00", balc="550.00")


@pytest.mark.parametrize(
    ("changes", "level", "ratio"),
    [
        (dict(), 1, "0.90"),
        (dict(), 2, "0.70"),
        (dict(), 3, "0.70"),
        (dict(retired=True, age=69), 1, "0.90"),
        (dict(retired=True, age=69), 2, "0.85"),
        (dict(retired=True, age=69), 3, "0.85"),
        (dict(retired=True, age=70), 2, "0.90"),
        (dict(retired=True, age=70), 3, "0.90"),
        (dict(insutype="390"), 1, "0.55"),
        (dict(insutype="390"), 2, "0.50"),
        (dict(insutype="390"), 3, "0.50"),
    ],
)
def test_pooled_ratio_table(changes, level, ratio):
    req = request(person(**changes), CART, level=level)
    assert POLICY.pooled_ratio(req) == Decimal(ratio)


# -- (5) lines priced above their cap ----------------------------------------------------------
def test_lines_above_the_price_cap():
    # XB04 is 乙, selfpay 0.20, unit price cap 15.00.
    #   0001: 18.00 × 2.5 = 45.00; over cap (18.00 − 15.00) × 2.5 = 7.50;
    #         preselfpay (45.00 − 7.50) × 0.20 = 7.50; in range 45.00 − 7.50 − 7.50 = 30.00.
    #   0002: 15.37 × 0.333 = 5.11821 → 5.12; over cap 0.37 × 0.333 = 0.12321 → 0.12;
    #         preselfpay (5.12 − 0.12) × 0.20 = 1.00; in range 4.00.
    #   0003: 14.00 × 1 = 14.00, under the cap; preselfpay 2.80; in range 11.20.
    # Totals: medfee 64.12, over 7.62, preselfpay 11.30, in range 45.20.
    # Employee, 二级 (70%), deductible used up: pooled 45.20 × 0.7 = 31.64; person 32.48, cash.
    # (The first self-pay is on the amount less the over-cap part: 45.00 × 0.20 = 9.00 would
    # charge the over-cap part twice.)
    cart = (
        line("0001", "XB04", "18.00", "2.5"),
        line("0002", "XB04", "15.37", "0.333"),
        line("0003", "XB04", "14.00", "1"),
    )
    req = request(person(), cart, deductible_used="1800", balance="500", acct_used=False, level=2)
    result = settle(req)
    assert [
        (
            str(s.det_item_fee_sumamt),
            str(s.overlmt_amt),
            str(s.preselfpay_amt),
            str(s.inscp_scp_amt),
        )
        for s in result.lines
    ] == [
        ("45.00", "7.50", "7.50", "30.00"),
        ("5.12", "0.12", "1.00", "4.00"),
        ("14.00", "0.00", "2.80", "11.20"),
    ]
    assert {s.chrgitm_lv for s in result.lines} == {"02"}
    assert_amounts(
        result,
        medfee_sumamt="64.12",
        fulamt_ownpay_amt="0",
        overlmt_selfpay="7.62",
        preselfpay_amt="11.30",
        inscp_scp_amt="45.20",
        act_pay_dedc="0",
        hifp_pay="31.64",
        psn_part_amt="32.48",
        acct_pay="0",
        psn_cash_pay="32.48",
        balc="500.00",
    )
    assert result.pool_prop_selfpay == Decimal("0.30")


def test_class_a_line_above_cap_and_a_zero_cap():
    # 甲 with cap 10.00: 12.00 × 3 = 36.00, over (12 − 10) × 3 = 6.00, in range 30.00.
    # A cap of 0 puts the whole line over the limit.
    capped = CatalogEntry("XA09", "限价甲类", "甲", Decimal("0"), yuan("10"))
    split = split_line(line("1", "XA09", "12.00", "3"), capped)
    assert (split.overlmt_amt, split.preselfpay_amt, split.inscp_scp_amt) == (
        yuan("6.00"),
        Fen(0),
        yuan("30.00"),
    )
    zero = replace(capped, price_cap=Fen(0))
    split = split_line(line("1", "XA09", "0.07", "0.5"), zero)  # 0.035 → 0.04
    assert (split.det_item_fee_sumamt, split.overlmt_amt, split.inscp_scp_amt) == (
        yuan("0.04"),
        yuan("0.04"),
        Fen(0),
    )


def test_code_outside_the_catalog_is_fully_self_paid():
    split = split_line(line("9", "NOT-LISTED", "8.80", "1.5"), None)  # 13.20
    assert (split.chrgitm_lv, split.selfpay_prop, split.fulamt_ownpay_amt, split.inscp_scp_amt) == (
        "03",
        Decimal("1"),
        yuan("13.20"),
        Fen(0),
    )


# -- (6) pharmacy sale on the personal account ----------------------------------------------
def test_pharmacy_sale_uses_account_and_cash_only():
    # med_type 41: no deductible, no pooled fund, no civil-servant subsidy even with the flag.
    # Person: all 144.99; account 100.00 pays 100.00, cash 44.99. The year is untouched.
    req = request(
        person(cvlserv_flag=True),
        CART,
        med_type="41",
        deductible_used="500",
        pooled_paid="300",
        balance="100",
    )
    result = settle(req)
    assert_amounts(
        result,
        **CART_SPLIT,
        act_pay_dedc="0",
        hifp_pay="0",
        cvlserv_pay="0",
        fund_pay_sumamt="0",
        psn_part_amt="144.99",
        acct_pay="100.00",
        psn_cash_pay="44.99",
        balc="0",
    )
    assert result.pool_prop_selfpay == Decimal("1")
    assert result.ytd_after == req.ytd
    assert details(result) == [("310200", "职工基本医疗保险个人账户", "114.99", "100.00", "0.00")]


def test_pharmacy_account_may_be_kept_off_class_c():
    # account_pays_class_c = false: the account pays at most 144.99 − 20.00 (丙类) = 124.99.
    policy = replace(POLICY, account_pays_class_c=False)
    req = request(person(), CART, med_type="41", balance="200")
    result = settle(req, policy)
    assert_amounts(result, psn_part_amt="144.99", acct_pay="124.99", psn_cash_pay="20.00")
    assert_amounts(result, balc="75.01")


def test_pharmacy_with_pool_switched_on():
    # pharmacy_uses_pool = true, deductible used up, 一级 90%, civil servant:
    # pooled 114.99 × 0.9 = 103.491 → 103.49; subsidy (114.99 − 103.49) × 0.5 = 5.75;
    # person 144.99 − 109.24 = 35.75 from the account (200.00 → 164.25).
    policy = replace(POLICY, pharmacy_uses_pool=True)
    req = request(
        person(cvlserv_flag=True), CART, med_type="41", balance="200", deductible_used="1800"
    )
    result = settle(req, policy)
    assert_amounts(
        result,
        hifp_pay="103.49",
        cvlserv_pay="5.75",
        fund_pay_sumamt="109.24",
        psn_part_amt="35.75",
        acct_pay="35.75",
        balc="164.25",
    )


# -- (7) cross-region ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filing", "hifp", "share"),
    [
        ("long_term", "90.00", "0.10"),  # the insured place's 90%, kept
        ("temporary_referral", "80.00", "0.20"),  # 90% − 10 points
        ("temporary_emergency", "80.00", "0.20"),  # 90% − 10 points
        ("temporary_other", "70.00", "0.30"),  # 90% − 20 points
    ],
)
def test_cross_region_filing_lowers_the_ratio(filing, hifp, share):
    # Insured in 440300, treated in 110105, 一级, deductible used up:
    # XA01 50.00 × 2 = 100.00 in range; pooled 100.00 × ratio.
    who = person(insuplc_admdvs=ELSEWHERE, filing=filing)
    cart = (line("0001", "XA01", "50.00", "2"),)
    result = settle(request(who, cart, deductible_used="1800", acct_used=False))
    cash = str(yuan("100.00") - yuan(hifp))
    assert_amounts(result, hifp_pay=hifp, psn_cash_pay=cash, act_pay_dedc="0")
    assert result.pool_prop_selfpay == Decimal(share)


def test_cross_region_without_filing_is_refused():
    who = person(insuplc_admdvs=ELSEWHERE, filing="none")
    with pytest.raises(PolicyRefusal) as caught:
        POLICY.settle(request(who, CART), CATALOG)
    assert str(caught.value) == NOT_FILED
    assert isinstance(caught.value, CashierError)
    # Insured here, no filing needed.
    assert settle(request(person(filing="none"), CART, deductible_used="1800")).hifp_pay


def test_suspended_insurance_and_other_insurance_types_are_refused():
    with pytest.raises(PolicyRefusal) as caught:
        POLICY.settle(request(person(insured=False), CART), CATALOG)
    assert str(caught.value) == SUSPENDED
    with pytest.raises(PolicyRefusal, match="510"):
        POLICY.settle(request(person(insutype="510"), CART), CATALOG)


@pytest.mark.parametrize(
    ("lines", "med_type", "words"),
    [
        ((), "11", "没有费用明细"),
        ((line("1", "XA01", "1.00", "1"), line("1", "XA01", "1.00", "1")), "11", "重复"),
        ((FeeLine("1", "XA01", Decimal("2"), yuan("1.00"), yuan("2.01")),), "11", "不符"),
        ((FeeLine("1", "XA01", Decimal("0"), yuan("1.00"), Fen(0)),), "11", "数量"),
        ((line("1", "XA01", "1.00", "1"),), "21", "医疗类别"),
    ],
)
def test_bad_requests_are_refused(lines, med_type, words):
    with pytest.raises(PolicyRefusal, match=words):
        POLICY.settle(request(person(), lines, med_type=med_type), CATALOG)


# -- (8) civil servant ---------------------------------------------------------------------------
def test_civil_servant_subsidy():
    # Employee in service, 二级 (70%), 1699.99 of the 1800 deductible used: 100.01 left.
    # XA01 12.50 × 20 = 250.00 (甲), XC03 20.00 (丙): medfee 270.00, in range 250.00.
    # Pooled: (250.00 − 100.01) × 0.7 = 149.99 × 0.7 = 104.993 → 104.99.
    # Subsidy: (250.00 − 104.99) × 50% = 145.01 × 0.5 = 72.505 → 72.51 (half up).
    # Funds 104.99 + 72.51 = 177.50; person 270.00 − 177.50 = 92.50: account 50.00, cash 42.50.
    cart = (line("0001", "XA01", "12.50", "20"), line("0002", "XC03", "20.00", "1"))
    req = request(person(cvlserv_flag=True), cart, deductible_used="1699.99", balance="50", level=2)
    result = settle(req)
    assert_amounts(
        result,
        medfee_sumamt="270.00",
        fulamt_ownpay_amt="20.00",
        inscp_scp_amt="250.00",
        act_pay_dedc="100.01",
        hifp_pay="104.99",
        cvlserv_pay="72.51",
        fund_pay_sumamt="177.50",
        psn_part_amt="92.50",
        acct_pay="50.00",
        psn_cash_pay="42.50",
        balc="0",
    )
    assert result.pool_prop_selfpay == Decimal("0.30")
    assert result.ytd_after == YearToDate(yuan("1800.00"), yuan("104.99"))
    assert details(result) == [
        ("310100", "职工基本医疗保险统筹基金", "250.00", "104.99", "19895.01"),
        ("310200", "职工基本医疗保险个人账户", "250.00", "50.00", "0.00"),
        ("320100", "公务员医疗补助资金", "250.00", "72.51", "0.00"),
    ]


# -- (9) family 共济 -------------------------------------------------------------------------------
CHILD_CART = (line("0001", "XA01", "12.50", "2"), line("0002", "XC03", "20.00", "1"))


def test_resident_child_paid_from_a_parents_account():
    # Resident child, 6, 一级, deductible (100) used up.
    # XA01 25.00 in range, XC03 20.00: pooled 25.00 × 55% = 13.75; person 45.00 − 13.75 = 31.25.
    # The parent's account holds 20.00: 共济 pays 20.00, cash 11.25.
    child = person(insutype="390", age=6)
    result = settle(request(child, CHILD_CART, deductible_used="100", family="20"))
    assert_amounts(
        result,
        hifp_pay="13.75",
        psn_part_amt="31.25",
        acct_pay="20.00",
        acct_mulaid_pay="20.00",
        psn_cash_pay="11.25",
        balc="0",
        family_balc="0",
    )
    assert details(result) == [
        ("310200", "职工基本医疗保险个人账户", "25.00", "20.00", "0.00"),
        ("390100", "城乡居民基本医疗保险基金", "25.00", "13.75", "4486.25"),
    ]

    # Enough in the parent's account: 31.25 drawn, 1000.00 → 968.75, no cash.
    result = settle(request(child, CHILD_CART, deductible_used="100", family="1000"))
    assert_amounts(result, acct_pay="31.25", acct_mulaid_pay="31.25", psn_cash_pay="0")
    assert_amounts(result, family_balc="968.75")

    # Not using the account leaves the family account alone.
    result = settle(
        request(child, CHILD_CART, deductible_used="100", family="1000", acct_used=False)
    )
    assert_amounts(result, acct_pay="0", psn_cash_pay="31.25", family_balc="1000.00")


def test_own_account_first_then_family():
    # Employee, 一级, deductible used up: pooled 25.00 × 0.9 = 22.50; person 22.50.
    # Own account 10.00 pays first, the family account the other 12.50 (1000.00 → 987.50).
    req = request(person(), CHILD_CART, deductible_used="1800", balance="10", family="1000")
    result = settle(req)
    assert_amounts(
        result,
        hifp_pay="22.50",
        psn_part_amt="22.50",
        acct_pay="22.50",
        acct_mulaid_pay="12.50",
        psn_cash_pay="0",
        balc="0",
        family_balc="987.50",
    )


# -- check_invariants finds what is broken -----------------------------------------------------
def _good() -> SettlementResult:
    return settle(request(person(cvlserv_flag=True), CART, deductible_used="1750", balance="50"))


@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        (lambda r: replace(r, psn_cash_pay=r.psn_cash_pay + Fen(1)), "psn_part_amt"),
        (lambda r: replace(r, hifp_pay=r.hifp_pay + Fen(1)), "fund_pay_sumamt"),
        (lambda r: replace(r, medfee_sumamt=r.medfee_sumamt - Fen(1)), "medfee_sumamt"),
        (lambda r: replace(r, acct_mulaid_pay=r.acct_pay + Fen(1)), "acct_mulaid_pay"),
        (lambda r: replace(r, balc=Fen(-1)), "balc"),
        (lambda r: replace(r, pool_prop_selfpay=Decimal("1.10")), "pool_prop_selfpay"),
        (lambda r: replace(r, fund_details=r.fund_details[1:]), "setldetail"),
        (
            lambda r: replace(
                r, lines=(replace(r.lines[1], preselfpay_amt=yuan("9.99")), *r.lines[2:])
            ),
            "preselfpay_amt",
        ),
        (
            lambda r: replace(r, lines=(replace(r.lines[0], inscp_scp_amt=yuan("24.99")),)),
            "inscp_scp_amt",
        ),
    ],
)
def test_check_invariants_names_what_is_broken(breakage, words):
    problems = check_invariants(breakage(_good()))
    assert problems
    assert any(words in p for p in problems), problems


# -- the policy file -------------------------------------------------------------------------------
def test_default_policy_has_the_documented_numbers():
    groups = POLICY.groups
    assert [g.deductible for g in groups.values()] == [
        (yuan("1800"),) * 3,
        (yuan("1300"),) * 3,
        (yuan("1300"),) * 3,
        (yuan("100"), yuan("550"), yuan("550")),
    ]
    assert [g.pooled_cap for g in groups.values()] == [yuan("20000")] * 3 + [yuan("4500")]
    assert list(groups) == ["employee", "retiree", "retiree_elderly", "resident"]
    assert dict(POLICY.cross_region_ratio_cut) == {
        "long_term": Decimal("0"),
        "temporary_referral": Decimal("0.10"),
        "temporary_emergency": Decimal("0.10"),
        "temporary_other": Decimal("0.20"),
    }
    assert POLICY.civil_servant_ratio == Decimal("0.50")
    assert POLICY.elderly_age == 70
    assert POLICY.account_pays_class_c is True
    assert POLICY.pharmacy_uses_pool is False


def _default_text() -> str:
    return resources.files("cashier_sandbox").joinpath("default_policy.toml").read_text("utf-8")


def test_policy_file_amounts_and_ratios_are_exact(tmp_path: Path):
    text = _default_text().replace("pooled_cap = 4500", "pooled_cap = 4500.05")
    text = text.replace("[0.55, 0.50, 0.50]", "[0.555, 0.50, 0.50]")
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    policy = Policy.load(path)
    assert policy.groups["resident"].pooled_cap == Fen(450005)
    assert policy.groups["resident"].pooled_ratio[0] == Decimal("0.555")
    assert type(policy.groups["resident"].pooled_ratio[0]) is Decimal


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("pooled_cap = 4500", "pooled_cap = 4500.001", "groups.resident.pooled_cap"),
        ("pooled_cap = 4500", "pooled_cap = -1", "groups.resident.pooled_cap"),
        ("[0.55, 0.50, 0.50]", "[1.55, 0.50, 0.50]", "groups.resident.pooled_ratio[0]"),
        ("[0.55, 0.50, 0.50]", "[0.55, 0.50]", "groups.resident.pooled_ratio"),
        ("elderly_age = 70", "elderly_age = 70\nyoung_age = 1", "young_age"),
        ("temporary_other = 0.20\n", "", "cross_region_ratio_cut.temporary_other"),
        ("pharmacy_uses_pool = false", 'pharmacy_uses_pool = "no"', "pharmacy_uses_pool"),
        ("elderly_age = 70", "elderly_age = 70.5", "elderly_age"),
        ("elderly_age = 70", "elderly_age = ", "格式错误"),
    ],
)
def test_bad_policy_files_are_refused(tmp_path: Path, old, new, words):
    text = _default_text()
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(PolicyFileError, match=words.replace("[", r"\[").replace(".", r"\.")):
        Policy.load(path)


def test_missing_policy_file(tmp_path: Path):
    with pytest.raises(PolicyFileError, match="无法读取"):
        Policy.load(tmp_path / "nope.toml")


# -- any cart, any person, any year ------------------------------------------------------------------
_ratios = st.decimals(
    min_value=Decimal(0), max_value=Decimal(1), places=2, allow_nan=False, allow_infinity=False
)
_counts = st.one_of(
    st.integers(min_value=1, max_value=30).map(Decimal),
    st.decimals(
        min_value=Decimal("0.001"),
        max_value=Decimal("50"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    ),
)
_fen = st.integers(min_value=0, max_value=200_000).map(Fen)


@st.composite
def _catalog_entry(draw: st.DrawFn, code: str) -> CatalogEntry | None:
    cls = draw(st.sampled_from(["甲", "乙", "丙", None]))
    if cls is None:
        return None  # not in the 目录
    prop = draw(_ratios) if cls == "乙" else Decimal(0 if cls == "甲" else 1)
    cap = draw(st.none() | _fen)
    return CatalogEntry(code, f"药品{code}", cls, prop, cap)


@st.composite
def _fee_lines(draw: st.DrawFn, codes: list[str]) -> tuple[FeeLine, ...]:
    n = draw(st.integers(min_value=1, max_value=10))
    lines = []
    for i in range(n):
        price, count = draw(_fen), draw(_counts)
        lines.append(
            FeeLine(f"{i:04d}", draw(st.sampled_from(codes)), count, price, price.mul_ratio(count))
        )
    return tuple(lines)


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[Policy, SettlementRequest, dict[str, CatalogEntry]]:
    codes = [f"C{i}" for i in range(6)]
    catalog = {}
    for code in codes:
        entry = draw(_catalog_entry(code))
        if entry is not None:
            catalog[code] = entry
    who = InsuredPerson(
        psn_no="1",
        insutype=draw(st.sampled_from(["310", "390"])),
        retired=draw(st.booleans()),
        age=draw(st.integers(min_value=0, max_value=100)),
        cvlserv_flag=draw(st.booleans()),
        insuplc_admdvs=draw(st.sampled_from([HERE, ELSEWHERE])),
        filing=draw(st.sampled_from(FILINGS)),
        insured=draw(st.sampled_from([True, True, True, False])),
    )
    req = SettlementRequest(
        person=who,
        # Beyond the deductible and the cap too: a year's data may already be past them.
        ytd=YearToDate(
            draw(st.integers(min_value=0, max_value=300_000).map(Fen)),
            draw(st.integers(min_value=0, max_value=2_500_000).map(Fen)),
        ),
        account_balance=draw(_fen),
        family_account_balance=draw(st.just(Fen(0)) | _fen),
        acct_used_flag=draw(st.booleans()),
        med_type=draw(st.sampled_from(sorted(MED_TYPES))),
        hospital_level=draw(st.integers(min_value=1, max_value=3)),
        mdtrtarea_admvs=draw(st.sampled_from([HERE, ELSEWHERE])),
        lines=draw(_fee_lines(codes)),
    )
    policy = replace(
        POLICY,
        account_pays_class_c=draw(st.booleans()),
        pharmacy_uses_pool=draw(st.booleans()),
        settlement_limit=draw(st.sampled_from([NO_LIMITS, POLICY.settlement_limit])),
    )
    return policy, req, catalog


def _refusal(policy: Policy, req: SettlementRequest) -> str | None:
    if not req.person.insured:
        return SUSPENDED
    if req.person.insuplc_admdvs != req.mdtrtarea_admvs and req.person.filing == "none":
        return NOT_FILED
    medfee = Fen.total(line.det_item_fee_sumamt for line in req.lines)
    limit = policy.settlement_limit.get(req.med_type)
    if limit is not None and medfee > limit:
        return f"本次医疗费用 {medfee} 元超过单次结算限额 {limit} 元，请分次结算或按自费结算"
    return None


@settings(max_examples=400, deadline=None)
@given(_scenario())
def test_any_settlement_keeps_the_invariants(scenario):
    policy, req, catalog = scenario
    refusal = _refusal(policy, req)
    if refusal is not None:
        with pytest.raises(PolicyRefusal) as caught:
            policy.settle(req, catalog)
        assert str(caught.value) == refusal
        return
    r = policy.settle(req, catalog)
    assert check_invariants(r) == []

    # The money adds up, and nothing is negative.
    assert r.medfee_sumamt == Fen.total(line.det_item_fee_sumamt for line in req.lines)
    assert r.medfee_sumamt == r.fund_pay_sumamt + r.psn_part_amt + r.hosp_part_amt
    assert r.psn_part_amt == r.acct_pay + r.psn_cash_pay
    for f in dataclasses.fields(SettlementResult):
        value = getattr(r, f.name)
        if isinstance(value, Fen):
            assert value >= 0, f.name
    for s in r.lines:
        assert min(s.fulamt_ownpay_amt, s.overlmt_amt, s.preselfpay_amt, s.inscp_scp_amt) >= 0
        assert s.fulamt_ownpay_amt + s.overlmt_amt + s.preselfpay_amt + s.inscp_scp_amt == (
            s.det_item_fee_sumamt
        )
    assert [s.feedetl_sn for s in r.lines] == [line.feedetl_sn for line in req.lines]

    # The year: never past the deductible or the cap (unless it already was).
    rule = policy.groups[policy.group_of(req.person)]
    deductible = rule.deductible[req.hospital_level - 1]
    assert r.act_pay_dedc <= max(Fen(0), deductible - req.ytd.deductible_used)
    assert r.ytd_after.deductible_used <= max(deductible, req.ytd.deductible_used)
    assert r.ytd_after.pooled_paid <= max(rule.pooled_cap, req.ytd.pooled_paid)
    assert r.hifp_pay <= max(Fen(0), rule.pooled_cap - req.ytd.pooled_paid)

    # Restoring (what a cancel does) is exact.
    assert r.ytd_after.deductible_used - req.ytd.deductible_used == r.act_pay_dedc
    assert r.ytd_after.pooled_paid - req.ytd.pooled_paid == r.hifp_pay
    assert req.account_balance - r.balc == r.acct_pay - r.acct_mulaid_pay
    assert req.family_account_balance - r.family_balc == r.acct_mulaid_pay
    assert r.balc >= 0 and r.family_balc >= 0

    # The accounts pay what they may, as far as they can.
    payable = (
        r.psn_part_amt if policy.account_pays_class_c else r.psn_part_amt - r.fulamt_ownpay_amt
    )
    available = req.family_account_balance
    if req.person.insutype == "310":
        available += req.account_balance
    else:
        assert r.balc == req.account_balance  # residents have no own account
    expected = min(payable, available) if req.acct_used_flag else Fen(0)
    assert r.acct_pay == expected

    if req.med_type == "41" and not policy.pharmacy_uses_pool:
        assert r.fund_pay_sumamt == 0 and r.act_pay_dedc == 0
        assert r.ytd_after == req.ytd
    if not req.person.cvlserv_flag:
        assert r.cvlserv_pay == 0
    assert Decimal(0) <= r.pool_prop_selfpay <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(_scenario(), min_size=1, max_size=6))
def test_a_year_of_settlements_then_cancels_restores_exactly(scenarios):
    # One person's year: each settlement starts from the last one's state; then every
    # settlement is cancelled in reverse, the caller subtracting what it added.
    policy, first, _ = scenarios[0]
    policy = replace(policy, settlement_limit=NO_LIMITS)  # a year of any size
    who = replace(first.person, insured=True, insuplc_admdvs=HERE)
    ytd = YearToDate(Fen(0), Fen(0))
    own, family = first.account_balance, first.family_account_balance
    done: list[SettlementResult] = []
    for _, req, catalog in scenarios:
        req = replace(
            req,
            person=who,
            ytd=ytd,
            account_balance=own,
            family_account_balance=family,
            mdtrtarea_admvs=HERE,
        )
        r = policy.settle(req, catalog)
        assert check_invariants(r) == []
        rule = policy.groups[policy.group_of(who)]
        assert r.ytd_after.deductible_used <= max(rule.deductible)
        assert r.ytd_after.pooled_paid <= rule.pooled_cap
        ytd, own, family = r.ytd_after, r.balc, r.family_balc
        done.append(r)
    for r in reversed(done):
        ytd = YearToDate(ytd.deductible_used - r.act_pay_dedc, ytd.pooled_paid - r.hifp_pay)
        own += r.acct_pay - r.acct_mulaid_pay
        family += r.acct_mulaid_pay
    assert ytd == YearToDate(Fen(0), Fen(0))
    assert (own, family) == (first.account_balance, first.family_account_balance)


def test_settling_is_pure():
    req = request(person(cvlserv_flag=True), CART, deductible_used="1750", balance="50")
    assert POLICY.settle(req, CATALOG) == POLICY.settle(req, CATALOG)


# -- insurances that settle only with a basic one --------------------------------------------------
@pytest.mark.parametrize(
    ("insutype", "words"),
    [
        ("320", "险种 320 公务员医疗补助不能单独结算，请改选险种 310 职工基本医疗保险结算"),
        ("330", "险种 330 大额医疗费用补助不能单独结算，请改选险种 310 职工基本医疗保险结算"),
        (
            "392",
            "险种 392 城乡居民大病医疗保险不能单独结算，请改选险种 390 城乡居民基本医疗保险结算",
        ),
        ("510", "险种 510 生育保险不能在此直接结算门诊费用，请按自费结算"),
    ],
)
def test_an_insurance_that_does_not_settle_alone_names_the_one_to_choose(insutype, words):
    who = person(insutype=insutype, cvlserv_flag=True)
    with pytest.raises(PolicyRefusal) as caught:
        POLICY.settle(request(who, CART, balance="100"), CATALOG)
    assert str(caught.value) == words
    with pytest.raises(PolicyRefusal):
        POLICY.group_of(who)


# -- the single-settlement limit (单次结算限额) -------------------------------------------------------
def _cart_of(total: str) -> tuple[FeeLine, ...]:
    return (line("0001", "XA01", total, "1"),)


def test_default_settlement_limits():
    assert dict(POLICY.settlement_limit) == {
        "11": yuan("5000"),
        "13": yuan("5000"),
        "41": yuan("3000"),
    }


@pytest.mark.parametrize(
    ("med_type", "at_limit"), [("11", "5000.00"), ("13", "5000.00"), ("41", "3000.00")]
)
def test_a_settlement_above_the_limit_is_refused(med_type, at_limit):
    settle(request(person(), _cart_of(at_limit), med_type=med_type, balance="9000"))
    above = str(yuan(at_limit) + Fen(1))
    with pytest.raises(PolicyRefusal) as caught:
        POLICY.settle(request(person(), _cart_of(above), med_type=med_type), CATALOG)
    assert str(caught.value) == (
        f"本次医疗费用 {above} 元超过单次结算限额 {at_limit} 元，请分次结算或按自费结算"
    )


def test_the_limit_is_on_the_whole_bill_and_only_where_set():
    # 60 lines of 100.00 = 6000.00: each line is small, the bill is above 5000.00.
    lines = tuple(line(f"{n:04d}", "XC03", "100.00", "1") for n in range(60))
    with pytest.raises(PolicyRefusal, match=r"6000\.00 元超过单次结算限额 5000\.00 元"):
        POLICY.settle(request(person(), lines), CATALOG)
    # 门诊慢特病 (14) has no limit by default; a policy without the table has none at all.
    assert settle(request(person(), lines, med_type="14")).medfee_sumamt == yuan("6000")
    assert settle(request(person(), lines), replace(POLICY, settlement_limit={})).psn_cash_pay


def test_suspension_and_filing_are_named_before_the_limit():
    big = _cart_of("9000.00")
    with pytest.raises(PolicyRefusal, match="暂停参保"):
        POLICY.settle(request(person(insured=False), big), CATALOG)
    who = person(insuplc_admdvs=ELSEWHERE, filing="none")
    with pytest.raises(PolicyRefusal, match="异地就医备案"):
        POLICY.settle(request(who, big), CATALOG)


def test_the_policy_stays_frozen_with_its_limits():
    with pytest.raises(dataclasses.FrozenInstanceError):
        POLICY.settlement_limit = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        POLICY.settlement_limit["11"] = Fen(1)  # type: ignore[index]


def test_policy_file_limits_are_optional_and_checked(tmp_path: Path):
    table = "[settlement_limit]\n11 = 5000\n13 = 5000\n41 = 3000\n"
    text = _default_text()
    assert table in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(table, ""), encoding="utf-8")
    assert dict(Policy.load(path).settlement_limit) == {}
    path.write_text(text.replace("41 = 3000", "41 = 2999.99\n14 = 8000"), encoding="utf-8")
    assert dict(Policy.load(path).settlement_limit) == {
        "11": yuan("5000"),
        "13": yuan("5000"),
        "14": yuan("8000"),
        "41": yuan("2999.99"),
    }
    for bad, words in (
        ("21 = 100", "settlement_limit.21"),
        ("41 = -1", "settlement_limit.41"),
        ("41 = 3000.001", "settlement_limit.41"),
    ):
        path.write_text(text.replace("41 = 3000", bad), encoding="utf-8")
        with pytest.raises(PolicyFileError, match=words.replace(".", r"\.")):
            Policy.load(path)
    path.write_text(text.replace(table, "settlement_limit = 5000\n"), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="settlement_limit"):
        Policy.load(path)
