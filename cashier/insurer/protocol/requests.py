"""What the cashier sends: each transaction's input nodes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cashier.domain.money import Fen
from cashier.insurer.protocol.codes import MDTRT_CERT_TYPES
from cashier.insurer.protocol.errors import _bad_request
from cashier.insurer.protocol.reader import _date_text, _Reader, _time_text


def _amount_arg(value: Fen, name: str) -> Fen:
    if not isinstance(value, Fen):
        raise TypeError(f"{name} must be Fen, not {type(value).__name__}")
    return value


def _flag_arg(value: bool | str, name: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value not in ("0", "1"):
        raise ValueError(f"{name} must be '0' or '1' (or a bool), got {value!r}")
    return value


def _cert_type_arg(value: str) -> str:
    if value not in MDTRT_CERT_TYPES:
        raise ValueError(
            f"mdtrt_cert_type must be one of {sorted(MDTRT_CERT_TYPES)}, got {value!r}"
        )
    return value


_FEE_TEXT = (
    "feedetl_sn",
    "mdtrt_id",
    "psn_no",
    "chrg_bchno",
    "fee_ocur_time",
    "med_list_codg",
    "medins_list_codg",
)
#: What a clinic's 2204 line carries beyond the common fields: the ordering department and
#: doctor (开单), the receiving ones (受单), the hospital's approval and whether the
#: prescription went out to a pharmacy; a pharmacy's 2101/2102 line carries the prescription
#: number and the same circulation flag instead.
_FEE_CLINIC = (
    "bilg_dept_codg",
    "bilg_dept_name",
    "bilg_dr_codg",
    "bilg_dr_name",
    "acord_dept_codg",
    "acord_dept_name",
    "orders_dr_code",
    "orders_dr_name",
    "hosp_appr_flag",
    "rx_circ_flag",
)
_FEE_PHARMACY = ("rxno", "rx_circ_flag")
_FEE_EXTRA = (*_FEE_CLINIC, "rxno")
#: A clinic's 2204 line is refused by real gateways without these.
FEE_CLINIC_REQUIRED = ("bilg_dept_codg", "bilg_dr_codg", "hosp_appr_flag", "rx_circ_flag")


@dataclass(frozen=True, kw_only=True)
class FeeDetail:
    """One fee line the cashier uploads: 2204 ``feedetail[]``, 2101/2102 ``drugdetail[]``.

    ``det_item_fee_sumamt`` should be ``pric`` × ``cnt`` rounded half up (the
    sandbox refuses a line that is not). ``fee_ocur_time`` may be given as a
    datetime; it is kept as ``yyyy-MM-dd HH:mm:ss``.
    """

    feedetl_sn: str
    mdtrt_id: str = ""
    psn_no: str = ""
    chrg_bchno: str = ""
    fee_ocur_time: str = ""
    med_list_codg: str
    medins_list_codg: str = ""
    det_item_fee_sumamt: Fen
    cnt: Decimal
    pric: Fen
    bilg_dept_codg: str = ""
    bilg_dept_name: str = ""
    bilg_dr_codg: str = ""
    bilg_dr_name: str = ""
    acord_dept_codg: str = ""
    acord_dept_name: str = ""
    orders_dr_code: str = ""
    orders_dr_name: str = ""
    hosp_appr_flag: str = "1"  # 1 已审批 (2 转自费)
    rx_circ_flag: str = "0"  # 外购处方标志: 0 not a prescription taken to an outside pharmacy
    rxno: str = ""  # 处方号 (pharmacy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fee_ocur_time", _time_text(self.fee_ocur_time))
        if isinstance(self.cnt, int) and not isinstance(self.cnt, bool):
            object.__setattr__(self, "cnt", Decimal(self.cnt))
        if not isinstance(self.cnt, Decimal):
            raise TypeError("cnt must be Decimal or int")
        _amount_arg(self.det_item_fee_sumamt, "det_item_fee_sumamt")
        _amount_arg(self.pric, "pric")

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> FeeDetail:
        """Read one uploaded line (the sandbox's side): errors say "请求报文有误"."""
        r = _Reader(node, "费用明细", _bad_request)
        cnt = r.ratio("cnt")
        return cls(
            **{k: r.text(k) for k in _FEE_TEXT},
            det_item_fee_sumamt=r.amount("det_item_fee_sumamt"),
            cnt=cnt,
            pric=r.amount("pric"),
            **{k: r.text(k) for k in _FEE_EXTRA},
        )

    def to_json(self, *, pharmacy: bool = False) -> dict[str, Any]:
        """The line as 2204 (a clinic's) or 2101/2102 (``pharmacy``) sends it."""
        node: dict[str, Any] = {k: getattr(self, k) for k in _FEE_TEXT}
        node["det_item_fee_sumamt"] = self.det_item_fee_sumamt
        node["cnt"] = self.cnt
        node["pric"] = self.pric
        node.update((k, getattr(self, k)) for k in (_FEE_PHARMACY if pharmacy else _FEE_CLINIC))
        return node


def _fee_lines(
    lines: Iterable[FeeDetail], name: str, *, pharmacy: bool = False
) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        if not isinstance(line, FeeDetail):
            raise TypeError(f"{name} takes FeeDetail lines, not {type(line).__name__}")
        rows.append(line.to_json(pharmacy=pharmacy))
    if not rows:
        raise ValueError(f"{name} needs at least one line")
    return rows


def input_9001(*, opter_no: str, mac: str, ip: str) -> dict[str, Any]:
    """签到."""
    return {"signIn": {"opter_no": opter_no, "mac": mac, "ip": ip}}


def input_9002(*, sign_no: str, opter_no: str) -> dict[str, Any]:
    """签退."""
    return {"signOut": {"sign_no": sign_no, "opter_no": opter_no}}


def input_1101(
    *,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    card_sn: str = "",
    psn_cert_type: str = "",
    certno: str = "",
    psn_name: str = "",
) -> dict[str, Any]:
    """人员信息获取 (``mdtrt_cert_type`` 01 ecToken, 02 ID number, 03 card number + card_sn)."""
    return {
        "data": {
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "card_sn": card_sn,
            "begntime": _time_text(begntime),
            "psn_cert_type": psn_cert_type,
            "certno": certno,
            "psn_name": psn_name,
        }
    }


def input_2201(
    *,
    psn_no: str,
    insutype: str,
    begntime: datetime | str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    ipt_otp_no: str,
    atddr_no: str,
    dr_name: str,
    dept_code: str,
    dept_name: str,
    caty: str,
) -> dict[str, Any]:
    """门诊挂号."""
    return {
        "data": {
            "psn_no": psn_no,
            "insutype": insutype,
            "begntime": _time_text(begntime),
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "ipt_otp_no": ipt_otp_no,
            "atddr_no": atddr_no,
            "dr_name": dr_name,
            "dept_code": dept_code,
            "dept_name": dept_name,
            "caty": caty,
        }
    }


def input_2203(
    *,
    mdtrt_id: str,
    psn_no: str,
    med_type: str,
    begntime: datetime | str,
    diag_code: str,
    diag_name: str,
    diag_dept: str,
    dise_dor_no: str,
    dise_dor_name: str,
    diag_time: datetime | str,
    main_cond_dscr: str = "",
    diag_type: str = "1",
) -> dict[str, Any]:
    """就诊信息上传: the visit's diagnosis, between 2201 and 2204 (every outpatient client
    sends it; gateways settle nothing without it)."""
    if not diag_code or not diag_name:
        raise ValueError("2203 needs a diagnosis: diag_code and diag_name")
    return {
        "mdtrtinfo": {
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "med_type": med_type,
            "begntime": _time_text(begntime),
            "main_cond_dscr": main_cond_dscr,
            "dise_codg": "",
            "dise_name": "",
            "birctrl_type": "",
            "birctrl_matn_date": "",
        },
        "diseinfo": [
            {
                "diag_type": diag_type,
                "diag_srt_no": "1",
                "diag_code": diag_code,
                "diag_name": diag_name,
                "diag_dept": diag_dept,
                "dise_dor_no": dise_dor_no,
                "dise_dor_name": dise_dor_name,
                "diag_time": _time_text(diag_time),
                "vali_flag": "1",
            }
        ],
    }


def input_2204(*, feedetail: Iterable[FeeDetail]) -> dict[str, Any]:
    """门诊费用明细上传."""
    return {"feedetail": _fee_lines(feedetail, "feedetail")}


#: ``chrg_bchno`` for 2205 meaning every unsettled line of the visit.
ALL_UNSETTLED = "0000"


def input_2205(*, mdtrt_id: str, chrg_bchno: str, psn_no: str) -> dict[str, Any]:
    """撤销费用明细 (``chrg_bchno`` :data:`ALL_UNSETTLED` = all unsettled lines)."""
    return {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno, "psn_no": psn_no}}


def _settle_data(
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
) -> dict[str, Any]:
    return {
        "psn_no": psn_no,
        "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
        "mdtrt_cert_no": mdtrt_cert_no,
        "med_type": med_type,
        "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
        "psn_setlway": psn_setlway,
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": chrg_bchno,
        "acct_used_flag": _flag_arg(acct_used_flag, "acct_used_flag"),
        "insutype": insutype,
    }


def input_2206(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
) -> dict[str, Any]:
    """门诊预结算."""
    return {
        "data": _settle_data(
            psn_no,
            mdtrt_cert_type,
            mdtrt_cert_no,
            med_type,
            medfee_sumamt,
            psn_setlway,
            mdtrt_id,
            chrg_bchno,
            acct_used_flag,
            insutype,
        )
    }


def input_2207(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    med_type: str,
    medfee_sumamt: Fen,
    psn_setlway: str,
    mdtrt_id: str,
    chrg_bchno: str,
    acct_used_flag: bool | str,
    insutype: str,
    invono: str,
    fulamt_ownpay_amt: Fen,
    overlmt_selfpay: Fen,
    preselfpay_amt: Fen,
    inscp_scp_amt: Fen,
) -> dict[str, Any]:
    """门诊结算: 2206's fields plus the invoice number and the pre-settlement's split."""
    data = _settle_data(
        psn_no,
        mdtrt_cert_type,
        mdtrt_cert_no,
        med_type,
        medfee_sumamt,
        psn_setlway,
        mdtrt_id,
        chrg_bchno,
        acct_used_flag,
        insutype,
    )
    data["invono"] = invono
    data["fulamt_ownpay_amt"] = _amount_arg(fulamt_ownpay_amt, "fulamt_ownpay_amt")
    data["overlmt_selfpay"] = _amount_arg(overlmt_selfpay, "overlmt_selfpay")
    data["preselfpay_amt"] = _amount_arg(preselfpay_amt, "preselfpay_amt")
    data["inscp_scp_amt"] = _amount_arg(inscp_scp_amt, "inscp_scp_amt")
    return {"data": data}


def input_2208(*, setl_id: str, mdtrt_id: str, psn_no: str) -> dict[str, Any]:
    """门诊结算撤销."""
    return {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}


def _pharmacy(
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    medfee_sumamt: Fen,
    invono: str,
    insutype: str,
    acct_used_flag: bool | str,
    med_type: str,
    drugdetail: Iterable[FeeDetail],
) -> dict[str, Any]:
    return {
        "druginfo": {
            "psn_no": psn_no,
            "mdtrt_cert_type": _cert_type_arg(mdtrt_cert_type),
            "mdtrt_cert_no": mdtrt_cert_no,
            "begntime": _time_text(begntime),
            "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
            "invono": invono,
            "insutype": insutype,
            "acct_used_flag": _flag_arg(acct_used_flag, "acct_used_flag"),
            "med_type": med_type,
        },
        "drugdetail": _fee_lines(drugdetail, "drugdetail", pharmacy=True),
    }


def input_2101(
    *,
    psn_no: str,
    mdtrt_cert_type: str,
    mdtrt_cert_no: str,
    begntime: datetime | str,
    medfee_sumamt: Fen,
    insutype: str,
    acct_used_flag: bool | str,
    drugdetail: Iterable[FeeDetail],
    invono: str = "",
    med_type: str = "41",
) -> dict[str, Any]:
    """药店预结算 (and, as :data:`input_2102`, 药店结算): ``druginfo`` + ``drugdetail[]``."""
    return _pharmacy(
        psn_no,
        mdtrt_cert_type,
        mdtrt_cert_no,
        begntime,
        medfee_sumamt,
        invono,
        insutype,
        acct_used_flag,
        med_type,
        drugdetail,
    )


#: 药店结算 sends the same ``druginfo`` + ``drugdetail[]`` as 2101 (with ``invono``).
input_2102 = input_2101


def input_2103(*, setl_id: str, mdtrt_id: str, psn_no: str) -> dict[str, Any]:
    """药店结算撤销."""
    return {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}


def input_2601(*, psn_no: str, omsgid: str, oinfno: str) -> dict[str, Any]:
    """冲正 of the message ``omsgid`` (transaction ``oinfno``)."""
    if len(omsgid) != 30:
        raise ValueError(f"omsgid must be the original 30-char msgid, got {omsgid!r}")
    return {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": oinfno}}


def _recon_data(
    insutype: str,
    clr_type: str,
    setl_optins: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    acct_pay: Fen,
    fixmedins_setl_cnt: int,
) -> dict[str, Any]:
    if isinstance(fixmedins_setl_cnt, bool) or not isinstance(fixmedins_setl_cnt, int):
        raise TypeError("fixmedins_setl_cnt must be an int")
    return {
        "data": {
            "insutype": insutype,
            "clr_type": clr_type,
            "setl_optins": setl_optins,
            "stmt_begndate": _date_text(stmt_begndate),
            "stmt_enddate": _date_text(stmt_enddate),
            "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
            "fund_pay_sumamt": _amount_arg(fund_pay_sumamt, "fund_pay_sumamt"),
            "acct_pay": _amount_arg(acct_pay, "acct_pay"),
            "fixmedins_setl_cnt": fixmedins_setl_cnt,
        }
    }


def input_3201(
    *,
    insutype: str,
    clr_type: str,
    setl_optins: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    acct_pay: Fen,
    fixmedins_setl_cnt: int,
) -> dict[str, Any]:
    """对总账: the cashier's totals for the period (dates ``yyyy-MM-dd``)."""
    return _recon_data(
        insutype,
        clr_type,
        setl_optins,
        stmt_begndate,
        stmt_enddate,
        medfee_sumamt,
        fund_pay_sumamt,
        acct_pay,
        fixmedins_setl_cnt,
    )


def input_3202(
    *,
    setl_optins: str,
    file_qury_no: str,
    stmt_begndate: date | str,
    stmt_enddate: date | str,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    cash_payamt: Fen,
    fixmedins_setl_cnt: int,
    clr_type: str = "",
) -> dict[str, Any]:
    """对明细账: the period's totals and count, and the detail as an uploaded file (9101's
    ``file_qury_no``); the answer names a file to download (9102)."""
    if isinstance(fixmedins_setl_cnt, bool) or not isinstance(fixmedins_setl_cnt, int):
        raise TypeError("fixmedins_setl_cnt must be an int")
    if not file_qury_no:
        raise ValueError("3202 needs the file_qury_no of the uploaded detail (9101)")
    return {
        "data": {
            "setl_optins": setl_optins,
            "file_qury_no": file_qury_no,
            "stmt_begndate": _date_text(stmt_begndate),
            "stmt_enddate": _date_text(stmt_enddate),
            "medfee_sumamt": _amount_arg(medfee_sumamt, "medfee_sumamt"),
            "fund_pay_sumamt": _amount_arg(fund_pay_sumamt, "fund_pay_sumamt"),
            "cash_payamt": _amount_arg(cash_payamt, "cash_payamt"),
            "fixmedins_setl_cnt": fixmedins_setl_cnt,
            "clr_type": clr_type,
        }
    }


def input_5203(*, psn_no: str, setl_id: str = "", mdtrt_id: str = "") -> dict[str, Any]:
    """结算信息查询 by ``setl_id`` or ``mdtrt_id``."""
    if not (setl_id or mdtrt_id):
        raise ValueError("5203 needs setl_id or mdtrt_id")
    return {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}
