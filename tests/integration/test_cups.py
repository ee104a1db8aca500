"""Issue 21: printing where a clinic prints. ``cups://QUEUE`` sends receipts, shift reports
and the end-of-day report (A4) to a CUPS queue (an A4/A5 laser, an invoice printer) as
PDF through ``lp``; a queue that is stopped or does not exist is said, never a traceback.
A private cupsd with a capturing backend stands in for the printer."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from cashier.devices.printer import CupsPrinter, printer_from_url
from cashier.errors import DeviceError
from cashier.services import printing
from tests.support.cups import private_cups, wait_for_job
from tests.support.tools import require_tool

pytestmark = pytest.mark.sqlite_only("a printer, not the database")


@pytest.fixture
def cups(tmp_path, monkeypatch):
    with private_cups(tmp_path / "cups") as (sock, out):
        monkeypatch.setenv("CUPS_SERVER", str(sock))
        yield out


def text_of(path) -> str:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip


def test_a_receipt_goes_to_the_queue_as_a_pdf(cups, station, settings):
    settings = replace(settings, printer=replace(settings.printer, url="cups://receipts",
                                                 paper="a5"))  # fmt: skip
    printer = printing.configured_printer(settings)
    assert isinstance(printer, CupsPrinter) and printer.status().online
    printed = printing.print_test(settings, printer)
    assert printed.where.startswith("cups://receipts receipts-")
    (job,) = wait_for_job(cups)
    assert job.read_bytes().startswith(b"%PDF")
    text = text_of(job)
    assert "打印测试" in text
    assert printed.path is not None and printed.path.exists()  # kept, as a PDF printer keeps it


def test_the_end_of_day_report_prints_on_a4(cups, station, settings, tmp_path):
    from datetime import date

    from cashier.reports.eod import eod_report
    from cashier.reports.render import write_pdf

    settings = replace(settings, printer=replace(settings.printer, url="cups://receipts",
                                                 paper="a4"))  # fmt: skip
    report = eod_report(date.today())
    path = write_pdf(report, tmp_path / "eod.pdf", clinic_name=settings.clinic_name)
    printed = printing.print_pdf(settings, path, "eod")
    assert "receipts-" in printed.where
    (job,) = wait_for_job(cups)
    assert "日结报表" in text_of(job)


def test_a_stopped_or_unknown_queue_is_said(cups, station, settings, tmp_path):
    stopped = printer_from_url("cups://receipts", data_dir=tmp_path)
    subprocess.run(["cupsdisable", "receipts"], check=True, capture_output=True)
    status = stopped.status()
    assert not status.online and "cupsenable receipts" in status.error
    unknown = printer_from_url("cups://nowhere", data_dir=tmp_path)
    with pytest.raises(DeviceError, match="nowhere"):
        printing.print_test(settings, unknown)
    assert not unknown.status().online
    with pytest.raises(DeviceError, match="CUPS"):
        printer_from_url("cups://a;rm -rf", data_dir=tmp_path)
    a_roll = replace(settings, printer=replace(settings.printer, url="pdf://"))
    with pytest.raises(DeviceError, match="A4"):
        printing.print_pdf(a_roll, tmp_path / "x.pdf", "x")
