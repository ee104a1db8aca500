"""Issue 20, the insurer's catalogs: downloaded by version through 9102 in the real layout
(tab-separated, no header, 97 columns for 1301), incremental; a mapping uploaded (3301) and
deleted (3302); a line without a valid mapping never sent to the insurer and paid by the
patient in full."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.errors import InputError
from cashier.insurer import protocol
from cashier.insurer.protocol.catalogs import LAYOUTS, read_catalog_file
from cashier.services import catalog, insurer_catalogs
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.store.models import CatalogVersion, InsurerCatalogEntry, Item
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, qr

OPERATOR = ("9001", "李组长")
HOME_VISIT = "S00061"  # 出诊费: a clinic's own service, on no insurer's catalog


def sync(insurer, settings, kind="1301", progress=None):
    return insurer_catalogs.sync(
        insurer.client, OPERATOR, kind, fixmedins_code=settings.clinic_code, progress=progress
    )


def test_a_catalog_file_is_read_in_its_layout_and_a_stranger_is_refused():
    line = "\t".join(
        ["XA01"] + ["null"] * 59 + ["国药准字H1"] + ["null"] * 16 + ["1", "R1", "null", "null", "7"]
        + ["null"] * 15
    )  # fmt: skip
    (entry,) = read_catalog_file(line + "\n", "1301")
    assert (entry.med_list_codg, entry.aprvno, entry.vali_flag, entry.rid, entry.ver) == (
        "XA01", "国药准字H1", "1", "R1", "7",
    )  # fmt: skip
    assert LAYOUTS["1301"].columns == 97
    with pytest.raises(protocol.ProtocolError, match="97"):
        read_catalog_file("XA01\tshort\n", "1301")


def test_a_full_sync_is_incremental_and_survives_a_second_run(insurer, settings):
    state.set_setting("catalog_rows", "12000")  # three files of 5000 lines and the rest
    seen: list[tuple[int, int | None]] = []
    first = sync(insurer, settings, progress=lambda read, expected: seen.append((read, expected)))
    assert first.files == 3 and first.entries == InsurerCatalogEntry.select().count()
    assert first.entries > 12000
    # A first sync knows how many lines are coming (1312's recordCounts): a true bar.
    assert [read for read, _ in seen] == [5000, 10000, first.entries]
    assert {expected for _, expected in seen} == {first.entries}
    again = sync(insurer, settings)
    assert (again.files, again.entries, again.ver) == (0, 0, first.ver)  # nothing newer
    state.set_setting("catalog_rows", "17000")  # the insurer publishes a new version
    seen.clear()
    newer = sync(insurer, settings, progress=lambda read, expected: seen.append((read, expected)))
    assert newer.files == 1 and newer.ver > first.ver
    assert seen == [(newer.entries, None)]  # from a version held: what is to come is unknown
    assert CatalogVersion.get_by_id("1301").entries == InsurerCatalogEntry.select().count()


def test_a_mapping_is_uploaded_and_deleted(insurer, settings):
    sync(insurer, settings)
    item = Item.get(Item.code == "Y00088")
    found = [c.med_list_codg for c in insurer_catalogs.candidates(item)]
    assert item.med_list_codg in found  # by its name: both packs of 二甲双胍 are offered
    insurer_catalogs.upload_mapping(insurer.client, OPERATOR, settings.station_id, item,
                                    item.med_list_codg)  # fmt: skip
    held = state.Mapping.get(state.Mapping.hilist_id == "Y00088")
    assert held.med_list_codg == item.med_list_codg
    assert Item.get_by_id(item.id).mapping == "uploaded"
    with pytest.raises(InputError) as unknown:  # not in the catalog: never sent
        insurer_catalogs.upload_mapping(insurer.client, OPERATOR, settings.station_id, item,
                                        "XNOSUCHCODE0000000000000")  # fmt: skip
    assert "XNOSUCHCODE" in str(unknown.value)
    insurer_catalogs.delete_mapping(insurer.client, OPERATOR, settings.station_id,
                                    Item.get_by_id(item.id))  # fmt: skip
    assert not state.Mapping.select().where(state.Mapping.hilist_id == "Y00088").exists()
    assert Item.get_by_id(item.id).med_list_codg == ""


def test_an_unmapped_line_is_never_sent_and_is_paid_by_the_patient(insurer, settings, cashier_1001):
    for kind in insurer_catalogs.CATALOGS:
        sync(insurer, settings, kind)
    clinic = replace(settings, kind="clinic")
    insurance = Insurance(insurer.client, clinic)
    co = Checkout(settings.station_id, cashier_1001)
    co.identify(insurance.identify_qr(qr(insurer, "P001"), cashier_1001), "clinic")
    insurance.set_diagnosis(co, "J06.900", "急性上呼吸道感染")
    co.add(catalog.find_by_scan(AMOXICILLIN))
    co.add(catalog.find_by_scan(HOME_VISIT))
    visit_fee = co.lines[1].amount
    bill = insurance.presettle(co)
    assert bill.setlinfo.medfee_sumamt == co.lines[0].amount  # the insurer saw one line
    sent = [d.med_list_codg for d in state.FeeDetail.select()]
    assert sent == [catalog.find_by_scan(AMOXICILLIN).med_list_codg]
    assert co.insured.cash_due == bill.setlinfo.psn_cash_pay + visit_fee
    insurance.settle(co)
    plan = co.start_payment()
    assert plan.due == co.insured.settlement.setlinfo.psn_cash_pay + visit_fee
    plan.exact_cash()
    done = co.complete(plan)
    from cashier.receipts.layout import receipt_text_lines
    from cashier.services.checkout import receipt_for
    from cashier.store.models import Sale

    receipt = receipt_for(Sale.get_by_id(done.sale_id), clinic_name="诊所", training=True)
    assert any("未对照项目" in line.text for line in receipt_text_lines(receipt, 48))
    assert receipt.insurance.unmapped == visit_fee
