"""The national 医药机构接口 as messages: building, parsing and checking them.

Pure message work (no HTTP, no database), shared by the cashier's client and
the sandbox insurer so that both speak exactly the field names and codes of
``docs/insurer-interface.md``. Amounts are :class:`~cashier.domain.money.Fen` inside
and two-decimal JSON numbers outside; no float ever appears: :func:`loads`
reads JSON numbers as ``Decimal`` and :func:`dumps` writes ``Fen`` and
``Decimal`` as exact JSON numbers and refuses floats.

Every answer the cashier shows as a bill goes through a ``from_json`` that
checks it; an answer that is malformed or breaks an invariant raises
:class:`ProtocolError` and is never shown as a bill. A refusal by the insurer
(``infcode -1``) raises :class:`InsurerError` with the insurer's own words.

The package is split by concern: codes, jsonio, reader, envelope, transport,
answers, evoucher, requests. Callers use the package: ``from cashier.insurer import protocol``.
"""

from cashier.insurer.protocol.answers import (
    SETTLEMENT_ANSWERS,
    BaseInfo,
    FeeLineResult,
    InsuInfo,
    PersonInfo,
    ReconDetail,
    ReconTotals,
    Registration,
    SetlDetail,
    SetlInfo,
    Settlement,
    SignIn,
    SignOut,
    check_answer,
)
from cashier.insurer.protocol.codes import (
    AMOUNT_ALIASES,
    AMOUNTS_MAY_BE_ABSENT,
    CHRGITM_LV,
    EC_BUSINESS_OUTPATIENT,
    EC_BUSINESS_PHARMACY,
    FUND_PAY_TYPES,
    FUNDS,
    INSUTYPES,
    MDTRT_CERT_TYPES,
    MED_TYPES,
    OTHER_FUNDS,
    RECON_DETAIL_NODE,
    SETLINFO_AMOUNTS,
    SETLINFO_LABELS,
    TIF_HEADERS,
    TRANSACTIONS,
)
from cashier.insurer.protocol.envelope import (
    Caller,
    Request,
    Response,
    build_request,
    build_response,
    make_msgid,
    make_refmsgid,
    parse_request,
    parse_response,
    parse_response_envelope,
)
from cashier.insurer.protocol.errors import InsurerError, ProtocolError
from cashier.insurer.protocol.evoucher import EcIdentity, ec_query_request
from cashier.insurer.protocol.jsonio import dumps, loads, money
from cashier.insurer.protocol.requests import (
    ALL_UNSETTLED,
    FeeDetail,
    input_1101,
    input_2101,
    input_2102,
    input_2103,
    input_2201,
    input_2204,
    input_2205,
    input_2206,
    input_2207,
    input_2208,
    input_2601,
    input_3201,
    input_3202,
    input_5203,
    input_9001,
    input_9002,
)
from cashier.insurer.protocol.transport import check_tif, tif_headers, tif_signature

__all__ = [
    "ALL_UNSETTLED",
    "AMOUNTS_MAY_BE_ABSENT",
    "AMOUNT_ALIASES",
    "CHRGITM_LV",
    "EC_BUSINESS_OUTPATIENT",
    "EC_BUSINESS_PHARMACY",
    "FUNDS",
    "FUND_PAY_TYPES",
    "INSUTYPES",
    "MDTRT_CERT_TYPES",
    "MED_TYPES",
    "OTHER_FUNDS",
    "RECON_DETAIL_NODE",
    "SETLINFO_AMOUNTS",
    "SETLINFO_LABELS",
    "SETTLEMENT_ANSWERS",
    "TIF_HEADERS",
    "TRANSACTIONS",
    "BaseInfo",
    "Caller",
    "EcIdentity",
    "FeeDetail",
    "FeeLineResult",
    "InsuInfo",
    "InsurerError",
    "PersonInfo",
    "ProtocolError",
    "ReconDetail",
    "ReconTotals",
    "Registration",
    "Request",
    "Response",
    "SetlDetail",
    "SetlInfo",
    "Settlement",
    "SignIn",
    "SignOut",
    "build_request",
    "build_response",
    "check_answer",
    "check_tif",
    "dumps",
    "ec_query_request",
    "input_1101",
    "input_2101",
    "input_2102",
    "input_2103",
    "input_2201",
    "input_2204",
    "input_2205",
    "input_2206",
    "input_2207",
    "input_2208",
    "input_2601",
    "input_3201",
    "input_3202",
    "input_5203",
    "input_9001",
    "input_9002",
    "loads",
    "make_msgid",
    "make_refmsgid",
    "money",
    "parse_request",
    "parse_response",
    "parse_response_envelope",
    "tif_headers",
    "tif_signature",
]
