"""The serial scan gun over a real pseudo-terminal: pyserial opens the pty's slave end,
the test plays the scanner by writing to the master end, and unplugs it by closing it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator

import pytest

from cashier.devices.scanner import ScanKind
from cashier.devices.serial_scanner import SerialScanner, decode_line
from cashier.errors import DeviceError

EVOUCHER = "ybm:Qx7_k2Lm-9ZtR4vB8nW0pYc3Hs6dJ1aE"
EAN13 = "6901234567892"


class Pty:
    """A pseudo-terminal: ``name`` is the port, writes to ``master`` arrive there."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        self.name = os.ttyname(self._slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        for fd in (self.master, self._slave):
            if fd >= 0:
                os.close(fd)


@pytest.fixture
def pty() -> Iterator[Pty]:
    terminal = Pty()
    yield terminal
    terminal.close()


@pytest.fixture
def scanner(pty: Pty) -> Iterator[SerialScanner]:
    # Open before writing: pyserial puts the line in raw mode (no CR→LF, no echo).
    with SerialScanner(pty.name, timeout=0.05) as opened:
        yield opened


def collect(scanner: SerialScanner, count: int, within: float = 5.0) -> list:
    codes: list = []
    deadline = time.monotonic() + within
    while len(codes) < count and time.monotonic() < deadline:
        codes.extend(scanner.read_codes())
    return codes


def pairs(codes: list) -> list[tuple[ScanKind, str]]:
    return [(c.kind, c.text) for c in codes]


def test_several_codes_in_one_burst(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(f"{EAN13}\r{EVOUCHER}\r134567890123456789\r".encode())
    assert pairs(collect(scanner, 3)) == [
        (ScanKind.GTIN, EAN13),
        (ScanKind.EVOUCHER, EVOUCHER),
        (ScanKind.PAYMENT_CODE, "134567890123456789"),
    ]


def test_a_code_split_across_writes_is_one_code(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(b"69012")
    assert collect(scanner, 1, within=0.3) == []  # no line end yet: nothing
    pty.write(b"3456")
    pty.write(b"7892\r")
    assert pairs(collect(scanner, 1)) == [(ScanKind.GTIN, EAN13)]


def test_cr_lf_and_crlf_all_end_a_code(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(b"ABC-1001\r\nABC-1002\nABC-1003\r")
    pty.write(b"ABC-1004\r")
    pty.write(b"\nABC-1005\r\n")  # a CRLF split between writes makes no empty code
    codes = collect(scanner, 5)
    assert [c.text for c in codes] == [f"ABC-100{i}" for i in range(1, 6)]
    assert {c.kind for c in codes} == {ScanKind.CODE128}
    assert collect(scanner, 1, within=0.3) == []


def test_the_same_code_twice_is_two_scans(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(f"{EAN13}\r\n{EAN13}\r\n".encode())  # two of the same box
    assert [c.text for c in collect(scanner, 2)] == [EAN13, EAN13]


def test_garbage_bytes_do_not_spoil_the_next_code(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(b"\x00\x02\x03\r")  # control bytes only (power-up noise): no code
    pty.write(b"\x00\xff\xfe\r")  # undecodable: an unknown code, shown as such
    pty.write(b"\x02" + EAN13.encode() + b"\x03\r\n")  # STX/ETX framing is stripped
    assert pairs(collect(scanner, 2)) == [
        (ScanKind.UNKNOWN, "\ufffd\ufffd"),
        (ScanKind.GTIN, EAN13),
    ]


def test_an_endless_line_is_dropped_and_reading_goes_on(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(b"\xaa" * 6000)  # wrong baud rate: bytes and no line end
    assert collect(scanner, 1, within=0.5) == []
    pty.write(b"\xaa" * 100 + b"\r" + EAN13.encode() + b"\r")
    assert pairs(collect(scanner, 1)) == [(ScanKind.GTIN, EAN13)]
    assert collect(scanner, 1, within=0.3) == []


def test_utf8_and_gb18030_text(pty: Pty, scanner: SerialScanner) -> None:
    pty.write("阿莫西林\r".encode())
    pty.write("  阿莫西林胶囊 \r".encode("gb18030"))
    assert [c.text for c in collect(scanner, 2)] == ["阿莫西林", "阿莫西林胶囊"]


def test_decode_line_prefers_utf8_then_gb18030() -> None:
    assert decode_line("￥12.50".encode()) == "￥12.50"
    assert decode_line("医保".encode("gb18030")) == "医保"
    assert decode_line(b"\t 6901234567892 \x03") == "6901234567892"
    assert decode_line(b"\x00\x1f\x7f ") == ""


def test_a_configured_terminator_ends_a_code(pty: Pty) -> None:
    with SerialScanner(pty.name, terminator=b"\t", timeout=0.05) as scanner:
        pty.write(f"ABC-1001\t{EAN13}\tABC-1002\r\n".encode())
        assert [c.text for c in collect(scanner, 3)] == ["ABC-1001", EAN13, "ABC-1002"]


def test_unplugging_while_reading_is_a_device_error(pty: Pty, scanner: SerialScanner) -> None:
    pty.write(f"{EAN13}\r6901".encode())
    assert [c.text for c in collect(scanner, 1)] == [EAN13]
    pty.unplug()
    with pytest.raises(DeviceError, match=rf"扫码枪串口 {re.escape(pty.name)} 已断开") as caught:
        collect(scanner, 1)
    assert caught.value.__suppress_context__
    assert not scanner.is_open  # the half-read "6901" went with it


def test_a_missing_port_cannot_be_opened(tmp_path) -> None:
    port = str(tmp_path / "ttyACM0")
    with pytest.raises(
        DeviceError, match=rf"扫码枪串口 {re.escape(port)} 无法打开：设备不存在"
    ) as caught:
        SerialScanner(port).open()
    assert caught.value.__suppress_context__
    with pytest.raises(DeviceError, match="无法打开"):
        next(iter(SerialScanner(port)))


def test_a_file_that_is_not_a_serial_port_cannot_be_opened(tmp_path) -> None:
    path = tmp_path / "plain-file"
    path.write_text("")
    with pytest.raises(DeviceError, match=rf"扫码枪串口 {re.escape(str(path))} 无法打开"):
        SerialScanner(str(path)).open()


def run_in_thread(scanner: SerialScanner, stop: threading.Event):
    codes: list = []
    errors: list = []
    arrived = threading.Event()

    def callback(code) -> None:
        codes.append(code)
        arrived.set()

    def work() -> None:
        try:
            scanner.run(callback, stop)
        except DeviceError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    return worker, codes, errors, arrived


def test_run_calls_back_until_stopped(pty: Pty) -> None:
    scanner = SerialScanner(pty.name, timeout=0.05)
    scanner.open()
    stop = threading.Event()
    worker, codes, errors, arrived = run_in_thread(scanner, stop)
    pty.write(f"{EVOUCHER}\r".encode())
    assert arrived.wait(5)
    stop.set()
    worker.join(5)
    assert not worker.is_alive() and errors == []
    assert pairs(codes) == [(ScanKind.EVOUCHER, EVOUCHER)]
    assert not scanner.is_open  # run() closes the port it read


def test_run_ends_with_a_device_error_when_unplugged(pty: Pty) -> None:
    scanner = SerialScanner(pty.name, timeout=0.05)
    scanner.open()
    worker, codes, errors, arrived = run_in_thread(scanner, threading.Event())
    pty.write(f"{EAN13}\r".encode())
    assert arrived.wait(5)
    pty.unplug()
    worker.join(5)
    assert not worker.is_alive()
    assert [c.text for c in codes] == [EAN13]
    assert len(errors) == 1 and "已断开" in str(errors[0])
