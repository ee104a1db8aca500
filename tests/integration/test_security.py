"""Security (issue 7): roles enforced in the core, and personal data kept out of every file,
log and audit entry the cashier writes.

Tested elsewhere, not repeated here:

* the audit chain names an edited, a deleted, an inserted row and a deleted tail —
  tests/integration/test_audit.py (``cashier verify-audit``: tests/integration/test_cli.py);
* PIN lockout after five wrong PINs, unlocked by a supervisor — tests/integration/test_operators.py;
  the idle lock that needs the PIN — tests/app/test_app.py::test_idle_lock_needs_the_pin;
* the drawer without a sale: refused for a cashier, opened for a supervisor —
  tests/integration/test_printing.py (test_a_cashier_cannot_open_the_drawer…,
  test_a_supervisor_opens_the_drawer_with_only_the_pulse);
* a refund approved by a cashier — tests/integration/test_refunds.py::test_refusals;
* the X report of a shift for a cashier — tests/integration/test_shifts.py.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tomllib
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from cashier.config import PrinterSettings
from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import NotAllowed
from cashier.insurer import journal
from cashier.receipts.escpos import escpos_text
from cashier.reports.eod import eod_report
from cashier.reports.render import write_report
from cashier.services import catalog, shifts
from cashier.services.catalog import COLUMNS, import_catalog
from cashier.services.checkout import Checkout
from cashier.services.insured import Insurance
from cashier.services.printing import configured_printer, print_document, print_sale
from cashier.services.refunds import approve, execute, plan_refund, refund_receipt
from cashier.store.models import AuditEntry, InsurerCall, Item, Refund, Sale
from tests.support.counter import AMOXICILLIN, CEFIXIME, TERBINAFINE, qr
from tests.support.printers import LoopbackPrinter
from tests.support.tools import require_tool

fen = Fen.parse
TOKEN = re.compile(r"[0-9]{6}ec[0-9a-z]{30}")


def sandbox_id_numbers() -> set[str]:
    text = resources.files("cashier_sandbox").joinpath("people.toml").read_text("utf-8")
    ids = {p["certno"] for p in tomllib.loads(text)["person"] if p.get("certno")}
    assert len(ids) >= 5 and all(len(i) == 18 for i in ids)
    return ids


def leaks(text: str, ids: set[str]) -> list[str]:
    found = [i for i in ids if i in text or i.lower() in text]
    return found + TOKEN.findall(text)


def file_text(path: Path, pdftotext: str) -> str:
    raw = path.read_bytes()
    text = raw.decode("utf-8", "replace") + raw.decode("gb18030", "replace")
    if path.suffix.lower() == ".pdf":
        text += subprocess.run(
            [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    return text


def database_files(settings) -> set[Path]:
    """The station's and the sandbox's SQLite files: the journal in them keeps the requests
    as they were sent (a token included), and the sandbox's people hold their ID numbers."""
    data = settings.data_dir
    return {p for p in data.rglob("*") if p.is_file() and _is_database(p)}


def _is_database(path: Path) -> bool:
    name = path.name
    for suffix in ("-wal", "-shm", "-journal"):
        if name.endswith(suffix):
            return True
    with path.open("rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


# -- (a) no full ID number, no token, in anything written ------------------------------------


def test_no_id_number_or_token_in_receipts_reports_logs_or_the_audit_log(
    insurer, settings, cashier_1001, caplog, capfd
):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    ids = sandbox_id_numbers()
    caplog.set_level(logging.INFO)  # the app's own logs (peewee's SQL debug echo is off)
    caplog.set_level(logging.DEBUG, logger="cashier")
    supervisor = approve(settings.station_id, "9001", "9999")
    insurance = Insurance(insurer.client, settings)
    shift = shifts.open_shift(settings.station_id, cashier_1001, fen("100.00"))
    escpos_jobs: list[bytes] = []

    def insured_sale(patient, *codes: str) -> Sale:
        co = Checkout(settings.station_id, cashier_1001)
        co.identify(patient, "clinic")
        insurance.set_diagnosis(
            co, "J06.900", "急性上呼吸道感染"
        )  # a walk-in clinic bill needs one
        co.set_account(False)  # a cash part: the drawer is kicked, cash is on the receipt
        for code in codes:
            co.add(catalog.find_by_scan(code))
        insurance.presettle(co)
        insurance.settle(co)
        plan = co.start_payment()
        plan.add(Method.CASH, plan.remaining + fen("10.00"))
        return Sale.get_by_id(co.complete(plan).sale_id)

    # A 医保码 visit: the PDF receipt (the training station's printer), then an ESC/POS
    # 重打 on a network printer.
    by_qr = insured_sale(
        insurance.identify_qr(qr(insurer, "P001"), cashier_1001), AMOXICILLIN, CEFIXIME
    )
    print_sale(settings, by_qr.id, configured_printer(settings), kick_drawer=True)
    with LoopbackPrinter() as printer:
        escpos = replace(settings, printer=PrinterSettings(url=printer.url))
        print_sale(escpos, by_qr.id, configured_printer(escpos), by=cashier_1001)
    escpos_jobs += printer.jobs
    # An ID number typed at the counter (the full number is what the insurer needs).
    p002 = next(i for i in ids if i.startswith("110105195807"))
    by_id = insured_sale(insurance.identify_id(p002, cashier_1001), AMOXICILLIN, TERBINAFINE)
    with LoopbackPrinter() as printer:
        escpos = replace(settings, printer=PrinterSettings(url=printer.url))
        print_sale(escpos, by_id.id, configured_printer(escpos), kick_drawer=True)
    escpos_jobs += printer.jobs
    assert escpos_jobs and all(escpos_text(job) for job in escpos_jobs)

    # A full refund of the first (its slip), a partial one of the second (settled again
    # with a fresh 医保码), each slip printed as PDF.
    for sale, quantities, person in ((by_qr, None, ""), (by_id, TERBINAFINE, "P002")):
        lines = {ln.code: ln for ln in sale.lines}
        plan = plan_refund(sale, {lines[quantities].id: 1} if quantities else None)
        patient = insurance.identify_qr(qr(insurer, person), cashier_1001) if person else None
        done = execute(
            settings, plan, requested_by=cashier_1001, approved_by=supervisor,
            completed_by=cashier_1001, reason="患者要求", insurance=insurance, patient=patient,
        )  # fmt: skip
        slip = refund_receipt(
            Refund.get_by_id(done.refund_id), clinic_name=settings.clinic_name, training=True
        )
        print_document(settings, slip, configured_printer(settings))
        if done.new_sale_id:
            print_sale(settings, done.new_sale_id, configured_printer(settings))

    # The shift's X and Z reports and the end-of-day report (PDF and CSV).
    x = shifts.x_report(shift, supervisor)
    print_document(
        settings,
        shifts.x_document(x, clinic_name=settings.clinic_name, training=True),
        configured_printer(settings),
    )
    z = shifts.close_shift(shifts.open_shift_of(settings.station_id), {}, cashier_1001)
    print_document(
        settings,
        shifts.z_document(z, clinic_name=settings.clinic_name, training=True),
        configured_printer(settings),
    )
    report = eod_report(date.today())
    reports = settings.data_dir / "reports"
    reports.mkdir(exist_ok=True)
    for fmt in ("pdf", "csv"):
        write_report(report, reports / f"eod.{fmt}", fmt, clinic_name="诊所", training=True)

    # The journal keeps the requests as sent (sealed with the station key): the token and the
    # typed ID number are there, which shows the patterns below would find them elsewhere.
    sent = "".join(journal.request_of(c) + journal.response_of(c) for c in InsurerCall.select())
    assert TOKEN.search(sent) and p002 in sent

    # Every file under the data directory but the databases.
    databases = database_files(settings)
    written = [p for p in settings.data_dir.rglob("*") if p.is_file() and p not in databases]
    assert len([p for p in written if p.suffix == ".pdf"]) >= 7, written
    assert len(databases) >= 2  # the station's and the sandbox's
    assert any(p.suffix == ".csv" for p in written)
    for path in written:
        assert not leaks(file_text(path, pdftotext), ids), path
    for n, job in enumerate(escpos_jobs):
        text = job.decode("latin-1") + escpos_text(job)
        assert not leaks(text, ids), f"ESC/POS job {n}"
    # The audit log, every column of every entry.
    entries = list(AuditEntry.select())
    assert {"sale.complete", "sale.refund", "sale.reprint", "shift.close"} <= {
        e.action for e in entries
    }
    for entry in entries:
        text = " ".join(
            str(v)
            for v in (entry.station, entry.operator, entry.action, entry.subject, entry.detail)
        )
        assert not leaks(text, ids), (entry.id, entry.action)
    # The logs and whatever went to stdout / stderr (the sandbox's too).
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not leaks(out + err + logged, ids)


# -- (b) the role rules in the core ----------------------------------------------------------


def _csv(*rows: str) -> str:
    return "\n".join([",".join(COLUMNS), *rows]) + "\n"


ITEM = "P1,6901234567892,阿莫西林胶囊,,盒,{price},,甲,0,,西药费,1"


def test_a_price_change_by_import_needs_a_supervisor(empty_station, cashier_1001, supervisor_9001):
    # Creating items (the training station's seed) needs nobody.
    assert import_catalog(text=_csv(ITEM.format(price="12.50"))).created == 1
    assert import_catalog(text=_csv(ITEM.format(price="12.50"))).updated == 1  # same price
    dearer = _csv(ITEM.format(price="13.00"), "P2,,新商品,,盒,1.00,,甲,0,,西药费,0")
    with pytest.raises(NotAllowed, match="修改 1 个已有商品的价格（P1）"):
        import_catalog(text=dearer)
    with pytest.raises(NotAllowed, match="不是收费组长或管理员"):
        import_catalog(text=dearer, by=cashier_1001)
    assert Item.get(Item.code == "P1").price == fen("12.50")  # nothing written
    assert not Item.select().where(Item.code == "P2").exists()
    assert not AuditEntry.select().where(AuditEntry.action == "catalog.prices").exists()
    result = import_catalog(text=dearer, by=supervisor_9001, station_id=empty_station.station_id)
    assert (result.created, result.updated) == (1, 1)
    assert Item.get(Item.code == "P1").price == fen("13.00")
    entry = AuditEntry.get(AuditEntry.action == "catalog.prices")
    assert entry.operator == "9001" and '"P1": ["12.50", "13.00"]' in entry.detail


def test_a_completed_sale_is_never_voided(station, settings, cashier_1001, supervisor_9001):
    for who in (cashier_1001, supervisor_9001):
        co = Checkout(settings.station_id, who)
        co.scan(AMOXICILLIN)
        plan = co.start_payment()
        plan.add(Method.CASH, co.total)
        co.complete(plan)
        with pytest.raises(NotAllowed, match="已完成的收费单不能作废"):
            co.void("想作废")
    assert not Sale.select().where(Sale.status == "voided").exists()
    assert not AuditEntry.select().where(AuditEntry.action == "sale.void").exists()


def test_a_reprint_opens_the_drawer_only_for_a_supervisor(
    station, settings, cashier_1001, supervisor_9001
):
    co = Checkout(settings.station_id, cashier_1001)
    co.scan(AMOXICILLIN)
    plan = co.start_payment()
    plan.add(Method.CASH, co.total)
    sale_id = co.complete(plan).sale_id
    with LoopbackPrinter() as printer:
        escpos = replace(settings, printer=PrinterSettings(url=printer.url))
        print_sale(escpos, sale_id, configured_printer(escpos))  # the original
        with pytest.raises(NotAllowed):
            print_sale(
                escpos, sale_id, configured_printer(escpos), by=cashier_1001, kick_drawer=True
            )
        print_sale(escpos, sale_id, configured_printer(escpos), by=cashier_1001)  # no pulse
        print_sale(
            escpos, sale_id, configured_printer(escpos), by=supervisor_9001, kick_drawer=True
        )
    pulse = b"\x1bp"
    assert [pulse in job for job in printer.jobs] == [False, False, True]


def test_a_cashier_sees_only_their_own_z_reports(station, settings, cashier_1001, supervisor_9001):
    from cashier.services.operators import create_operator

    sid = settings.station_id
    create_operator(sid, "1002", "赵收费", cashier_1001.role, "2468", by=supervisor_9001)
    other = replace(cashier_1001, code="1002", name="赵收费")
    for who in (cashier_1001, other):
        shifts.close_shift(shifts.open_shift(sid, who, Fen(0)), {}, who)
    mine = [z.figures.operator for _, z in shifts.recent_z_reports(sid, who=cashier_1001)]
    theirs = [z.figures.operator for _, z in shifts.recent_z_reports(sid, who=other)]
    every = [z.figures.operator for _, z in shifts.recent_z_reports(sid, who=supervisor_9001)]
    assert (mine, theirs, every) == (["1001"], ["1002"], ["1002", "1001"])


# -- the configuration file holding the insurer's secret --------------------------------------


def test_the_config_file_is_0600_and_a_readable_one_is_warned_about(tmp_path, capsys):
    import os
    import stat

    from cashier.cli import main
    from cashier.config import config_warnings, load_settings, settings_from_dict, write_settings

    path = tmp_path / "cashier.toml"
    data = tmp_path / "data"
    raw = {"insurer": {"url": "http://127.0.0.1:9/", "paasid": "p1", "secret": "s3cret-key"}}
    write_settings(settings_from_dict(raw, data_dir=data), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config_warnings(load_settings(path, data)) == ()
    os.chmod(path, 0o644)
    (warning,) = config_warnings(load_settings(path, data))
    assert "其他用户也能读取" in warning and f"chmod 600 {path}" in warning
    assert "s3cret-key" not in warning
    # The command line says so on stderr (and goes on).
    assert main(["operator", "list", "--config", str(path), "--data-dir", str(data)]) == 0
    assert main(["verify-audit", "--config", str(path), "--data-dir", str(data)]) == 0
    err = capsys.readouterr().err
    assert "警告" in err and "chmod 600" in err and "s3cret-key" not in err
    # No secret, nothing to warn about.
    write_settings(settings_from_dict({}, data_dir=data), path)
    os.chmod(path, 0o644)
    assert config_warnings(load_settings(path, data)) == ()


async def test_the_app_warns_at_start_about_a_readable_config(settings, tmp_path):
    import os

    from cashier.services.station import open_station
    from cashier.ui.app import CashierApp

    path = tmp_path / "cashier.toml"
    path.write_text("")
    os.chmod(path, 0o644)
    settings = replace(
        settings,
        config_path=path,
        insurer=replace(settings.insurer, secret="s3cret-key"),
    )
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        notices = "\n".join(n.message for n in app._notifications)
    assert "其他用户也能读取" in notices and "s3cret-key" not in notices
