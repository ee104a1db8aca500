"""Customer displays (客显): the pole facing the patient shows the line, the total and the change.

One interface, :class:`PoleDisplay`, and two drivers for what counters in China
have on a serial port:

* :class:`EscPosLineDisplay`: a 2×20 VFD line display speaking the ESC/POS
  display commands (ESC @, CLR, US $ x y); text in GB18030 when the display
  has a Chinese font, otherwise ASCII labels (``TOTAL``).
* :class:`PriceDisplay`: the 8-digit LED price display with four lamps
  (单价 / 总计 / 收款 / 找零): ``ESC s n`` lights a lamp, ``ESC Q A digits CR``
  shows a number.

Both write bytes to a :class:`BytePort`: :class:`SerialPort` (pyserial, opened
on first use) at the counter, :class:`CollectingPort` in tests. Writing at
2400 baud takes a noticeable fraction of a second, so callers run it in a
worker; a failure is a :class:`DeviceError` and never stops a sale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from cashier.domain.money import Fen
from cashier.errors import DeviceError
from cashier.messages import say
from cashier.receipts.layout import display_width, fit


class PoleDisplay(Protocol):
    def show_line(self, name: str, amount: Fen) -> None:
        """The line just rung up: its name and amount."""

    def show_total(self, due: Fen) -> None:
        """What the patient has to pay (应收)."""

    def show_payment(self, paid: Fen, change: Fen) -> None:
        """What was paid (实收) and the change (找零)."""

    def clear(self) -> None:
        """Blank the display (between sales)."""


class BytePort(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass
class SerialPort:
    """A serial port through pyserial, opened on the first write and kept open."""

    device: str
    baudrate: int = 2400
    timeout: float = 2.0
    _serial: Any = field(default=None, init=False, repr=False)

    def write(self, data: bytes) -> None:
        try:
            if self._serial is None:
                import serial  # pyserial: imported only when a display is configured

                self._serial = serial.Serial(
                    self.device, self.baudrate, timeout=self.timeout, write_timeout=self.timeout
                )
            self._serial.write(data)
            self._serial.flush()
        except ImportError:
            raise DeviceError(say("device.display.no_pyserial")) from None
        except OSError as exc:  # serial.SerialException is an OSError
            self.close()
            raise DeviceError(
                say("device.display.unavailable", device=self.device, exc=exc)
            ) from None

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None


@dataclass
class CollectingPort:
    """The test double: keeps every write."""

    writes: list[bytes] = field(default_factory=list)

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def take(self) -> bytes:
        """Everything written since the last take."""
        data = b"".join(self.writes)
        self.writes.clear()
        return data


class NullDisplay:
    """No customer display configured: every call does nothing."""

    def show_line(self, name: str, amount: Fen) -> None:
        pass

    def show_total(self, due: Fen) -> None:
        pass

    def show_payment(self, paid: Fen, change: Fen) -> None:
        pass

    def clear(self) -> None:
        pass


# -- ESC/POS line display (VFD, 2 rows of 20) ---------------------------------------------

_ESC_INIT = b"\x1b@"  # ESC @: initialise
_CLR = b"\x0c"  # CLR: clear the screen, cursor home


def _cursor(column: int, row: int) -> bytes:
    """US $ x y: move the cursor to column x (1-based) of row y."""
    return b"\x1f$" + bytes((column, row))


_LABELS = {
    # key: (Chinese, ASCII)
    "line": ("金额", "AMOUNT"),
    "total": ("应收", "TOTAL"),
    "paid": ("实收", "PAID"),
    "change": ("找零", "CHANGE"),
}


@dataclass
class EscPosLineDisplay:
    """A 2×20 VFD pole display with the ESC/POS display command set.

    ``chinese``: the display has a GB2312/GB18030 font (each hanzi two columns
    wide); otherwise labels are ASCII and a name that is not ASCII shows as ``ITEM``.
    The first write after start-up or a failure initialises the display (ESC @).
    """

    port: BytePort
    chinese: bool = False
    columns: int = 20
    _ready: bool = field(default=False, init=False, repr=False)

    def show_line(self, name: str, amount: Fen) -> None:
        if not self.chinese and not name.isascii():
            name = "ITEM"
        self._show(name, self._labelled("line", amount))

    def show_total(self, due: Fen) -> None:
        self._show(self._labelled("total", due), "")

    def show_payment(self, paid: Fen, change: Fen) -> None:
        self._show(self._labelled("paid", paid), self._labelled("change", change))

    def clear(self) -> None:
        self._write(_CLR)

    def _width(self, text: str) -> int:
        return display_width(text, ambiguous=2)

    def _labelled(self, key: str, amount: Fen) -> str:
        """The label at the left, the amount at the right of one row; the amount always fits."""
        chinese, ascii_label = _LABELS[key]
        label = chinese if self.chinese else ascii_label
        value = amount.display() if self.chinese else str(amount)
        room = self.columns - self._width(value) - 1
        label = fit(label, max(room, 0), self._width)
        gap = self.columns - self._width(label) - self._width(value)
        return label + " " * max(gap, 0) + value

    def _show(self, first: str, second: str) -> None:
        data = bytearray(_CLR)
        for row, text in ((1, first), (2, second)):
            text = fit(text, self.columns, self._width).rstrip()
            if text:
                data += _cursor(1, row) + self._encode(text)
        self._write(bytes(data))

    def _encode(self, text: str) -> bytes:
        return text.encode("gb18030" if self.chinese else "ascii", errors="replace")

    def _write(self, data: bytes) -> None:
        if not self._ready:
            data = _ESC_INIT + data
        try:
            self.port.write(data)
        except DeviceError:
            self._ready = False  # it may have been unplugged: initialise it again next time
            raise
        self._ready = True


# -- ESC Q A price display (8-digit LED with lamps) -----------------------------------------

#: ESC s n lamps ('0'..'4'): all off, 单价, 总计 (应收), 收款 (实收), 找零.
LAMP_OFF, LAMP_PRICE, LAMP_TOTAL, LAMP_PAID, LAMP_CHANGE = b"0", b"1", b"2", b"3", b"4"
PRICE_DIGITS = 8


@dataclass
class PriceDisplay:
    """The common 8-digit LED price display: one number and the lamp that says what it is.

    It cannot show text, so :meth:`show_line` shows the amount under 单价, and
    :meth:`show_payment` shows the change under 找零 when there is change, else
    the amount paid under 收款.
    """

    port: BytePort
    _ready: bool = field(default=False, init=False, repr=False)

    def show_line(self, name: str, amount: Fen) -> None:
        self._show(LAMP_PRICE, amount)

    def show_total(self, due: Fen) -> None:
        self._show(LAMP_TOTAL, due)

    def show_payment(self, paid: Fen, change: Fen) -> None:
        if change > Fen(0):
            self._show(LAMP_CHANGE, change)
        else:
            self._show(LAMP_PAID, paid)

    def clear(self) -> None:
        self._write(_CLR + b"\x1bs" + LAMP_OFF)

    def _show(self, lamp: bytes, amount: Fen) -> None:
        text = str(amount)  # digits, '.', '-': all the display knows
        if sum(ch.isdigit() for ch in text) > PRICE_DIGITS:
            raise DeviceError(
                say("device.display.too_many_digits", PRICE_DIGITS=PRICE_DIGITS, text=text)
            )
        self._write(b"\x1bs" + lamp + b"\x1bQA" + text.encode("ascii") + b"\r")

    def _write(self, data: bytes) -> None:
        if not self._ready:
            data = _ESC_INIT + data
        try:
            self.port.write(data)
        except DeviceError:
            self._ready = False
            raise
        self._ready = True


# -- configuration ---------------------------------------------------------------------------

PROTOCOLS = ("escq", "escpos")


def display_from_config(url: str) -> PoleDisplay:
    """The display a configuration URL names; empty is :class:`NullDisplay`.

    ``serial:///dev/ttyUSB0?baud=2400&protocol=escq`` (the LED price display,
    the default protocol) or ``...&protocol=escpos`` (a VFD line display; add
    ``&chinese=1`` when it has a Chinese font).
    """
    url = url.strip()
    if not url:
        return NullDisplay()
    parts = urlsplit(url)
    if parts.scheme != "serial" or not parts.path:
        raise DeviceError(say("device.display.bad_url", url=url))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    protocol = query.get("protocol", "escq")
    if protocol not in PROTOCOLS:
        raise DeviceError(say("device.display.bad_protocol", protocol=protocol, url=url))
    try:
        baud = int(query.get("baud", "2400"))
    except ValueError:
        raise DeviceError(say("device.display.bad_baud", url=url)) from None
    port = SerialPort(parts.path, baud)
    if protocol == "escpos":
        return EscPosLineDisplay(port, chinese=query.get("chinese", "0") in ("1", "true", "yes"))
    return PriceDisplay(port)
