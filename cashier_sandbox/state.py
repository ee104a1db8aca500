"""The sandbox insurer's state: its own SQLite database, seeded from a people file."""

from __future__ import annotations

import hashlib
import secrets
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

from cashier.domain.money import Fen
from cashier.errors import CashierError, InputError
from cashier.store.fields import FenField

sandbox_db = DatabaseProxy()

#: Where the training station is: the treatment region of the sandbox's answers.
DEFAULT_ADMVS = "110105"
FILINGS = ("none", "long_term", "temporary_referral", "temporary_emergency", "temporary_other")
#: ec.query's answer for a person whose 医保电子凭证 is not activated (``ec_activated = false``).
EC_NOT_ACTIVATED = "医保电子凭证未激活，请患者在国家医保服务平台App或微信/支付宝中激活后重新出示"


def _now() -> datetime:
    return datetime.now()


class SandboxModel(Model):
    class Meta:
        database = sandbox_db
        legacy_table_names = False


class Person(SandboxModel):
    psn_no = CharField(primary_key=True)
    name = CharField()
    certno = CharField(unique=True)
    insutype = CharField()
    psn_type = CharField()
    retired = BooleanField(default=False)
    cvlserv_flag = BooleanField(default=False)
    emp_name = CharField(default="")
    insuplc_admdvs = CharField()
    filing = CharField(default="none")
    insured = BooleanField(default=True)
    balance = FenField()
    deductible_used = FenField()
    pooled_paid = FenField()
    ytd_year = IntegerField()
    family_psn_no = CharField(default="")
    card_no = CharField(unique=True)
    card_sn = CharField()
    card_issued = CharField()  # YYYYMMDD
    card_expiry = CharField()  # YYYYMMDD
    card_status = CharField(default="normal")  # normal | lost
    ec_activated = BooleanField(default=True)  # False: ec.query refuses the person's 医保码
    extra_insutypes = CharField(default="")  # more insuinfo rows, comma-separated: "320"

    @property
    def insutypes(self) -> tuple[str, ...]:
        """Every insurance the person holds, the main one first (1101 ``insuinfo[]``)."""
        extra = (t.strip() for t in self.extra_insutypes.split(","))
        return (self.insutype, *(t for t in extra if t and t != self.insutype))

    @property
    def gend(self) -> str:
        return "1" if int(self.certno[16]) % 2 else "2"

    @property
    def brdy(self) -> str:
        c = self.certno
        return f"{c[6:10]}-{c[10:12]}-{c[12:14]}"

    def age(self, on: date | None = None) -> int:
        on = on or date.today()
        born = date(int(self.certno[6:10]), int(self.certno[10:12]), int(self.certno[12:14]))
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class EVoucher(SandboxModel):
    """A dynamic 医保码: its payload, its ecToken, when it dies, and the settlement that used it."""

    payload = CharField(primary_key=True)
    ec_token = CharField(unique=True)
    psn_no = CharField(index=True)
    issued_at = DateTimeField(default=_now)
    expires_at = DateTimeField()
    used_setl_id = CharField(null=True)


class SignIn(SandboxModel):
    sign_no = CharField(primary_key=True)
    opter = CharField()
    fixmedins_code = CharField()
    signed_at = DateTimeField(default=_now)
    signed_out = BooleanField(default=False)


class Visit(SandboxModel):
    mdtrt_id = CharField(primary_key=True)
    psn_no = CharField(index=True)
    insutype = CharField()
    med_type = CharField(default="11")
    fixmedins_code = CharField()
    mdtrt_cert_type = CharField()
    mdtrt_cert_no = CharField()
    begntime = CharField(default="")
    diag_code = CharField(default="")  # from 2203: a clinic visit settles nothing without it
    diag_name = CharField(default="")
    created_at = DateTimeField(default=_now)


class FeeDetail(SandboxModel):
    mdtrt_id = CharField(index=True)
    chrg_bchno = CharField()
    feedetl_sn = CharField()
    med_list_codg = CharField()
    cnt = CharField()  # Decimal text
    pric = FenField()
    amount = FenField()
    setl_id = CharField(null=True)


class Settlement(SandboxModel):
    setl_id = CharField(primary_key=True)
    msgid = CharField(index=True)
    infno = CharField()
    mdtrt_id = CharField(index=True)
    psn_no = CharField(index=True)
    fixmedins_code = CharField(index=True)
    insutype = CharField()
    clr_type = CharField()
    setl_date = CharField(index=True)  # YYYY-MM-DD
    medfee_sumamt = FenField()
    fund_pay_sumamt = FenField()
    acct_pay = FenField()
    acct_mulaid_pay = FenField()
    family_psn_no = CharField(default="")
    act_pay_dedc = FenField()
    hifp_pay = FenField()
    ec_token = CharField(default="")
    output = TextField()  # the answer, as sent
    cancelled = BooleanField(default=False)
    cancel_msgid = CharField(default="")
    created_at = DateTimeField(default=_now)


class Message(SandboxModel):
    """Every money-changing message by msgid: a repeat gets the same answer, never a second charge."""

    msgid = CharField(primary_key=True)
    infno = CharField()
    response = TextField()
    created_at = DateTimeField(default=_now)


class Fault(SandboxModel):
    """Injected by tests or an admin: applies to the next `count` calls of `infno` ("*" any)."""

    kind = (
        CharField()
    )  # latency | timeout | http500 | malformed | break_invariant | drop_after_commit
    infno = CharField(default="*")
    count = IntegerField(default=1)
    delay_ms = IntegerField(default=0)


class StoredFile(SandboxModel):
    """A file uploaded (9101) or made for download (3202's answer), by ``file_qury_no``."""

    file_qury_no = CharField(primary_key=True)
    filename = CharField()
    data = BlobField()
    created_at = DateTimeField(default=_now)


class InventoryDoc(SandboxModel):
    """A 进销存 document the platform holds (3501–3506), by the institution's own key: a
    document sent again (its answer lost) is refused as a repeat, never counted twice."""

    key = CharField(primary_key=True)  # infno:fixmedins_code:medins_prod_sel_no (or bchno)
    infno = CharField()
    fixmedins_code = CharField(index=True)
    fixmedins_bchno = CharField(default="", index=True)
    quantity = IntegerField(default=0)  # boxes in (+) or out (−) of the institution's stock
    payload = TextField()
    deleted = BooleanField(default=False)  # 3507
    created_at = DateTimeField(default=_now)


class Mapping(SandboxModel):
    """An institution's item mapped onto a catalog code (3301; 3302 deletes it)."""

    key = CharField(primary_key=True)  # fixmedins_code:hilist_id:list_type
    fixmedins_code = CharField(index=True)
    hilist_id = CharField()
    med_list_codg = CharField()


class TracedBox(SandboxModel):
    """A box's 追溯码 as the platform sees it: sold (3505) by one institution, until a
    return (3506) frees it."""

    code = CharField(primary_key=True)
    fixmedins_code = CharField()
    rtal_docno = CharField()
    sold = BooleanField(default=True)


class Counter(SandboxModel):
    name = CharField(primary_key=True)
    value = IntegerField(default=0)


class Setting(SandboxModel):
    name = CharField(primary_key=True)
    value = CharField()


MODELS = (
    Person,
    EVoucher,
    SignIn,
    Visit,
    FeeDetail,
    Settlement,
    Message,
    Fault,
    Counter,
    Setting,
    StoredFile,
    InventoryDoc,
    TracedBox,
    Mapping,
)


def sandbox_path(data_dir: Path) -> Path:
    return data_dir / "sandbox.db"


def open_sandbox(path: Path, people: Path | None = None) -> SqliteDatabase:
    """Open (creating and seeding when new) the sandbox's own database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = SqliteDatabase(
        str(path),
        pragmas={"journal_mode": "wal", "synchronous": "full", "busy_timeout": 10_000},
    )
    sandbox_db.initialize(db)
    db.connect(reuse_if_open=True)
    with db.atomic():
        db.create_tables(MODELS)
        _add_new_columns(db)
        if not Person.select().exists():
            seed_people(load_people(people))
    return db


#: Person columns added after the first release, with the value an older sandbox.db gets.
_NEW_PERSON_COLUMNS = {
    "ec_activated": "INTEGER NOT NULL DEFAULT 1",
    "extra_insutypes": "VARCHAR(255) NOT NULL DEFAULT ''",
}


_NEW_VISIT_COLUMNS = {
    "diag_code": "VARCHAR(255) NOT NULL DEFAULT ''",
    "diag_name": "VARCHAR(255) NOT NULL DEFAULT ''",
}


def _add_new_columns(db: SqliteDatabase) -> None:
    """A sandbox.db made by an older version keeps its people and gains the new columns."""
    for model, columns in ((Person, _NEW_PERSON_COLUMNS), (Visit, _NEW_VISIT_COLUMNS)):
        table = model._meta.table_name
        have = {c.name for c in db.get_columns(table)}
        for name, definition in columns.items():
            if name not in have:
                db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {definition}')


def next_number(name: str) -> int:
    with sandbox_db.atomic():
        updated = Counter.update(value=Counter.value + 1).where(Counter.name == name).execute()
        if not updated:
            Counter.create(name=name, value=1)
            return 1
        return Counter.get_by_id(name).value


# -- people -------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonSeed:
    fields: dict


def load_people(path: Path | None) -> list[dict]:
    """The people file (TOML, ``[[person]]`` tables); the packaged one by default."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath("people.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        people = tomllib.loads(text).get("person", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"无法读取沙箱人员文件 {path}：{exc}") from None
    if not people:
        raise InputError(f"沙箱人员文件 {path or 'people.toml'} 中没有 [[person]]")
    return people


def seed_people(people: list[dict]) -> None:
    from cashier.devices.scanner import is_valid_id_number

    year = date.today().year
    for n, p in enumerate(people, 1):
        try:
            certno = str(p["certno"]).upper()
            if not is_valid_id_number(certno):
                raise InputError(f"身份证号校验失败：{certno}")
            filing = p.get("filing", "none")
            if filing not in FILINGS:
                raise InputError(f"filing 应为 {'/'.join(FILINGS)}")
            card_no = str(p["card_no"])
            Person.create(
                psn_no=str(p["psn_no"]),
                name=str(p["name"]),
                certno=certno,
                insutype=str(p["insutype"]),
                psn_type=str(p.get("psn_type", "11")),
                retired=bool(p.get("retired", False)),
                cvlserv_flag=bool(p.get("cvlserv_flag", False)),
                emp_name=str(p.get("emp_name", "")),
                insuplc_admdvs=str(p.get("insuplc_admdvs", DEFAULT_ADMVS)),
                filing=filing,
                insured=bool(p.get("insured", True)),
                balance=Fen.parse(str(p.get("balance", "0"))),
                deductible_used=Fen.parse(str(p.get("deductible_used", "0"))),
                pooled_paid=Fen.parse(str(p.get("pooled_paid", "0"))),
                ytd_year=year,
                family_psn_no=str(p.get("family_psn_no", "")),
                card_no=card_no,
                card_sn=hashlib.md5(card_no.encode())
                .hexdigest()
                .upper(),  # an identifier, not security
                card_issued=str(p.get("card_issued", f"{year - 3}0101")),
                card_expiry=str(p.get("card_expiry", f"{year + 7}0101")),
                card_status=str(p.get("card_status", "normal")),
                ec_activated=_bool(p, "ec_activated", True),
                extra_insutypes=",".join(_insutypes(p.get("extra_insutypes", []))),
            )
        except (KeyError, ValueError, CashierError) as exc:
            raise InputError(f"沙箱人员文件第 {n} 个 [[person]] 有误：{exc}") from None


def _bool(p: dict, key: str, default: bool) -> bool:
    value = p.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{key} 应为 true 或 false")
    return value


def _insutypes(value: object) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and len(t) == 3 and t.isdigit() for t in value
    ):
        raise InputError('extra_insutypes 应为险种代码列表，如 ["320"]')
    return list(value)


def person_notes(person: Person) -> list[str]:
    """What is special about a person, in the words of ``cashier sandbox people``."""
    notes = []
    if person.retired:
        notes.append("退休")
    if person.cvlserv_flag:
        notes.append("公务员")
    if person.insuplc_admdvs != DEFAULT_ADMVS:
        notes.append(f"异地({person.insuplc_admdvs}, 备案:{person.filing})")
    if not person.insured:
        notes.append("暂停参保")
    if person.card_status != "normal":
        notes.append("卡已挂失")
    if person.family_psn_no:
        notes.append(f"共济←{person.family_psn_no}")
    if len(person.insutypes) > 1:
        notes.append("另有险种 " + "/".join(person.insutypes[1:]))
    if not person.ec_activated:
        notes.append("医保码未激活")
    return notes


def find_person(key: str) -> Person:
    """A person by psn_no, ID number, card number or name."""
    key = key.strip()
    person = (
        Person.select()
        .where(
            (Person.psn_no == key)
            | (Person.certno == key.upper())
            | (Person.card_no == key)
            | (Person.name == key)
        )
        .first()
    )
    if person is None:
        raise InputError(f"沙箱中没有此人：{key}（用 cashier sandbox people 查看）")
    return person


def roll_year(person: Person, today: date | None = None) -> None:
    """Year-to-date accumulators start again on 1 January."""
    year = (today or date.today()).year
    if person.ytd_year != year:
        person.ytd_year = year
        person.deductible_used = Fen(0)
        person.pooled_paid = Fen(0)
        person.save()


# -- e-vouchers -----------------------------------------------------------------------
def setting(name: str, default: str = "") -> str:
    row = Setting.get_or_none(Setting.name == name)
    return row.value if row is not None else default


def set_setting(name: str, value: str) -> None:
    Setting.insert(name=name, value=value).on_conflict_replace().execute()


def hospital_level(fixmedins_code: str) -> int:
    """一级 unless set (``cashier sandbox --hospital CODE=LEVEL``): any client can try the sandbox."""
    row = Setting.get_or_none(Setting.name == f"level:{fixmedins_code}")
    return int(row.value) if row else 1


def qr_lifetime() -> int:
    row = Setting.get_or_none(Setting.name == "qr_lifetime_s")
    return int(row.value) if row else 60


def issue_evoucher(person: Person, *, lifetime_s: int | None = None) -> EVoucher:
    """A fresh dynamic 医保码 for a person: an opaque payload and its ecToken."""
    lifetime = qr_lifetime() if lifetime_s is None else lifetime_s
    now = _now()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token = person.insuplc_admdvs + "ec" + "".join(secrets.choice(alphabet) for _ in range(30))
    payload = "ybm:" + secrets.token_urlsafe(24)
    return EVoucher.create(
        payload=payload,
        ec_token=token,
        psn_no=person.psn_no,
        issued_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
