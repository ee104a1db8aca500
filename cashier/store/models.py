"""The database tables. One ``DatabaseProxy`` so SQLite and PostgreSQL share the code."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DeferredForeignKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from cashier.domain.money import Fen
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
    # migration 10: a pharmacist's 执业资格证号 (the dispensing pharmacist of a 处方药)
    prac_cert_no = CharField(max_length=50, default="")


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
    rx_flag = BooleanField(default=False)  # migration 10: a prescription drug (处方药)
    trac_required = BooleanField(default=False)  # migration 10: each box's 追溯码 scanned
    aprvno = CharField(max_length=50, default="")  # migration 11: 批准文号 (国药准字…)
    #: migration 11: the med_list_codg mapping as the insurer holds it: "" not uploaded,
    #: "uploaded" (3301 accepted)
    mapping = CharField(max_length=16, default="")


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
    #: completed | voided | refunded. Not indexed (migration 15): three values over every
    #: sale kept, an index the planner took over the day's for the end-of-day report
    status = CharField(max_length=16)
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
    shift = DeferredForeignKey("Shift", null=True, index=True)  # migration 5
    business_day = DateField(null=True, index=True)  # migration 7: its shift's business day
    uid = CharField(max_length=32, null=True, unique=True)  # migration 8: its checkout's key
    #: migration 10: the prescription a 处方药 was dispensed on (JSON: rxno, doctor,
    #: pharmacist), "" when the sale holds none
    dispensing = TextField(default="")

    class Meta:
        indexes = (
            (("station", "receipt_seq"), True),
            (("station", "closed_at"), False),  # migration 15: the station's last sale
        )


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
    rx_flag = BooleanField(default=False)  # migration 10
    trac_required = BooleanField(default=False)  # migration 10
    #: migration 10: a supervisor's documented exception for boxes sold without their
    #: 追溯码 ("9001: 追溯码破损"), "" when every box was scanned
    trace_waived = CharField(max_length=200, default="")


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
    key_id = CharField(max_length=16, default="")  # migration 7: the station key's id
    keyed_from = IntegerField(default=0)  # migration 7: the first entry keyed with it


class InsurerCall(BaseModel):
    """The journal: every money-changing insurer call, written before it is sent."""

    msgid = CharField(primary_key=True, max_length=30)
    station = CharField(max_length=32, index=True)
    infno = CharField(max_length=8)
    operator = CharField(max_length=16, default="")
    status = CharField(max_length=16, index=True)  # see cashier.insurer.journal.Status
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
    certno = CharField(max_length=18)  # the patient's ID number, masked (migration 7)
    certno_tag = CharField(max_length=64, index=True, default="")  # keyed digest: lookups
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
    setl_id = CharField(max_length=40, unique=True)  # migration 6: one settlement, one sale
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
    cvlserv_pay = FenField(default=Fen(0))  # migration 5: the other funds, for reports
    hifes_pay = FenField(default=Fen(0))
    hifmi_pay = FenField(default=Fen(0))
    hifob_pay = FenField(default=Fen(0))
    maf_pay = FenField(default=Fen(0))
    oth_pay = FenField(default=Fen(0))
    hifdm_pay = FenField(default=Fen(0))  # migration 6: the funds of newer field tables
    othfund_pay = FenField(default=Fen(0))
    visit = TextField(default="{}")  # migration 6: department, doctor, diagnosis (JSON)
    setlinfo = TextField()  # the checked setlinfo as JSON, certno masked
    status = CharField(max_length=16, index=True, default="settled")  # settled | cancelled
    settled_at = DateTimeField(default=utcnow, index=True)
    cancelled_at = DateTimeField(null=True)


class Shift(BaseModel):
    """One cashier's shift at one station: opened with a float, closed with a blind count.

    ``z_no`` numbers the closed shifts of a station without gaps; ``z_report``
    is the Z report frozen at close (JSON), never changed afterwards.
    """

    id = AutoField()
    station = ForeignKeyField(Station, backref="shifts")
    operator = ForeignKeyField(Operator, backref="shifts")
    float_amount = FenField()
    status = CharField(max_length=16, index=True, default="open")  # open | closed
    opened_at = DateTimeField(default=utcnow, index=True)
    closed_at = DateTimeField(null=True)
    closed_by = CharField(max_length=16, default="")  # the cashier, or the supervisor
    business_day = DateField(null=True)  # migration 7: the local date it opened
    z_no = IntegerField(null=True)
    z_report = TextField(default="")
    reprints = IntegerField(default=0)

    class Meta:
        indexes = ((("station", "z_no"), True),)


class ShiftCount(BaseModel):
    """The blind count at close, per payment method, and what the books expected."""

    shift = ForeignKeyField(Shift, backref="counts", on_delete="CASCADE")
    method = CharField(max_length=16)
    counted = FenField()
    expected = FenField()
    variance = FenField()  # counted − expected: short is negative, never forced to zero


class Payout(BaseModel):
    """Cash taken out of the drawer for something other than a refund (audited)."""

    id = AutoField()
    shift = ForeignKeyField(Shift, backref="payouts")
    operator = CharField(max_length=16)
    amount = FenField()
    reason = CharField(max_length=200)
    at = DateTimeField(default=utcnow)


class Refund(BaseModel):
    """Money given back for a completed sale, approved by a supervisor.

    ``kind`` full (every line) or partial (some lines; an insured sale's
    settlement is cancelled whole and the remaining lines settled again as
    ``resettled_sale``). ``amount`` is what the patient gets back over the
    tenders; ``insured_amount`` what returns to the funds and the account.
    """

    id = AutoField()
    sale = ForeignKeyField(Sale, backref="refunds")
    station = ForeignKeyField(Station, backref="refunds")
    shift = ForeignKeyField(Shift, null=True, backref="refunds")
    kind = CharField(max_length=16)  # full | partial
    requested_by = CharField(max_length=16)
    approved_by = CharField(max_length=16)
    completed_by = CharField(max_length=16)
    reason = CharField(max_length=200)
    amount = FenField()  # back to the patient over the tenders
    total = FenField()  # the refunded lines' amount (医疗费) — insured and self-paid
    acct_returned = FenField(default=Fen(0))  # back to the personal account
    fund_returned = FenField(default=Fen(0))  # back to the funds
    cancel_msgid = CharField(max_length=30, default="")  # the 2208 / 2103
    resettled_sale = ForeignKeyField(Sale, null=True, backref="resettled_from")
    refund_no = CharField(max_length=40, unique=True)
    created_at = DateTimeField(default=utcnow, index=True)
    printed = BooleanField(default=False)
    business_day = DateField(null=True, index=True)  # migration 7: its shift's business day

    class Meta:
        indexes = ((("station", "created_at"), False),)  # migration 15: the station's last


class RefundIntent(BaseModel):
    """A refund decided and about to cancel its settlement at the insurer: committed before
    the 2208 / 2103 is sent, closed with the refund (``done``) or when the cancellation is
    found not to have happened (``undone``). One still ``pending`` is finished at start-up
    (design rule 6), so a refund is never left half done: the insurer cancelled, the books not."""

    id = AutoField()
    sale = ForeignKeyField(Sale, backref="refund_intents")
    station = CharField(max_length=32, index=True)
    quantities = TextField()  # {sale line id: how many back}, JSON
    requested_by = CharField(max_length=16)
    approved_by = CharField(max_length=16)
    completed_by = CharField(max_length=16)
    completed_by_name = CharField(max_length=50, default="")
    reason = CharField(max_length=200)
    status = CharField(max_length=16, index=True, default="pending")  # pending | done | undone
    refund = ForeignKeyField(Refund, null=True, backref="intents")
    created_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True)


class RefundLine(BaseModel):
    refund = ForeignKeyField(Refund, backref="lines", on_delete="CASCADE")
    sale_line = ForeignKeyField(SaleLine)
    quantity = IntegerField()
    amount = FenField()


class RefundTender(BaseModel):
    refund = ForeignKeyField(Refund, backref="tenders", on_delete="CASCADE")
    seq = IntegerField()
    method = CharField(max_length=16)
    amount = FenField()
    reference = CharField(max_length=64, default="")


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
class Claim(BaseModel):
    """A visit's order claimed by the counter paying it (``cashier.services.claims``)."""

    key = CharField(primary_key=True, max_length=60)  # order:<ClinicOrder.id>
    station = CharField(max_length=32, index=True)
    claimed_at = DateTimeField(default=utcnow)


class PaymentCharge(BaseModel):
    """A 付款码 charge, journaled before it is sent (``cashier.services.payments``)."""

    out_trade_no = CharField(primary_key=True, max_length=32)  # ours, stable across retries
    station = CharField(max_length=32, index=True)
    provider = CharField(max_length=16)  # wechat | alipay
    bill = CharField(max_length=32, index=True)  # the checkout's key
    operator = CharField(max_length=16, default="")
    amount = FenField()
    code = CharField(max_length=32, default="")  # the 付款码, masked
    state = CharField(max_length=16, index=True)  # pending | paid | failed | reversed | in_doubt
    trade_no = CharField(max_length=64, default="")  # the provider's transaction id
    message = CharField(max_length=200, default="")
    sale = ForeignKeyField(Sale, null=True, backref="charges")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class PaymentRefund(BaseModel):
    """Money sent back to a 付款码 channel for a refund, journaled before it is sent."""

    out_refund_no = CharField(primary_key=True, max_length=64)  # stable: one per charge
    charge = ForeignKeyField(PaymentCharge, backref="refunds")
    refund = ForeignKeyField(Refund, null=True, backref="channel_refunds")
    station = CharField(max_length=32, index=True)
    amount = FenField()
    state = CharField(max_length=16, index=True)  # pending | done | failed
    message = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


PRINT_MODELS: tuple[type[BaseModel], ...] = (PrintJob,)
#: Tables added by migration 5 (shifts, payouts, refunds); it also adds ``sale.shift``
#: and the other funds' columns of ``insured_settlement``.
SHIFT_MODELS: tuple[type[BaseModel], ...] = (
    Shift,
    ShiftCount,
    Payout,
    Refund,
    RefundLine,
    RefundTender,
)
#: Tables added by migration 6 (refunds journaled before the insurer is told).
REFUND_MODELS: tuple[type[BaseModel], ...] = (RefundIntent,)
#: Tables added by migration 8 (one visit, one counter).
CLAIM_MODELS: tuple[type[BaseModel], ...] = (Claim,)
#: Tables added by migration 9 (payment codes charged for real).
PAYMENT_MODELS: tuple[type[BaseModel], ...] = (PaymentCharge, PaymentRefund)


class TraceCode(BaseModel):
    """One box's 药品追溯码 (``cashier.services.trace``): held by a bill while it is rung up,
    sold with its sale, returned with its refund. One code is held or sold once at most
    (a partial unique index), whichever counter scans it."""

    id = AutoField()
    code = CharField(max_length=80, index=True)
    state = CharField(max_length=10)  # held | sold | returned
    station = CharField(max_length=32, index=True)
    bill = CharField(max_length=32, index=True)  # the checkout's key that scanned it
    sale = ForeignKeyField(Sale, null=True, backref="trace_codes")
    line_no = IntegerField(null=True)
    refund = ForeignKeyField(Refund, null=True, backref="trace_codes")
    #: Given back by ``refund``: True the box came back, False the patient kept it (sold
    #: again with the kept lines' new sale).
    back = BooleanField(null=True)
    held_at = DateTimeField(default=utcnow)
    sold_at = DateTimeField(null=True)


class Batch(BaseModel):
    """Stock of one item from one delivery (``cashier.services.stock``): the pharmacy's
    batch (``fixmedins_bchno``), the maker's lot and dates, what is left."""

    id = AutoField()
    bchno = CharField(max_length=40, unique=True)  # fixmedins_bchno: ours, one per receipt
    item = ForeignKeyField(Item, backref="batches")
    manu_lotnum = CharField(max_length=40)
    manu_date = DateField()
    expy_end = DateField(index=True)
    quantity = IntegerField(default=0)  # on hand
    received = IntegerField(default=0)
    purchase_price = FenField(null=True)
    supplier = CharField(max_length=100, default="")
    recalled = BooleanField(default=False)
    received_at = DateTimeField(default=utcnow)


class SaleLineBatch(BaseModel):
    """Which batch a sale line's boxes came from (first to expire, first out)."""

    line = ForeignKeyField(SaleLine, backref="batches", on_delete="CASCADE")
    batch = ForeignKeyField(Batch, backref="sold")
    quantity = IntegerField()


class Outbox(BaseModel):
    """A document for the insurer (进销存 3501–3507 …), committed with the local change it
    reports and sent in the background (``cashier.services.outbox``): exactly once, in
    order within its batch, never blocking the counter."""

    id = AutoField()
    doc_no = CharField(max_length=80, unique=True)  # ours: the idempotency key
    infno = CharField(max_length=20)  # 3505 …, fiscal.issue, tax.red
    batch = CharField(max_length=60, index=True)  # documents of one batch go in order
    station = CharField(max_length=32, index=True)
    operator = CharField(max_length=16, default="")  # who made the change (signs in to send)
    payload = TextField()  # the ``input`` node, JSON, sealed with the station key
    status = CharField(max_length=12, index=True)  # queued | sent | refused | in_doubt | dropped
    attempts = IntegerField(default=0)
    next_try_at = DateTimeField(default=utcnow)
    last_error = CharField(max_length=500, default="")
    msgid = CharField(max_length=40, default="")
    sale = ForeignKeyField(Sale, null=True, backref="documents")
    refund = ForeignKeyField(Refund, null=True, backref="documents")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)


class InsurerCatalogEntry(BaseModel):
    """One line of the insurer's catalogs (1301 / 1302 / 1305), as last downloaded."""

    med_list_codg = CharField(primary_key=True, max_length=50)
    catalog = CharField(max_length=4, index=True)  # 1301 | 1302 | 1305
    name = CharField(max_length=500, default="")
    genname = CharField(max_length=500, default="")
    dosform = CharField(max_length=100, default="")
    spec = CharField(max_length=500, default="")
    aprvno = CharField(max_length=100, default="", index=True)
    maker = CharField(max_length=200, default="")
    unit = CharField(max_length=50, default="")
    pinyin = CharField(max_length=200, default="", index=True)
    vali_flag = CharField(max_length=3, default="1")
    rid = CharField(max_length=40, default="")
    ver = CharField(max_length=30, default="")


class CatalogVersion(BaseModel):
    """The version of each catalog held (the next download asks for what is newer)."""

    catalog = CharField(primary_key=True, max_length=4)
    ver = CharField(max_length=30, default="0")
    entries = IntegerField(default=0)
    synced_at = DateTimeField(default=utcnow)


class EBillRecord(BaseModel):
    """An e-receipt (财政电子票据) or e-invoice (数电发票) issued for a sale, or its red
    reversal for a refund (``cashier.services.ebills``)."""

    id = AutoField()
    sale = ForeignKeyField(Sale, backref="ebills")
    refund = ForeignKeyField(Refund, null=True, backref="ebills")
    kind = CharField(max_length=8)  # fiscal | tax
    red = BooleanField(default=False)  # a reversal (冲红 / 红字发票)
    batch_code = CharField(max_length=40, default="")
    number = CharField(max_length=40)
    check_code = CharField(max_length=40, default="")
    qr = CharField(max_length=500, default="")
    url = CharField(max_length=500, default="")
    created = CharField(max_length=30, default="")
    issued_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("sale", "kind", "red"), True),)


#: Tables added by migration 12 (e-receipts and e-invoices).
EBILL_MODELS: tuple[type[BaseModel], ...] = (EBillRecord,)
#: Tables added by migration 11 (the insurer's catalogs).
CATALOG_MODELS: tuple[type[BaseModel], ...] = (InsurerCatalogEntry, CatalogVersion)
#: Tables added by migration 10 (追溯码, batches, the insurer outbox).
INVENTORY_MODELS: tuple[type[BaseModel], ...] = (TraceCode, Batch, SaleLineBatch, Outbox)
#: Tables added by migration 4 (clinic orders, insured settlements).
INSURED_MODELS: tuple[type[BaseModel], ...] = (ClinicOrder, ClinicOrderLine, InsuredSettlement)
