"""Issue 19, item 5: every error and every answer belongs to the bill it came from. An
expired 医保码 of another patient scanned while one is on screen is a notice, never put in
that patient's panel; a pre-settlement answered after the bill changed is not shown against
the bill as it is now: it is asked again for the current bill."""

from __future__ import annotations

import pytest

from cashier.services import catalog
from cashier.services.checkout import Checkout
from cashier.services.counter import Counter as BillCounter
from cashier.services.insured import BillChangedMeanwhile, Insurance
from tests.support.counter import AMOXICILLIN, CEFIXIME, qr
from tests.support.pilot import open_counter, start

pytestmark = pytest.mark.pilot


async def test_an_expired_code_of_someone_else_stays_out_of_the_patients_panel(settings):
    app = await open_counter(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        c = await start(app, pilot)
        await c.scan(c.qr("P001"))
        part = c.sale.checkout.insured
        assert part is not None and not c.sale._problem
        await c.scan(c.qr("P002", lifetime_s=0))  # 张伟's code, already expired
        assert "过期" in c.notices()
        assert c.sale.checkout.insured is part  # still the patient on screen
        assert c.sale._problem == ""  # and their panel says nothing of the other code


def test_a_presettlement_of_the_bill_as_it_was_is_asked_again(insurer, settings, cashier_1001):
    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P004"), cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    co.add(catalog.find_by_scan(AMOXICILLIN))
    real_call = insurer.client.call
    scanned = []

    def call(infno, *args, **kwargs):  # a scan lands while 2206 is on its way
        answer = real_call(infno, *args, **kwargs)
        if infno == "2206" and not scanned:
            scanned.append(co.add(catalog.find_by_scan(CEFIXIME)))
        return answer

    insurer.client.call = call
    try:
        with pytest.raises(BillChangedMeanwhile):
            insurance.presettle(co)
        assert co.insured.presettlement is None  # never shown against the bill as it is
        counter = BillCounter(settings.station_id, cashier_1001, insurance=lambda: insurance)
        counter.bill = co
        counter.presettle()  # asked again, about the bill as it is
    finally:
        insurer.client.call = real_call
    assert co.insured.presettlement is not None
    assert co.insured.presettlement.setlinfo.medfee_sumamt == co.total


def test_nothing_on_the_bill_changes_while_the_insurer_settles_it(insurer, settings, cashier_1001):
    """A scan, a quantity or a void while 2207 is on its way is refused: the settlement
    always covers the lines of the sale, never others."""
    from cashier.errors import InputError

    insurance = Insurance(insurer.client, settings)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P004"), cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    co.add(catalog.find_by_scan(AMOXICILLIN))
    insurance.presettle(co)
    real_call = insurer.client.call
    refused = []

    def call(infno, *args, **kwargs):
        if infno == "2207":
            for attempt in (lambda: co.add(catalog.find_by_scan(CEFIXIME)),
                            lambda: co.set_quantity(0, 3), lambda: co.void("x")):  # fmt: skip
                with pytest.raises(InputError, match="正在医保结算"):
                    attempt()
                refused.append(1)
        return real_call(infno, *args, **kwargs)

    insurer.client.call = call
    try:
        insurance.settle(co)
    finally:
        insurer.client.call = real_call
    assert len(refused) == 3 and co.insured.settled and not co.settling
    assert co.insured.settlement.setlinfo.medfee_sumamt == co.total
