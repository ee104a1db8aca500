"""The outpatient flow as the interface defines it, over HTTP against the sandbox:
2201 → 2203 (the diagnosis) → 2204 (every required field) → 2206 → 2207; a walk-in bill
asks for its diagnosis before anything is sent; 2201's caty is a 科别; a pharmacy's lines
carry the pharmacy's fields and not the clinic's."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.insurer import protocol
from cashier.services import orders
from cashier.services.checkout import Checkout
from cashier.services.insured import DiagnosisNeeded, Insurance
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, CEFIXIME, qr, ring_up

P001_CERTNO = "11010519780312001X"  # the demo orders' 张伟


class Spy:
    """The insurer client, with every call it sent: (infno, input)."""

    def __init__(self, client, sandbox) -> None:
        self.client, self.sandbox, self.sent = client, sandbox, []

    def call(self, infno, input, **kw):
        self.sent.append((infno, input))
        return self.client.call(infno, input, **kw)

    def __getattr__(self, name):
        return getattr(self.client, name)

    @property
    def infnos(self) -> list[str]:
        return [infno for infno, _ in self.sent if infno != "9001"]

    def input_of(self, infno: str) -> dict:
        return next(i for n, i in self.sent if n == infno)


@pytest.fixture
def spy(insurer):
    return Spy(insurer.client, insurer.sandbox)


def walk_in(spy, settings, who, person="P002", **changes) -> tuple[Insurance, Checkout]:
    insurance = Insurance(spy, replace(settings, **changes))
    co = Checkout(settings.station_id, who)
    co.identify(insurance.identify_qr(qr(spy, person), who), "clinic")
    ring_up(co, AMOXICILLIN, CEFIXIME)
    return insurance, co


def test_an_orders_visit_sends_2203_with_the_orders_diagnosis_before_2204(
    spy, settings, cashier_1001
):
    insurance = Insurance(spy, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(spy, "P001"), cashier_1001), "clinic")
    order = orders.pending_for(P001_CERTNO)[0]
    assert co.load_orders([order])
    insurance.presettle(co)
    insurance.settle(co)
    assert spy.infnos == ["1101", "2201", "2203", "2204", "2206", "2207"]
    diagnosis = spy.input_of("2203")["diseinfo"][0]
    assert (diagnosis["diag_code"], diagnosis["diag_name"]) == (order.diag_code, order.diag_name)
    assert diagnosis["dise_dor_no"] == order.doctor_code
    visit = state.Visit.get_by_id(co.insured.mdtrt_id)
    assert (visit.diag_code, visit.diag_name) == (order.diag_code, order.diag_name)
    registration = spy.input_of("2201")["data"]
    assert registration["caty"] == order.dept_code[:3] or registration["caty"] == order.dept_code
    for line in spy.input_of("2204")["feedetail"]:
        assert line["rx_circ_flag"] == "0" and line["hosp_appr_flag"] == "1"
        assert (line["bilg_dept_codg"], line["bilg_dr_codg"]) == (
            order.dept_code,
            order.doctor_code,
        )
        assert "rxno" not in line


def test_a_walk_in_bill_asks_for_its_diagnosis_before_anything_is_sent(spy, settings, cashier_1001):
    insurance, co = walk_in(spy, settings, cashier_1001)
    with pytest.raises(DiagnosisNeeded):
        insurance.presettle(co)
    assert spy.infnos == ["1101"]  # no visit registered without a diagnosis
    insurance.set_diagnosis(co, "k29.700 ", "胃炎")
    insurance.presettle(co)
    assert spy.infnos == ["1101", "2201", "2203", "2204", "2206"]
    diagnosis = spy.input_of("2203")["diseinfo"][0]
    assert (diagnosis["diag_code"], diagnosis["diag_name"]) == ("K29.700", "胃炎")
    # The training station's walk-in department and doctor, on the visit and on every line.
    assert spy.input_of("2201")["data"]["dept_code"] == "A03"
    assert {line["bilg_dr_codg"] for line in spy.input_of("2204")["feedetail"]} == {"D000"}


def test_caty_comes_from_the_department_map(spy, settings, cashier_1001):
    walk = replace(settings.walk_in, dept_code="K07", dept_name="儿科门诊", caty="A03")
    insurance, co = walk_in(spy, settings, cashier_1001, visit=walk, departments={"K07": "A07"})
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    insurance.presettle(co)
    assert spy.input_of("2201")["data"]["caty"] == "A07"


def test_a_real_clinic_without_walk_in_defaults_is_told_what_to_set(spy, settings, cashier_1001):
    insurance, co = walk_in(spy, settings, cashier_1001, training=False)
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    with pytest.raises(Exception, match=r"\[visit\]"):
        insurance.presettle(co)
    assert spy.infnos == ["1101"]


def test_a_pharmacy_line_carries_the_pharmacys_fields(spy, settings, cashier_1001):
    insurance = Insurance(spy, replace(settings, kind="pharmacy"))
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(spy, "P002"), cashier_1001), "pharmacy")
    ring_up(co, AMOXICILLIN)
    insurance.presettle(co)
    insurance.settle(co)
    assert spy.infnos == ["1101", "2101", "2102"]
    for line in spy.input_of("2102")["drugdetail"]:
        assert line["rxno"] == co.key and line["rx_circ_flag"] == "0"
        assert "bilg_dept_codg" not in line and "hosp_appr_flag" not in line


# -- the sandbox holds the counter to the flow ----------------------------------------------------
def test_the_sandbox_settles_no_clinic_visit_without_2203(insurer):
    from tests.support.insurer import OPERATOR, identify_by_qr, settle_args

    client = insurer.client
    visit = identify_by_qr(client, insurer.sandbox, "P001")
    reg = client.call(
        "2201",
        protocol.input_2201(
            psn_no=visit.psn_no,
            insutype=visit.insutype,
            begntime="2026-12-07 09:00:00",
            mdtrt_cert_type="01",
            mdtrt_cert_no=visit.cert_no,
            ipt_otp_no="OP1",
            atddr_no="D001",
            dr_name="李医生",
            dept_code="A03",
            dept_name="内科",
            caty="A03",
        ),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )
    visit.mdtrt_id = reg["data"]["mdtrt_id"]
    with pytest.raises(protocol.InsurerError, match="2203"):
        client.call(
            "2206",
            protocol.input_2206(**settle_args(visit, protocol.money("25.00"))),
            operator=OPERATOR,
            insuplc_admdvs=visit.insuplc_admdvs,
        )


def test_the_sandbox_refuses_a_department_code_as_caty_and_a_line_without_its_flags(insurer):
    from tests.support.insurer import OPERATOR, fee_lines, identify_by_qr

    client = insurer.client
    visit = identify_by_qr(client, insurer.sandbox, "P001")
    args = dict(
        psn_no=visit.psn_no,
        insutype=visit.insutype,
        begntime="2026-12-07 09:00:00",
        mdtrt_cert_type="01",
        mdtrt_cert_no=visit.cert_no,
        ipt_otp_no="OP1",
        atddr_no="D001",
        dr_name="李医生",
        dept_code="NK01",
        dept_name="内科",
    )
    where = {"operator": OPERATOR, "insuplc_admdvs": visit.insuplc_admdvs}
    with pytest.raises(protocol.InsurerError, match="科别"):
        client.call("2201", protocol.input_2201(**args, caty="NK01"), **where)
    reg = client.call("2201", protocol.input_2201(**args, caty="A03"), **where)
    line = replace(
        fee_lines(reg["data"]["mdtrt_id"], visit.psn_no, [("X1", "1.00", "1")])[0],
        hosp_appr_flag="",
    )
    with pytest.raises(protocol.InsurerError, match="hosp_appr_flag"):
        client.call("2204", protocol.input_2204(feedetail=[line]), **where)


def test_a_local_e_voucher_service_reads_the_code_itself(insurer, settings, cashier_1001):
    """``local_ec_url``: the counter asks a certified scanner's localQrCodeQuery service, which
    reads the 医保码 itself; the cashier posts no scanned text. The stand-in service here
    "scans" P001's phone: it fetches a fresh code from the sandbox and asks the sandbox."""
    import json
    import threading
    import urllib.request
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cashier.insurer.client import EC_PATH, InsurerClient

    asked: list[str] = []  # the ecQrCode of each question
    sandbox_url = insurer.sandbox.url

    class Scanner(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(body["data"]["ecQrCode"])
            body["data"]["ecQrCode"] = qr(insurer, "P001")  # what the scanner read
            request = urllib.request.Request(
                sandbox_url + EC_PATH, data=json.dumps(body).encode(), method="POST"
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                data = answer.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Scanner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = f"http://127.0.0.1:{server.server_address[1]}"
        gateway = replace(insurer.client.gateway, local_ec_url=local)
        client = InsurerClient(gateway, insurer.client.caller, settings.station_id)
        patient = Insurance(client, settings).identify_qr("", cashier_1001)
        assert patient.psn_no == "P001"
        assert asked == [""]
    finally:
        server.shutdown()
        server.server_close()
