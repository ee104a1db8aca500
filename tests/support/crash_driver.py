"""One counter process for the crash matrix (tests/integration/test_crash.py), run as a subprocess:

    python -m tests.support.crash_driver DATA_DIR SANDBOX_URL STEP [visit|restart|selfpay-loop] [KIND]

``visit`` (the default): open the station of DATA_DIR against the insurer at
SANDBOX_URL and run one insured clinic visit — a fresh 医保码 (POST
/sandbox/admin/qr), ec.query + 1101, lines, 2201/2204/2206, 2207, a WeChat
tender then cash, complete, print — with ``CASHIER_CRASH_AT=STEP`` (``none``:
no crash), so that the process dies by SIGKILL at that crash point
(:mod:`cashier.faults`). ``restart``: what a counter does when it starts
again — resolve in-doubt insurer calls, cancel settlements no sale finished
(:func:`cashier.services.station.recover_insurer_calls`), print the queued receipts.
``selfpay-loop``: complete self-pay sales as fast as possible until killed
(the power-cut test). ``refund`` / ``refund-partial``: refund the last completed
sale (whole, or all but its first line) and print the slip; ``finish`` /
``finish-partial``: what the cashier does after a restart (refund again what was
undone, charge again a partial refund's kept lines); ``void``: void a two-line
bill; ``close``: open a shift, sell, close it and print the Z (the refund, void
and shift-close matrix, tests/integration/test_crash_refunds.py). KIND: ``clinic`` (the default) or ``pharmacy`` (the
visit is then a pharmacy sale: 2101, 2102).

Each step it passes is printed as one JSON line (flushed), so the test sees
how far a dead process got.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PERSON = "P001"
#: 2 × 甲类 12.50 + 乙类 26.80 + 丙类 28.00 = 79.80
CODES = ("Y00001", "Y00001", "Y00004", "Y00036")
WECHAT = "10.00"
WECHAT_REF = "4200000000202611230001"


def say(step: str, **data) -> None:
    print(json.dumps({"step": step, **data}, ensure_ascii=False, default=str), flush=True)


def station_settings(data_dir: str | Path, sandbox_url: str, kind: str = "clinic"):
    from cashier.config import settings_from_dict

    raw = {"kind": kind, "insurer": {"url": sandbox_url, "timeout_s": 5}}
    if os.environ.get("CASHIER_DATABASE_URL"):  # the PostgreSQL pass: the case's own database
        raw["database_url"] = os.environ["CASHIER_DATABASE_URL"]
    return settings_from_dict(raw, data_dir=data_dir)


def cashier():
    from cashier.services.operators import Role, SignedIn

    return SignedIn("1001", "王小美", Role.CASHIER)


def new_qr(sandbox_url: str, person: str = PERSON) -> str:
    import urllib.request

    request = urllib.request.Request(
        sandbox_url + "/sandbox/admin/qr",
        data=json.dumps({"person": person}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["payload"]


def run_visit(settings, sandbox_url: str, connection) -> int:
    """One insured clinic visit, start to printed receipt; returns the sale id."""
    from cashier import faults
    from cashier.domain.money import Fen
    from cashier.domain.tender import Method
    from cashier.services import catalog, orders
    from cashier.services.checkout import Checkout
    from cashier.services.insured import Insurance
    from cashier.services.printing import configured_printer, print_sale

    who = cashier()
    insurance = Insurance(connection.client, settings)
    co = Checkout(settings.station_id, who)
    patient = insurance.identify_qr(new_qr(sandbox_url), who)
    co.identify(patient, settings.kind)
    if settings.kind == "clinic":
        insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in bill needs one
    # At a clinic, the doctor's pending order (P001 has one in the demo data) while there is
    # one: a visit tried again after a crash settles the same order; else plain lines.
    pending = orders.pending_for(patient.certno) if settings.kind == "clinic" else []
    if not co.load_orders(pending):
        for code in CODES:
            co.add(catalog.find_by_scan(code))
    say("identified", key=co.key, total=co.total, orders=[o.order_no for o in pending])
    pre = insurance.presettle(co)
    say("presettled", mdtrt_id=co.insured.mdtrt_id, cash=pre.setlinfo.psn_cash_pay)
    bill = insurance.settle(co)
    say("settled", setl_id=bill.setlinfo.setl_id, msgid=co.insured.settle_msgid)
    plan = co.start_payment()
    plan.add(Method.WECHAT, min(Fen.parse(WECHAT), plan.remaining), WECHAT_REF)
    faults.crash_point("tender")  # one tender taken, the rest not yet
    if not plan.complete:
        plan.exact_cash()
    done = co.complete(plan)
    say("completed", sale_id=done.sale_id, receipt_no=done.receipt_no)
    printed = print_sale(settings, done.sale_id, configured_printer(settings), kick_drawer=True)
    say("printed", sale_id=done.sale_id, where=printed.where)
    return done.sale_id


def restart(settings, connection) -> None:
    """A counter starting again: the insurer's loose ends first, then the print queue."""
    from cashier.services.printing import configured_printer, retry_pending
    from cashier.services.station import recover_insurer_calls

    for r in recover_insurer_calls(settings, connection):
        if hasattr(r, "msgid"):
            say("recovered", msgid=r.msgid, infno=r.infno, outcome=str(r.status))
        else:  # a refund finished (or undone) in the books
            say("refund_resumed", receipt_no=r.sale_receipt_no, outcome=r.outcome)
    for r in retry_pending(settings, configured_printer(settings), cashier()):
        say("reprinted", receipt_no=r.receipt_no, status=r.status, error=r.error)
    from cashier.services.refunds import pending_resales, print_unprinted

    for refund_no in print_unprinted(settings, configured_printer(settings)):
        say("slip_printed", refund_no=refund_no)
    for refund in pending_resales(settings.station_id):
        say("kept_to_sell_again", refund_no=refund.refund_no)


def supervisor():
    from cashier.services.refunds import approve

    return approve("TRAIN-01", "9001", "9999")


def refund_last(settings, sandbox_url: str, connection, partial: bool) -> None:
    """Refund the station's last completed sale (all of it, or its first line only: the
    kept lines are settled again with a fresh 医保码), then print the slip."""
    from cashier.services.insured import Insurance
    from cashier.services.printing import configured_printer, print_sale
    from cashier.services.refunds import execute, find_refundable, plan_refund, print_slip
    from cashier.store.models import Sale, SaleLine

    sale = Sale.select().where(Sale.status == "completed").order_by(Sale.id.desc()).get()
    sale = find_refundable(sale.receipt_no)
    quantities = None
    if partial:
        first = sale.lines.order_by(SaleLine.line_no).first()
        quantities = {first.id: first.quantity}
    plan = plan_refund(sale, quantities)
    insurance = Insurance(connection.client, settings)
    patient = insurance.identify_qr(new_qr(sandbox_url), cashier()) if plan.needs_patient else None
    say("refunding", receipt_no=sale.receipt_no, partial=partial)
    done = execute(
        settings, plan, requested_by=cashier(), approved_by=supervisor(), completed_by=cashier(),
        reason="患者退药", insurance=insurance, patient=patient,
    )  # fmt: skip
    say("refunded", refund_no=done.refund_no, new_receipt_no=done.new_receipt_no)
    printer = configured_printer(settings)
    print_slip(settings, done.refund_id, printer)
    if done.new_sale_id is not None:
        print_sale(settings, done.new_sale_id, printer)
    say("printed", refund_no=done.refund_no)


def finish_refund(settings, sandbox_url: str, connection, partial: bool) -> None:
    """After the restart, as the cashier would: a refund that was undone is done again; a
    partial refund's kept lines not yet charged are charged now."""
    from cashier.services.insured import Insurance
    from cashier.services.refunds import pending_resales, resell_kept
    from cashier.store.models import Sale

    insurance = Insurance(connection.client, settings)
    for refund in pending_resales(settings.station_id):
        patient = insurance.identify_qr(new_qr(sandbox_url), cashier())
        completed = resell_kept(settings, refund, cashier(), insurance, patient)
        say("resold", refund_no=refund.refund_no, receipt_no=completed.receipt_no)
    if Sale.select().where(Sale.status == "completed", Sale.id == first_sale_id()).exists():
        refund_last(settings, sandbox_url, connection, partial)


def first_sale_id() -> int:
    from cashier.store.models import Sale

    return Sale.select(Sale.id).order_by(Sale.id).limit(1).scalar()


def void_bill(settings) -> None:
    """Two lines on a self-pay bill, voided (the crash point ``void`` dies inside)."""
    from cashier.services import catalog
    from cashier.services.checkout import Checkout

    co = Checkout(settings.station_id, cashier())
    for code in CODES[:2]:
        co.add(catalog.find_by_scan(code))
    say("voided", sale_id=co.void("患者离开"))


def close_shift(settings) -> None:
    """Open a shift, one self-pay sale, close it (blind count right) and print the Z."""
    from cashier.domain.money import Fen
    from cashier.domain.tender import Method
    from cashier.services import catalog, shifts
    from cashier.services.checkout import Checkout
    from cashier.services.printing import configured_printer, print_document

    who = cashier()
    shift = shifts.open_shift_of(settings.station_id) or shifts.open_shift(
        settings.station_id, who, Fen(10000)
    )
    co = Checkout(settings.station_id, who)
    co.add(catalog.find_by_scan(CODES[0]))
    plan = co.start_payment()
    plan.exact_cash()
    co.complete(plan)
    expected = shifts.figures(shift).methods[0].expected
    z = shifts.close_shift(shift, {Method.CASH: expected}, who)
    say("closed", z=z.number)
    document = shifts.z_document(z, clinic_name=settings.clinic_name, training=True)
    print_document(settings, document, configured_printer(settings))
    say("printed", z=z.number)


def paycode_settings(settings, pay_url: str):
    """The station charging the payment sandbox at ``pay_url`` as a live merchant of the
    provider named by ``CASHIER_PAY_PROVIDER`` (wechat, wechat-v3 or alipay), with the
    sandbox's keys from beside its ledger (``CASHIER_PAY_LEDGER``)."""
    from dataclasses import replace

    from cashier_sandbox import payments as paysandbox
    from cashier_sandbox.wechat_v3 import v3_keys

    keys_dir = Path(os.environ["CASHIER_PAY_LEDGER"]).parent / "paysandbox-keys"
    which = os.environ.get("CASHIER_PAY_PROVIDER", "wechat")
    if which == "alipay":
        public = settings.data_dir / "alipay-public.pem"
        public.write_bytes(paysandbox.alipay_keys(keys_dir).alipay_public)
        alipay = replace(
            settings.alipay,
            url=f"{pay_url}/gateway.do",
            app_id=paysandbox.DEMO_ALIPAY_APP_ID,
            private_key_file=str(keys_dir / "app-private.pem"),
            alipay_public_key_file=str(public),
            timeout_s=5,
        )
        return replace(settings, alipay=alipay)
    wechat = replace(
        settings.wechat,
        url=pay_url,
        appid=paysandbox.DEMO_APPID,
        mch_id=paysandbox.DEMO_MCH_ID,
        api_key=paysandbox.DEMO_API_KEY,
        timeout_s=5,
    )
    if which == "wechat-v3":
        wechat = replace(
            wechat,
            api="v3",
            apiclient_key_file=str(keys_dir / "wechat-merchant-key.pem"),
            cert_serial_no=v3_keys(keys_dir).merchant_serial,
            api_v3_key=paysandbox.DEMO_API_V3_KEY,
        )
    return replace(settings, wechat=wechat)


def paycode_sale(settings, pay_url: str, scenario: str) -> None:
    """A self-pay sale paid whole by a 付款码 at the counter, charged at the sandbox, then
    printed."""
    from cashier.services.counter import Counter
    from cashier.services.printing import configured_printer, print_sale
    from cashier.services.station import connect_payments
    from cashier_sandbox.payments import PaymentLedger

    settings = paycode_settings(settings, pay_url)
    connection = connect_payments(settings)
    ledger = PaymentLedger(Path(os.environ["CASHIER_PAY_LEDGER"]))
    provider = os.environ.get("CASHIER_PAY_PROVIDER", "wechat").removesuffix("-v3")
    code = ledger.issue(provider, scenario)
    ledger.close()
    counter = Counter(settings.station_id, cashier(), payments=lambda: connection)
    for item in CODES[:2]:
        counter.scan(item)
    plan = counter.start_payment()
    say("charging", bill=counter.bill.key, due=plan.remaining)
    counter.charge_code(*counter.check_code(code, None), code)
    say("charged", out_trade_no=next(iter(counter.tendered_charges())))
    done = counter.complete()
    say("completed", sale_id=done.sale_id)
    print_sale(settings, done.sale_id, configured_printer(settings))
    say("printed", sale_id=done.sale_id)


def paycode_refund(settings, pay_url: str) -> None:
    """Refund the last completed sale through its channel."""
    from cashier.services.refunds import execute, find_refundable, plan_refund
    from cashier.services.station import connect_payments
    from cashier.store.models import Sale

    settings = paycode_settings(settings, pay_url)
    providers = connect_payments(settings).providers
    sale = Sale.select().where(Sale.status == "completed").order_by(Sale.id.desc()).get()
    done = execute(
        settings, plan_refund(find_refundable(sale.receipt_no)), requested_by=cashier(),
        approved_by=supervisor(), completed_by=cashier(), reason="退药", providers=providers,
    )  # fmt: skip
    say("refunded", channels=[c.state for c in done.channels])


def paycode_restart(settings, pay_url: str) -> None:
    """What a counter does with its payments when it starts again."""
    from cashier.services.payments import finish_refunds, resolve_open
    from cashier.services.station import connect_payments

    settings = paycode_settings(settings, pay_url)
    providers = connect_payments(settings).providers
    for r in resolve_open(providers, settings.station_id):
        say("charge_resolved", out_trade_no=r.out_trade_no, outcome=r.outcome)
    for c in finish_refunds(providers, settings.station_id):
        say("refund_resent", state=c.state)


def selfpay_loop(settings) -> None:
    """Complete self-pay sales until the process is killed (one JSON line per sale)."""
    from cashier.domain.money import Fen
    from cashier.domain.tender import Method
    from cashier.services import catalog
    from cashier.services.checkout import Checkout

    who = cashier()
    items = [catalog.find_by_scan(code) for code in ("Y00001", "Y00004", "Y00036")]
    n = 0
    while True:
        n += 1
        co = Checkout(settings.station_id, who)
        for i in range(1 + n % 3):
            co.add(items[i], 1 + (n + i) % 4)
        plan = co.start_payment()
        if n % 2:
            plan.add(Method.ALIPAY, Fen(100), f"2088{n:012d}")
        plan.add(Method.CASH, plan.remaining + Fen(n % 7 * 100))
        say("sale", receipt_no=co.complete(plan).receipt_no)


def main(argv: list[str]) -> int:
    data_dir, sandbox_url, step = argv[:3]
    mode = argv[3] if len(argv) > 3 else "visit"
    kind = argv[4] if len(argv) > 4 else "clinic"
    if step != "none":
        os.environ["CASHIER_CRASH_AT"] = step  # before cashier.faults is imported
    from cashier.services.station import connect_insurer, open_station

    settings = station_settings(
        data_dir, sandbox_url, kind if kind in ("clinic", "pharmacy") else "clinic"
    )
    ctx = open_station(settings)
    say("opened", station=settings.station_id, crash_at=step, mode=mode)
    try:
        if mode == "selfpay-loop":
            selfpay_loop(settings)
            return 0
        if mode.startswith("paycode"):
            kind_arg = argv[4] if len(argv) > 4 else "pay"
            if mode == "paycode":
                paycode_sale(settings, sandbox_url, kind_arg)
            elif mode == "paycode-refund":
                paycode_refund(settings, sandbox_url)
            else:
                paycode_restart(settings, sandbox_url)
            say("done")
            return 0
        if mode == "void":
            void_bill(settings)
            say("done")
            return 0
        if mode == "close":
            close_shift(settings)
            say("done")
            return 0
        connection = connect_insurer(settings)
        if mode == "restart":
            restart(settings, connection)
        elif mode in ("refund", "refund-partial"):
            refund_last(settings, sandbox_url, connection, mode == "refund-partial")
        elif mode in ("finish", "finish-partial"):
            finish_refund(settings, sandbox_url, connection, mode == "finish-partial")
        else:
            run_visit(settings, sandbox_url, connection)
        say("done")
        return 0
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
