"""The client against the sandbox insurer over real HTTP on loopback: every transaction, every fault."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime

import pytest

from cashier.domain.money import Fen
from cashier.insurer import journal, protocol, recovery
from cashier.insurer.client import InsurerInDoubt, InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.store.models import InsurerCall, InsurerSignIn
from cashier_sandbox import state
from cashier_sandbox.server import make_insurer, start_in_thread
from tests.support.insurer import (
    FIXMEDINS,
    OPERATOR,
    admin,
    fault,
    identify_by_qr,
    new_client,
    open_clinic_visit,
    settle,
)

AMOXICILLIN = ("XJ01CAA870A002937171150", "12.50", "2")  # 甲类
CEFIXIME = ("XJ01DDA089A009462477698", "26.80", "1")  # 乙类 0.20


@pytest.fixture
def sandbox(tmp_path, empty_station):
    running = start_in_thread(make_insurer(tmp_path / "sandbox"))
    yield running
    running.stop()
    state.sandbox_db.close()


@pytest.fixture
def client(sandbox):
    return new_client(sandbox)


def person(psn_no: str) -> state.Person:
    return state.Person.get_by_id(psn_no)


def test_sign_in_once_per_day_and_again_when_the_gateway_forgets(client, sandbox):
    client.sign_no(OPERATOR)
    first = InsurerSignIn.get().sign_no
    client.sign_no(OPERATOR)
    assert InsurerSignIn.select().count() == 1
    state.SignIn.delete().execute()  # the gateway restarted and lost its sign-ins
    identify_by_qr(client, sandbox, "P001")
    assert InsurerSignIn.get().sign_no != first


def test_clinic_visit_settle_lookup_cancel_restores_everything(client, sandbox):
    before = person("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    assert visit.balance == before.balance
    uploaded, total = open_clinic_visit(client, visit, [AMOXICILLIN, CEFIXIME])
    classes = [row["chrgitm_lv"] for row in uploaded["result"]]
    assert classes == ["01", "02"]
    pre, done = settle(client, visit, total)
    assert pre["setlinfo"]["setl_id"] is None
    info = protocol.Settlement.from_json(done).setlinfo
    assert info.medfee_sumamt == total == Fen(2500 + 2680)
    # 乙类 first self-pay: 26.80 × 0.20 = 5.36; the deductible (1800) swallows the rest.
    assert info.preselfpay_amt == Fen(536) and info.hifp_pay == Fen(0)
    assert info.acct_pay == total and info.psn_cash_pay == Fen(0)
    after = person("P001")
    assert after.balance == before.balance - total
    assert after.deductible_used == before.deductible_used + info.act_pay_dedc
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.status == Status.OK and call.msgid == done["_msgid"]
    found = client.call(
        "5203", protocol.input_5203(psn_no=visit.psn_no, mdtrt_id=visit.mdtrt_id), operator=OPERATOR
    )
    assert found["setlinfo"]["setl_id"] == info.setl_id
    cancelled = client.call(
        "2208",
        protocol.input_2208(setl_id=info.setl_id, mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no),
        operator=OPERATOR,
        context={"psn_no": visit.psn_no, "setl_id": info.setl_id},
    )
    assert protocol.money(cancelled["setlinfo"]["medfee_sumamt"]) == -total
    restored = person("P001")
    assert (restored.balance, restored.deductible_used, restored.pooled_paid) == (
        before.balance,
        before.deductible_used,
        before.pooled_paid,
    )


def test_evoucher_expired_and_single_use(client, sandbox):
    payload = admin(sandbox, "/sandbox/admin/qr", {"person": "P004", "lifetime_s": 0})["payload"]
    time.sleep(0.01)
    with pytest.raises(protocol.InsurerError, match="过期"):
        client.ec_query(payload, "01301")
    with pytest.raises(protocol.InsurerError, match="请使用医保电子凭证二维码"):
        client.ec_query("ybm:not-a-real-code", "01301")
    visit = identify_by_qr(client, sandbox, "P004")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    settle(client, visit, total)
    # The same token cannot pay a second settlement.
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    with pytest.raises(protocol.InsurerError, match="刷新"):
        settle(client, visit, total)


def test_card_identification_and_lost_card(client):
    p = person("P002")
    info = client.call(
        "1101",
        protocol.input_1101(
            mdtrt_cert_type="03",
            mdtrt_cert_no=p.card_no,
            card_sn=p.card_sn,
            begntime=datetime.now(),
        ),
        operator=OPERATOR,
    )
    assert info["baseinfo"]["psn_no"] == "P002"
    lost = person("P009")
    with pytest.raises(protocol.InsurerError, match="挂失"):
        client.call(
            "1101",
            protocol.input_1101(
                mdtrt_cert_type="03",
                mdtrt_cert_no=lost.card_no,
                card_sn=lost.card_sn,
                begntime=datetime.now(),
            ),
            operator=OPERATOR,
        )


def test_cross_region_without_filing_and_suspended_are_refused(client, sandbox):
    for who, message in (("P007", "异地就医备案"), ("P008", "暂停参保")):
        visit = identify_by_qr(client, sandbox, who)
        _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
        with pytest.raises(protocol.InsurerError, match=message):
            settle(client, visit, total)


def test_pharmacy_sale_and_cancel(client, sandbox):
    before = person("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    from tests.support.insurer import fee_lines

    lines = fee_lines("", visit.psn_no, [AMOXICILLIN])
    args = dict(
        psn_no=visit.psn_no,
        mdtrt_cert_type="01",
        mdtrt_cert_no=visit.cert_no,
        begntime=datetime.now(),
        medfee_sumamt=Fen(2500),
        insutype="310",
        acct_used_flag=True,
        drugdetail=lines,
    )
    pre = client.call("2101", protocol.input_2101(**args), operator=OPERATOR)
    assert protocol.money(pre["setlinfo"]["hifp_pay"]) == Fen(0)  # pharmacies use no pooled fund
    done = client.call(
        "2102",
        protocol.input_2102(invono="INV-P", **args),
        operator=OPERATOR,
        context={"psn_no": visit.psn_no},
    )
    info = protocol.Settlement.from_json(done).setlinfo
    assert info.acct_pay == Fen(2500) and person("P001").balance == before.balance - Fen(2500)
    client.call(
        "2103",
        protocol.input_2103(setl_id=info.setl_id, mdtrt_id=info.mdtrt_id, psn_no=visit.psn_no),
        operator=OPERATOR,
    )
    assert person("P001").balance == before.balance


def test_reconciliation_totals_and_details(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    _, done = settle(client, visit, total)
    info = protocol.Settlement.from_json(done).setlinfo
    today = date.today()
    args = dict(
        insutype="310",
        clr_type="11",
        setl_optins="110105",
        stmt_begndate=today,
        stmt_enddate=today,
        medfee_sumamt=info.medfee_sumamt,
        fund_pay_sumamt=info.fund_pay_sumamt,
        acct_pay=info.acct_pay,
        fixmedins_setl_cnt=1,
    )
    ok = protocol.ReconTotals.from_json(
        client.call("3201", protocol.input_3201(**args), operator=OPERATOR)
    )
    assert ok.balanced
    args["fixmedins_setl_cnt"] = 2
    bad = protocol.ReconTotals.from_json(
        client.call("3201", protocol.input_3201(**args), operator=OPERATOR)
    )
    assert not bad.balanced
    line = {
        "setl_id": info.setl_id,
        "mdtrt_id": info.mdtrt_id,
        "psn_no": info.psn_no,
        "medfee_sumamt": info.medfee_sumamt,
        "fund_pay_sumamt": info.fund_pay_sumamt,
        "acct_pay": info.acct_pay,
        "refd_setl_flag": "0",
    }
    data = protocol.zip_text("d.txt", protocol.recon_upload_file([line]))
    up = protocol.FileInfo.from_json(
        client.call(
            "9101",
            protocol.input_9101(filename="d.txt.zip", data=data, fixmedins_code=FIXMEDINS),
            operator=OPERATOR,
        )
    )
    detail = {k: v for k, v in args.items() if k not in ("insutype", "clr_type", "acct_pay")}
    out = client.call(
        "3202",
        protocol.input_3202(**detail, file_qury_no=up.file_qury_no, cash_payamt=info.psn_cash_pay),
        operator=OPERATOR,
    )
    result = protocol.FileInfo.from_json(out["fileinfo"])
    rows = protocol.read_recon_result(
        client.download(
            protocol.input_9102(
                file_qury_no=result.file_qury_no, filename=result.filename, fixmedins_code=FIXMEDINS
            ),
            operator=OPERATOR,
        )
    )
    assert [(r.setl_id, r.stmt_rslt, r.psn_no) for r in rows] == [(info.setl_id, "0", info.psn_no)]


def test_tif_signature_is_checked(tmp_path, empty_station):
    running = start_in_thread(make_insurer(tmp_path / "sb", paasid="clinic", secret="s3cret"))
    try:
        good = new_client(running, paasid="clinic", secret="s3cret")
        assert good.sign_no(OPERATOR)
        InsurerSignIn.delete().execute()
        bad = new_client(running, paasid="clinic", secret="wrong")
        with pytest.raises(protocol.InsurerError, match=r"签名|signature"):
            bad.sign_no(OPERATOR)
    finally:
        running.stop()


def test_latency_is_only_slow(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    fault(sandbox, "latency", "2207", delay_ms=300)
    _, done = settle(client, visit, total)
    assert done["setlinfo"]["setl_id"]


@pytest.mark.parametrize(
    ("kind", "committed"),
    [
        ("timeout", False),
        ("http500", False),
        ("malformed", True),
        ("break_invariant", True),
        ("drop_after_commit", True),
    ],
)
def test_faults_on_settlement_end_resolved_with_nothing_charged_twice(
    client, sandbox, kind, committed
):
    before = person("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN, CEFIXIME])
    fault(sandbox, kind, "2207", delay_ms=4000 if kind == "timeout" else 0)
    with pytest.raises(InsurerInDoubt):
        settle(client, visit, total)
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.status == Status.IN_DOUBT
    was_committed = state.Settlement.select().where(state.Settlement.msgid == call.msgid).exists()
    assert was_committed is committed
    # Start-up recovery: ask, never guess; reverse what cannot go on.
    results = recovery.resolve_all(client, "TRAIN-01")
    assert [r.status for r in results] == [Status.REVERSED if committed else Status.NOT_COMMITTED]
    after = person("P001")
    assert (after.balance, after.deductible_used, after.pooled_paid) == (
        before.balance,
        before.deductible_used,
        before.pooled_paid,
    )
    assert not state.Settlement.select().where(state.Settlement.cancelled == False).exists()  # noqa: E712
    # The same visit can now be settled once, with a new msgid.
    _, done = settle(client, visit, total)
    assert done["setlinfo"]["setl_id"]
    live = state.Settlement.select().where(state.Settlement.cancelled == False).count()  # noqa: E712
    assert live == 1


def test_a_late_original_after_its_reversal_is_refused(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    fault(sandbox, "timeout", "2207", delay_ms=4000)
    with pytest.raises(InsurerInDoubt):
        settle(client, visit, total)
    call = InsurerCall.get(InsurerCall.infno == "2207")
    recovery.resolve_all(client, "TRAIN-01")
    # The original message arrives now: it must not settle.
    reply = sandbox.insurer.call({}, journal.request_of(call).encode())
    assert b'"infcode":-1' in reply.body
    assert not state.Settlement.select().exists()


def test_the_same_msgid_twice_settles_once(client, sandbox):
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    settle(client, visit, total)
    call = InsurerCall.get(InsurerCall.infno == "2207")
    first = sandbox.insurer.call({}, journal.request_of(call).encode()).body
    assert state.Settlement.select().count() == 1
    assert protocol.parse_response(first, "2207")["setlinfo"]["setl_id"]


def test_insurer_down_is_not_in_doubt(tmp_path, empty_station):
    running = start_in_thread(make_insurer(tmp_path / "sb"))
    url_client = new_client(running)
    running.stop()
    with pytest.raises(InsurerUnavailable, match="无法连接"):
        url_client.sign_no(OPERATOR)


CRASH = """
import os, sys, time
sys.path.insert(0, {root!r})
from cashier.config import settings_from_dict
from cashier.services.station import open_station
from cashier.insurer import protocol
from tests.support.insurer import OPERATOR, Visit, new_client, settle_args
from tests.support import insurer as t

open_station(
    settings_from_dict({{"database_url": {db!r}, "key_file": {key!r}}}, data_dir={data!r}),
    seed=False,
)

class Remote:
    url = {url!r}

client = new_client(Remote, read_timeout=30)
visit = Visit(**{visit!r})
visit.balance = None
print("sending", flush=True)
t.settle(client, visit, protocol.money({total!r}))
print("answered", flush=True)
"""


def test_crash_between_sending_2207_and_its_answer_is_resolved_on_restart(
    client, sandbox, settings, tmp_path
):
    before = person("P001")
    visit = identify_by_qr(client, sandbox, "P001")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    fault(sandbox, "latency", "2207", delay_ms=1500)  # commits after the client is dead
    script = tmp_path / "crash.py"
    fields = {k: v for k, v in vars(visit).items() if k != "balance"}
    script.write_text(
        textwrap.dedent(
            CRASH.format(
                root=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
                data=str(settings.data_dir),
                db=settings.database_url,  # the test's database (PostgreSQL or SQLite)
                key=settings.key_file,  # and its station key (shared on PostgreSQL)
                url=sandbox.url,
                visit=fields,
                total=str(total),
            )
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if InsurerCall.select().where(InsurerCall.infno == "2207").exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)  # the message is on the wire; the insurer is still working on it
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.6)  # the insurer commits, its answer goes nowhere
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.status == Status.PENDING  # the dead process never learnt the outcome
    assert state.Settlement.select().where(state.Settlement.msgid == call.msgid).exists()
    results = recovery.resolve_all(client, "TRAIN-01")
    assert [r.status for r in results] == [Status.REVERSED]
    after = person("P001")
    assert after.balance == before.balance and after.deductible_used == before.deductible_used


def test_sign_out_and_fee_deletion(client, sandbox):
    sign_no = client.sign_no(OPERATOR)
    visit = identify_by_qr(client, sandbox, "P004")
    _, total = open_clinic_visit(client, visit, [AMOXICILLIN])
    client.call(
        "2205",
        protocol.input_2205(
            mdtrt_id=visit.mdtrt_id, chrg_bchno=protocol.ALL_UNSETTLED, psn_no=visit.psn_no
        ),
        operator=OPERATOR,
    )
    with pytest.raises(protocol.InsurerError, match="没有待结算"):
        settle(client, visit, total)
    client.call(
        "9002", protocol.input_9002(sign_no=sign_no, opter_no=OPERATOR[0]), operator=OPERATOR
    )
    assert state.SignIn.get_by_id(sign_no).signed_out


def test_faults_on_a_lookup_are_plain_unavailability(client, sandbox):
    client.sign_no(OPERATOR)
    for kind in ("http500", "drop_after_commit", "malformed"):
        fault(sandbox, kind, "1101")
        with pytest.raises((InsurerUnavailable, protocol.ProtocolError)):
            identify_by_qr(client, sandbox, "P001")
    assert not InsurerCall.select().exists()  # lookups are not journaled: nothing in doubt


def test_cli_sandbox_serves_over_http(tmp_path, empty_station):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CASHIER_DATA_DIR": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cashier", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert f":{port}/fsi/api/rsfComIfsService/callService" in line, proc.stderr.read()

        class Remote:
            url = f"http://127.0.0.1:{port}"

        assert new_client(Remote).sign_no(OPERATOR)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_sandbox_says_its_handling_time_only_when_asked(client, sandbox):
    """``cashier sandbox --server-timing``: each answer of the interface says how long it was
    handled (the benchmarks' baseline); a gateway as the counter meets it adds no header."""
    seen: list[str | None] = []
    read = client._read_capped

    def reading(response, deadline):
        seen.append(response.getheader("Server-Timing"))
        return read(response, deadline)

    client._read_capped = reading
    client.sign_no(OPERATOR)
    sandbox.insurer.server_timing = True
    identify_by_qr(client, sandbox, "P001")  # ec.query and 1101
    assert seen[0] is None
    timings = [t for t in seen[1:] if t is not None]
    assert len(timings) >= 2 and all(t.startswith("app;dur=") for t in timings)
    from bench.latency import server_timing

    assert all(server_timing(t) > 0 for t in timings)
