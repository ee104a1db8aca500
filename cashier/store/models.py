"""The database tables. One ``DatabaseProxy`` so SQLite and PostgreSQL share the code."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from cashier.money import Fen
from cashier.store.fields import FenField, RatioField

database = DatabaseProxy()


def utcnow() -> datetime:
    """Timestamps are stored in UTC (naive in the database) and shown in local time."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied_at = DateTimeField(default=utcnow)


class Station(BaseModel):
    station_id = CharField(primary_key=True, max_length=32)
    name = CharField(max_length=100)
    kind = CharField(max_length=16)  # clinic | pharmacy
    created_at = DateTimeField(default=utcnow)


class Operator(BaseModel):
    code = CharField(primary_key=True, max_length=16)
    name = CharField(max_length=50)
    role = CharField(max_length=16)  # cashier | supervisor | admin
    pin_salt = CharField(max_length=64)
    pin_hash = CharField(max_length=128)
    failed_attempts = IntegerField(default=0)
    locked = BooleanField(default=False)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Item(BaseModel):
    code = CharField(unique=True, max_length=40)
    name = CharField(max_length=200)
    spec = CharField(max_length=100, default="")
    unit = CharField(max_length=16, default="")
    price = FenField()
    med_list_codg = CharField(max_length=50, default="", index=True)
    list_class = CharField(max_length=2, default="")  # 甲 / 乙 / 丙
    selfpay_prop = RatioField(null=True)
    price_cap = FenField(null=True)
    fee_category = CharField(max_length=20, default="")
    stock = IntegerField(default=0)
    pinyin = CharField(max_length=200, default="", index=True)  # initials, lower case
    active = BooleanField(default=True)
    updated_at = DateTimeField(default=utcnow)


class Barcode(BaseModel):
    barcode = CharField(primary_key=True, max_length=40)
    item = ForeignKeyField(Item, backref="barcodes", on_delete="CASCADE")


class ReceiptCounter(BaseModel):
    """The last receipt number used per station; bumped inside the sale's transaction."""

    station = ForeignKeyField(Station, primary_key=True)
    last_no = IntegerField(default=0)


class Sale(BaseModel):
    id = AutoField()
    station = ForeignKeyField(Station, backref="sales")
    operator = ForeignKeyField(Operator, backref="sales")
    status = CharField(max_length=16, index=True)  # completed | voided
    kind = CharField(max_length=16, default="selfpay")  # selfpay | insured
    receipt_seq = IntegerField(null=True)
    receipt_no = CharField(max_length=40, null=True, unique=True)
    total = FenField()
    paid = FenField(default=Fen(0))
    change = FenField(default=Fen(0))
    created_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(default=utcnow, index=True)
    void_reason = CharField(max_length=200, default="")
    reprints = IntegerField(default=0)
    printed = BooleanField(default=False)  # False: the receipt still waits for the printer

    class Meta:
        indexes = ((("station", "receipt_seq"), True),)


class SaleLine(BaseModel):
    sale = ForeignKeyField(Sale, backref="lines", on_delete="CASCADE")
    line_no = IntegerField()
    item = ForeignKeyField(Item, null=True, on_delete="SET NULL")
    code = CharField(max_length=40)
    name = CharField(max_length=200)
    spec = CharField(max_length=100, default="")
    unit = CharField(max_length=16, default="")
    quantity = IntegerField()
    price = FenField()
    amount = FenField()
    fee_category = CharField(max_length=20, default="")
    list_class = CharField(max_length=2, default="")
    med_list_codg = CharField(max_length=50, default="")


class Tender(BaseModel):
    sale = ForeignKeyField(Sale, backref="tenders", on_delete="CASCADE")
    seq = IntegerField()
    method = CharField(max_length=16)  # cash | wechat | alipay | bankcard | other
    amount = FenField()  # what was handed over (cash may exceed what is due)
    reference = CharField(max_length=64, default="")


class AuditEntry(BaseModel):
    id = AutoField()
    at = DateTimeField(default=utcnow)
    station = CharField(max_length=32)
    operator = CharField(max_length=16, default="")
    action = CharField(max_length=32, index=True)
    subject = CharField(max_length=64, default="")
    detail = TextField(default="{}")
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)


class AuditHead(BaseModel):
    """One row: the chain's last entry. Updating it serialises writers on every backend."""

    id = IntegerField(primary_key=True)
    last_id = IntegerField(default=0)
    last_hash = CharField(max_length=64)


class InsurerCall(BaseModel):
    """The journal: every money-changing insurer call, written before it is sent."""

    msgid = CharField(primary_key=True, max_length=30)
    station = CharField(max_length=32, index=True)
    infno = CharField(max_length=8)
    operator = CharField(max_length=16, default="")
    status = CharField(max_length=16, index=True)  # see cashier.settlement.journal.Status
    request = TextField()  # the whole message as sent
    context = TextField(default="{}")  # psn_no, mdtrt_id, setl_id, omsgid: what recovery needs
    response = TextField(default="")
    error = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class MsgidCounter(BaseModel):
    """One counter for every station sharing the database: msgids never repeat."""

    id = IntegerField(primary_key=True)
    value = IntegerField(default=0)


class InsurerSignIn(BaseModel):
    """9001 sign-in per operator and day, kept across restarts."""

    operator = CharField(max_length=16)
    day = CharField(max_length=10)
    sign_no = CharField(max_length=64)
    signed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("operator", "day"), True),)


class PrintJob(BaseModel):
    """One thing sent to the printer, written before it is sent: a receipt that did
    not print stays ``queued`` with its error until a retry prints it.

    kind: receipt (the original) | reprint (重打 number ``reprint``) | test | drawer.
    status: queued | printed | failed (will not be printed: a one-off job whose
    printer failed, or a receipt overtaken by a later print of the same sale).
    """

    id = AutoField()
    station = CharField(max_length=32, index=True)
    sale = ForeignKeyField(Sale, null=True, backref="print_jobs")
    kind = CharField(max_length=16)
    status = CharField(max_length=16, index=True)
    reprint = IntegerField(default=0)
    kick_drawer = BooleanField(default=False)
    attempts = IntegerField(default=0)
    last_error = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)
    printed_at = DateTimeField(null=True)


class ClinicOrder(BaseModel):
    """Pending charges from the clinic's system: one visit's prescription / orders.

    Imported by ``cashier import orders`` or the drop folder; loaded onto the sale
    when the patient with ``certno`` is identified; ``billed`` once its sale completes.
    ``mdtrt_id`` is the insurer's visit once registered (2201), so a second try reuses it.
    """

    id = AutoField()
    order_no = CharField(unique=True, max_length=40)  # the clinic's visit number (ipt_otp_no)
    certno = CharField(max_length=18, index=True)  # the patient's ID number, upper case
    patient_name = CharField(max_length=50)
    doctor_code = CharField(max_length=30, default="")
    doctor_name = CharField(max_length=50, default="")
    dept_code = CharField(max_length=30, default="")
    dept_name = CharField(max_length=50, default="")
    diag_code = CharField(max_length=30, default="")
    diag_name = CharField(max_length=100, default="")
    med_type = CharField(max_length=4, default="11")
    status = CharField(max_length=16, index=True, default="pending")  # pending | billed | cancelled
    mdtrt_id = CharField(max_length=40, default="")
    sale = ForeignKeyField(Sale, null=True, backref="orders")
    source = CharField(max_length=200, default="")
    imported_at = DateTimeField(default=utcnow)


class ClinicOrderLine(BaseModel):
    order = ForeignKeyField(ClinicOrder, backref="lines", on_delete="CASCADE")
    line_no = IntegerField()
    code = CharField(max_length=40)  # the catalog code
    quantity = IntegerField()


class InsuredSettlement(BaseModel):
    """What the insurer settled for one completed sale (2207 or 2102), kept for receipts,
    reports and reconciliation. Names and ID numbers only masked."""

    id = AutoField()
    sale = ForeignKeyField(Sale, unique=True, backref="settlements")
    station = CharField(max_length=32, index=True)
    kind = CharField(max_length=16)  # clinic | pharmacy
    msgid = CharField(max_length=30, unique=True)  # of the 2207 / 2102 that settled it
    setl_id = CharField(max_length=40, index=True)
    mdtrt_id = CharField(max_length=40)
    psn_no = CharField(max_length=40)
    psn_name = CharField(max_length=50)  # masked
    certno = CharField(max_length=18)  # masked
    insutype = CharField(max_length=8)
    psn_type = CharField(max_length=8, default="")
    insuplc_admdvs = CharField(max_length=6, default="")
    med_type = CharField(max_length=4)
    clr_type = CharField(max_length=4, default="")
    acct_used = BooleanField(default=True)
    medfee_sumamt = FenField()
    fund_pay_sumamt = FenField()
    hifp_pay = FenField()
    acct_pay = FenField()
    acct_mulaid_pay = FenField(default=Fen(0))
    psn_cash_pay = FenField()
    balc = FenField()
    setlinfo = TextField()  # the checked setlinfo as JSON, certno masked
    status = CharField(max_length=16, index=True, default="settled")  # settled | cancelled
    settled_at = DateTimeField(default=utcnow, index=True)
    cancelled_at = DateTimeField(null=True)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    Station,
    Operator,
    Item,
    Barcode,
    ReceiptCounter,
    Sale,
    SaleLine,
    Tender,
    AuditEntry,
    AuditHead,
)
#: Tables added by migration 2 (the insurer journal).
INSURER_MODELS: tuple[type[BaseModel], ...] = (InsurerCall, MsgidCounter, InsurerSignIn)
#: Tables added by migration 3 (the print queue).
PRINT_MODELS: tuple[type[BaseModel], ...] = (PrintJob,)
#: Tables added by migration 4 (clinic orders, insured settlements).
INSURED_MODELS: tuple[type[BaseModel], ...] = (ClinicOrder, ClinicOrderLine, InsuredSettlement)
