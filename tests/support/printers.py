"""Printers for tests: real TCP listeners on loopback and a pseudo-terminal device.

Each one behaves like a thermal printer at the byte level: it keeps every job's
bytes and answers the real-time status request DLE EOT n with the status byte
it was given, or misbehaves the way dead printers do (refuse, accept and drop,
stay silent).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from collections.abc import Mapping

#: DLE EOT answers (n -> byte), per the ESC/POS specification: bits 1 and 4 always set.
ONLINE = {1: 0x12, 2: 0x12, 4: 0x12}
PAPER_NEAR_END = {1: 0x12, 2: 0x12, 4: 0x1E}  # n=4 bits 2-3
PAPER_OUT = {1: 0x1A, 2: 0x32, 4: 0x72}  # offline; stopped by paper end; sensor bits 5-6
COVER_OPEN = {1: 0x1A, 2: 0x16, 4: 0x12}  # offline; cover open (n=2 bit 2)

_DLE_EOT = b"\x10\x04"


def closed_port() -> int:
    """A loopback port with nothing listening: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


class _StatusAnswerer:
    """Finds DLE EOT n in a byte stream (split anywhere) and says what to answer."""

    def __init__(self, status: Mapping[int, int] | None) -> None:
        self.status = status
        self.buffer = bytearray()
        self.scanned = 0

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        answers = bytearray()
        while True:
            i = self.buffer.find(_DLE_EOT, self.scanned)
            if i == -1:
                self.scanned = max(self.scanned, len(self.buffer) - 1)
                break
            if i + 2 >= len(self.buffer):
                self.scanned = i
                break
            n = self.buffer[i + 2]
            if self.status is not None and n in self.status:
                answers.append(self.status[n])
            self.scanned = i + 3
        return bytes(answers)

    @property
    def only_status_requests(self) -> bool:
        return (
            bytes(self.buffer)
            .replace(b"\x10\x04\x01", b"")
            .replace(b"\x10\x04\x02", b"")
            .replace(b"\x10\x04\x04", b"")
            == b""
        )


class LoopbackPrinter:
    """A TCP 'printer' on loopback that keeps every job's bytes.

    ``mode``: ``"print"`` reads each connection to its end (a job) and answers
    DLE EOT from ``status`` (``None``: a printer that never answers); ``"drop"`` accepts a
    connection and closes it at once without reading. Connections that only
    asked for status are kept in ``queries``, not ``jobs``.
    """

    def __init__(self, *, mode: str = "print", status: Mapping[int, int] | None = ONLINE) -> None:
        if mode not in ("print", "drop"):
            raise ValueError(mode)
        self.mode = mode
        self.status = status
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.jobs: list[bytes] = []
        self.queries: list[bytes] = []
        self.connections = 0
        self._handled = 0
        self._idle = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self._idle:
                self.connections += 1
            with conn:
                if self.mode == "print":
                    self._take(conn)
            with self._idle:
                self._handled += 1
                self._idle.notify_all()

    def _take(self, conn: socket.socket) -> None:
        answerer = _StatusAnswerer(self.status)
        try:
            while data := conn.recv(65536):
                if answer := answerer.feed(data):
                    conn.sendall(answer)
        except OSError:
            pass
        data = bytes(answerer.buffer)
        if data and answerer.only_status_requests:
            self.queries.append(data)
        elif data:
            self.jobs.append(data)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every accepted connection has been read to its end."""
        with self._idle:
            self._idle.wait_for(lambda: self._handled == self.connections, timeout)

    def close(self) -> None:
        self.wait_idle()
        self.server.close()

    def __enter__(self) -> LoopbackPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PtyPrinter:
    """A printer behind a character device: the slave side of a pseudo-terminal.

    ``path`` is a tty that ``file://`` and ``serial://`` printers can open; the
    test keeps the master side, reads what was written and answers DLE EOT.
    """

    def __init__(self, status: Mapping[int, int] | None = ONLINE) -> None:
        self.status = status
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing: bytes pass as they are
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        answerer = _StatusAnswerer(self.status)
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.05)
            if not readable:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            self.received += data
            if answer := answerer.feed(data):
                os.write(self.master, answer)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        os.close(self.master)
        os.close(self.slave)

    def __enter__(self) -> PtyPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
