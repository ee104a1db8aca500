"""An insured counter without the UI: catalog codes of the demo catalog, 医保码, a settled sale."""

from __future__ import annotations

from dataclasses import replace

from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.store.models import Sale
from tests.support.insurer import admin

CLINIC, PHARMACY = "clinic", "pharmacy"
AMOXICILLIN = "Y00001"  # 甲类 12.50


CEFIXIME = "Y00004"  # 乙类 26.80, selfpay 0.20


TERBINAFINE = "Y00036"  # 丙类 28.00


def qr(insurer, person: str) -> str:
    return admin(insurer.sandbox, "/sandbox/admin/qr", {"person": person})["payload"]


def ring_up(co: Checkout, *codes: str) -> None:
    for code in codes:
        co.add(catalog.find_by_scan(code))


def insured_sale(insurer, settings, who, person: str, *codes: str, kind: str = CLINIC) -> Sale:
    """A whole insured sale (identify by 医保码, pre-settle, settle, exact cash, complete)."""
    insurance = Insurance(insurer.client, replace(settings, kind=kind))
    co = Checkout(settings.station_id, who)
    co.identify(insurance.identify_qr(qr(insurer, person), who), kind)
    if kind == CLINIC:
        insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")  # a walk-in bill needs one
    ring_up(co, *codes)
    insurance.presettle(co)
    insurance.settle(co)
    plan = co.start_payment()
    if not plan.complete:
        plan.exact_cash()
    return Sale.get_by_id(co.complete(plan).sale_id)


def plant(insurer, **body) -> dict:
    return admin(insurer.sandbox, "/sandbox/admin/plant", body)
