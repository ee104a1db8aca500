"""The errors patients meet at the counter, produced by the sandbox over real HTTP.

Each test is the recipe a counter test can follow: which person, which
message or fault, and the exact code and words the insurer answers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from cashier.domain.money import Fen
from cashier.insurer import protocol, recovery
from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.store.models import InsurerCall
from cashier_sandbox import state
from cashier_sandbox.server import EC_PATH, make_insurer, start_in_thread
from tests.support.insurer import (
    FIXMEDINS,
    OPERATOR,
    admin,
    fault,
    fee_lines,
    identify_by_qr,
    new_client,
    open_clinic_visit,
    settle_args,
)

AMOXICILLIN = "XJ01CAA870A002937171150"  # 甲类, 12.50
NOT_ACTIVATED = "医保电子凭证未激活，请患者在国家医保服务平台App或微信/支付宝中激活后重新出示"
MISMATCH = "姓名与证件号码不符，请核对患者身份"
ONLY_WITH_310 = "险种 320 公务员医疗补助不能单独结算，请改选险种 310 职工基本医疗保险结算"


@pytest.fixture
def sandbox(tmp_path, empty_station):
    running = start_in_thread(make_insurer(tmp_path / "sandbox"))
    yield running
    running.stop()
    state.sandbox_db.close()


@pytest.fixture
def client(sandbox):
    return new_client(sandbox)


# -- local helpers -----------------------------------------------------------------------------
def ec_query_raw(sandbox, payload: str, headers: dict[str, str] | None = None) -> dict:
    """The e-voucher service's answer as sent: ``{code, message, data}``."""
    body = protocol.ec_query_request(FIXMEDINS, payload, "01301")
    request = urllib.request.Request(
        sandbox.url + EC_PATH,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def lookup_1101(client, cert_type: str, cert_no: str, **fields: str) -> dict:
    return client.call(
        "1101",
        protocol.input_1101(
            mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no, begntime=datetime.now(), **fields
        ),
        operator=OPERATOR,
    )


def register(client, visit, insutype: str) -> str:
    reg = client.call(
        "2201",
        protocol.input_2201(
            psn_no=visit.psn_no,
            insutype=insutype,
            begntime=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            mdtrt_cert_type=visit.cert_type,
            mdtrt_cert_no=visit.cert_no,
            ipt_otp_no="OP0001",
            atddr_no="D001",
            dr_name="李医生",
            dept_code="A03",
            dept_name="内科",
            caty="A03",
        ),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )
    return reg["data"]["mdtrt_id"]


def call_2206(client, visit, total: Fen, **changes) -> dict:
    args = {**settle_args(visit, total), **changes}
    return client.call(
        "2206", protocol.input_2206(**args), operator=OPERATOR, insuplc_admdvs=visit.insuplc_admdvs
    )


def call_2207(client, visit, total: Fen, **changes) -> dict:
    args = {**settle_args(visit, total), **changes}
    zero = Fen(0)
    args.update(
        invono="INV-1",
        fulamt_ownpay_amt=zero,
        overlmt_selfpay=zero,
        preselfpay_amt=zero,
        inscp_scp_amt=total,
    )
    return client.call(
        "2207",
        protocol.input_2207(**args),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={"psn_no": visit.psn_no, "mdtrt_id": visit.mdtrt_id, "sale_key": visit.mdtrt_id},
    )


def pharmacy_args(visit, count: str, insutype: str = "310") -> dict:
    lines = fee_lines("", visit.psn_no, [(AMOXICILLIN, "12.50", count)])
    return dict(
        psn_no=visit.psn_no,
        mdtrt_cert_type=visit.cert_type,
        mdtrt_cert_no=visit.cert_no,
        begntime=datetime.now(),
        medfee_sumamt=Fen.total(r.det_item_fee_sumamt for r in lines),
        insutype=insutype,
        acct_used_flag=True,
        drugdetail=lines,
    )


def live_settlements() -> int:
    return state.Settlement.select().where(state.Settlement.cancelled == False).count()  # noqa: E712


# -- 1. the e-voucher is not activated ---------------------------------------------------------
def test_an_evoucher_not_activated_is_refused_by_ec_query(client, sandbox):
    payload = admin(sandbox, "/sandbox/admin/qr", {"person": "P012"})["payload"]
    assert payload.startswith("ybm:")
    answer = ec_query_raw(sandbox, payload)
    assert answer == {"code": 500162, "message": NOT_ACTIVATED, "data": None}
    with pytest.raises(protocol.InsurerError) as caught:
        client.ec_query(payload, "01301")
    assert (str(caught.value), caught.value.infcode) == (NOT_ACTIVATED, "500162")
    assert caught.value.code == "evoucher.stale"
    # The token behind the code does not identify them either.
    token = state.EVoucher.get_by_id(payload).ec_token
    with pytest.raises(protocol.InsurerError, match=NOT_ACTIVATED):
        lookup_1101(client, "01", token)
    # Only the e-voucher needs activating: the ID card and the social-security card work.
    p = state.Person.get_by_id("P012")
    assert lookup_1101(client, "02", p.certno)["baseinfo"]["psn_no"] == "P012"
    info = lookup_1101(client, "03", p.card_no, card_sn=p.card_sn)
    assert info["baseinfo"]["psn_name"] == "黄敏"


def test_the_other_ec_query_codes_are_unchanged(sandbox):
    assert ec_query_raw(sandbox, "ybm:not-a-real-code")["code"] == 500159
    payload = admin(sandbox, "/sandbox/admin/qr", {"person": "P001", "lifetime_s": 0})["payload"]
    time.sleep(0.01)
    assert ec_query_raw(sandbox, payload)["code"] == 500160


# -- 2. several insurances ----------------------------------------------------------------------
def test_a_civil_servant_holds_310_and_320_and_only_310_settles(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P005")
    info = lookup_1101(client, "01", visit.cert_no)
    rows = [(r["insutype"], protocol.money(r["balc"])) for r in info["insuinfo"]]
    assert rows == [("310", Fen(250000)), ("320", Fen(0))]
    assert {r["cvlserv_flag"] for r in info["insuinfo"]} == {"1"}
    person = protocol.PersonInfo.from_json(info)
    assert person.insurance("320").balc == Fen(0)

    # Registering, pre-settling, settling or a pharmacy sale under 320: refused, 310 named.
    with pytest.raises(protocol.InsurerError) as caught:
        register(client, visit, "320")
    assert str(caught.value) == ONLY_WITH_310
    _, total = open_clinic_visit(client, visit, [(AMOXICILLIN, "12.50", "2")])
    for call in (call_2206, call_2207):
        with pytest.raises(protocol.InsurerError) as caught:
            call(client, visit, total, insutype="320")
        assert str(caught.value) == ONLY_WITH_310
    for infno, build in (("2101", protocol.input_2101), ("2102", protocol.input_2102)):
        with pytest.raises(protocol.InsurerError) as caught:
            client.call(infno, build(**pharmacy_args(visit, "1", "320")), operator=OPERATOR)
        assert str(caught.value) == ONLY_WITH_310
    assert InsurerCall.get(InsurerCall.infno == "2207").status == Status.REFUSED
    assert live_settlements() == 0

    # Under 310 it settles, the subsidy (320100) paid within it.
    pre = call_2206(client, visit, total, insutype="310")
    assert pre["setlinfo"]["insutype"] == "310"
    done = call_2207(client, visit, total, insutype="310")
    assert done["setlinfo"]["insutype"] == "310"
    assert state.Settlement.get().insutype == "310"


def test_an_insurance_the_person_does_not_hold_is_refused(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    assert [r["insutype"] for r in lookup_1101(client, "01", visit.cert_no)["insuinfo"]] == ["310"]
    with pytest.raises(protocol.InsurerError) as caught:
        register(client, visit, "390")
    assert str(caught.value) == (
        "该人员未参加险种 390 城乡居民基本医疗保险，请按人员信息（1101）返回的险种办理"
    )


# -- 3. name and ID number do not match ----------------------------------------------------------
def test_1101_refuses_a_name_or_id_number_that_is_not_the_persons(client, sandbox):
    p1, p2 = state.Person.get_by_id("P001"), state.Person.get_by_id("P002")
    visit = identify_by_qr(client, sandbox, "P001")
    cases = [
        ("01", visit.cert_no, {"psn_name": "李四"}),
        ("01", visit.cert_no, {"psn_cert_type": "01", "certno": p2.certno}),
        ("02", p1.certno, {"psn_name": p2.name}),
        ("03", p1.card_no, {"card_sn": p1.card_sn, "certno": p2.certno, "psn_name": p1.name}),
    ]
    for cert_type, cert_no, fields in cases:
        with pytest.raises(protocol.InsurerError) as caught:
            lookup_1101(client, cert_type, cert_no, **fields)
        assert (str(caught.value), caught.value.infcode) == (MISMATCH, "-1"), fields
    # The right name and number, a lower-case x, or nothing at all: found.
    for fields in (
        {"psn_name": p1.name, "psn_cert_type": "01", "certno": p1.certno.lower()},
        {"psn_name": f" {p1.name} "},
        {"psn_name": "", "certno": ""},
    ):
        assert lookup_1101(client, "01", visit.cert_no, **fields)["baseinfo"]["psn_no"] == "P001"


# -- 4. above the single-settlement limit -----------------------------------------------------------
CLINIC_ABOVE = "本次医疗费用 5012.50 元超过单次结算限额 5000.00 元，请分次结算或按自费结算"
PHARMACY_ABOVE = "本次医疗费用 3012.50 元超过单次结算限额 3000.00 元，请分次结算或按自费结算"


def test_a_clinic_bill_above_the_limit_is_refused(client, sandbox):
    before = state.Person.get_by_id("P002").balance
    visit = identify_by_qr(client, sandbox, "P002")
    _, total = open_clinic_visit(client, visit, [(AMOXICILLIN, "12.50", "401")])
    assert total == Fen(501250)
    for call in (call_2206, call_2207):
        with pytest.raises(protocol.InsurerError) as caught:
            call(client, visit, total)
        assert str(caught.value) == CLINIC_ABOVE
    with pytest.raises(protocol.InsurerError, match=r"超过单次结算限额 5000\.00 元"):
        call_2206(client, visit, total, med_type="13")
    assert InsurerCall.get(InsurerCall.infno == "2207").status == Status.REFUSED
    assert live_settlements() == 0 and state.Person.get_by_id("P002").balance == before
    # At the limit it settles.
    visit = identify_by_qr(client, sandbox, "P002")
    _, total = open_clinic_visit(client, visit, [(AMOXICILLIN, "12.50", "400")])
    assert call_2207(client, visit, total)["setlinfo"]["setl_id"]


def test_a_pharmacy_sale_above_the_limit_is_refused(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    for infno, build in (("2101", protocol.input_2101), ("2102", protocol.input_2102)):
        with pytest.raises(protocol.InsurerError) as caught:
            client.call(infno, build(**pharmacy_args(visit, "241")), operator=OPERATOR)
        assert str(caught.value) == PHARMACY_ABOVE
    assert live_settlements() == 0
    done = client.call(
        "2102", protocol.input_2102(**pharmacy_args(visit, "240")), operator=OPERATOR
    )
    assert protocol.money(done["setlinfo"]["medfee_sumamt"]) == Fen(300000)


# -- 5. a slow insurer ---------------------------------------------------------------------------------
def test_latency_delays_only_the_named_transaction(client, sandbox):
    client.sign_no(OPERATOR)
    fault(sandbox, "latency", "1101", delay_ms=600)
    started = time.monotonic()
    visit = identify_by_qr(client, sandbox, "P001")  # ec.query, then 1101
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    identify_by_qr(client, sandbox, "P001")  # count 1: the next one is quick
    assert time.monotonic() - started < 0.6
    assert visit.psn_no == "P001"


@pytest.mark.parametrize("delay_ms", [0, 2000])
def test_a_2102_committed_then_unanswered_is_in_doubt_and_reversed(sandbox, delay_ms):
    # delay 0: the connection closes at once; 2000 ms: the client's 1 s read timeout comes first.
    client = new_client(sandbox, read_timeout=1.0)
    before = state.Person.get_by_id("P001").balance
    visit = identify_by_qr(client, sandbox, "P001")
    fault(sandbox, "drop_after_commit", "2102", delay_ms=delay_ms)
    args = pharmacy_args(visit, "2")
    with pytest.raises(InsurerInDoubt):
        client.call(
            "2102", protocol.input_2102(**args), operator=OPERATOR, context={"psn_no": "P001"}
        )
    call = InsurerCall.get(InsurerCall.infno == "2102")
    assert call.status == Status.IN_DOUBT
    assert state.Settlement.get(state.Settlement.msgid == call.msgid).infno == "2102"
    assert state.Person.get_by_id("P001").balance == before - Fen(2500)
    assert [r.status for r in recovery.resolve_all(client, "TRAIN-01")] == [Status.REVERSED]
    assert state.Person.get_by_id("P001").balance == before and live_settlements() == 0


def test_a_2207_committed_then_silent_past_the_read_timeout(sandbox):
    client = new_client(sandbox, read_timeout=1.0)
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [(AMOXICILLIN, "12.50", "2")])
    fault(sandbox, "drop_after_commit", "2207", delay_ms=2500)
    started = time.monotonic()
    with pytest.raises(InsurerInDoubt):
        call_2207(client, visit, total)
    assert 0.9 < time.monotonic() - started < 2.4  # the client gave up, the insurer had settled
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.status == Status.IN_DOUBT
    assert state.Settlement.select().where(state.Settlement.msgid == call.msgid).exists()
    assert [r.status for r in recovery.resolve_all(client, "TRAIN-01")] == [Status.REVERSED]


def test_faults_on_the_evoucher_service(client, sandbox):
    payload = admin(sandbox, "/sandbox/admin/qr", {"person": "P001"})["payload"]
    fault(sandbox, "latency", "ec.query", delay_ms=500)
    started = time.monotonic()
    assert client.ec_query(payload, "01301").userName == "张伟"
    assert time.monotonic() - started >= 0.5
    for kind in ("http500", "drop_after_commit"):
        fault(sandbox, kind, "ec.query")
        with pytest.raises(InsurerUnavailable, match="医保电子凭证服务没有应答"):
            client.ec_query(payload, "01301")
    fault(sandbox, "malformed", "ec.query")
    with pytest.raises(protocol.ProtocolError):
        client.ec_query(payload, "01301")
    # "*" is the national interface only: the e-voucher service is not touched by it.
    fault(sandbox, "http500", "*")
    assert client.ec_query(payload, "01301").userName == "张伟"
    admin(sandbox, "/sandbox/admin/fault", method="DELETE")
    # The per-request header works on the e-voucher service too.
    assert ec_query_raw(sandbox, payload, {"x-sandbox-fault": "latency,10"})["code"] == 0


def test_an_unknown_fault_kind_is_a_clear_error(sandbox):
    with pytest.raises(urllib.error.HTTPError) as caught:
        fault(sandbox, "slow", "2207")
    assert caught.value.code == 400
    assert "drop_after_commit" in json.loads(caught.value.read())["error"]
