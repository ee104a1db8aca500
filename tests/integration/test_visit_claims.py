"""One visit, one counter (issue 17, item 10): two counters on one database identify the
same patient and load the same orders; only the first may settle, the other is told where
the visit is being paid; a claim dies with its counter's station lock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.tender import Method
from cashier.services import orders
from cashier.services.checkout import Checkout
from cashier.services.claims import ClaimedElsewhere
from cashier.services.insured import Insurance
from cashier.services.locks import hold_station
from cashier.store.models import Claim, ClinicOrder, Sale, Station
from cashier_sandbox import state
from tests.support.counter import qr

ZHANG = "11010519780312001X"  # P001, whose demo order waits


def counter(insurer, settings, station_id, who):
    mine = replace(settings, station_id=station_id, station_name=f"收费台 {station_id}")
    Station.get_or_create(station_id=station_id, defaults={"name": station_id, "kind": "clinic"})
    return mine, Insurance(insurer.client, mine), Checkout(station_id, who)


def identify(insurer, insurance, co, who) -> list:
    co.identify(insurance.identify_qr(qr(insurer, "P001"), who), "clinic")
    return orders.pending_for(ZHANG)


def test_two_counters_one_visit_one_settlement(insurer, settings, cashier_1001):
    a_settings, a_ins, a = counter(insurer, settings, settings.station_id, cashier_1001)
    b_settings, b_ins, b = counter(insurer, settings, "MZ-02", cashier_1001)
    lock_a, lock_b = hold_station(a_settings), hold_station(b_settings)
    try:
        a.load_orders(identify(insurer, a_ins, a, cashier_1001))
        pending = identify(insurer, b_ins, b, cashier_1001)
        with pytest.raises(ClaimedElsewhere, match=a_settings.station_id):
            b.load_orders(pending)
        assert not b.lines  # nothing loaded, nothing sent
        a_ins.presettle(a)
        a_ins.settle(a)
        plan = a.start_payment()
        if not plan.complete:
            plan.add(Method.CASH, plan.remaining)
        a.complete(plan)
    finally:
        lock_a.release()
        lock_b.release()
    live = [s for s in state.Settlement.select() if not s.cancelled]
    assert len(live) == 1 and Sale.select().count() == 1
    assert not Claim.select().exists()  # the completed sale let its claim go
    assert ClinicOrder.get(orders.of_patient(ZHANG)).status == "billed"


def test_a_claim_dies_with_its_counter(insurer, settings, cashier_1001):
    a_settings, a_ins, a = counter(insurer, settings, settings.station_id, cashier_1001)
    b_settings, b_ins, b = counter(insurer, settings, "MZ-02", cashier_1001)
    lock_a = hold_station(a_settings)
    a.load_orders(identify(insurer, a_ins, a, cashier_1001))
    pending = identify(insurer, b_ins, b, cashier_1001)
    with pytest.raises(ClaimedElsewhere):
        b.load_orders(pending)
    lock_a.release()  # counter A's process ends (its bill with it)
    lock_b = hold_station(b_settings)
    try:
        assert b.load_orders(pending) == 1
        assert Claim.get().station == "MZ-02"
        # A, still holding its bill in memory after losing its station, cannot settle it.
        with pytest.raises(ClaimedElsewhere, match="MZ-02"):
            a_ins.presettle(a)
            a_ins.settle(a)
    finally:
        lock_b.release()


def test_a_void_lets_the_visit_go(insurer, settings, cashier_1001):
    a_settings, a_ins, a = counter(insurer, settings, settings.station_id, cashier_1001)
    b_settings, b_ins, b = counter(insurer, settings, "MZ-02", cashier_1001)
    lock_a, lock_b = hold_station(a_settings), hold_station(b_settings)
    try:
        a.load_orders(identify(insurer, a_ins, a, cashier_1001))
        a.void("患者去了另一个窗口")
        assert b.load_orders(identify(insurer, b_ins, b, cashier_1001)) == 1
    finally:
        lock_a.release()
        lock_b.release()


def test_orders_paid_self_pay_are_billed_and_let_go(insurer, settings, cashier_1001):
    """The insurer is down, the patient pays the visit's orders self-pay: the orders are
    billed by that sale (never left pending to be charged a second time)."""
    _, a_ins, a = counter(insurer, settings, settings.station_id, cashier_1001)
    a.load_orders(identify(insurer, a_ins, a, cashier_1001))
    a.to_selfpay()
    plan = a.start_payment()
    plan.add(Method.CASH, plan.remaining)
    sale_id = a.complete(plan).sale_id
    order = ClinicOrder.get(orders.of_patient(ZHANG))
    assert (order.status, order.sale_id) == ("billed", sale_id)
    assert not orders.pending_for(ZHANG) and not Claim.select().exists()


def test_a_settlement_whose_save_is_refused_is_cancelled_at_once(insurer, settings, cashier_1001):
    """The orders went elsewhere between the settlement and the save (the clinic's system
    withdrew them): the settlement is cancelled at the insurer at once, journaled, and the
    cashier is told; no settlement is left without a sale."""
    from cashier.errors import InputError
    from cashier.store.models import InsurerCall

    _, a_ins, a = counter(insurer, settings, settings.station_id, cashier_1001)
    a.load_orders(identify(insurer, a_ins, a, cashier_1001))
    a_ins.presettle(a)
    a_ins.settle(a)
    ClinicOrder.update(status="cancelled").where(orders.of_patient(ZHANG)).execute()
    plan = a.start_payment()
    if not plan.complete:
        plan.add(Method.CASH, plan.remaining)
    with pytest.raises(InputError, match="医保结算已撤销"):
        a_ins.complete(a, plan)
    assert not Sale.select().exists()
    assert all(s.cancelled for s in state.Settlement.select())
    assert InsurerCall.get(InsurerCall.infno == "2208").status == "ok"
