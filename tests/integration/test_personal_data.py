"""Personal data at rest (issue 17, item 8): after a day's work, no full ID number anywhere
in the counter's data directory, the database and its journal included; and owner only."""

from __future__ import annotations

import json
import os

from cashier.insurer import journal
from cashier.services import orders
from cashier.services.insured import Insurance
from cashier.services.refunds import approve, execute, plan_refund
from cashier.store.models import InsurerCall, database
from cashier_sandbox import state
from tests.support.counter import AMOXICILLIN, TERBINAFINE, insured_sale


def full_id_numbers() -> set[str]:
    return {p.certno for p in state.Person.select()}


def files_of_the_counter(settings) -> list:
    """Every file in the data directory but the sandbox insurer's own state (the insurer
    keeps its people; a real counter's data directory has no sandbox)."""
    sandbox = state.sandbox_path(settings.data_dir)
    out = []
    for root, _dirs, files in os.walk(settings.data_dir):
        for name in files:
            path = os.path.join(root, name)
            if not path.startswith(str(sandbox)):
                out.append(path)
    return out


def test_no_full_id_number_at_rest_after_a_days_work(insurer, settings, cashier_1001):
    people = full_id_numbers()
    zhang = state.find_person("P001")
    # The clinic's system drops an order file for P001 (by ID number).
    inbox = settings.orders_dir
    inbox.mkdir(parents=True, exist_ok=True)
    drop = inbox / "his-0001.json"
    drop.write_text(json.dumps([{
        "visit": "OP-PD-1", "patient": {"name": zhang.name, "certno": zhang.certno},
        "doctor": {"code": "D001", "name": "李医生"}, "department": {"code": "A03", "name": "内科"},
        "diagnosis": {"code": "J06.900", "name": "急性上呼吸道感染"},
        "lines": [{"code": AMOXICILLIN, "quantity": 1}],
    }], ensure_ascii=False), encoding="utf-8")  # fmt: skip
    os.utime(drop, (0, 0))
    (result,) = orders.import_dropped(inbox)
    assert result.error == "" and result.moved_to is not None
    assert orders.pending_for(zhang.certno)  # still found by the ID number

    # An insured sale by 医保码, then a refund of it (journaled 2207 and 2208).
    insurance = Insurance(insurer.client, settings)
    sale = insured_sale(insurer, settings, cashier_1001, "P001", AMOXICILLIN, TERBINAFINE)
    supervisor = approve(settings.station_id, "9001", "9999")
    execute(
        settings, plan_refund(sale), requested_by=cashier_1001, approved_by=supervisor,
        completed_by=cashier_1001, reason="退药", insurance=insurance,
    )  # fmt: skip
    # The journal keeps what a resend needs: the message, sealed with the station key.
    call = InsurerCall.get(InsurerCall.infno == "2207")
    assert call.request.startswith("enc1:")
    assert json.loads(journal.request_of(call))["input"]["data"]["mdtrt_id"]

    database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)") if "sqlite" in settings.db_url else None
    found = []
    for path in files_of_the_counter(settings):
        data = open(path, "rb").read()
        for number in people:
            for form in (number, number.lower()):
                if form.encode() in data or form.encode("utf-16-le") in data:
                    found.append((path, number[:4] + "…"))
    assert not found, found
    # The search itself finds what is there: the sandbox insurer's own file holds its people.
    base = state.sandbox_path(settings.data_dir)
    sandbox = b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))
    assert any(number.encode() in sandbox for number in people)
    assert settings.data_dir.stat().st_mode & 0o077 == 0
