"""The 医药机构接口 message layer: envelopes, signatures, amounts and invariants."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier.domain.money import Fen
from cashier.errors import CashierError
from cashier.insurer import protocol
from cashier.insurer.protocol import (
    SETLINFO_AMOUNTS,
    Caller,
    EcIdentity,
    FeeDetail,
    FeeLineResult,
    InsurerError,
    PersonInfo,
    ProtocolError,
    ReconDetail,
    ReconTotals,
    Registration,
    SetlDetail,
    SetlInfo,
    Settlement,
    SignIn,
    dumps,
    loads,
)

WHEN = datetime(2024, 3, 5, 9, 7, 1, 234_567)
CODE = "H11010500123"
TOKEN = "110105ec" + "0123456789abcdefghijklmnopqrst"


def caller(**changes) -> Caller:
    values = {
        "fixmedins_code": CODE,
        "fixmedins_name": "培训诊所",
        "mdtrtarea_admvs": "110105",
        "opter": "0001",
        "opter_name": "张三",
    }
    return Caller(**{**values, **changes})


def good_setlinfo(**changes) -> dict:
    """A 2207 setlinfo as JSON, every invariant kept (amounts in yuan)."""
    node = {
        "setl_id": "ST202403050000000001",
        "mdtrt_id": "MD2024030500000001",
        "psn_no": "P001",
        "psn_name": "李四",
        "insutype": "310",
        "psn_type": "11",
        "med_type": "11",
        "setl_time": "2024-03-05 09:07:01",
        "clr_type": "11",
        "clr_way": "1",
        "clr_optins": "110105",
        "medfee_sumamt": Decimal("300.00"),
        "fulamt_ownpay_amt": Decimal("20.00"),
        "overlmt_selfpay": Decimal("10.00"),
        "preselfpay_amt": Decimal("5.00"),
        "inscp_scp_amt": Decimal("265.00"),
        "act_pay_dedc": Decimal("0.00"),
        "hifp_pay": Decimal("150.50"),
        "pool_prop_selfpay": Decimal("0.10"),
        "cvlserv_pay": Decimal("10.00"),
        "hifes_pay": Decimal("0"),
        "hifmi_pay": Decimal("0.00"),
        "hifob_pay": 0,
        "maf_pay": Decimal("0.00"),
        "oth_pay": Decimal("0.00"),
        "fund_pay_sumamt": Decimal("160.50"),
        "psn_part_amt": Decimal("139.50"),
        "acct_pay": Decimal("100.00"),
        "psn_cash_pay": Decimal("39.50"),
        "hosp_part_amt": Decimal("0.00"),
        "balc": Decimal("900.00"),
        "acct_mulaid_pay": Decimal("0.00"),
    }
    node.update(changes)
    return node


def answer(output, *, infcode=0, err_msg="") -> bytes:
    body = protocol.build_response(
        output,
        infcode=infcode,
        err_msg=err_msg,
        inf_refmsgid=protocol.make_refmsgid("110105", WHEN, 7),
        when=WHEN,
    )
    return dumps(body).encode("utf-8")


# -- JSON without floats -----------------------------------------------------------------------
def test_dumps_writes_fen_with_two_decimals_and_decimal_as_is():
    text = dumps({"a": Fen(1250), "b": Fen(-5), "c": Decimal("0.10"), "d": [Fen(0), 3, None]})
    assert text == '{"a":12.50,"b":-0.05,"c":0.10,"d":[0.00,3,null]}'
    assert "12.50" in dumps(Fen(1250))


def test_dumps_refuses_floats_and_keeps_chinese():
    with pytest.raises(TypeError):
        dumps({"amount": 12.5})
    with pytest.raises(TypeError):
        dumps([Decimal("1"), 0.1])
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    assert dumps({"name": "张三"}) == '{"name":"张三"}'


def test_loads_gives_decimal_never_float():
    value = loads('{"a": 12.50, "b": 3, "c": [0.1, 1e2]}')
    assert value["a"] == Decimal("12.50") and isinstance(value["a"], Decimal)
    assert isinstance(value["b"], int)
    assert all(isinstance(x, Decimal) for x in value["c"])
    assert loads(b'{"x": 1.10}') == {"x": Decimal("1.10")}


def test_loads_refuses_what_is_not_json():
    for bad in ("{", "NaN", '{"a": Infinity}', b"\xff\xfe"):
        with pytest.raises(ProtocolError):
            loads(bad)


def test_dumps_loads_round_trip_of_amounts():
    for fen in (0, 1, 5, 10, 99, 100, 1250, 123456789, -1250):
        assert protocol.money(loads(dumps({"x": Fen(fen)}))["x"]) == Fen(fen)


# -- amounts -----------------------------------------------------------------------------------
def test_money_reads_numbers_and_strings():
    assert protocol.money(Decimal("12.5")) == Fen(1250)
    assert protocol.money("12.50") == Fen(1250)
    assert protocol.money(12) == Fen(1200)
    assert protocol.money(Fen(7)) == Fen(7)


@pytest.mark.parametrize("bad", [Decimal("1.234"), "1.234", "abc", None, True, "", [1]])
def test_money_refuses_what_is_not_an_amount(bad):
    with pytest.raises(ProtocolError) as err:
        protocol.money(bad, "medfee_sumamt")
    assert "medfee_sumamt" in str(err.value)


def test_setlinfo_amount_field_list_is_the_docs():
    # The interface document's twenty, and the two funds of newer field tables that real
    # gateways send (hifdm_pay 伤残人员医疗保障, othfund_pay), counted in fund_pay_sumamt.
    assert len(SETLINFO_AMOUNTS) == 22 == len(set(SETLINFO_AMOUNTS))
    assert {"hifdm_pay", "othfund_pay"} <= set(protocol.FUNDS)
    assert SETLINFO_AMOUNTS[0] == "medfee_sumamt" and SETLINFO_AMOUNTS[-1] == "acct_mulaid_pay"
    assert set(SetlInfo.from_json(good_setlinfo()).amounts()) == set(SETLINFO_AMOUNTS)


# -- envelope --------------------------------------------------------------------------------------
def test_msgid_is_30_chars_code_time_sequence():
    msgid = protocol.make_msgid(CODE, WHEN, 12)
    assert msgid == f"{CODE}202403050907010012"
    assert len(msgid) == 30
    assert protocol.make_msgid(CODE, WHEN, 123_456).endswith("3456")


def test_msgid_refuses_a_code_that_is_not_12_chars():
    with pytest.raises(ProtocolError):
        protocol.make_msgid("H110105", WHEN, 1)
    with pytest.raises(ProtocolError):
        caller(fixmedins_code="H110105")
    with pytest.raises(ProtocolError):
        Caller(fixmedins_code=CODE, fixmedins_name="x", mdtrtarea_admvs="1101")


def test_refmsgid_is_30_chars():
    refmsgid = protocol.make_refmsgid("110105", WHEN, 42)
    assert refmsgid == "110105" + "20240305090701" + "0000000042"
    assert len(protocol.make_refmsgid("110105", WHEN, 10**12 + 5)) == 30


def test_request_has_every_envelope_field_and_round_trips():
    msgid = protocol.make_msgid(CODE, WHEN, 1)
    message = protocol.build_request(
        caller(),
        "2207",
        {"data": {"medfee_sumamt": Fen(1250)}},
        msgid=msgid,
        sign_no="S1",
        insuplc_admdvs="110105",
        when=WHEN,
    )
    assert set(message) == {
        "infno",
        "msgid",
        "mdtrtarea_admvs",
        "insuplc_admdvs",
        "recer_sys_code",
        "dev_no",
        "dev_safe_info",
        "cainfo",
        "signtype",
        "infver",
        "opter_type",
        "opter",
        "opter_name",
        "inf_time",
        "fixmedins_code",
        "fixmedins_name",
        "sign_no",
        "input",
    }
    assert message["inf_time"] == "2024-03-05 09:07:01"
    assert message["infver"] == "V1.0" and message["recer_sys_code"] == "YBXT"
    text = dumps(message)
    assert '"medfee_sumamt":12.50' in text
    req = protocol.parse_request(text.encode("utf-8"))
    assert (req.infno, req.msgid, req.sign_no, req.insuplc_admdvs) == (
        "2207",
        msgid,
        "S1",
        "110105",
    )
    assert (req.mdtrtarea_admvs, req.fixmedins_code, req.opter) == ("110105", CODE, "0001")
    assert req.opter_name == "张三" and req.inf_time == "2024-03-05 09:07:01"
    assert req.input == {"data": {"medfee_sumamt": Decimal("12.50")}}
    assert req.raw["fixmedins_name"] == "培训诊所"
    assert protocol.parse_request(message).msgid == msgid  # an already-parsed dict too


@pytest.mark.parametrize(
    "change",
    [
        {"infno": None},
        {"msgid": None},
        {"msgid": "short"},
        {"fixmedins_code": None},
        {"input": None},
        {"input": [1]},
        {"opter": ["x"]},
        {"sign_no": {"a": 1}},
    ],
)
def test_parse_request_refuses_missing_fields_and_wrong_types(change):
    message = protocol.build_request(
        caller(), "1101", {}, msgid=protocol.make_msgid(CODE, WHEN, 1), when=WHEN
    )
    message.update(change)
    with pytest.raises(ProtocolError) as err:
        protocol.parse_request(dumps(message))
    assert str(err.value).startswith("请求报文有误")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b"\xff"])
def test_parse_request_refuses_what_is_not_an_object(body):
    with pytest.raises(ProtocolError):
        protocol.parse_request(body)


def test_response_envelope_fields():
    body = loads(answer({"x": 1}))
    assert body["refmsg_time"] == body["respond_time"] == "20240305090701234"
    assert len(body["inf_refmsgid"]) == 30
    assert body["infcode"] == 0 and body["output"] == {"x": 1}


@pytest.mark.parametrize("code", [0, "0", " 0 "])
def test_infcode_zero_as_number_or_string(code):
    body = {"infcode": code, "inf_refmsgid": "r", "output": {"a": Decimal("1.50")}, "warn_msg": "w"}
    assert protocol.parse_response(dumps(body), "1101") == {"a": Decimal("1.50")}
    envelope = protocol.parse_response_envelope(body, "1101")
    assert envelope.warn_msg == "w" and envelope.inf_refmsgid == "r"


@pytest.mark.parametrize("code", [-1, "-1"])
def test_infcode_minus_one_as_number_or_string_is_an_insurer_error(code):
    body = {
        "infcode": code,
        "inf_refmsgid": "110105" + "0" * 24,
        "err_msg": "人员未参保",
        "output": None,
    }
    with pytest.raises(InsurerError) as err:
        protocol.parse_response(json.dumps(body), "1101")
    exc = err.value
    assert str(exc) == exc.err_msg == "人员未参保"
    assert exc.infno == "1101" and exc.inf_refmsgid == "110105" + "0" * 24
    assert isinstance(exc, CashierError)


def test_refusal_without_a_message_still_says_something():
    with pytest.raises(InsurerError) as err:
        protocol.parse_response(answer({}, infcode=-1, err_msg="x").replace(b'"x"', b'""'), "2207")
    assert "2207" in str(err.value)


def test_sandbox_refusal_round_trip():
    with pytest.raises(InsurerError, match="签到编号无效"):
        protocol.parse_response(answer({}, infcode=-1, err_msg="签到编号无效"), "2207")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"infcode": 0, "output": {',  # cut in half
        b"[1, 2]",
        b"null",
        b'"ok"',
        b'{"output": {}}',  # no infcode
        b'{"infcode": 1, "output": {}}',
        b'{"infcode": "abc", "output": {}}',
        b'{"infcode": true, "output": {}}',
        b'{"infcode": 0.0, "output": {}}',
        b'{"infcode": 0, "output": [1]}',
        b"\xff\xfe\x00",
    ],
)
def test_unreadable_answers_are_protocol_errors(body):
    with pytest.raises(ProtocolError) as err:
        protocol.parse_response(body, "2207")
    assert "2207" in str(err.value)


def test_success_without_output_is_empty():
    assert protocol.parse_response(b'{"infcode": "0"}', "2205") == {}
    assert protocol.parse_response(answer(None), "2601") == {}


def test_build_response_refuses_a_bad_infcode():
    with pytest.raises(ValueError):
        protocol.build_response({}, infcode=1, inf_refmsgid="r", when=WHEN)
    with pytest.raises(ValueError):
        protocol.build_response({}, infcode=-1, inf_refmsgid="r", when=WHEN)


# -- TIF signature -----------------------------------------------------------------------------------
def test_tif_signature_known_answer():
    headers = protocol.tif_headers("paas1", "s3cret", now=1_700_000_000, nonce="abc123")
    expected = hashlib.sha256(b"1700000000" + b"s3cret" + b"abc123" + b"1700000000").hexdigest()
    assert headers == {
        "x-tif-paasid": "paas1",
        "x-tif-timestamp": "1700000000",
        "x-tif-nonce": "abc123",
        "x-tif-signature": expected,
    }
    assert protocol.check_tif(headers, "paas1", "s3cret", now=1_700_000_100) is None


def test_tif_header_names_are_case_insensitive():
    headers = protocol.tif_headers("paas1", "k", now=1000, nonce="n")
    mixed = {k.upper(): v for k, v in headers.items()}
    assert protocol.check_tif(mixed, "paas1", "k", now=1000) is None


def test_tif_refuses_wrong_stale_or_missing():
    headers = protocol.tif_headers("paas1", "k", now=1000, nonce="n")
    assert "签名" in protocol.check_tif(headers, "paas1", "other", now=1000)
    assert "300" in protocol.check_tif(headers, "paas1", "k", now=1000 + 301)
    assert "300" in protocol.check_tif(headers, "paas1", "k", now=1000 - 301)
    assert protocol.check_tif(headers, "paas1", "k", now=1000 + 300) is None
    assert "x-tif-paasid" in protocol.check_tif(headers, "paas2", "k", now=1000)
    for name in protocol.TIF_HEADERS:
        partial = {k: v for k, v in headers.items() if k != name}
        assert name in protocol.check_tif(partial, "paas1", "k", now=1000)
    forged = {**headers, "x-tif-timestamp": "1001"}
    assert "签名" in protocol.check_tif(forged, "paas1", "k", now=1000)
    assert "unix" in protocol.check_tif({**headers, "x-tif-timestamp": "abc"}, "paas1", "k", now=1)


# -- setlinfo invariants -----------------------------------------------------------------------------
def test_good_setlinfo_passes_and_reads_exact_amounts():
    info = SetlInfo.from_json(good_setlinfo())
    info.check()
    assert info.medfee_sumamt == Fen(30000) and info.psn_cash_pay == Fen(3950)
    assert info.pool_prop_selfpay == Decimal("0.10")
    assert info.setl_id == "ST202403050000000001"


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("medfee_sumamt", Decimal("300.01"), "medfee_sumamt"),
        ("psn_cash_pay", Decimal("39.51"), "psn_part_amt"),  # psn_part ≠ acct + cash
        ("hifp_pay", Decimal("150.49"), "fund_pay_sumamt"),  # funds ≠ fund_pay_sumamt
        ("hosp_part_amt", Decimal("0.01"), "medfee_sumamt"),
        ("balc", Decimal("-1.00"), "balc"),
        ("act_pay_dedc", Decimal("-0.01"), "act_pay_dedc"),
    ],
)
def test_each_broken_invariant_is_a_protocol_error(field, value, says):
    info = SetlInfo.from_json(good_setlinfo(**{field: value}))
    with pytest.raises(ProtocolError) as err:
        info.check()
    assert says in str(err.value)
    assert "未作为账单显示" in str(err.value)


def test_negative_amounts_that_still_add_up_are_refused():
    node = good_setlinfo(
        acct_pay=Decimal("150.00"), psn_cash_pay=Decimal("-10.50")
    )  # 150 − 10.50 = 139.50
    with pytest.raises(ProtocolError, match="psn_cash_pay"):
        SetlInfo.from_json(node).check()


def test_cancellation_answer_is_negated():
    info = SetlInfo.from_json(good_setlinfo())
    negated = info.negated(balc=Fen(100000))
    assert negated.medfee_sumamt == Fen(-30000) and negated.balc == Fen(100000)
    again = SetlInfo.from_json(loads(dumps(negated.to_json())))
    again.check(negated=True)
    with pytest.raises(ProtocolError):
        again.check()  # not a settlement
    with pytest.raises(ProtocolError):
        info.check(negated=True)  # not a cancellation
    # Even the balance negated (as some gateways send it) is accepted.
    SetlInfo.from_json(good_setlinfo()).negated(balc=Fen(-90000)).check(negated=True)
    broken = replace_amount(negated, "psn_cash_pay", Fen(-3949))
    with pytest.raises(ProtocolError):
        broken.check(negated=True)


def replace_amount(info: SetlInfo, name: str, value: Fen) -> SetlInfo:
    return replace(info, **{name: value})


@pytest.mark.parametrize("bad", [Decimal("1.234"), "abc", "", None, True, [1], {"a": 1}])
def test_malformed_amounts_are_protocol_errors(bad):
    with pytest.raises(ProtocolError) as err:
        SetlInfo.from_json(good_setlinfo(psn_cash_pay=bad))
    assert "psn_cash_pay" in str(err.value)


def test_missing_amount_is_a_protocol_error():
    node = good_setlinfo()
    del node["acct_pay"]
    with pytest.raises(ProtocolError, match="acct_pay"):
        SetlInfo.from_json(node)


def test_amounts_as_strings_are_read_exactly():
    node = {k: (str(v) if k in SETLINFO_AMOUNTS else v) for k, v in good_setlinfo().items()}
    assert SetlInfo.from_json(node) == SetlInfo.from_json(good_setlinfo())


def test_pre_settlement_has_null_setl_id_and_may_lack_mdtrt_id():
    info = SetlInfo.from_json(good_setlinfo(setl_id=None, mdtrt_id=None))
    info.check()
    assert info.setl_id is None and info.mdtrt_id is None
    assert loads(dumps(info.to_json()))["setl_id"] is None


def test_sandbox_shaped_setlinfo_with_extra_fields():
    node = good_setlinfo(psn_cert_type="01", certno="110105199001011234", gend="1", age=34)
    node["brdy"] = "1990-01-01"
    node["cvlserv_flag"] = "0"
    info = SetlInfo.from_json(loads(dumps(node)))
    assert info.age == Decimal(34) and info.certno == "110105199001011234"
    assert "110105199001011234" not in repr(info)


# -- fee line results ----------------------------------------------------------------------------
def line(**changes) -> dict:
    node = {
        "feedetl_sn": "1",
        "det_item_fee_sumamt": Decimal("100.00"),
        "selfpay_prop": Decimal("0.10"),
        "fulamt_ownpay_amt": Decimal("0.00"),
        "overlmt_amt": Decimal("0.00"),
        "preselfpay_amt": Decimal("10.00"),
        "inscp_scp_amt": Decimal("90.00"),
        "chrgitm_lv": "02",
    }
    node.update(changes)
    return node


def test_line_class_b_passes():
    FeeLineResult.from_json(line()).check()


def test_line_class_b_over_cap_uses_the_sandbox_base():
    # 100 with 20 over the cap: first self-pay = (100 − 20) × 0.10 = 8.00.
    node = line(overlmt_amt=Decimal("20.00"), preselfpay_amt=Decimal("8.00"))
    node["inscp_scp_amt"] = Decimal("72.00")
    FeeLineResult.from_json(node).check()
    # The doc's literal reading, 100 × 0.10 = 10.00, is accepted as well.
    node = line(overlmt_amt=Decimal("20.00"), preselfpay_amt=Decimal("10.00"))
    node["inscp_scp_amt"] = Decimal("70.00")
    FeeLineResult.from_json(node).check()


def test_line_rounds_half_up():
    node = line(
        det_item_fee_sumamt=Decimal("0.25"),
        selfpay_prop=Decimal("0.10"),
        preselfpay_amt=Decimal("0.03"),  # 0.025 → 0.03
        inscp_scp_amt=Decimal("0.22"),
    )
    FeeLineResult.from_json(node).check()
    node.update(preselfpay_amt=Decimal("0.02"), inscp_scp_amt=Decimal("0.23"))
    with pytest.raises(ProtocolError, match="preselfpay_amt"):
        FeeLineResult.from_json(node).check()


def test_line_class_c_is_all_self_paid():
    node = line(
        selfpay_prop=Decimal("1"),
        fulamt_ownpay_amt=Decimal("100.00"),
        preselfpay_amt=Decimal("0.00"),
        inscp_scp_amt=Decimal("0.00"),
        chrgitm_lv="03",
    )
    FeeLineResult.from_json(node).check()


@pytest.mark.parametrize(
    "changes",
    [
        {"inscp_scp_amt": Decimal("89.99")},
        {"preselfpay_amt": Decimal("11.00"), "inscp_scp_amt": Decimal("89.00")},
        {"selfpay_prop": Decimal("1.5")},
        {"fulamt_ownpay_amt": Decimal("-1.00"), "inscp_scp_amt": Decimal("91.00")},
    ],
)
def test_broken_lines_are_protocol_errors(changes):
    with pytest.raises(ProtocolError):
        FeeLineResult.from_json(line(**changes)).check()


def test_line_with_malformed_ratio():
    with pytest.raises(ProtocolError, match="selfpay_prop"):
        FeeLineResult.from_json(line(selfpay_prop="a lot"))


# -- whole settlements -----------------------------------------------------------------------------
def pharmacy_output(**setl_changes) -> dict:
    values = dict(
        medfee_sumamt=Decimal("100.00"),
        fulamt_ownpay_amt=Decimal("0"),
        overlmt_selfpay=Decimal("0"),
        preselfpay_amt=Decimal("10.00"),
        inscp_scp_amt=Decimal("90.00"),
        hifp_pay=Decimal("0"),
        cvlserv_pay=Decimal("0"),
        fund_pay_sumamt=Decimal("0"),
        psn_part_amt=Decimal("100.00"),
        acct_pay=Decimal("60.00"),
        psn_cash_pay=Decimal("40.00"),
        med_type="41",
    )
    setlinfo = good_setlinfo(**{**values, **setl_changes})
    return {
        "setlinfo": setlinfo,
        "setldetail": [
            {
                "fund_pay_type": "310200",
                "fund_pay_type_name": "职工个人账户",
                "inscp_scp_amt": Decimal("90.00"),
                "fund_payamt": Decimal("60.00"),
                "crt_payb_lmt_amt": Decimal("0"),
                "setl_proc_info": "",
            }
        ],
        "detlcutinfo": [
            line(feedetl_sn="1", det_item_fee_sumamt=Decimal("100.00")),
        ],
    }


def test_settlement_reads_and_checks_everything():
    output = loads(answer(pharmacy_output()))["output"]
    settlement = Settlement.from_json(output)
    assert settlement.setlinfo.psn_cash_pay == Fen(4000)
    assert settlement.setldetail[0] == SetlDetail(
        fund_pay_type="310200",
        fund_pay_type_name="职工个人账户",
        inscp_scp_amt=Fen(9000),
        fund_payamt=Fen(6000),
        crt_payb_lmt_amt=Fen(0),
    )
    assert Settlement.from_json(loads(dumps(settlement.to_json()))) == settlement


def test_settlement_lines_must_add_up_to_the_total():
    output = pharmacy_output()
    output["detlcutinfo"].append(line(feedetl_sn="2", det_item_fee_sumamt=Decimal("0.00")))
    output["detlcutinfo"][1].update(preselfpay_amt=Decimal("0"), inscp_scp_amt=Decimal("0"))
    Settlement.from_json(output)  # a zero line changes nothing
    output["detlcutinfo"][1].update(
        det_item_fee_sumamt=Decimal("1.00"),
        preselfpay_amt=Decimal("0.10"),
        inscp_scp_amt=Decimal("0.90"),
    )
    with pytest.raises(ProtocolError, match="明细合计"):
        Settlement.from_json(output)


def test_settlement_refuses_a_broken_setlinfo_or_line():
    with pytest.raises(ProtocolError):
        Settlement.from_json(pharmacy_output(psn_cash_pay=Decimal("40.01")))
    output = pharmacy_output()
    output["detlcutinfo"][0]["inscp_scp_amt"] = Decimal("89.00")
    with pytest.raises(ProtocolError):
        Settlement.from_json(output)
    with pytest.raises(ProtocolError, match="setlinfo"):
        Settlement.from_json({"setldetail": []})
    with pytest.raises(ProtocolError):
        Settlement.from_json({"setlinfo": good_setlinfo(), "setldetail": {"a": 1}})


def test_cancellation_settlement():
    info = SetlInfo.from_json(good_setlinfo()).negated()
    output = loads(dumps({"setlinfo": info.to_json()}))
    assert Settlement.from_json(output, negated=True).setlinfo == info
    with pytest.raises(ProtocolError):
        Settlement.from_json(output)


# -- other answers ---------------------------------------------------------------------------------
def test_sign_in_and_registration():
    assert SignIn.from_json({"signinoutb": {"sign_no": "S1", "sign_time": "t"}}).sign_no == "S1"
    with pytest.raises(ProtocolError):
        SignIn.from_json({"signinoutb": {}})
    reg = Registration.from_json({"data": {"mdtrt_id": "MD1", "psn_no": "P1", "ipt_otp_no": "9"}})
    assert Registration.from_json(loads(dumps(reg.to_json()))) == reg
    signout = protocol.SignOut.from_json({"signoutoutb": {"sign_time": "t"}})
    assert signout.to_json() == {"signoutoutb": {"sign_time": "t"}}


def test_person_info():
    output = {
        "baseinfo": {
            "psn_no": "P001",
            "psn_cert_type": "01",
            "certno": "110105199001011234",
            "psn_name": "李四",
            "gend": "1",
            "naty": "01",
            "brdy": "1990-01-01",
            "age": Decimal("34.2"),
        },
        "insuinfo": [
            {
                "balc": Decimal("1000.00"),
                "insutype": "310",
                "psn_type": "11",
                "psn_insu_stas": "1",
                "psn_insu_date": "2010-01-01",
                "paus_insu_date": "",
                "cvlserv_flag": "0",
                "insuplc_admdvs": "110105",
                "emp_name": "某公司",
            }
        ],
        "idetinfo": [{"psn_idet_type": "1"}],
    }
    person = PersonInfo.from_json(loads(dumps(output)))
    assert person.insurance("310").balc == Fen(100000)
    assert person.insurance("390") is None
    assert person.baseinfo.age == Decimal("34.2")
    assert PersonInfo.from_json(loads(dumps(person.to_json()))) == person
    output["insuinfo"][0]["balc"] = "many"
    with pytest.raises(ProtocolError, match="balc"):
        PersonInfo.from_json(output)
    with pytest.raises(ProtocolError, match="baseinfo"):
        PersonInfo.from_json({"insuinfo": []})


def test_reconciliation_answers():
    totals = ReconTotals.from_json(
        {"stmtinfo": {"setl_optins": "110105", "stmt_rslt": "0", "stmt_rslt_dscr": "一致"}}
    )
    assert totals.balanced
    assert ReconTotals.from_json(loads(dumps(totals.to_json()))) == totals
    row = ReconDetail(
        setl_id="ST1",
        msgid="m" * 30,
        stmt_rslt="0",
        medfee_sumamt=Fen(30000),
        fund_pay_sumamt=Fen(16050),
        acct_pay=Fen(10000),
        refd_setl_flag="0",
    )
    # 3202's answer is a file: a zip of tab-separated lines, read back into the same rows.
    data = protocol.zip_text("r.txt", protocol.recon_result_file([row, row]))
    assert protocol.read_recon_result(data) == (row, row)
    assert protocol.read_recon_result(protocol.zip_text("r.txt", "")) == ()
    with pytest.raises(ProtocolError, match="列"):
        protocol.read_recon_result(protocol.zip_text("r.txt", "ST1\t0\n"))
    with pytest.raises(ProtocolError, match="zip"):
        protocol.read_recon_result(b"not a zip")


def test_a_detail_file_that_unpacks_too_large_is_refused(monkeypatch):
    from cashier.insurer.protocol import files

    monkeypatch.setattr(files, "MAX_TEXT_BYTES", 1000)
    bomb = protocol.zip_text("r.txt", "0" * 5000)  # deflates to a few bytes
    assert len(bomb) < 1000
    with pytest.raises(ProtocolError, match="过大"):
        protocol.read_recon_result(bomb)


# -- the e-voucher ---------------------------------------------------------------------------------
EC_DATA = {
    "idNo": "110105199001011234",
    "idType": "01",
    "userName": "李四",
    "ecToken": TOKEN,
    "insuOrg": "110105",
    "ecIndexNo": "abc",
    "gender": "1",
    "birthday": "1990-01-01",
}


def test_ec_query_request():
    body = protocol.ec_query_request(CODE, "QRPAYLOAD", protocol.EC_BUSINESS_OUTPATIENT)
    assert body["orgId"] == CODE and body["transType"] == "ec.query"
    assert body["data"]["ecQrCode"] == "QRPAYLOAD" and body["data"]["businessType"] == "01301"
    with pytest.raises(ValueError):
        protocol.ec_query_request(CODE, "x", "1")


def test_ec_identity_with_data_as_object_or_string():
    as_object = EcIdentity.from_json(loads(dumps({"code": 0, "message": "成功", "data": EC_DATA})))
    as_string = EcIdentity.from_json(
        {"code": "0", "message": "成功", "data": json.dumps(EC_DATA, ensure_ascii=False)}
    )
    assert as_object == as_string
    assert as_object.ecToken == TOKEN and as_object.userName == "李四"
    assert TOKEN not in repr(as_object) and EC_DATA["idNo"] not in repr(as_object)
    assert EcIdentity.from_json(as_object.to_json()) == as_object


@pytest.mark.parametrize("code", [500159, "500159"])
def test_ec_refusal_is_an_insurer_error(code):
    with pytest.raises(InsurerError) as err:
        EcIdentity.from_json({"code": code, "message": "请使用医保电子凭证二维码", "data": None})
    assert str(err.value) == "请使用医保电子凭证二维码"
    assert err.value.infcode == "500159"


@pytest.mark.parametrize(
    "answer_",
    [
        {"message": "成功", "data": EC_DATA},
        {"code": 0, "data": "{not json"},
        {"code": 0, "data": None},
        {"code": 0, "data": {**EC_DATA, "ecToken": "110105EC" + "0" * 30}},
        {"code": 0, "data": {**EC_DATA, "ecToken": TOKEN[:-1]}},
        {"code": None, "data": EC_DATA},
        [EC_DATA],
    ],
)
def test_ec_malformed_answers_are_protocol_errors(answer_):
    with pytest.raises(ProtocolError):
        EcIdentity.from_json(answer_)


# -- inputs ------------------------------------------------------------------------------------------
def fee(sn: str = "1", **changes) -> FeeDetail:
    values = {
        "feedetl_sn": sn,
        "mdtrt_id": "MD1",
        "psn_no": "P001",
        "chrg_bchno": "B1",
        "fee_ocur_time": datetime(2024, 3, 5, 9, 0, 0),
        "med_list_codg": "XA01",
        "medins_list_codg": "A01",
        "det_item_fee_sumamt": Fen(1250),
        "cnt": 2,
        "pric": Fen(625),
    }
    values.update(changes)
    return FeeDetail(**values)


def test_input_builders_use_the_doc_node_and_field_names():
    assert protocol.input_9001(opter_no="0001", mac="", ip="127.0.0.1") == {
        "signIn": {"opter_no": "0001", "mac": "", "ip": "127.0.0.1"}
    }
    assert protocol.input_9002(sign_no="S", opter_no="0001") == {
        "signOut": {"sign_no": "S", "opter_no": "0001"}
    }
    lookup = protocol.input_1101(mdtrt_cert_type="01", mdtrt_cert_no=TOKEN, begntime=WHEN)
    assert lookup["data"]["begntime"] == "2024-03-05 09:07:01"
    assert set(lookup["data"]) == {
        "mdtrt_cert_type",
        "mdtrt_cert_no",
        "card_sn",
        "begntime",
        "psn_cert_type",
        "certno",
        "psn_name",
    }
    with pytest.raises(ValueError):
        protocol.input_1101(mdtrt_cert_type="9", mdtrt_cert_no="x", begntime=WHEN)
    with pytest.raises(TypeError):
        protocol.input_9001("0001", "", "127.0.0.1")  # keyword-only, like the doc's names


def test_settlement_inputs_write_amounts_with_two_decimals():
    common = {
        "psn_no": "P001",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "110105199001011234",
        "med_type": "11",
        "medfee_sumamt": Fen(30000),
        "psn_setlway": "01",
        "mdtrt_id": "MD1",
        "chrg_bchno": "B1",
        "acct_used_flag": True,
        "insutype": "310",
    }
    pre = protocol.input_2206(**common)
    assert pre["data"]["acct_used_flag"] == "1"
    assert '"medfee_sumamt":300.00' in dumps(pre)
    final = protocol.input_2207(
        **common,
        invono="INV1",
        fulamt_ownpay_amt=Fen(2000),
        overlmt_selfpay=Fen(1000),
        preselfpay_amt=Fen(500),
        inscp_scp_amt=Fen(26500),
    )
    text = dumps(final)
    assert '"preselfpay_amt":5.00' in text and '"invono":"INV1"' in text
    assert set(final["data"]) - set(pre["data"]) == {
        "invono",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    }
    with pytest.raises(TypeError):
        protocol.input_2206(**{**common, "medfee_sumamt": Decimal("300")})
    with pytest.raises(TypeError):
        protocol.input_2206(**{**common, "medfee_sumamt": 300.0})


def test_fee_lines_and_pharmacy_inputs():
    upload = protocol.input_2204(feedetail=[fee("1"), fee("2")])
    text = dumps(upload)
    assert '"det_item_fee_sumamt":12.50' in text and '"pric":6.25' in text and '"cnt":2' in text
    row = loads(text)["feedetail"][0]
    assert row["fee_ocur_time"] == "2024-03-05 09:00:00"
    assert FeeDetail.from_json(row) == fee("1")
    with pytest.raises(ValueError):
        protocol.input_2204(feedetail=[])
    sale = protocol.input_2102(
        psn_no="P001",
        mdtrt_cert_type="01",
        mdtrt_cert_no=TOKEN,
        begntime=WHEN,
        medfee_sumamt=Fen(1250),
        invono="INV",
        insutype="310",
        acct_used_flag="1",
        drugdetail=[fee("1", mdtrt_id="")],
    )
    assert sale["druginfo"]["med_type"] == "41"
    assert set(sale) == {"druginfo", "drugdetail"}
    assert protocol.input_2101(**{**_sale_args(), "invono": ""})["druginfo"]["invono"] == ""


def _sale_args() -> dict:
    return {
        "psn_no": "P001",
        "mdtrt_cert_type": "03",
        "mdtrt_cert_no": "A12345678",
        "begntime": "2024-03-05 09:00:00",
        "medfee_sumamt": Fen(1250),
        "insutype": "310",
        "acct_used_flag": False,
        "drugdetail": [fee()],
    }


def test_fee_detail_from_json_refuses_bad_lines_as_a_request_error():
    row = loads(dumps(fee().to_json()))
    row["pric"] = "6.255"
    with pytest.raises(ProtocolError, match="请求报文有误"):
        FeeDetail.from_json(row)


def test_other_inputs():
    assert protocol.input_2205(mdtrt_id="MD1", chrg_bchno=protocol.ALL_UNSETTLED, psn_no="P") == {
        "data": {"mdtrt_id": "MD1", "chrg_bchno": "0000", "psn_no": "P"}
    }
    assert protocol.input_2208(setl_id="S", mdtrt_id="M", psn_no="P")["data"]["setl_id"] == "S"
    assert protocol.input_2103(setl_id="S", mdtrt_id="M", psn_no="P")["data"]["psn_no"] == "P"
    msgid = protocol.make_msgid(CODE, WHEN, 3)
    assert protocol.input_2601(psn_no="P", omsgid=msgid, oinfno="2207") == {
        "data": {"psn_no": "P", "omsgid": msgid, "oinfno": "2207"}
    }
    with pytest.raises(ValueError):
        protocol.input_2601(psn_no="P", omsgid="short", oinfno="2207")
    recon = {
        "insutype": "310",
        "clr_type": "11",
        "setl_optins": "110105",
        "stmt_begndate": date(2024, 3, 1),
        "stmt_enddate": "2024-03-31",
        "medfee_sumamt": Fen(30000),
        "fund_pay_sumamt": Fen(16050),
        "acct_pay": Fen(10000),
        "fixmedins_setl_cnt": 1,
    }
    text = dumps(protocol.input_3201(**recon))
    assert '"stmt_begndate":"2024-03-01"' in text and '"fund_pay_sumamt":160.50' in text
    detail = protocol.input_3202(
        setl_optins="110105",
        file_qury_no="fsi/plc/1",
        stmt_begndate="2024-03-01",
        stmt_enddate="2024-03-31",
        medfee_sumamt=Fen(30000),
        fund_pay_sumamt=Fen(16050),
        cash_payamt=Fen(3950),
        fixmedins_setl_cnt=1,
    )["data"]
    assert detail["file_qury_no"] == "fsi/plc/1" and "insutype" not in detail
    assert "acct_pay" not in detail and dumps(detail["cash_payamt"]) == "39.50"
    assert protocol.input_5203(psn_no="P", setl_id="S") == {
        "data": {"psn_no": "P", "setl_id": "S", "mdtrt_id": ""}
    }


# -- property: any valid setlinfo survives the wire unchanged ---------------------------------------
fen = st.integers(min_value=0, max_value=10**10).map(Fen)
text = st.text(max_size=12)


@st.composite
def setlinfos(draw) -> SetlInfo:
    funds = {k: draw(fen) for k in ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay")}
    funds |= {k: draw(fen) for k in ("hifob_pay", "maf_pay", "oth_pay")}
    acct_pay, psn_cash_pay, hosp_part_amt = draw(fen), draw(fen), draw(fen)
    fund_pay_sumamt = Fen.total(funds.values())
    psn_part_amt = acct_pay + psn_cash_pay
    return SetlInfo(
        setl_id=draw(st.none() | text),
        mdtrt_id=draw(st.none() | text),
        psn_no=draw(text),
        psn_name=draw(text),
        insutype=draw(st.sampled_from(["310", "390"])),
        med_type=draw(st.sampled_from(["11", "41"])),
        setl_time=draw(text),
        age=draw(st.none() | st.integers(0, 120).map(Decimal)),
        medfee_sumamt=fund_pay_sumamt + psn_part_amt + hosp_part_amt,
        fulamt_ownpay_amt=draw(fen),
        overlmt_selfpay=draw(fen),
        preselfpay_amt=draw(fen),
        inscp_scp_amt=draw(fen),
        act_pay_dedc=draw(fen),
        pool_prop_selfpay=draw(
            st.decimals(min_value=0, max_value=1, places=2, allow_nan=False, allow_infinity=False)
        ),
        fund_pay_sumamt=fund_pay_sumamt,
        psn_part_amt=psn_part_amt,
        acct_pay=acct_pay,
        psn_cash_pay=psn_cash_pay,
        hosp_part_amt=hosp_part_amt,
        balc=draw(fen),
        acct_mulaid_pay=draw(fen),
        **funds,
    )


@given(setlinfos())
def test_valid_setlinfo_round_trips_through_the_wire(info):
    info.check()
    text = dumps({"setlinfo": info.to_json()})
    for name in SETLINFO_AMOUNTS:  # plain two-decimal numbers, never an exponent or a float
        assert re.search(rf'"{name}":-?[0-9]+\.[0-9]{{2}}[,}}]', text), name
    again = SetlInfo.from_json(loads(text)["setlinfo"])
    assert again == info
    again.check()
    cancelled = SetlInfo.from_json(loads(dumps(info.negated().to_json())))
    cancelled.check(negated=True)
    assert cancelled.negated() == info


def test_a_refusal_is_read_once_into_a_code():
    """Issue 19, item 13: the insurer answers a refusal in words alone; they are read once,
    at the border, into a stable code that advice and retries switch on."""
    from cashier.services.insured import advice

    cases = {
        "签到已失效，请重新签到": "insurer.signed_out",
        "该结算已撤销，不能重复撤销": "insurer.already_cancelled",
        "医保码已过期，请刷新": "evoucher.stale",
        "参保人暂停参保": "insurance.not_here",
        "社会保障卡已挂失": "card.lost",
        "药品目录编码不存在": "insurer.refused",
    }
    for said, code in cases.items():
        err = protocol.InsurerError(said, infno="2206", code="-1")
        assert (err.code, err.infcode, str(err)) == (code, "-1", said)
    stale = advice(protocol.InsurerError("医保码已过期，请刷新"))
    assert stale.refresh_code
    # Our own words never steer the advice: only the code does.
    from cashier.errors import InputError

    assert not advice(InputError("二维码已过期")).refresh_code
    assert advice(InputError("x", code="insurance.not_here")).offer_selfpay
