"""Settlement answers as real gateways send them, read by the protocol (no HTTP).

Fixtures: :mod:`tests.support.answers`, written from the shapes of captured answers."""

from __future__ import annotations

import pytest

from cashier.domain.money import Fen
from cashier.insurer import protocol
from tests.support import answers


def read(output: dict, *, negated: bool = False) -> protocol.SetlInfo:
    return protocol.Settlement.from_json(output, negated=negated).setlinfo


def test_the_whole_field_table_reads_as_before():
    info = read(answers.SETTLED_2207)
    assert (info.medfee_sumamt, info.psn_part_amt, info.psn_cash_pay) == (
        Fen(8860),
        Fen(3575),
        Fen(1575),
    )


def test_a_real_2208_with_nulls_and_negative_amounts_is_read():
    info = read(answers.cancelled_2208(), negated=True)
    assert info.medfee_sumamt == Fen(-8860)
    assert info.psn_part_amt == Fen(-3575)  # null: acct_pay + psn_cash_pay
    assert info.hosp_part_amt == Fen(0) and info.acct_mulaid_pay == Fen(0)
    assert info.balc == Fen(50000)


def test_a_2103_names_the_persons_part_psn_pay_and_the_cash_part_cash_payamt():
    info = read(answers.cancelled_2103(), negated=True)
    assert info.psn_part_amt == Fen(-3575)
    assert info.psn_cash_pay == Fen(-1575)


def test_a_5203_lookup_without_hosp_part_amt_is_read():
    info = read(answers.looked_up_5203())
    assert info.psn_part_amt == Fen(3575) and info.psn_cash_pay == Fen(1575)
    assert info.hosp_part_amt == Fen(0)


def test_a_pharmacy_2102_without_hosp_part_amt_is_read():
    bill = protocol.Settlement.from_json(answers.pharmacy_2102())
    assert bill.setlinfo.acct_pay == Fen(2500)
    assert [line.feedetl_sn for line in bill.detlcutinfo] == ["0001"]


def test_an_inpatient_cancellation_counts_the_hospitals_share_and_every_fund():
    info = read(answers.inpatient_cancelled_2305(), negated=True)
    assert info.hosp_part_amt == Fen(-2000)  # ownpay_hosp_part
    assert info.fund_pay_sumamt == info.hifob_pay == Fen(-70000)


@pytest.mark.parametrize("fund", ["hifdm_pay", "othfund_pay"])
def test_funds_of_newer_tables_count_in_the_fund_sum(fund):
    output = answers.settled(
        **{fund: 10.0}, fund_pay_sumamt=62.85, psn_part_amt=25.75, psn_cash_pay=5.75
    )
    info = read(output)
    assert getattr(info, fund) == Fen(1000)
    assert info.fund_pay_sumamt == Fen(6285)


def test_a_fund_left_out_of_the_sum_is_refused():
    output = answers.settled(hifdm_pay=10.0)  # the total does not include it
    with pytest.raises(protocol.ProtocolError, match="fund_pay_sumamt"):
        read(output)


def test_amounts_as_strings_and_unknown_fields_are_accepted():
    output = answers.settled(medfee_sumamt="88.60", psn_cash_pay="15.75", shiny_new_field="x")
    assert read(output).medfee_sumamt == Fen(8860)


def test_a_missing_hospital_share_still_has_to_add_up():
    output = answers.settled(hosp_part_amt=None, medfee_sumamt=90.0)
    with pytest.raises(protocol.ProtocolError, match="medfee_sumamt"):
        read(output)


def test_a_missing_total_is_still_refused():
    output = answers.settled(medfee_sumamt=None)
    with pytest.raises(protocol.ProtocolError, match="medfee_sumamt"):
        read(output)


# -- an answer belongs to its request -------------------------------------------------------------
def request_2207(**changes) -> dict:
    data = {"psn_no": "PSN0000000000000042", "mdtrt_id": "MD7001", "medfee_sumamt": Fen(8860)}
    data.update(changes)
    return {"data": data}


def test_the_answer_to_our_request_is_accepted():
    protocol.check_answer("2207", request_2207(), answers.SETTLED_2207)


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        ({"psn_no": "PSN0000000000000099"}, "psn_no"),
        ({"mdtrt_id": "MD7999"}, "mdtrt_id"),
        ({"medfee_sumamt": Fen(8861)}, "medfee_sumamt"),
    ],
)
def test_an_answer_naming_another_person_visit_or_total_is_refused(asked, field):
    with pytest.raises(protocol.ProtocolError, match=f"不属于本次请求.*{field}"):
        protocol.check_answer("2207", request_2207(**asked), answers.SETTLED_2207)


def test_a_cancellation_of_another_settlement_is_refused():
    asked = {"data": {"setl_id": "ST4999", "mdtrt_id": "MD7001", "psn_no": "PSN0000000000000042"}}
    with pytest.raises(protocol.ProtocolError, match="setl_id"):
        protocol.check_answer("2208", asked, answers.cancelled_2208())


def test_a_settlement_without_its_number_is_refused():
    with pytest.raises(protocol.ProtocolError, match="setl_id"):
        protocol.check_answer("2207", request_2207(), answers.settled(setl_id=None))


def test_a_pharmacy_answer_brings_the_visit_number_the_request_did_not_have():
    asked = {"druginfo": {"psn_no": "PSN0000000000000042", "medfee_sumamt": Fen(2500)}}
    protocol.check_answer("2102", asked, answers.pharmacy_2102())
