"""Serial scanners: a scan gun in USB-COM (CDC ACM) or RS-232 mode, read with pyserial.

The scanner sends each code as one line. CR, LF and CRLF all end a line, and
so does the suffix the scanner is set to send (``terminator``, CR by
default). Each line is decoded as UTF-8, else GB18030 (what Chinese scanners
send for hanzi), stripped of whitespace and control characters, and handed to
:func:`cashier.devices.scanner.classify`.

pyserial is imported only when the port is opened. Nothing here imports Textual.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cashier.devices.scanner import ScannedCode, classify
from cashier.errors import DeviceError
from cashier.messages import say

# Longer than any code; a stream with no line end (wrong baud rate, noise) is dropped.
MAX_LINE_BYTES = 4096

_EDGE_JUNK = re.compile(r"^[\s\x00-\x1f\x7f]+|[\s\x00-\x1f\x7f]+$")

_OPEN_REASONS = {
    errno.ENOENT: say("device.serial_scanner.no_device"),
    errno.EACCES: say("device.serial_scanner.no_permission"),
    errno.EBUSY: say("device.serial_scanner.taken"),
}


def decode_line(raw: bytes) -> str:
    """One scanned line as text: UTF-8, else GB18030, else UTF-8 with ``�`` for bad bytes.

    Whitespace and control characters (STX/ETX prefixes and suffixes…) are
    stripped from both ends.
    """
    for encoding in ("utf-8", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = raw.decode("utf-8", errors="replace")
    return _EDGE_JUNK.sub("", text)


class SerialScanner:
    """A scan gun on a serial port: each line it sends becomes a :class:`ScannedCode`.

    ``timeout`` is how long one read waits for bytes, so how soon
    :meth:`run` notices its stop event. The port is opened by :meth:`open`
    (or on first read) and a failure raises :class:`DeviceError`
    ``扫码枪串口 PORT 无法打开：…``; a port that goes away while in use
    (unplugged) raises ``扫码枪串口 PORT 已断开（…）：…``.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        terminator: bytes = b"\r",
        timeout: float = 0.2,
    ) -> None:
        if not terminator:
            raise ValueError("terminator must not be empty")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.port = port
        self.baudrate = baudrate
        self.terminator = bytes(terminator)
        self.timeout = float(timeout)
        self._serial: Any = None
        self._buffer = b""
        self._discarding = False  # dropping an overlong line up to its end

    # -- the port ----------------------------------------------------------------------

    def open(self) -> None:
        """Open the port (nothing happens if it is open)."""
        if self._serial is not None:
            return
        try:
            import serial
        except ImportError:
            raise DeviceError(say("device.serial_scanner.no_pyserial", port=self.port)) from None
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=self.timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            reason = _OPEN_REASONS.get(getattr(exc, "errno", None) or 0, str(exc))
            raise DeviceError(
                say("device.serial_scanner.cannot_open", port=self.port, reason=reason)
            ) from None
        self._buffer, self._discarding = b"", False

    def close(self) -> None:
        """Close the port; a partly received line is dropped."""
        port, self._serial = self._serial, None
        self._buffer, self._discarding = b"", False
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a port that is already gone
                pass

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def __enter__(self) -> SerialScanner:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------

    def read_codes(self) -> list[ScannedCode]:
        """Wait up to ``timeout`` for bytes; the codes whose lines they complete (often none)."""
        self.open()
        try:
            chunk = self._serial.read(1)
            if chunk:
                chunk += self._serial.read(self._serial.in_waiting)
        except Exception as exc:  # SerialException or OSError: the device went away
            self.close()
            raise DeviceError(
                say("device.serial_scanner.disconnected", port=self.port, exc=exc)
            ) from None
        return self._take(chunk)

    def _take(self, chunk: bytes) -> list[ScannedCode]:
        data = self._buffer + chunk
        if self.terminator not in (b"\r", b"\n"):
            data = data.replace(self.terminator, b"\n")
        *lines, rest = data.replace(b"\r", b"\n").split(b"\n")
        if lines and self._discarding:
            lines, self._discarding = lines[1:], False
        if len(rest) > MAX_LINE_BYTES:
            rest, self._discarding = b"", True
        self._buffer = rest
        codes = []
        for line in lines:
            text = decode_line(line)
            if text:  # CRLF, blank lines and bare control bytes make no code
                codes.append(classify(text))
        return codes

    def scans(self, stop: threading.Event | None = None) -> Iterator[ScannedCode]:
        """The codes as they come, until ``stop`` is set; the port is closed at the end."""
        self.open()
        try:
            while stop is None or not stop.is_set():
                yield from self.read_codes()
        finally:
            self.close()

    def __iter__(self) -> Iterator[ScannedCode]:
        return self.scans()

    def run(self, callback: Callable[[ScannedCode], None], stop: threading.Event) -> None:
        """Read in this thread, calling ``callback(code)`` for each code, until ``stop`` is set.

        Blocks; ``stop`` is noticed within ``timeout``. Made for a Textual
        thread worker, like :meth:`cashier.devices.camera.CameraScanner.run`::

            @work(thread=True, exclusive=True, exit_on_error=False, group="scanner")
            def watch_scanner(self) -> None:
                scanner.run(lambda code: self.call_from_thread(self.scanned, code),
                            self.scanner_stop)

        A :class:`DeviceError` (cannot open, unplugged) ends the worker in the
        ERROR state; its message is fit to show as it is.
        """
        for code in self.scans(stop):
            callback(code)
