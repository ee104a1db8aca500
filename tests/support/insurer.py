"""Running the sandbox insurer on loopback and driving the client through a whole visit."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cashier.domain.money import Fen
from cashier.insurer import protocol
from cashier.insurer.client import Gateway, InsurerClient
from cashier_sandbox.server import RunningSandbox

OPERATOR = ("1001", "王小美")
FIXMEDINS = "H11010500001"


def admin(
    sandbox: RunningSandbox, path: str, body: dict | None = None, method: str = "POST"
) -> dict:
    request = urllib.request.Request(
        sandbox.url + path,
        data=json.dumps(body or {}).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def fault(sandbox: RunningSandbox, kind: str, infno: str = "*", count: int = 1, delay_ms: int = 0):
    admin(
        sandbox,
        "/sandbox/admin/fault",
        {"kind": kind, "infno": infno, "count": count, "delay_ms": delay_ms},
    )


def new_client(
    sandbox: RunningSandbox,
    *,
    read_timeout: float = 3.0,
    secret: str = "",
    paasid: str = "",
    **gateway: Any,
) -> InsurerClient:
    caller = protocol.Caller(
        fixmedins_code=FIXMEDINS,
        fixmedins_name="培训诊所",
        mdtrtarea_admvs="110105",
        opter=OPERATOR[0],
        opter_name=OPERATOR[1],
    )
    return InsurerClient(
        Gateway(
            sandbox.url,
            paasid=paasid,
            secret=secret,
            connect_timeout=2,
            read_timeout=read_timeout,
            **gateway,
        ),
        caller,
        "TRAIN-01",
    )


@dataclass
class Visit:
    psn_no: str
    insutype: str
    insuplc_admdvs: str
    cert_type: str
    cert_no: str
    mdtrt_id: str = ""
    balance: Fen = Fen(0)


def identify_by_qr(client: InsurerClient, sandbox: RunningSandbox, person: str) -> Visit:
    payload = admin(sandbox, "/sandbox/admin/qr", {"person": person})["payload"]
    ident = client.ec_query(payload, "01301")
    info = client.call(
        "1101",
        protocol.input_1101(
            mdtrt_cert_type="01",
            mdtrt_cert_no=ident.ecToken,
            begntime=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        ),
        operator=OPERATOR,
    )
    insu = info["insuinfo"][0]
    return Visit(
        info["baseinfo"]["psn_no"],
        insu["insutype"],
        insu["insuplc_admdvs"],
        "01",
        ident.ecToken,
        balance=protocol.money(insu["balc"]),
    )


def fee_lines(mdtrt_id: str, psn_no: str, items: list[tuple[str, str, str]]) -> list:
    """items: (med_list_codg, unit price yuan, count)."""
    rows = []
    for n, (code, price, cnt) in enumerate(items, 1):
        pric = Fen.parse(price)
        rows.append(
            protocol.FeeDetail(
                feedetl_sn=f"{n:04d}",
                mdtrt_id=mdtrt_id,
                psn_no=psn_no,
                chrg_bchno="0001",
                fee_ocur_time=datetime.now(),
                med_list_codg=code,
                medins_list_codg=code,
                det_item_fee_sumamt=pric.mul_ratio(Decimal(cnt)),
                cnt=Decimal(cnt),
                pric=pric,
                bilg_dept_codg="A03",
                bilg_dept_name="内科",
                bilg_dr_codg="D001",
                bilg_dr_name="李医生",
            )
        )
    return rows


def open_clinic_visit(client: InsurerClient, visit: Visit, items) -> tuple[dict, Fen]:
    reg = client.call(
        "2201",
        protocol.input_2201(
            psn_no=visit.psn_no,
            insutype=visit.insutype,
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
    visit.mdtrt_id = reg["data"]["mdtrt_id"]
    client.call(
        "2203",
        protocol.input_2203(
            mdtrt_id=visit.mdtrt_id,
            psn_no=visit.psn_no,
            med_type="11",
            begntime=datetime.now(),
            diag_code="J06.900",
            diag_name="急性上呼吸道感染",
            diag_dept="内科",
            dise_dor_no="D001",
            dise_dor_name="李医生",
            diag_time=datetime.now(),
        ),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )
    rows = fee_lines(visit.mdtrt_id, visit.psn_no, items)
    uploaded = client.call(
        "2204",
        protocol.input_2204(feedetail=rows),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )
    total = Fen.total(r.det_item_fee_sumamt for r in rows)
    return uploaded, total


def settle_args(visit: Visit, total: Fen, acct_used: bool = True) -> dict:
    return dict(
        psn_no=visit.psn_no,
        mdtrt_cert_type=visit.cert_type,
        mdtrt_cert_no=visit.cert_no,
        med_type="11",
        medfee_sumamt=total,
        psn_setlway="01",
        mdtrt_id=visit.mdtrt_id,
        chrg_bchno="0001",
        acct_used_flag="1" if acct_used else "0",
        insutype=visit.insutype,
    )


def settle(client, visit, total, acct_used=True):
    pre = client.call(
        "2206",
        protocol.input_2206(**settle_args(visit, total, acct_used)),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
    )
    s = pre["setlinfo"]
    args = settle_args(visit, total, acct_used)
    args.update(
        invono="INV-1",
        fulamt_ownpay_amt=protocol.money(s["fulamt_ownpay_amt"]),
        overlmt_selfpay=protocol.money(s["overlmt_selfpay"]),
        preselfpay_amt=protocol.money(s["preselfpay_amt"]),
        inscp_scp_amt=protocol.money(s["inscp_scp_amt"]),
    )
    return pre, client.call(
        "2207",
        protocol.input_2207(**args),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={"psn_no": visit.psn_no, "mdtrt_id": visit.mdtrt_id, "sale_key": visit.mdtrt_id},
    )


def settle_pharmacy(client, visit: Visit, sale_key: str = "SALE-P") -> dict:
    """2101 then 2102 for one 甲类 line (25.00), journaled with the context a pharmacy writes."""
    args = dict(
        psn_no=visit.psn_no,
        mdtrt_cert_type="01",
        mdtrt_cert_no=visit.cert_no,
        begntime=datetime.now(),
        medfee_sumamt=Fen(2500),
        insutype=visit.insutype,
        acct_used_flag=True,
        drugdetail=fee_lines("", visit.psn_no, [("XJ01CAA870A002937171150", "12.50", "2")]),
    )
    client.call("2101", protocol.input_2101(**args), operator=OPERATOR)
    return client.call(
        "2102",
        protocol.input_2102(invono="", **args),
        operator=OPERATOR,
        insuplc_admdvs=visit.insuplc_admdvs,
        context={
            "psn_no": visit.psn_no,
            "mdtrt_id": "",  # the visit id comes in the answer
            "sale_key": sale_key,
            "operator_name": OPERATOR[1],
            "kind": "pharmacy",
            "insuplc_admdvs": visit.insuplc_admdvs,
        },
    )
