"""Printing through the configured printer: receipts (first time or 重打), the print
queue, test receipts and the cash drawer.

Every print is a :class:`~cashier.store.models.PrintJob`, written before it is
sent. A receipt the printer did not take stays ``queued`` with the printer's
error; the sale itself was committed before and is never touched, and
:func:`retry_pending` prints what waits, in order, when the printer is back.
Each change of a job's state is one transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from cashier import faults
from cashier.config import Settings
from cashier.devices.printer import (
    NO_DRAWER_PDF,
    STATUS_TIMEOUT,
    CupsPrinter,
    EscposPrinter,
    PdfPrinter,
    Printed,
    PrinterStatus,
    ReceiptPrinter,
    printer_from_url,
)
from cashier.domain.money import Fen
from cashier.errors import DeviceError
from cashier.messages import say
from cashier.receipts import Receipt, ReceiptLine, ReceiptTender
from cashier.receipts.shift_report import (
    ShiftReport,
    render_shift_report_escpos,
    render_shift_report_pdf,
    shift_report_file_name,
)
from cashier.services import audit
from cashier.services.checkout import receipt_for, record_reprint
from cashier.services.operators import Role, SignedIn
from cashier.store.models import PrintJob, Sale, database, utcnow


class JobKind(StrEnum):
    RECEIPT = "receipt"  # a sale's original receipt
    REPRINT = "reprint"  # 重打
    TEST = "test"
    DRAWER = "drawer"
    DOCUMENT = "document"  # a refund slip, an X or Z report: printed once, reprinted on request


class JobStatus(StrEnum):
    QUEUED = "queued"
    PRINTED = "printed"
    FAILED = "failed"  # will not be printed


#: Kinds that wait in the queue when the printer fails; a test page or a drawer
#: opening that did not happen is not done later.
QUEUED_KINDS = (JobKind.RECEIPT.value, JobKind.REPRINT.value)

# One printer per station: jobs of this process go one at a time, so a retry
# and an F11 never print the same job twice.
_PRINTING = threading.Lock()


@dataclass(frozen=True)
class RetryResult:
    """What :func:`retry_pending` did with one queued job."""

    job_id: int
    kind: str
    receipt_no: str
    status: str  # the job's status afterwards: printed | queued | failed
    printed: Printed | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == JobStatus.PRINTED


def configured_printer(settings: Settings) -> ReceiptPrinter:
    return printer_from_url(
        settings.printer.url, data_dir=settings.data_dir, paper=settings.printer.paper
    )


def receipt_title(settings: Settings) -> str:
    """The slip's title: with e-receipts or e-invoices it is a 收费凭条 (the receipt is the
    electronic one), else the paper receipt it is."""
    if settings.receipts.provider == "fiscal":
        return "收费凭条"
    return "药店销售小票" if settings.kind == "pharmacy" else "门诊收费票据"


def print_sale(
    settings: Settings,
    sale_id: int,
    printer: ReceiptPrinter,
    *,
    by: SignedIn | None = None,
    kick_drawer: bool = False,
) -> Printed:
    """Print a completed sale. A sale never printed gets its original; after that, 重打.

    The print is queued first. Raises ``DeviceError`` when the printer fails:
    the sale stays unprinted, its receipt stays queued with the error, and the
    next call (or :func:`retry_pending`) prints the original again.
    """
    with _PRINTING:
        sale = Sale.get_by_id(sale_id)
        if sale.printed:
            if by is None:
                raise ValueError("a reprint needs the operator who asks for it")
            if kick_drawer:  # a reprint takes no money: opening the drawer is open_drawer's
                by.require(Role.SUPERVISOR)
            with database.atomic():
                reprint = record_reprint(sale, by, settings.station_id)
                # An earlier 重打 of this sale still waiting is overtaken by this one.
                PrintJob.update(
                    status=JobStatus.FAILED.value,
                    last_error=say("printing.superseded", reprint=reprint),
                ).where(_queued_for(sale, JobKind.REPRINT)).execute()
                job = PrintJob.create(
                    station=settings.station_id,
                    sale=sale.id,
                    kind=JobKind.REPRINT.value,
                    status=JobStatus.QUEUED.value,
                    reprint=reprint,
                    kick_drawer=kick_drawer,
                )
        else:
            job = _receipt_job(settings, sale, kick_drawer)
        return _print_job(settings, job, sale, printer)


def pending_jobs(station: str) -> list[PrintJob]:
    """The station's receipts waiting for the printer, oldest first."""
    return list(
        PrintJob.select()
        .where(
            (PrintJob.station == station)
            & (PrintJob.status == JobStatus.QUEUED.value)
            & (PrintJob.kind.in_(QUEUED_KINDS))
        )
        .order_by(PrintJob.id)
    )


def retry_pending(settings: Settings, printer: ReceiptPrinter, by: SignedIn) -> list[RetryResult]:
    """Print the station's queued receipts in order; each one printed is audited for ``by``.

    A receipt whose sale was never printed prints as the original (not 重打).
    The first printer failure stops the run: that job and all after it stay
    queued (its result carries the error), so a dead printer costs one timeout.
    """
    results: list[RetryResult] = []
    with _PRINTING:
        for job in pending_jobs(settings.station_id):
            sale = job.sale
            receipt_no = sale.receipt_no or ""
            if job.kind == JobKind.RECEIPT and sale.printed:
                # Printed some other way meanwhile: the original is not printed twice.
                error = say("printing.already_printed")
                _finish(job, JobStatus.FAILED, error, attempted=False)
                results.append(
                    RetryResult(job.id, job.kind, receipt_no, JobStatus.FAILED, error=error)
                )
                continue
            try:
                printed = _print_job(settings, job, sale, printer, retried_by=by)
            except DeviceError as exc:
                results.append(
                    RetryResult(job.id, job.kind, receipt_no, JobStatus.QUEUED, error=str(exc))
                )
                break
            results.append(
                RetryResult(job.id, job.kind, receipt_no, JobStatus.PRINTED, printed=printed)
            )
    return results


def open_drawer(
    settings: Settings,
    by: SignedIn,
    station_id: str,
    *,
    printer: ReceiptPrinter | None = None,
) -> None:
    """Open the cash drawer without a sale (收费组长 only): only the ESC p pulse is sent.

    Audited as ``drawer.open`` before the pulse goes out; the drawer job records
    whether the printer took it. Raises ``NotAllowed`` for a cashier (nothing is
    sent or recorded) and ``DeviceError`` for a PDF printer or a printer that fails.
    """
    by.require(Role.SUPERVISOR)
    printer = printer if printer is not None else configured_printer(settings)
    if not printer.has_drawer:
        printer.open_drawer()  # says why it has none (a PDF printer, a CUPS queue)
        raise DeviceError(NO_DRAWER_PDF)
    with _PRINTING:
        with database.atomic():
            job = PrintJob.create(
                station=station_id, kind=JobKind.DRAWER.value, status=JobStatus.QUEUED.value
            )
            audit.record(station_id, "drawer.open", operator=by.code, job=job.id)
        try:
            printer.open_drawer()
        except DeviceError as exc:
            _finish(job, JobStatus.FAILED, str(exc))
            raise
        _finish(job, JobStatus.PRINTED)


def printer_status(
    settings: Settings,
    *,
    printer: ReceiptPrinter | None = None,
    timeout: float = STATUS_TIMEOUT,
) -> PrinterStatus:
    """The configured printer's status, asked between jobs (a network printer
    often takes one connection at a time, and a print is not interrupted)."""
    printer = printer if printer is not None else configured_printer(settings)
    with _PRINTING:
        return printer.status(timeout)


def sample_receipt(settings: Settings) -> Receipt:
    """The test receipt: Chinese text, an amount with ￥, a QR code."""
    price = Fen(1250)
    return Receipt(
        title="打印测试",
        clinic_name=settings.clinic_name,
        station_id=settings.station_id,
        receipt_no="TEST",
        operator="-",
        issued_at=datetime.now().astimezone(),
        lines=(
            ReceiptLine("阿莫西林胶囊", "0.25g*24粒", "盒", 2, price, price * 2, "西药费", "甲"),
        ),
        total=price * 2,
        tenders=(ReceiptTender("现金", Fen(5000)),),
        paid=Fen(5000),
        change=Fen(5000) - price * 2,
        training=settings.training,
        footer=("打印测试：中文、金额 ￥ 与二维码",),
    )


def print_test(settings: Settings, printer: ReceiptPrinter) -> Printed:
    """Print :func:`sample_receipt`, recorded as a test job (not retried when it fails)."""
    with _PRINTING:
        job = PrintJob.create(
            station=settings.station_id, kind=JobKind.TEST.value, status=JobStatus.QUEUED.value
        )
        try:
            printed = printer.print_receipt(sample_receipt(settings))
        except DeviceError as exc:
            _finish(job, JobStatus.FAILED, str(exc))
            raise
        _finish(job, JobStatus.PRINTED)
        return printed


def print_document(
    settings: Settings, document: Receipt | ShiftReport, printer: ReceiptPrinter
) -> Printed:
    """Print a document that is not a sale's receipt (a refund slip, a shift report), recorded
    as a job. Raises ``DeviceError`` when the printer fails: the caller keeps what it printed
    (it is stored) and offers to print it again; nothing waits in the queue."""
    with _PRINTING:
        job = PrintJob.create(
            station=settings.station_id,
            kind=JobKind.DOCUMENT.value,
            status=JobStatus.QUEUED.value,
        )
        faults.crash_point("printing", "document")  # the document is stored, not yet printed
        try:
            if isinstance(document, ShiftReport):
                printed = _print_shift_report(printer, document)
            else:
                printed = printer.print_receipt(document)
        except DeviceError as exc:
            _finish(job, JobStatus.FAILED, str(exc))
            raise
        _finish(job, JobStatus.PRINTED)
        return printed


def page_printer(settings: Settings) -> CupsPrinter:
    """The configured printer when it takes A4 pages (a CUPS queue); else ``DeviceError``
    saying what to do (a receipt roll cannot take a page)."""
    printer = configured_printer(settings)
    if not isinstance(printer, CupsPrinter):
        raise DeviceError(say("printing.page_needs_cups"))
    return printer


def print_pdf(settings: Settings, path: Path, title: str) -> Printed:
    """An A4 document already written as a PDF (an end-of-day report) to the configured
    page printer (:func:`page_printer`), recorded as a job. ``DeviceError`` when it cannot."""
    printer = page_printer(settings)
    with _PRINTING:
        job = PrintJob.create(
            station=settings.station_id, kind=JobKind.DOCUMENT.value, status=JobStatus.QUEUED.value
        )
        try:
            printed = printer.submit(path, title)
        except DeviceError as exc:
            _finish(job, JobStatus.FAILED, str(exc))
            raise
        _finish(job, JobStatus.PRINTED)
        return printed


# -- inside ---------------------------------------------------------------------------


def _print_shift_report(printer: ReceiptPrinter, report: ShiftReport) -> Printed:
    """A shift report through the configured printer (whose interface knows only receipts):
    a PDF in its directory (sent to the queue for CUPS), or the ESC/POS job over its
    transport."""
    if isinstance(printer, PdfPrinter):
        path = printer.directory / shift_report_file_name(report)
        try:
            printer.directory.mkdir(parents=True, exist_ok=True)
            render_shift_report_pdf(
                report, path, "80mm" if printer.paper == "58mm" else printer.paper
            )
        except OSError as exc:
            raise DeviceError(
                say("printing.unwritable", strerror=exc.strerror, directory=printer.directory)
            ) from None
        if isinstance(printer, CupsPrinter):  # kept as the PDF printer keeps it, then sent
            return printer.submit(path, path.stem)
        return Printed(str(path), path)
    if isinstance(printer, EscposPrinter):
        printer.transport.send(render_shift_report_escpos(report, printer.paper_mm))
        return Printed(printer.description)
    raise DeviceError(say("printing.no_shift_report"))


def _queued_for(sale: Sale, kind: JobKind):
    """The condition selecting a sale's queued jobs of one kind."""
    return (
        (PrintJob.sale == sale.id)
        & (PrintJob.kind == kind.value)
        & (PrintJob.status == JobStatus.QUEUED.value)
    )


def _receipt_job(settings: Settings, sale: Sale, kick_drawer: bool) -> PrintJob:
    """The sale's queued original receipt, or a new one: printing again never queues twice.

    A drawer kick asked for once stays asked for: the cash is still in the cashier's hand.
    """
    with database.atomic():
        job = (
            PrintJob.select()
            .where(_queued_for(sale, JobKind.RECEIPT))
            .order_by(PrintJob.id)
            .first()
        )
        if job is None:
            return PrintJob.create(
                station=settings.station_id,
                sale=sale.id,
                kind=JobKind.RECEIPT.value,
                status=JobStatus.QUEUED.value,
                kick_drawer=kick_drawer,
            )
        if kick_drawer and not job.kick_drawer:
            job.kick_drawer = True
            job.save()
        return job


def _print_job(
    settings: Settings,
    job: PrintJob,
    sale: Sale,
    printer: ReceiptPrinter,
    *,
    retried_by: SignedIn | None = None,
) -> Printed:
    """Send one queued receipt job; record the outcome in one transaction."""
    receipt = receipt_for(
        sale,
        clinic_name=settings.clinic_name,
        training=settings.training,
        reprint=job.reprint,
        title=receipt_title(settings),
    )
    faults.crash_point("printing")  # the receipt job is queued, the printer not yet called
    try:
        printed = printer.print_receipt(receipt, kick_drawer=job.kick_drawer)
    except DeviceError as exc:
        with database.atomic():
            PrintJob.update(attempts=PrintJob.attempts + 1, last_error=str(exc)[:500]).where(
                PrintJob.id == job.id
            ).execute()
        raise
    with database.atomic():
        PrintJob.update(
            status=JobStatus.PRINTED.value, attempts=PrintJob.attempts + 1, printed_at=utcnow()
        ).where(PrintJob.id == job.id).execute()
        if job.kind == JobKind.RECEIPT:
            Sale.update(printed=True).where(Sale.id == sale.id).execute()
        if retried_by is not None:
            audit.record(
                settings.station_id,
                "print.retry",
                operator=retried_by.code,
                subject=sale.receipt_no or "",
                job=job.id,
                kind=job.kind,
                reprint=job.reprint,
            )
    return printed


def _finish(job: PrintJob, status: JobStatus, error: str = "", *, attempted: bool = True) -> None:
    """A job's last state: printed, or failed with why."""
    fields: dict = {PrintJob.status: status.value}
    if attempted:
        fields[PrintJob.attempts] = PrintJob.attempts + 1
    if error:
        fields[PrintJob.last_error] = error[:500]
    if status is JobStatus.PRINTED:
        fields[PrintJob.printed_at] = utcnow()
    with database.atomic():
        PrintJob.update(fields).where(PrintJob.id == job.id).execute()
