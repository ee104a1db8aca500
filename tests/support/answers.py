"""Settlement answers in the shapes real gateways send, as the project's own fixtures.

Written from what captured answers of real gateways show (field names, ``null`` s, signs,
numbers with one decimal, strings for amounts); every value here is made up.
"""

from __future__ import annotations

import copy
from typing import Any

#: A 2207 answer as every gateway sends it: the whole field table.
SETTLED_2207: dict[str, Any] = {
    "setlinfo": {
        "setl_id": "ST5001",
        "mdtrt_id": "MD7001",
        "psn_no": "PSN0000000000000042",
        "psn_name": "测试人",
        "psn_cert_type": "01",
        "certno": "110105199001010011",
        "gend": "1",
        "brdy": "1990-01-01",
        "age": 36.0,
        "insutype": "310",
        "psn_type": "1101",
        "cvlserv_flag": "0",
        "med_type": "11",
        "setl_time": "2026-12-07 09:30:00",
        "clr_type": "11",
        "clr_way": "1",
        "clr_optins": "110105",
        "medfee_sumamt": 88.6,
        "fulamt_ownpay_amt": 10.0,
        "overlmt_selfpay": 0.0,
        "preselfpay_amt": 3.1,
        "inscp_scp_amt": 75.5,
        "act_pay_dedc": 0.0,
        "hifp_pay": 52.85,
        "pool_prop_selfpay": 0.3,
        "cvlserv_pay": 0.0,
        "hifes_pay": 0.0,
        "hifmi_pay": 0.0,
        "hifob_pay": 0.0,
        "maf_pay": 0.0,
        "oth_pay": 0.0,
        "fund_pay_sumamt": 52.85,
        "psn_part_amt": 35.75,
        "acct_pay": 20.0,
        "psn_cash_pay": 15.75,
        "hosp_part_amt": 0.0,
        "balc": 480.0,
        "acct_mulaid_pay": 0.0,
    },
    "setldetail": [
        {
            "fund_pay_type": "310100",
            "fund_pay_type_name": "职工基本医疗保险统筹基金",
            "inscp_scp_amt": 75.5,
            "fund_payamt": 52.85,
            "crt_payb_lmt_amt": None,
            "setl_proc_info": None,
        }
    ],
}


def settled(**changes: Any) -> dict[str, Any]:
    """The 2207 answer with ``setlinfo`` fields changed (``None`` sends ``null``)."""
    answer = copy.deepcopy(SETTLED_2207)
    answer["setlinfo"].update(changes)
    return answer


def cancelled_2208() -> dict[str, Any]:
    """2208 as real gateways answer it: amounts negative, the person's part, the hospital's
    share and the family account ``null``; ``balc`` the balance after."""
    answer = copy.deepcopy(SETTLED_2207)
    info = answer["setlinfo"]
    for key in (
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "preselfpay_amt",
        "inscp_scp_amt",
        "hifp_pay",
        "fund_pay_sumamt",
        "acct_pay",
        "psn_cash_pay",
    ):
        info[key] = -info[key]
    info.update(psn_part_amt=None, hosp_part_amt=None, acct_mulaid_pay=None, balc=500.0)
    answer["setldetail"][0]["fund_payamt"] = -52.85
    answer["expContent"] = None
    return answer


def cancelled_2103() -> dict[str, Any]:
    """2103: as 2208, with the person's part as ``psn_pay`` and the cash part as
    ``cash_payamt`` (no ``psn_cash_pay``)."""
    answer = cancelled_2208()
    info = answer["setlinfo"]
    info["psn_pay"] = -35.75
    info["cash_payamt"] = info.pop("psn_cash_pay")
    info["med_type"], info["clr_type"] = "41", "41"
    return answer


def looked_up_5203(*, refunded: bool = False) -> dict[str, Any]:
    """5203: ``psn_pay`` / ``cash_payamt``, no ``hosp_part_amt``, ``refd_setl_flag``."""
    answer = copy.deepcopy(SETTLED_2207)
    info = answer["setlinfo"]
    info["psn_pay"] = info.pop("psn_part_amt")
    info["cash_payamt"] = info.pop("psn_cash_pay")
    del info["hosp_part_amt"]
    info["refd_setl_flag"] = "1" if refunded else "0"
    return answer


def pharmacy_2102() -> dict[str, Any]:
    """2102: no ``hosp_part_amt``; the per-line split in ``detlcutinfo``."""
    answer = copy.deepcopy(SETTLED_2207)
    info = answer["setlinfo"]
    del info["hosp_part_amt"]
    info.update(
        med_type="41",
        clr_type="41",
        medfee_sumamt=25.0,
        fulamt_ownpay_amt=0.0,
        preselfpay_amt=0.0,
        inscp_scp_amt=25.0,
        hifp_pay=0.0,
        pool_prop_selfpay=0.0,
        fund_pay_sumamt=0.0,
        psn_part_amt=25.0,
        acct_pay=25.0,
        psn_cash_pay=0.0,
    )
    answer["setldetail"] = []
    answer["detlcutinfo"] = [
        {
            "feedetl_sn": "0001",
            "det_item_fee_sumamt": 25.0,
            "selfpay_prop": 0.0,
            "fulamt_ownpay_amt": 0.0,
            "overlmt_amt": 0.0,
            "preselfpay_amt": 0.0,
            "inscp_scp_amt": 25.0,
            "chrgitm_lv": "01",
            "pric_uplmt_amt": 999999.0,
        }
    ]
    return answer


def inpatient_cancelled_2305() -> dict[str, Any]:
    """2305: the hospital's share as ``ownpay_hosp_part``, ``psn_pay`` and ``cashPayamt``
    beside ``psn_cash_pay``, a large-amount fund and the two funds newer tables add."""
    return {
        "setlinfo": {
            "setl_id": "ST9001",
            "mdtrt_id": "MD9001",
            "psn_no": "PSN0000000000000042",
            "medfee_sumamt": -1200.0,
            "fulamt_ownpay_amt": -300.0,
            "overlmt_selfpay": -40.0,
            "preselfpay_amt": -60.0,
            "inscp_scp_amt": -800.0,
            "act_pay_dedc": 0.0,
            "hifp_pay": 0.0,
            "hifob_pay": -700.0,
            "hifdm_pay": 0.0,
            "othfund_pay": 0.0,
            "cvlserv_pay": 0.0,
            "hifes_pay": 0.0,
            "hifmi_pay": 0.0,
            "maf_pay": 0.0,
            "oth_pay": 0.0,
            "fund_pay_sumamt": -700.0,
            "psn_pay": -480.0,
            "psn_cash_pay": -480.0,
            "cashPayamt": -480.0,
            "acct_pay": 0.0,
            "ownpay_hosp_part": -20.0,
            "hosp_part_amt": None,
            "psn_part_amt": None,
            "acct_mulaid_pay": None,
            "balc": 0.0,
            "exp_content": None,
        },
        "setldetail": [],
    }
