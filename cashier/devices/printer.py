"""Receipt printers: one interface, thin transports.

``printer_from_url`` reads the printer URL of the configuration:
``pdf://DIR`` (one PDF per receipt; the training default), ``tcp://host:9100``,
``usb://04b8:0202``, ``serial:///dev/ttyS0?baud=9600``, ``file:///dev/usb/lp0`` and
``cups://QUEUE`` (a CUPS queue: an A4/A5 laser, an invoice printer, a thermal printer
with its vendor's driver; the PDF goes through ``lp``).
Every ESC/POS job opens the connection, sends the whole receipt and closes it;
a failure raises :class:`DeviceError` and never touches the sale.

Besides receipts a printer opens the cash drawer wired to it (ESC p) and, where
the transport can read (TCP, a serial port, a character device), answers the
real-time status request DLE EOT n, read into a :class:`PrinterStatus`.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol
from urllib.parse import parse_qs, urlsplit

from cashier.errors import DeviceError
from cashier.messages import say
from cashier.receipts import Receipt

#: How long a status request waits for the printer's answer, in seconds.
STATUS_TIMEOUT = 1.0
#: How long a TCP job waits for the printer to close its side after the whole job was sent.
DRAIN_TIMEOUT = 1.0

NO_DRAWER_PDF = say("device.printer.no_drawer_pdf")

# DLE EOT n: real-time status. n=1 printer status, 2 offline cause, 4 roll paper sensor.
STATUS_REQUESTS: tuple[bytes, ...] = (b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04")


@dataclass(frozen=True)
class Printed:
    """Where a receipt went: a file path for PDF, a device description otherwise."""

    where: str
    path: Path | None = None


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself.

    ``error`` is the problem in the cashier's words ("" when there is none; a
    roll that is nearly used up is only ``paper_near_end``). ``known`` is False
    when the transport cannot ask (USB, a plain file): then nothing else holds.
    """

    online: bool
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: str = ""
    known: bool = True

    @classmethod
    def unknown(cls, why: str = say("device.printer.status_unknown")) -> PrinterStatus:
        return cls(online=False, error=why, known=False)

    @classmethod
    def offline(cls, why: str) -> PrinterStatus:
        return cls(online=False, error=why)

    @property
    def ready(self) -> bool:
        """Known to be able to print right now."""
        return self.known and self.online and not self.error


def _status_byte_ok(byte: int) -> bool:
    # Every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear.
    return byte & 0b1001_0011 == 0b0001_0010


def parse_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """The answers to DLE EOT 1, 2 and 4, read per the ESC/POS specification."""
    for byte in (printer, offline_cause, paper):
        if not _status_byte_ok(byte):
            answers = " ".join(f"{b:02X}" for b in (printer, offline_cause, paper))
            return PrinterStatus.unknown(say("device.printer.status_unreadable", answers=answers))
    offline = bool(printer & 0x08)  # n=1 bit 3
    cover_open = bool(offline_cause & 0x04)  # n=2 bit 2
    stopped_paper_end = bool(offline_cause & 0x20)  # n=2 bit 5
    error_occurred = bool(offline_cause & 0x40)  # n=2 bit 6
    paper_out = stopped_paper_end or paper & 0x60 == 0x60  # n=4 bits 5-6
    near_end = paper & 0x0C == 0x0C  # n=4 bits 2-3
    problems = []
    if cover_open:
        problems.append(say("device.printer.cover_open"))
    if paper_out:
        problems.append(say("device.printer.paper_out"))
    if error_occurred:
        problems.append(say("device.printer.fault"))
    if offline and not problems:
        problems.append(say("device.printer.offline"))
    return PrinterStatus(
        online=not offline,
        cover_open=cover_open,
        paper_out=paper_out,
        paper_near_end=near_end and not paper_out,
        error="；".join(problems),
    )


class ReceiptPrinter(Protocol):
    has_drawer: ClassVar[bool]

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed: ...

    def open_drawer(self) -> None: ...

    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus: ...


def receipt_file_name(receipt: Receipt) -> str:
    suffix = f"-重打{receipt.reprint}" if receipt.reprint else ""
    return f"{receipt.receipt_no}{suffix}.pdf"


@dataclass
class PdfPrinter:
    """Writes each receipt as a PDF file in a directory (the fallback printer)."""

    directory: Path
    paper: str = "80mm"
    has_drawer: ClassVar[bool] = False

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed:
        from cashier.receipts.pdf import render_pdf

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / receipt_file_name(receipt)
            render_pdf(receipt, path, paper="80mm" if self.paper == "58mm" else self.paper)
        except OSError as exc:
            raise DeviceError(
                say(
                    "device.printer.file_unwritable",
                    strerror=exc.strerror,
                    directory=self.directory,
                )
            ) from None
        return Printed(str(path), path)

    def open_drawer(self) -> None:
        raise DeviceError(NO_DRAWER_PDF)

    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
        """Online when the directory (or the nearest existing parent) is writable."""
        existing = self.directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
            return PrinterStatus(online=True)
        return PrinterStatus.offline(
            say("device.printer.folder_unwritable", directory=self.directory)
        )


@dataclass
class CupsPrinter(PdfPrinter):
    """A CUPS queue (``cups://QUEUE``, ``cups://QUEUE?server=HOST:631``): each receipt is
    rendered as a PDF for the queue's paper, kept in ``directory`` like the PDF printer's,
    and submitted with ``lp``. A job refused by CUPS (no such queue, the queue stopped, no
    CUPS at all) is a :class:`DeviceError` naming the queue; the sale never waits on it."""

    queue: str = ""
    server: str = ""

    def __post_init__(self) -> None:
        if not self.queue or not all(c.isalnum() or c in "-_." for c in self.queue):
            raise DeviceError(say("device.printer.cups_queue", queue=self.queue))

    @property
    def description(self) -> str:
        return f"cups://{self.queue}" + (f"?server={self.server}" if self.server else "")

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed:
        kept = super().print_receipt(receipt, kick_drawer=kick_drawer)
        return self.submit(kept.path or Path(kept.where), receipt.receipt_no)

    def submit(self, path: Path, title: str) -> Printed:
        """Send a PDF to the queue; the job's id as CUPS named it."""
        command = ["lp", "-d", self.queue, "-t", title[:60]]
        if self.paper in ("a4", "a5"):
            command += ["-o", f"media={self.paper.upper()}"]
        out = self._run([*command, "--", str(path)], self.server)
        job = out.split("request id is ", 1)[-1].split(" ", 1)[0] if "request id is" in out else ""
        return Printed(f"{self.description} {job}".strip(), path)

    def open_drawer(self) -> None:
        raise DeviceError(say("device.printer.no_drawer_cups"))

    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
        """Online when CUPS says the queue is enabled (idle or printing)."""
        try:
            out = self._run(["lpstat", "-p", self.queue], self.server, timeout=max(timeout, 3.0))
        except DeviceError as exc:
            return PrinterStatus.offline(str(exc))
        if "disabled" in out:
            return PrinterStatus.offline(say("device.printer.cups_disabled", queue=self.queue))
        return PrinterStatus(online=True)

    def _run(self, command: list[str], server: str, timeout: float = 30.0) -> str:
        import subprocess

        if server:
            command = [command[0], "-h", server, *command[1:]]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "LC_ALL": "C"})  # fmt: skip
        except FileNotFoundError:
            raise DeviceError(say("device.printer.cups_missing")) from None
        except subprocess.TimeoutExpired:
            raise DeviceError(say("device.printer.cups_timeout", queue=self.queue)) from None
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            raise DeviceError(say("device.printer.cups_refused", queue=self.queue,
                                  why=why[-1] if why else done.returncode))  # fmt: skip
        return done.stdout


class EscposTransport(Protocol):
    """Carries ESC/POS bytes to a printer.

    A transport that can also read the printer's answers has
    ``query(requests, *, timeout) -> list[bytes] | None``: it sends each request
    and reads a one-byte answer, stopping at the first that does not come
    within ``timeout``; ``None`` means this connection cannot read at all.
    """

    def send(self, data: bytes) -> None: ...


@dataclass
class EscposPrinter:
    """A thermal printer speaking ESC/POS over some transport."""

    transport: EscposTransport
    paper_mm: int = 80
    description: str = "ESC/POS"
    has_drawer: ClassVar[bool] = True

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed:
        from cashier.receipts.escpos import render_escpos

        data = render_escpos(receipt, paper_mm=self.paper_mm, kick_drawer=kick_drawer)
        self.transport.send(data)
        return Printed(self.description)

    def open_drawer(self) -> None:
        """Send only the drawer pulse: pin 2, the same pulse a cash receipt starts with."""
        from escpos.constants import CD_KICK_2

        self.transport.send(CD_KICK_2)

    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
        """Ask DLE EOT 1, 2, 4. No answer within ``timeout``: offline."""
        query = getattr(self.transport, "query", None)
        if query is None:
            return PrinterStatus.unknown()
        try:
            answers = query(STATUS_REQUESTS, timeout=timeout)
        except DeviceError as exc:
            return PrinterStatus.offline(str(exc))
        if answers is None:
            return PrinterStatus.unknown()
        if len(answers) < len(STATUS_REQUESTS):
            return PrinterStatus.offline(
                say("device.printer.no_answer", description=self.description)
            )
        return parse_status(*(answer[0] for answer in answers))


@dataclass
class TcpTransport:
    host: str
    port: int = 9100
    timeout: float = 5.0
    drain_timeout: float = DRAIN_TIMEOUT

    def _connect(self, timeout: float) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as exc:
            raise DeviceError(
                say(
                    "device.printer.no_connection",
                    host=self.host,
                    port=self.port,
                    value=exc.strerror or exc,
                )
            ) from None

    def send(self, data: bytes) -> None:
        """Send the job and make sure the printer took it.

        A peer that closes without reading (a printer rebooting, a port that
        accepts and drops) is only noticed after the data went out: the job
        half-closes and waits for the printer's end of the conversation, and a
        reset or a pending socket error is a failure, not a printed receipt.
        """
        with self._connect(self.timeout) as sock:
            try:
                if _peer_closed(sock):
                    raise ConnectionResetError(say("device.printer.closed_by_printer"))
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                _wait_for_close(sock, self.drain_timeout)
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, os.strerror(error))
            except OSError as exc:
                raise DeviceError(
                    say(
                        "device.printer.dropped_unprinted",
                        host=self.host,
                        port=self.port,
                        value=exc.strerror or exc,
                    )
                ) from None

    def query(self, requests: Sequence[bytes], *, timeout: float) -> list[bytes]:
        answers: list[bytes] = []
        with self._connect(timeout) as sock:
            try:
                for request in requests:
                    sock.sendall(request)
                    try:
                        answer = sock.recv(1)
                    except TimeoutError:
                        break
                    if not answer:
                        break
                    answers.append(answer)
            except OSError as exc:
                raise DeviceError(
                    say(
                        "device.printer.dropped",
                        host=self.host,
                        port=self.port,
                        value=exc.strerror or exc,
                    )
                ) from None
        return answers


def _wait_for_close(sock: socket.socket, timeout: float) -> None:
    """Read until the printer closes its side, at most ``timeout`` seconds.

    Bytes it sends back (automatic status) are ignored; a printer that keeps the
    connection open past the timeout has taken the data, which is fine.
    """
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(256):
                return
        except TimeoutError:
            return


def _peer_closed(sock: socket.socket) -> bool:
    """True when the printer already hung up (an EOF is waiting) before anything was sent."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    finally:
        sock.settimeout(timeout)


@dataclass
class FileTransport:
    path: str

    def send(self, data: bytes) -> None:
        try:
            with open(self.path, "ab", buffering=0) as fh:
                fh.write(data)
        except OSError as exc:
            raise DeviceError(
                say("device.printer.device_unavailable", path=self.path, strerror=exc.strerror)
            ) from None

    def query(self, requests: Sequence[bytes], *, timeout: float) -> list[bytes] | None:
        """Only a character device (``/dev/usb/lp0``, a tty) can answer; a plain file cannot."""
        import select

        try:
            if not stat.S_ISCHR(os.stat(self.path).st_mode):
                return None
            fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise DeviceError(
                say("device.printer.device_unavailable", path=self.path, strerror=exc.strerror)
            ) from None
        answers: list[bytes] = []
        try:
            _drain(fd)
            for request in requests:
                os.write(fd, request)
                readable, _, _ = select.select([fd], [], [], timeout)
                answer = os.read(fd, 1) if readable else b""
                if not answer:
                    break
                answers.append(answer)
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # a one-way device (usblp without a read channel)
                return None
            raise DeviceError(
                say("device.printer.device_unavailable", path=self.path, strerror=exc.strerror)
            ) from None
        finally:
            os.close(fd)
        return answers


def _drain(fd: int) -> None:
    """Throw away bytes the device sent before we asked (automatic status, old answers)."""
    while True:
        try:
            if not os.read(fd, 256):
                return
        except BlockingIOError:
            return


@dataclass
class EscposLibTransport:
    """USB and serial through python-escpos's own connection classes."""

    kind: str
    args: dict

    def send(self, data: bytes) -> None:
        try:
            from escpos import printer as escpos_printer

            cls = {"usb": escpos_printer.Usb, "serial": escpos_printer.Serial}[self.kind]
            device = cls(**self.args)
            try:
                device.open()
                device._raw(data)
            finally:
                device.close()
        except Exception as exc:  # the USB and serial stacks raise many kinds
            raise DeviceError(
                say("device.printer.kind_unavailable", kind=self.kind, exc=exc)
            ) from None

    def query(self, requests: Sequence[bytes], *, timeout: float) -> list[bytes] | None:
        """A serial printer answers on its receive line; USB is not read here."""
        if self.kind != "serial":
            return None
        import serial  # pyserial, a python-escpos dependency

        answers: list[bytes] = []
        try:
            with serial.Serial(
                self.args["devfile"],
                self.args["baudrate"],
                timeout=timeout,
                write_timeout=timeout,
            ) as port:
                port.reset_input_buffer()
                for request in requests:
                    port.write(request)
                    answer = port.read(1)
                    if not answer:
                        break
                    answers.append(answer)
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(say("device.printer.serial_unavailable", exc=exc)) from None
        return answers


def printer_from_url(url: str, *, data_dir: Path, paper: str = "80mm") -> ReceiptPrinter:
    """The printer that a configuration URL names; a bad URL is a clear error."""
    parts = urlsplit(url)
    paper_mm = 58 if paper == "58mm" else 80
    if parts.scheme == "pdf":
        raw = (parts.netloc + parts.path).strip()
        directory = Path(raw).expanduser() if raw else data_dir / "receipts"
        return PdfPrinter(directory, paper)
    if parts.scheme == "cups":
        server = parse_qs(parts.query).get("server", [""])[0]
        return CupsPrinter(data_dir / "receipts", paper, queue=parts.netloc or parts.path.strip("/"),
                           server=server)  # fmt: skip
    if parts.scheme == "tcp":
        if not parts.hostname:
            raise DeviceError(say("device.printer.no_host", url=url))
        port = parts.port or 9100
        return EscposPrinter(
            TcpTransport(parts.hostname, port), paper_mm, f"{parts.hostname}:{port}"
        )
    if parts.scheme == "file":
        return EscposPrinter(FileTransport(parts.path), paper_mm, parts.path)
    if parts.scheme == "usb":
        try:
            vid, pid = (int(x, 16) for x in parts.netloc.split(":"))
        except ValueError:
            raise DeviceError(say("device.printer.bad_usb", url=url)) from None
        return EscposPrinter(
            EscposLibTransport("usb", {"idVendor": vid, "idProduct": pid}), paper_mm, url
        )
    if parts.scheme == "serial":
        query = parse_qs(parts.query)
        baud = int(query.get("baud", ["9600"])[0])
        return EscposPrinter(
            EscposLibTransport("serial", {"devfile": parts.path, "baudrate": baud}), paper_mm, url
        )
    raise DeviceError(say("device.printer.bad_url", url=url))
