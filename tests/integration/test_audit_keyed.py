"""The audit chain keyed with the station key, and sales checked against their entries
(issue 17, item 7): whoever can write the database but has not the key is found out."""

from __future__ import annotations

import hashlib
import json

import pytest

from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.services import audit, catalog, shifts
from cashier.services.checkout import Checkout
from cashier.services.refunds import approve, execute, find_refundable, plan_refund
from cashier.services.station import open_station
from cashier.store import keys
from cashier.store.models import AuditEntry, AuditHead, Refund, Sale, SaleLine, Tender, database
from tests.support.counter import AMOXICILLIN, CEFIXIME


def cash_sale(settings, who, *codes) -> Sale:
    co = Checkout(settings.station_id, who)
    for code in codes:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.add(Method.CASH, plan.remaining + Fen(1000), "")
    return Sale.get_by_id(co.complete(plan).sale_id)


def recompute_chain_without_the_key() -> None:
    """What an attacker with the database does after an edit: every hash recomputed (plain
    SHA-256, the only hash one can compute without the key) and the head moved along."""
    prev = "0" * 64
    for e in AuditEntry.select().order_by(AuditEntry.id):
        body = json.dumps(
            [prev, e.at.isoformat(timespec="microseconds"), e.station, e.operator, e.action,
             e.subject, e.detail],
            ensure_ascii=False, separators=(",", ":"),
        )  # fmt: skip
        digest = hashlib.sha256(body.encode()).hexdigest()
        AuditEntry.update(prev_hash=prev, hash=digest).where(AuditEntry.id == e.id).execute()
        prev = digest
    AuditHead.update(last_hash=prev).where(AuditHead.id == 1).execute()


def test_the_key_is_made_once_owner_only_and_named_in_the_database(station, settings):
    path = settings.key_path
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    head = AuditHead.get_by_id(1)
    assert head.key_id == keys.current().key_id and head.keyed_from
    assert AuditEntry.get_by_id(head.keyed_from).action == "audit.keyed"
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    db_file = settings.data_dir / "cashier.db"
    if db_file.exists():  # SQLite
        assert db_file.stat().st_mode & 0o777 == 0o600
    assert audit.verify().ok


def test_a_recomputed_chain_is_found(station, settings, cashier_1001):
    sale = cash_sale(settings, cashier_1001, AMOXICILLIN)
    entry = AuditEntry.get(AuditEntry.action == "sale.complete")
    AuditEntry.update(detail=entry.detail.replace(str(sale.total), "0.01")).where(
        AuditEntry.id == entry.id
    ).execute()
    recompute_chain_without_the_key()
    check = audit.verify()
    assert not check.ok and check.first_bad_id is not None


def test_moving_the_start_of_the_keyed_chain_is_found(station, settings, cashier_1001):
    cash_sale(settings, cashier_1001, AMOXICILLIN)
    last = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    AuditHead.update(keyed_from=last.id).where(AuditHead.id == 1).execute()
    recompute_chain_without_the_key()
    assert not audit.verify().ok
    AuditHead.update(key_id="").where(AuditHead.id == 1).execute()  # "never keyed"
    assert not audit.verify().ok or not keys.current_or_none()


@pytest.mark.parametrize("edit", ["price", "tender", "line_added", "total"])
def test_a_sale_edited_without_touching_the_log_is_found(station, settings, cashier_1001, edit):
    sale = cash_sale(settings, cashier_1001, AMOXICILLIN, CEFIXIME)
    assert audit.verify().ok
    if edit == "price":
        SaleLine.update(price=Fen(1), amount=Fen(1)).where(
            (SaleLine.sale == sale.id) & (SaleLine.line_no == 1)
        ).execute()
    elif edit == "tender":
        Tender.update(method="wechat").where(Tender.sale == sale.id).execute()
    elif edit == "line_added":
        SaleLine.create(sale=sale.id, line_no=9, code="X", name="X", quantity=1, price=Fen(100),
                        amount=Fen(100))  # fmt: skip
    else:
        Sale.update(total=Fen(1)).where(Sale.id == sale.id).execute()
    check = audit.verify()
    assert not check.ok and sale.receipt_no in check.problem


def test_a_sale_written_past_the_log_is_found(station, settings, cashier_1001):
    sale = cash_sale(settings, cashier_1001, AMOXICILLIN)
    AuditEntry.delete().where(AuditEntry.action == "sale.complete").execute()
    recompute_chain_without_the_key()  # even with the chain made whole again (unkeyed)
    assert not audit.verify().ok
    # A chain that holds but lacks the sale's entry: the sale is named.
    database.close()
    assert sale.receipt_no


def test_an_edited_refund_is_found(station, settings, cashier_1001):
    supervisor = approve(settings.station_id, "9001", "9999")
    sale = cash_sale(settings, cashier_1001, AMOXICILLIN, CEFIXIME)
    done = execute(
        settings, plan_refund(find_refundable(sale.receipt_no)), requested_by=cashier_1001,
        approved_by=supervisor, completed_by=cashier_1001, reason="退药",
    )  # fmt: skip
    assert audit.verify().ok
    Refund.update(amount=Fen(1)).where(Refund.id == done.refund_id).execute()
    check = audit.verify()
    assert not check.ok and "退款" in check.problem


def elsewhere(settings, tmp_path):
    """The same database opened with a key file of its own (another counter's)."""
    from dataclasses import replace

    return replace(settings, key_file=str(tmp_path / "other" / "station.key"))


def test_another_key_is_refused_with_what_to_do(station, settings, tmp_path):
    station.close()
    other = elsewhere(settings, tmp_path)
    other.key_path.parent.mkdir()
    other.key_path.write_text("ab" * 32 + "\n")
    with pytest.raises(keys.StationKeyError, match="--key-file"):
        open_station(other)


def test_a_missing_key_for_a_keyed_database_is_refused(station, settings, tmp_path):
    station.close()
    with pytest.raises(keys.StationKeyError, match="找不到站点密钥"):
        open_station(elsewhere(settings, tmp_path))


def test_z_report_prints_the_chain_head(station, settings, cashier_1001):
    shift = shifts.open_shift(settings.station_id, cashier_1001, Fen(0))
    cash_sale(settings, cashier_1001, AMOXICILLIN)
    z = shifts.close_shift(shift, {Method.CASH: Fen(1250)}, cashier_1001)
    assert z.audit_head == audit.head_label() and z.audit_head.startswith("#")
    doc = shifts.z_document(z, clinic_name="诊所", training=True)
    assert ("审计链", z.audit_head) in doc.fields


def test_end_of_day_report_prints_the_chain_head(station, settings, cashier_1001, tmp_path):
    from datetime import date

    from cashier.reports.eod import eod_report
    from cashier.reports.render import write_report

    cash_sale(settings, cashier_1001, AMOXICILLIN)
    report = eod_report(date.today())
    assert report.audit_head == audit.head_label()
    out = write_report(report, tmp_path / "eod.csv", "csv", clinic_name="诊所", training=True)
    assert report.audit_head in out.read_text(encoding="utf-8-sig")
