"""Each province transport profile end to end against the sandbox speaking it (over HTTP on
loopback): ``tif``, ``xca`` (a URL per service, HMAC-SM3 headers) and ``sm4`` (SM4-encrypted
input and output, SM2-signed messages)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.money import Fen
from cashier.insurer import journal, protocol
from cashier.insurer.client import Gateway, InsurerClient, InsurerInDoubt
from cashier.store.models import InsurerCall
from cashier_sandbox import state
from cashier_sandbox.profiles import GatewayProfile, demo_counter_keys
from cashier_sandbox.server import make_insurer, start_in_thread
from tests.support.insurer import (
    FIXMEDINS,
    OPERATOR,
    identify_by_qr,
    open_clinic_visit,
    settle,
    settle_args,
)

AMOXICILLIN = ("XJ01CAA870A002937171150", "12.50", "2")  # 甲类


def start(tmp_path, profile: GatewayProfile):
    return start_in_thread(make_insurer(tmp_path / "sandbox", profile=profile))


def client_for(sandbox, **gateway) -> InsurerClient:
    caller = protocol.Caller(
        fixmedins_code=FIXMEDINS, fixmedins_name="培训诊所", mdtrtarea_admvs="110105"
    )
    return InsurerClient(
        Gateway(sandbox.url, connect_timeout=2, read_timeout=3, **gateway), caller, "TRAIN-01"
    )


PROFILES = {
    "tif": (
        GatewayProfile(kind="tif", paasid="pid", secret="s3"),
        {"paasid": "pid", "secret": "s3"},
    ),
    "xca": (
        GatewayProfile(kind="xca", xca_key="k1", xca_secret="x-secret"),
        {"profile": "xca", "xca_key": "k1", "xca_secret": "x-secret"},
    ),
    "sm4": (GatewayProfile(kind="sm4"), {"profile": "sm4", "sm4": demo_counter_keys()}),
}


@pytest.fixture(params=sorted(PROFILES))
def profiled(request, tmp_path, empty_station):
    profile, gateway = PROFILES[request.param]
    sandbox = start(tmp_path, profile)
    yield request.param, sandbox, client_for(sandbox, **gateway)
    sandbox.stop()
    state.sandbox_db.close()


def test_a_whole_clinic_visit_and_its_cancellation_in_each_profile(profiled):
    _kind, sandbox, client = profiled
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    _, done = settle(client, visit, total)
    setl_id = done["setlinfo"]["setl_id"]
    assert protocol.money(done["setlinfo"]["medfee_sumamt"]) == total == Fen(2500)
    answer = client.call(
        "2208",
        protocol.input_2208(setl_id=setl_id, mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={"psn_no": visit.psn_no, "setl_id": setl_id},
    )
    assert protocol.money(answer["setlinfo"]["medfee_sumamt"]) == -total
    assert state.Settlement.get_by_id(setl_id).cancelled
    # The journal keeps the messages readable: as written, and as opened (sm4: decrypted).
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert protocol.loads(journal.request_of(call))["input"]["data"]["mdtrt_id"] == visit.mdtrt_id
    assert protocol.loads(journal.response_of(call))["output"]["setlinfo"]["setl_id"] == setl_id


def test_xca_goes_to_one_url_per_service_and_a_wrong_secret_is_refused(tmp_path, empty_station):
    sandbox = start(tmp_path, GatewayProfile(kind="xca", xca_key="k1", xca_secret="right"))
    try:
        good = client_for(sandbox, profile="xca", xca_key="k1", xca_secret="right")
        assert good.gateway.path_for("1101") == "/fsi/api/1101"
        identify_by_qr(good, sandbox, "P001")
        bad = client_for(sandbox, profile="xca", xca_key="k1", xca_secret="wrong")
        with pytest.raises(protocol.InsurerError, match="x-ca-signature"):
            identify_by_qr(bad, sandbox, "P002")
        tif = client_for(sandbox)  # …/callService is not served by this gateway
        with pytest.raises(Exception, match=r"HTTP 404|没有应答"):
            identify_by_qr(tif, sandbox, "P002")
    finally:
        sandbox.stop()
        state.sandbox_db.close()


def test_sm4_messages_are_sealed_on_the_wire(tmp_path, empty_station):
    sandbox = start(tmp_path, GatewayProfile(kind="sm4"))
    keys = demo_counter_keys()
    try:
        client = client_for(sandbox, profile="sm4", sm4=keys)
        sealed = protocol.seal_request(
            protocol.build_request(
                client.caller,
                "9001",
                protocol.input_9001(opter_no="1001", mac="00-00-00-00-00-00", ip="127.0.0.1"),
                msgid=protocol.make_msgid(FIXMEDINS, protocol_now(), 1),
                when=protocol_now(),
            ),
            keys,
        )
        assert isinstance(sealed["input"], str) and "1001" not in sealed["input"]
        assert sealed["signtype"] == "SM2" and len(sealed["cainfo"]) == 128
        raw = client._post(
            sandbox.url, "/fsi/api/rsfComIfsService/callService", protocol.dumps(sealed).encode()
        )
        answer = protocol.loads(raw)
        assert isinstance(answer["output"], str)  # encrypted
        opened = protocol.open_response(answer, keys)
        assert opened["output"]["signinoutb"]["sign_no"]
        # An answer whose signature does not verify is not read: for a money call, in doubt.
        stranger = replace(keys, peer_public_key=keys.public_key)
        with pytest.raises(protocol.ProtocolError, match="SM2"):
            protocol.open_response(answer, stranger)
        visit = identify_by_qr(client, sandbox, "P001")
        _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
        args = settle_args(visit, total)
        pre = client.call("2206", protocol.input_2206(**args), operator=OPERATOR)["setlinfo"]
        args.update(
            invono="",
            **{k: protocol.money(pre[k]) for k in ("fulamt_ownpay_amt", "overlmt_selfpay")},
            **{k: protocol.money(pre[k]) for k in ("preselfpay_amt", "inscp_scp_amt")},
        )
        fooled = client_for(sandbox, profile="sm4", sm4=stranger)
        with pytest.raises(protocol.ProtocolError):  # a look-up: an error, nothing to resolve
            fooled.call("2206", protocol.input_2206(**settle_args(visit, total)), operator=OPERATOR)
        with pytest.raises(InsurerInDoubt):  # a settlement: in doubt, for recovery to resolve
            fooled.call("2207", protocol.input_2207(**args), operator=OPERATOR, context={})
    finally:
        sandbox.stop()
        state.sandbox_db.close()


def protocol_now():
    from datetime import datetime

    return datetime.now()


@pytest.mark.parametrize("kind", ["xca", "sm4"])
def test_a_training_station_on_a_profile_talks_to_its_sandbox_that_way(settings, kind):
    from cashier.services.station import connect_insurer, open_station

    station = open_station(settings)
    configured = replace(settings, insurer=replace(settings.insurer, profile=kind))
    connection = connect_insurer(configured)
    try:
        assert connection.client.gateway.profile == kind
        assert connection.sandbox.insurer.profile.kind == kind
        visit = identify_by_qr(connection.client, connection.sandbox, "P001")
        assert visit.psn_no
    finally:
        connection.close()
        station.close()
        state.sandbox_db.close()


def test_a_real_gateway_on_sm4_without_keys_is_told_what_it_needs(settings):
    from cashier.errors import CashierError
    from cashier.services.station import connect_insurer

    configured = replace(
        settings, insurer=replace(settings.insurer, url="http://127.0.0.1:9", profile="sm4")
    )
    with pytest.raises(CashierError, match="sm4_key"):
        connect_insurer(configured)


def test_an_unknown_profile_is_a_configuration_error(tmp_path):
    from cashier.config import ConfigError, settings_from_dict

    with pytest.raises(ConfigError, match=r"insurer\.profile"):
        settings_from_dict({"insurer": {"profile": "rsa"}}, data_dir=tmp_path)
