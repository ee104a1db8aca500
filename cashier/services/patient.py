"""The patient at the counter and the insured part of a bill: who the insurer says the
patient is (1101), which insurance is used, and what the insurer has said about this bill so
far. Plain values the checkout holds; :mod:`cashier.services.insured` does the talking."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cashier.devices.scanner import is_valid_id_number, mask_id_number, mask_name
from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier.insurer import protocol
from cashier.insurer.protocol import InsuInfo, PersonInfo, Settlement
from cashier.messages import say

if TYPE_CHECKING:
    pass

#: 1101 ``psn_type`` names the counter shows (others are shown by code).
PSN_TYPES = {
    "11": "在职职工",
    "12": "退休人员",
    "13": "离休人员",
    "14": "灵活就业",
    "21": "城乡居民",
    "22": "学生儿童",
    "23": "大学生",
    "24": "新生儿",
}
CERT_SOURCES = {"01": "医保码", "02": "身份证", "03": "社保卡"}
#: The insurance a counter preselects when 1101 answers several ``insuinfo`` rows.
USUAL_INSUTYPES = ("310", "390")


# -- the patient -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Patient:
    """An identified patient and the insurance chosen for this sale."""

    cert_type: str  # mdtrt_cert_type: 01 e-voucher, 02 ID number, 03 card
    cert_no: str = field(repr=False)  # ecToken / ID number / card number: never logged
    person: PersonInfo = field(repr=False)
    insu: InsuInfo
    card_sn: str = field(default="", repr=False)

    @property
    def psn_no(self) -> str:
        return self.person.baseinfo.psn_no

    @property
    def certno(self) -> str:
        """The full ID number: matching clinic orders only, never shown or logged."""
        return self.person.baseinfo.certno.upper()

    @property
    def name_masked(self) -> str:
        return mask_name(self.person.baseinfo.psn_name)

    @property
    def certno_masked(self) -> str:
        return mask_id_number(self.person.baseinfo.certno)

    @property
    def sex(self) -> str:
        return {"1": "男", "2": "女"}.get(self.person.baseinfo.gend, "")

    @property
    def age(self) -> str:
        age = self.person.baseinfo.age
        return f"{int(age)}岁" if age is not None else ""

    @property
    def insutype_name(self) -> str:
        return protocol.INSUTYPES.get(self.insu.insutype, self.insu.insutype)

    @property
    def psn_type_name(self) -> str:
        return PSN_TYPES.get(self.insu.psn_type, self.insu.psn_type)

    @property
    def source(self) -> str:
        return CERT_SOURCES[self.cert_type]

    def cross_region(self, admvs: str) -> bool:
        """Insured elsewhere (异地): the insured place differs from where care is given."""
        return bool(self.insu.insuplc_admdvs) and self.insu.insuplc_admdvs != admvs

    @property
    def problems(self) -> tuple[str, ...]:
        """What stands in the way of settling with this insurance, in the cashier's words."""
        out = []
        if self.suspended:
            since = (
                say("patient.paused_since", paus_insu_date=self.insu.paus_insu_date)
                if self.insu.paus_insu_date
                else ""
            )
            out.append(say("patient.paused", since=since))
        return tuple(out)

    @property
    def suspended(self) -> bool:
        return bool(self.insu.psn_insu_stas) and self.insu.psn_insu_stas != "1"

    def with_insurance(self, insutype: str) -> Patient:
        insu = self.person.insurance(insutype)
        if insu is None:
            raise InputError(say("patient.no_insutype", insutype=insutype))
        return replace(self, insu=insu)

    @property
    def insurances(self) -> tuple[InsuInfo, ...]:
        return self.person.insuinfo


def usual_insurance(person: PersonInfo) -> InsuInfo:
    """The row a counter preselects: the basic insurance (职工 310, 居民 390), else the first."""
    if not person.insuinfo:
        raise InputError(say("patient.not_insured"))
    for insutype in USUAL_INSUTYPES:
        row = person.insurance(insutype)
        if row is not None:
            return row
    return person.insuinfo[0]


def parse_id_number(text: str) -> str:
    """A typed ID number, checksum checked (GB 11643); ``x`` accepted for ``X``."""
    import unicodedata

    raw = unicodedata.normalize("NFKC", text).strip().upper()
    if len(raw) != 18:
        raise InputError(say("patient.id_length", raw=len(raw)))
    if not is_valid_id_number(raw):
        raise InputError(say("patient.id_check"))
    return raw


# -- what the insurer said about this sale ---------------------------------------------------
@dataclass
class InsuredPart:
    """The insurer's state of one sale. Changing the lines drops the pre-settlement."""

    patient: Patient
    kind: str  # clinic | pharmacy
    acct_used: bool = True
    order_ids: tuple[int, ...] = ()
    visit: dict[str, str] = field(default_factory=dict)  # doctor, department, diagnosis, med_type
    mdtrt_id: str = ""
    registered_here: bool = False  # 2201 sent by this sale (else the visit came with an order)
    uploaded: tuple | None = None  # the lines as uploaded with 2204 (clinic)
    batch: int = 0  # chrg_bchno of the last upload
    line_results: dict[str, protocol.FeeLineResult] = field(default_factory=dict)
    presettlement: Settlement | None = None
    settlement: Settlement | None = None
    settle_msgid: str = ""
    held_msgid: str = ""  # a settlement sent whose outcome is not known yet
    sale_key: str = ""
    #: The lines with no valid 医保目录 mapping, never sent to the insurer: the patient pays
    #: them in full beside the cash part (their amount when the insurer was last asked).
    own_amount: Fen = Fen(0)

    @property
    def med_type(self) -> str:
        return "41" if self.kind == "pharmacy" else self.visit.get("med_type") or "11"

    @property
    def settled(self) -> bool:
        return self.settlement is not None

    @property
    def cash_due(self) -> Fen | None:
        """``psn_cash_pay`` of the settlement, else of the pre-settlement, and the lines the
        insurer was not asked about (no valid mapping), paid by the patient in full."""
        bill = self.settlement or self.presettlement
        return bill.setlinfo.psn_cash_pay + self.own_amount if bill is not None else None

    def lines_changed(self) -> None:
        self.presettlement = None
