"""Customer displays: the exact bytes each call sends, and the configuration URL."""

from __future__ import annotations

import os
import select

import pytest

from cashier.devices.display import (
    CollectingPort,
    EscPosLineDisplay,
    NullDisplay,
    PriceDisplay,
    SerialPort,
    display_from_config,
)
from cashier.domain.money import Fen
from cashier.errors import DeviceError
from tests.support.printers import PtyPrinter

INIT, CLR = b"\x1b@", b"\x0c"


def at(column: int, row: int) -> bytes:
    return b"\x1f$" + bytes((column, row))


class FailingPort:
    def __init__(self) -> None:
        self.fail = True
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        if self.fail:
            raise DeviceError("客显 /dev/ttyUSB0 不可用")
        self.writes.append(data)


# -- the ESC/POS line display ------------------------------------------------------------


def test_ascii_line_display_bytes() -> None:
    port = CollectingPort()
    display = EscPosLineDisplay(port)
    display.show_line("Aspirin 100mg", Fen(1250))
    assert port.take() == (
        INIT + CLR + at(1, 1) + b"Aspirin 100mg" + at(1, 2) + b"AMOUNT         12.50"
    )
    display.show_line("阿莫西林胶囊", Fen(2500))  # no Chinese font: a label instead
    assert port.take() == CLR + at(1, 1) + b"ITEM" + at(1, 2) + b"AMOUNT         25.00"
    display.show_total(Fen(123456))
    assert port.take() == CLR + at(1, 1) + b"TOTAL        1234.56"
    display.show_payment(Fen(20000), Fen(1550))
    assert port.take() == (
        CLR + at(1, 1) + b"PAID          200.00" + at(1, 2) + b"CHANGE         15.50"
    )
    display.clear()
    assert port.take() == CLR


def test_chinese_line_display_bytes() -> None:
    port = CollectingPort()
    display = EscPosLineDisplay(port, chinese=True)
    display.show_line("阿莫西林胶囊", Fen(2500))
    gb = "阿莫西林胶囊".encode("gb18030")
    assert gb == bytes.fromhex("b0a2c4aacef7c1d6bdbac4d2")
    amount = "金额         ￥25.00".encode("gb18030")  # 4 + 9 + 7 = 20 columns
    assert port.take() == INIT + CLR + at(1, 1) + gb + at(1, 2) + amount
    display.show_total(Fen(3850))
    assert port.take() == CLR + at(1, 1) + "应收         ￥38.50".encode("gb18030")
    display.show_payment(Fen(5000), Fen(1150))
    assert port.take() == (
        CLR
        + at(1, 1)
        + "实收         ￥50.00".encode("gb18030")
        + at(1, 2)
        + "找零         ￥11.50".encode("gb18030")
    )


def test_long_names_are_cut_to_the_row_without_splitting_a_character() -> None:
    port = CollectingPort()
    display = EscPosLineDisplay(port, chinese=True)
    display.show_line("复方甘草口服溶液（新包装）大瓶", Fen(100))
    row1 = port.take().split(at(1, 1))[1].split(at(1, 2))[0]
    assert row1 == "复方甘草口服溶液（新".encode("gb18030")  # 10 characters, 20 columns


def test_a_failed_write_initialises_the_display_again() -> None:
    port = FailingPort()
    display = EscPosLineDisplay(port)
    with pytest.raises(DeviceError):
        display.show_total(Fen(100))
    port.fail = False
    display.show_total(Fen(100))
    display.clear()
    assert port.writes == [INIT + CLR + at(1, 1) + b"TOTAL           1.00", CLR]


# -- the ESC Q A price display --------------------------------------------------------------


def test_price_display_bytes() -> None:
    port = CollectingPort()
    display = PriceDisplay(port)
    display.show_line("阿莫西林胶囊", Fen(1250))
    assert port.take() == INIT + b"\x1bs1" + b"\x1bQA12.50\r"  # 单价
    display.show_total(Fen(3850))
    assert port.take() == b"\x1bs2" + b"\x1bQA38.50\r"  # 总计 (应收)
    display.show_payment(Fen(5000), Fen(1150))
    assert port.take() == b"\x1bs4" + b"\x1bQA11.50\r"  # 找零
    display.show_payment(Fen(3850), Fen(0))
    assert port.take() == b"\x1bs3" + b"\x1bQA38.50\r"  # no change: 收款 (实收)
    display.clear()
    assert port.take() == CLR + b"\x1bs0"


def test_price_display_has_eight_digits() -> None:
    port = CollectingPort()
    display = PriceDisplay(port)
    display.show_total(Fen(99999999))
    assert port.take() == INIT + b"\x1bs2\x1bQA999999.99\r"
    with pytest.raises(DeviceError, match="8 位"):
        display.show_total(Fen(100000000))
    assert port.take() == b""


# -- configuration and the serial port ------------------------------------------------------


def test_display_from_config() -> None:
    assert isinstance(display_from_config(""), NullDisplay)
    assert isinstance(display_from_config("  "), NullDisplay)
    led = display_from_config("serial:///dev/ttyUSB0?baud=2400&protocol=escq")
    assert isinstance(led, PriceDisplay)
    assert (led.port.device, led.port.baudrate) == ("/dev/ttyUSB0", 2400)
    vfd = display_from_config("serial:///dev/ttyS1?baud=9600&protocol=escpos&chinese=1")
    assert isinstance(vfd, EscPosLineDisplay) and vfd.chinese
    assert (vfd.port.device, vfd.port.baudrate) == ("/dev/ttyS1", 9600)
    plain = display_from_config("serial:///dev/ttyS1?protocol=escpos")
    assert isinstance(plain, EscPosLineDisplay) and not plain.chinese
    assert plain.port.baudrate == 2400
    for bad in (
        "tcp://127.0.0.1:9100",
        "serial://",
        "serial:///dev/ttyS0?protocol=cd5220",
        "serial:///dev/ttyS0?baud=fast",
    ):
        with pytest.raises(DeviceError):
            display_from_config(bad)


def test_null_display_does_nothing() -> None:
    display = NullDisplay()
    display.show_line("x", Fen(1))
    display.show_total(Fen(1))
    display.show_payment(Fen(1), Fen(0))
    display.clear()


def test_serial_port_writes_through_pyserial_to_a_tty() -> None:
    with PtyPrinter(status=None) as tty:
        display = display_from_config(f"serial://{tty.path}?baud=9600&protocol=escq")
        display.show_total(Fen(3850))
        expected = INIT + b"\x1bs2\x1bQA38.50\r"
        for _ in range(100):
            if len(tty.received) >= len(expected):
                break
            select.select([], [], [], 0.02)
        display.port.close()
    assert bytes(tty.received) == expected


def test_a_missing_serial_port_is_a_device_error(tmp_path) -> None:
    port = SerialPort(os.fspath(tmp_path / "ttyUSB9"))
    with pytest.raises(DeviceError, match="客显"):
        PriceDisplay(port).show_total(Fen(100))
