"""The print queue, printer status and the cash drawer, against real TCP printers on loopback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.config import PrinterSettings
from cashier.devices.printer import (
    EscposLibTransport,
    EscposPrinter,
    PrinterStatus,
    parse_status,
    printer_from_url,
)
from cashier.domain.money import Fen
from cashier.domain.tender import Method
from cashier.errors import DeviceError, NotAllowed
from cashier.receipts.escpos import COLUMNS, escpos_text
from cashier.receipts.layout import receipt_text_lines
from cashier.services.checkout import Checkout, receipt_for
from cashier.services.printing import (
    JobKind,
    JobStatus,
    configured_printer,
    open_drawer,
    pending_jobs,
    print_sale,
    print_test,
    printer_status,
    receipt_title,
    retry_pending,
)
from cashier.store import SCHEMA_VERSION
from cashier.store.db import schema_version
from cashier.store.models import AuditEntry, PrintJob, Sale, database
from tests.support.printers import (
    COVER_OPEN,
    ONLINE,
    PAPER_NEAR_END,
    PAPER_OUT,
    LoopbackPrinter,
    PtyPrinter,
    closed_port,
)

DRAWER_PULSE = b"\x1bp\x00\x32\x32"  # ESC p, pin 2, 100 ms on / 100 ms off


def tcp_printer(settings, port: int):
    return printer_from_url(f"tcp://127.0.0.1:{port}", data_dir=settings.data_dir)


def complete_sale(station, who, *, cash: bool = True) -> int:
    co = Checkout(station.station_id, who)
    co.scan("Y00001")
    co.scan("Y00004")
    plan = co.start_payment()
    if cash:
        plan.add(Method.CASH, co.total + Fen(1000))  # 10 元 change
    else:
        plan.add(Method.WECHAT, co.total, "4200000000000001")
    return co.complete(plan).sale_id


def expected_text(settings, sale_id: int, paper_mm: int = 80, reprint: int = 0) -> str:
    """What the printer prints, row by row, from the receipt layout itself."""
    receipt = receipt_for(
        Sale.get_by_id(sale_id),
        clinic_name=settings.clinic_name,
        training=settings.training,
        reprint=reprint,
        title=receipt_title(settings),
    )
    rows = receipt_text_lines(receipt, COLUMNS[paper_mm], big_scale=2, ambiguous=2)
    return "".join("\n" if style == "qr" else text + "\n" for style, text in rows)


# -- the queue ------------------------------------------------------------------------


def test_schema_has_the_print_queue(station):
    assert schema_version(database.obj) == SCHEMA_VERSION >= 3
    assert database.obj.table_exists(PrintJob._meta.table_name)


def test_a_failing_printer_keeps_the_receipt_queued_and_retry_prints_it_once(
    station, settings, cashier_1001
):
    sale_id = complete_sale(station, cashier_1001)

    # 1. Nothing listens: the connection is refused.
    with pytest.raises(DeviceError, match="无法连接"):
        print_sale(settings, sale_id, tcp_printer(settings, closed_port()), kick_drawer=True)
    sale = Sale.get_by_id(sale_id)
    assert sale.status == "completed" and not sale.printed
    [job] = pending_jobs(settings.station_id)
    assert (job.sale_id, job.kind, job.status) == (sale_id, "receipt", "queued")
    assert job.attempts == 1 and "无法连接" in job.last_error and job.kick_drawer

    # 2. A printer that accepts and hangs up without reading a byte.
    with LoopbackPrinter(mode="drop") as dropping:
        results = retry_pending(settings, tcp_printer(settings, dropping.port), cashier_1001)
    assert dropping.connections == 1
    assert [(r.job_id, r.status, r.ok) for r in results] == [(job.id, "queued", False)]
    assert "中断" in results[0].error
    sale = Sale.get_by_id(sale_id)
    assert sale.status == "completed" and not sale.printed
    [job] = pending_jobs(settings.station_id)
    assert job.attempts == 2 and "中断" in job.last_error

    # 3. The printer is back: the original prints, once, with the drawer pulse.
    with LoopbackPrinter() as printer:
        results = retry_pending(settings, tcp_printer(settings, printer.port), cashier_1001)
        assert retry_pending(settings, tcp_printer(settings, printer.port), cashier_1001) == []
    assert [(r.job_id, r.status, r.receipt_no) for r in results] == [
        (job.id, "printed", sale.receipt_no)
    ]
    assert len(printer.jobs) == 1
    data = printer.jobs[0]
    assert b"\x1c\x26" in data  # FS &: Chinese mode
    assert b"\x1d(k" in data  # GS ( k: the QR code
    assert b"\x1dV" in data  # GS V: cut
    assert DRAWER_PULSE in data  # cash was taken: ESC p
    text = escpos_text(data)
    assert text == expected_text(settings, sale_id)
    assert "重打" not in text
    sale = Sale.get_by_id(sale_id)
    assert sale.printed and sale.reprints == 0 and sale.status == "completed"
    job = PrintJob.get_by_id(job.id)
    assert job.status == "printed" and job.attempts == 3 and job.printed_at is not None
    assert pending_jobs(settings.station_id) == []
    retry = AuditEntry.get(AuditEntry.action == "print.retry")
    assert (retry.operator, retry.subject) == ("1001", sale.receipt_no)


def test_a_dropping_printer_fails_print_sale_too(station, settings, cashier_1001):
    sale_id = complete_sale(station, cashier_1001, cash=False)
    with LoopbackPrinter(mode="drop") as dropping, pytest.raises(DeviceError, match="中断"):
        print_sale(settings, sale_id, tcp_printer(settings, dropping.port))
    assert not Sale.get_by_id(sale_id).printed
    assert [j.sale_id for j in pending_jobs(settings.station_id)] == [sale_id]


def test_f11_after_a_failure_reuses_the_queued_receipt(station, settings, cashier_1001):
    """Printing an unprinted sale again sends the same queued original, not a new job."""
    sale_id = complete_sale(station, cashier_1001, cash=False)
    with pytest.raises(DeviceError):
        print_sale(settings, sale_id, tcp_printer(settings, closed_port()))
    with LoopbackPrinter() as printer:
        print_sale(settings, sale_id, tcp_printer(settings, printer.port), by=cashier_1001)
    assert PrintJob.select().count() == 1
    job = PrintJob.get()
    assert (job.kind, job.status, job.attempts) == ("receipt", "printed", 2)
    assert b"\x1bp" not in printer.jobs[0]  # no cash: no drawer pulse
    assert escpos_text(printer.jobs[0]) == expected_text(settings, sale_id)
    assert Sale.get_by_id(sale_id).reprints == 0


def test_retry_keeps_order_and_stops_at_the_first_failure(station, settings, cashier_1001):
    first = complete_sale(station, cashier_1001)
    second = complete_sale(station, cashier_1001, cash=False)
    dead = tcp_printer(settings, closed_port())
    for sale_id in (first, second):
        with pytest.raises(DeviceError):
            print_sale(settings, sale_id, dead)
    results = retry_pending(settings, dead, cashier_1001)
    assert [r.status for r in results] == ["queued"]  # one timeout, not one per receipt
    assert [j.sale_id for j in pending_jobs(settings.station_id)] == [first, second]
    assert [j.attempts for j in pending_jobs(settings.station_id)] == [2, 1]

    with LoopbackPrinter() as printer:
        results = retry_pending(settings, tcp_printer(settings, printer.port), cashier_1001)
    assert [r.status for r in results] == ["printed", "printed"]
    numbers = [Sale.get_by_id(s).receipt_no for s in (first, second)]
    assert [r.receipt_no for r in results] == numbers
    assert [escpos_text(job) for job in printer.jobs] == [
        expected_text(settings, first),
        expected_text(settings, second),
    ]
    assert pending_jobs(settings.station_id) == []


def test_reprint_is_a_job_and_a_newer_reprint_overtakes_a_waiting_one(
    station, settings, cashier_1001
):
    sale_id = complete_sale(station, cashier_1001, cash=False)
    with LoopbackPrinter() as printer:
        print_sale(settings, sale_id, tcp_printer(settings, printer.port))
        with pytest.raises(DeviceError):
            print_sale(settings, sale_id, tcp_printer(settings, closed_port()), by=cashier_1001)
        [waiting] = pending_jobs(settings.station_id)
        assert (waiting.kind, waiting.reprint) == ("reprint", 1)
        print_sale(settings, sale_id, tcp_printer(settings, printer.port), by=cashier_1001)
        assert retry_pending(settings, tcp_printer(settings, printer.port), cashier_1001) == []
    assert len(printer.jobs) == 2  # the original and 重打2; 重打1 never comes out late
    assert "重打" not in escpos_text(printer.jobs[0])
    assert escpos_text(printer.jobs[1]) == expected_text(settings, sale_id, reprint=2)
    waiting = PrintJob.get_by_id(waiting.id)
    assert waiting.status == "failed" and "重打2" in waiting.last_error
    assert Sale.get_by_id(sale_id).reprints == 2
    kinds = [(j.kind, j.status) for j in PrintJob.select().order_by(PrintJob.id)]
    assert kinds == [("receipt", "printed"), ("reprint", "failed"), ("reprint", "printed")]


def test_a_reprint_still_needs_the_operator(station, settings, cashier_1001):
    sale_id = complete_sale(station, cashier_1001, cash=False)
    with LoopbackPrinter() as printer:
        print_sale(settings, sale_id, tcp_printer(settings, printer.port))
        with pytest.raises(ValueError):
            print_sale(settings, sale_id, tcp_printer(settings, printer.port))
    assert PrintJob.select().count() == 1


def test_print_test_is_recorded_and_never_queued(station, settings):
    with LoopbackPrinter() as printer:
        print_test(settings, tcp_printer(settings, printer.port))
    assert "阿莫西林胶囊" in escpos_text(printer.jobs[0])
    with pytest.raises(DeviceError):
        print_test(settings, tcp_printer(settings, closed_port()))
    jobs = [(j.kind, j.status) for j in PrintJob.select().order_by(PrintJob.id)]
    assert jobs == [("test", "printed"), ("test", "failed")]
    assert pending_jobs(settings.station_id) == []


# -- printer status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (ONLINE, PrinterStatus(online=True)),
        (PAPER_NEAR_END, PrinterStatus(online=True, paper_near_end=True)),
        (
            PAPER_OUT,
            PrinterStatus(online=False, paper_out=True, error="打印机缺纸，请装纸"),
        ),
        (
            COVER_OPEN,
            PrinterStatus(online=False, cover_open=True, error="打印机上盖打开，请合上"),
        ),
    ],
    ids=["online", "near-end", "paper-out", "cover-open"],
)
def test_tcp_printer_status_is_read_from_dle_eot(settings, answers, expected):
    with LoopbackPrinter(status=answers) as fake:
        status = tcp_printer(settings, fake.port).status(timeout=2)
    assert status == expected
    assert status.ready == (answers in (ONLINE, PAPER_NEAR_END))
    assert fake.queries == [b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"]
    assert fake.jobs == []


def test_a_printer_that_does_not_answer_is_offline(settings):
    with LoopbackPrinter(status=None) as silent:
        status = tcp_printer(settings, silent.port).status(timeout=0.2)
    assert status.known and not status.online and "没有应答" in status.error
    refused = tcp_printer(settings, closed_port()).status(timeout=0.2)
    assert refused.known and not refused.online and "无法连接" in refused.error
    assert not refused.ready


def test_transports_that_cannot_read_are_unknown(settings, tmp_path):
    usb = EscposPrinter(EscposLibTransport("usb", {"idVendor": 1, "idProduct": 2}))
    assert usb.status() == PrinterStatus.unknown()
    plain_file = printer_from_url(f"file://{tmp_path / 'out.bin'}", data_dir=settings.data_dir)
    (tmp_path / "out.bin").write_bytes(b"")
    status = plain_file.status(timeout=0.2)
    assert not status.known and not status.ready
    assert (tmp_path / "out.bin").read_bytes() == b""  # nothing was written to ask


def test_pdf_printer_status_is_its_directory(settings, tmp_path):
    assert configured_printer(settings).status().ready
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    status = printer_from_url(f"pdf://{blocked / 'r'}", data_dir=settings.data_dir).status()
    assert not status.online and "无法写入" in status.error


@pytest.mark.parametrize("scheme", ["file", "serial"])
def test_character_device_and_serial_printers_answer_status(settings, scheme):
    with PtyPrinter(status=PAPER_OUT) as fake:
        url = f"file://{fake.path}" if scheme == "file" else f"serial://{fake.path}?baud=9600"
        status = printer_from_url(url, data_dir=settings.data_dir).status(timeout=2)
    assert status.known and status.paper_out and not status.online
    assert bytes(fake.received) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


def test_status_bytes_that_break_the_fixed_bits_are_not_guessed():
    status = parse_status(0x00, 0x12, 0x12)
    assert not status.known and "无法识别" in status.error
    error = parse_status(0x1A, 0x52, 0x12)  # n=2 bit 6: an error occurred (e.g. the cutter)
    assert not error.online and "故障" in error.error and not error.paper_out


# -- the cash drawer -----------------------------------------------------------------------


def test_a_cashier_cannot_open_the_drawer(station, settings, cashier_1001):
    with LoopbackPrinter() as printer:
        settings = replace(settings, printer=PrinterSettings(url=printer.url))
        with pytest.raises(NotAllowed):
            open_drawer(settings, cashier_1001, settings.station_id)
    assert printer.connections == 0 and printer.jobs == []
    assert not AuditEntry.select().where(AuditEntry.action == "drawer.open").exists()
    assert PrintJob.select().count() == 0


def test_a_supervisor_opens_the_drawer_with_only_the_pulse(station, settings, supervisor_9001):
    with LoopbackPrinter() as printer:
        settings = replace(settings, printer=PrinterSettings(url=printer.url))
        open_drawer(settings, supervisor_9001, settings.station_id)
    assert printer.jobs == [DRAWER_PULSE]
    entry = AuditEntry.get(AuditEntry.action == "drawer.open")
    assert (entry.operator, entry.station) == ("9001", settings.station_id)
    job = PrintJob.get()
    assert (job.kind, job.status, job.sale_id) == (JobKind.DRAWER, JobStatus.PRINTED, None)


def test_drawer_on_a_pdf_or_dead_printer_is_a_device_error(station, settings, supervisor_9001):
    with pytest.raises(DeviceError, match="PDF 打印机没有钱箱"):
        open_drawer(settings, supervisor_9001, settings.station_id)  # training: pdf://
    dead = replace(settings, printer=PrinterSettings(url=f"tcp://127.0.0.1:{closed_port()}"))
    with pytest.raises(DeviceError, match="无法连接"):
        open_drawer(dead, supervisor_9001, settings.station_id)
    job = PrintJob.get()
    assert (job.kind, job.status) == ("drawer", "failed") and "无法连接" in job.last_error
    assert pending_jobs(settings.station_id) == []  # a drawer never pops open later


def test_printer_status_of_the_configured_printer(settings):
    with LoopbackPrinter(status=COVER_OPEN) as fake:
        status = printer_status(replace(settings, printer=PrinterSettings(url=fake.url)))
    assert status.cover_open and not status.ready
    assert printer_status(settings).ready  # training: the PDF directory


def test_an_old_database_gets_the_print_queue(tmp_path):
    from cashier.store import connect, migrate
    from cashier.store.db import MIGRATIONS
    from cashier.store.models import SchemaVersion

    db = connect(f"sqlite:///{tmp_path / 'old.db'}")
    for version, migration in enumerate(MIGRATIONS[:2], 1):
        with db.atomic():
            migration(db)
            SchemaVersion.create(version=version)
    assert not db.table_exists(PrintJob._meta.table_name)
    assert migrate(db) == SCHEMA_VERSION
    assert db.table_exists(PrintJob._meta.table_name) and schema_version(db) == SCHEMA_VERSION
