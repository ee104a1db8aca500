"""Receipt printers: one interface, thin transports.

``printer_from_url`` reads the printer URL of the configuration:
``pdf://DIR`` (one PDF per receipt; the training default), ``tcp://host:9100``,
``usb://04b8:0202``, ``serial:///dev/ttyS0?baud=9600`` and ``file:///dev/usb/lp0``.
Every ESC/POS job opens the connection, sends the whole receipt and closes it;
a failure raises :class:`DeviceError` and never touches the sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from cashier.errors import DeviceError
from receipts import Receipt


@dataclass(frozen=True)
class Printed:
    """Where a receipt went: a file path for PDF, a device description otherwise."""

    where: str
    path: Path | None = None


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed: ...


def receipt_file_name(receipt: Receipt) -> str:
    suffix = f"-重打{receipt.reprint}" if receipt.reprint else ""
    return f"{receipt.receipt_no}{suffix}.pdf"


@dataclass
class PdfPrinter:
    """Writes each receipt as a PDF file in a directory (the fallback printer)."""

    directory: Path
    paper: str = "80mm"

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed:
        from receipts.pdf import render_pdf

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / receipt_file_name(receipt)
            render_pdf(receipt, path, paper="80mm" if self.paper == "58mm" else self.paper)
        except OSError as exc:
            raise DeviceError(f"无法写入收据文件（{exc.strerror}）：{self.directory}") from None
        return Printed(str(path), path)


class EscposTransport(Protocol):
    def send(self, data: bytes) -> None: ...


@dataclass
class EscposPrinter:
    """A thermal printer speaking ESC/POS over some transport."""

    transport: EscposTransport
    paper_mm: int = 80
    description: str = "ESC/POS"

    def print_receipt(self, receipt: Receipt, *, kick_drawer: bool = False) -> Printed:
        from receipts.escpos import render_escpos

        data = render_escpos(receipt, paper_mm=self.paper_mm, kick_drawer=kick_drawer)
        self.transport.send(data)
        return Printed(self.description)


@dataclass
class TcpTransport:
    host: str
    port: int = 9100
    timeout: float = 5.0

    def send(self, data: bytes) -> None:
        import socket

        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(data)
        except OSError as exc:
            raise DeviceError(
                f"打印机 {self.host}:{self.port} 无法连接（{exc.strerror or exc}），请检查电源和网线"
            ) from None


@dataclass
class FileTransport:
    path: str

    def send(self, data: bytes) -> None:
        try:
            with open(self.path, "ab", buffering=0) as fh:
                fh.write(data)
        except OSError as exc:
            raise DeviceError(f"打印机 {self.path} 不可用（{exc.strerror}）") from None


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
            raise DeviceError(f"{self.kind} 打印机不可用：{exc}") from None


def printer_from_url(url: str, *, data_dir: Path, paper: str = "80mm") -> ReceiptPrinter:
    """The printer that a configuration URL names; a bad URL is a clear error."""
    parts = urlsplit(url)
    paper_mm = 58 if paper == "58mm" else 80
    if parts.scheme == "pdf":
        raw = (parts.netloc + parts.path).strip()
        directory = Path(raw).expanduser() if raw else data_dir / "receipts"
        return PdfPrinter(directory, paper)
    if parts.scheme == "tcp":
        if not parts.hostname:
            raise DeviceError(f"打印机地址缺少主机：{url}")
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
            raise DeviceError(
                f"USB 打印机地址应为 usb://厂商号:产品号（十六进制）：{url}"
            ) from None
        return EscposPrinter(
            EscposLibTransport("usb", {"idVendor": vid, "idProduct": pid}), paper_mm, url
        )
    if parts.scheme == "serial":
        query = parse_qs(parts.query)
        baud = int(query.get("baud", ["9600"])[0])
        return EscposPrinter(
            EscposLibTransport("serial", {"devfile": parts.path, "baudrate": baud}), paper_mm, url
        )
    raise DeviceError(f"不支持的打印机地址：{url}（pdf://、tcp://、usb://、serial://、file://）")
