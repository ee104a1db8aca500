"""``cashier selftest``: what a technician runs once the cashier is installed on a counter
PC, with no configuration and nothing of the clinic's touched. A training station is made
in a temporary directory; a self-pay sale is rung up, paid in cash and its PDF receipt
printed; an insured visit is identified by a sandbox 医保码, settled and paid. Each step
is said as it passes; the first that fails is said with why, and the command exits 1."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cashier.errors import CashierError
from cashier.messages import say

SELF_PAY_ITEM, INSURED_ITEM, PERSON = "Y00001", "Y00004", "P001"


def run(out=sys.stdout, keep: Path | None = None) -> int:
    """Run every step; 0 when all passed. ``keep``: the training station's directory
    (kept afterwards, to look at its receipts); a temporary one by default."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return _steps(keep, out)
    with tempfile.TemporaryDirectory(prefix="cashier-selftest-") as where:
        return _steps(Path(where), out)


def _steps(where: Path, out) -> int:
    from cashier import __version__

    print(say("selftest.start", version=__version__, where=where), file=out)
    context: dict = {}
    steps: list[tuple[str, Callable[[dict, Path], str]]] = [
        ("selftest.step.station", _station),
        ("selftest.step.self_pay", _self_pay),
        ("selftest.step.receipt", _receipt),
        ("selftest.step.insured", _insured),
    ]
    try:
        for key, step in steps:
            started = time.perf_counter()
            try:
                detail = step(context, where)
            except (CashierError, OSError) as exc:
                print(say("selftest.failed", step=say(key), why=exc), file=out)
                return 1
            except Exception as exc:  # a broken install (a library missing): said, not a traceback
                from cashier import logs

                logs.shown(str(exc), exc, where="selftest")
                print(say("selftest.failed", step=say(key), why=f"{type(exc).__name__}: {exc}"),
                      file=out)  # fmt: skip
                return 1
            took = time.perf_counter() - started
            print(say("selftest.passed", step=say(key), detail=detail, took=f"{took:.1f}"),
                  file=out)  # fmt: skip
    finally:
        if "insurer" in context:
            context["insurer"].close()
    print(say("selftest.all_passed"), file=out)
    return 0


def _station(context: dict, where: Path) -> str:
    from cashier.config import settings_from_dict
    from cashier.services.operators import authenticate
    from cashier.services.station import DEMO_OPERATORS, open_station
    from cashier.store.models import Item

    settings = settings_from_dict({}, data_dir=where / "data")
    open_station(settings)
    code, _, _, pin = DEMO_OPERATORS[0]
    context["settings"] = settings
    context["who"] = authenticate(settings.station_id, code, pin, via="selftest")
    return say("selftest.station", items=Item.select().count(), url=settings.db_url)


def _self_pay(context: dict, where: Path) -> str:
    from cashier.services import catalog
    from cashier.services.checkout import Checkout

    settings = context["settings"]
    co = Checkout(settings.station_id, context["who"])
    co.add(catalog.find_by_scan(SELF_PAY_ITEM), 2)
    plan = co.start_payment()
    plan.exact_cash()
    done = co.complete(plan)
    context["sale_id"] = done.sale_id
    return say("selftest.sold", receipt=done.receipt_no, total=done.total)


def _receipt(context: dict, where: Path) -> str:
    from cashier.services.printing import configured_printer, print_sale

    settings = context["settings"]
    printed = print_sale(settings, context["sale_id"], configured_printer(settings))
    return str(printed.where)


def _insured(context: dict, where: Path) -> str:
    from cashier.services import catalog
    from cashier.services.checkout import Checkout
    from cashier.services.insured import Insurance
    from cashier.services.station import connect_insurer
    from cashier_sandbox import state

    settings = context["settings"]
    who = context["who"]
    context["insurer"] = connection = connect_insurer(settings)
    insurance = Insurance(connection.client, settings)
    co = Checkout(settings.station_id, who)
    voucher = state.issue_evoucher(state.find_person(PERSON))
    co.identify(insurance.identify_qr(voucher.payload, who), settings.kind)
    if settings.kind == "clinic":
        insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    co.add(catalog.find_by_scan(INSURED_ITEM))
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.exact_cash()
    setl = co.insured.settlement.setlinfo
    done = co.complete(plan)
    from cashier.services.printing import configured_printer, print_sale

    print_sale(settings, done.sale_id, configured_printer(settings))
    return say("selftest.insured_sold", receipt=done.receipt_no, total=setl.medfee_sumamt,
               fund=setl.fund_pay_sumamt, account=setl.acct_pay, cash=setl.psn_cash_pay)  # fmt: skip
