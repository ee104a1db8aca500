"""A virtual 社会保障卡: the card's files and APDUs, and a client for pcscd's virtual reader.

:class:`SocialSecurityCard` is pure: it holds EF05 and EF06 as the card
does (see ``insurer-interface.md``) and answers APDUs from memory. The
sandbox's people become cards with :meth:`SocialSecurityCard.from_person`.

:func:`run_vpcd` puts a card in the reader that ``vsmartcard-vpcd`` adds to
pcscd: it connects to the driver's TCP port (40000 for ``CHANNELID
0x9C40``) and answers its messages until stopped; closing the connection
takes the card out. ``python -m cashier_sandbox.virtualcard --data-dir DIR
PERSON`` does the same for a sandbox person until SIGTERM or Ctrl+C.

Status words: ``9000`` success; ``6A82`` SELECT of another application (or
of any application on a card made ``without_application``) and READ RECORD
of a file other than EF05/EF06; ``6985`` READ RECORD before the application
is selected (conditions of use not satisfied: the reader skipped SELECT;
``6A82`` is kept for "no such application" so the two are told apart);
``6A83`` unknown record; ``6Cxx`` wrong Le (``xx`` the right one);
``6700`` a command shorter than four bytes; ``6D00`` anything else.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cashier.devices.sscard import EF05, EF06, RECORDS, SELECT_APPLICATION

if TYPE_CHECKING:
    from cashier_sandbox.state import Person

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_NOT_SELECTED = b"\x69\x85"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_RECORD_NOT_FOUND = b"\x6a\x83"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"

INS_SELECT = 0xA4
INS_READ_RECORD = 0xB2


def _with_tck(atr: bytes) -> bytes:
    """The ATR with its check byte: T0 .. last byte XOR TCK is 0 (required when T=1 is offered)."""
    tck = 0
    for byte in atr[1:]:
        tck ^= byte
    return atr + bytes([tck])


#: A T=1 answer to reset: TS 3B, T0 88 (TD1 follows, 8 historical bytes), TD1 81
#: (TD2 follows, T=1), TD2 31 (TA3 and TB3 follow, T=1), TA3 FE (IFSC 254), TB3 45
#: (block and character waiting times), historical bytes 80 (compact TLV) 56 (card
#: issuer's data, 6 bytes) "CNSSC3", then TCK.
DEFAULT_ATR = _with_tck(bytes.fromhex("3B88 8131 FE45 8056") + b"CNSSC3")

# vpcd control codes (a one-byte message from the driver)
VPCD_POWER_OFF = 0
VPCD_POWER_ON = 1
VPCD_RESET = 2
VPCD_ATR = 4
VPCD_PORT = 40000
_RECV_POLL_S = 0.1  # how often a blocked read looks at the stop event

NAME_BYTES = 30


def _bcd(day: date) -> bytes:
    return bytes.fromhex(day.strftime("%Y%m%d"))


def _yyyymmdd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


@dataclass
class SocialSecurityCard:
    """A social security card's EF05 and EF06, answering SELECT and READ RECORD from memory.

    The values are checked for size only (the reader, not the card, checks
    their meaning), so tests can make cards with a bad ID number.
    ``without_application``: a card that has no social-security application
    (a bank card, say): SELECT answers ``6A82``.
    """

    card_sn: str  # 32 hex characters (16 raw bytes on the card)
    card_no: str  # 9 ASCII characters
    social_security_no: str  # 18 ASCII characters
    name: str  # at most 30 bytes in GBK
    issue_date: date
    expiry_date: date
    spec_version: str = "3.00"
    without_application: bool = False
    atr: bytes = DEFAULT_ATR
    selected: bool = field(default=False, init=False)
    records: dict[tuple[int, int], bytes] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.name.encode("gbk")
        if len(name) > NAME_BYTES:
            raise ValueError(f"name longer than {NAME_BYTES} GBK bytes: {self.name!r}")
        values = {
            "card_sn": bytes.fromhex(self.card_sn),
            "spec_version": self.spec_version.encode("ascii"),
            "issue_date": _bcd(self.issue_date),
            "expiry_date": _bcd(self.expiry_date),
            "card_no": self.card_no.encode("ascii"),
            "social_security_no": self.social_security_no.encode("ascii"),
            "name": name.ljust(NAME_BYTES, b"\x00"),
        }
        for record in RECORDS:
            value = values[record.attr]
            if len(value) != record.size:
                raise ValueError(f"{record.attr} must be {record.size} bytes: {value!r}")
            self.records[record.p2, record.number] = bytes([record.number, len(value)]) + value

    @classmethod
    def from_person(
        cls,
        person: Person,
        *,
        issue_date: date | None = None,
        expiry_date: date | None = None,
        without_application: bool = False,
    ) -> SocialSecurityCard:
        """The card of a sandbox person; dates may be overridden (an expired card, say)."""
        return cls(
            card_sn=person.card_sn,
            card_no=person.card_no,
            social_security_no=person.certno,
            name=person.name,
            issue_date=issue_date or _yyyymmdd(person.card_issued),
            expiry_date=expiry_date or _yyyymmdd(person.card_expiry),
            without_application=without_application,
        )

    def reset(self) -> None:
        """Power on, power off or reset: nothing is selected any more."""
        self.selected = False

    def apdu(self, command: bytes) -> bytes:
        """Answer one command APDU with response data and status word."""
        if len(command) < 4:
            return SW_WRONG_LENGTH
        _cla, ins, p1, p2 = command[:4]
        if ins == INS_SELECT:
            return self._select(command)
        if ins == INS_READ_RECORD:
            return self._read_record(p1, p2, command[4:])
        return SW_INS_NOT_SUPPORTED

    def _select(self, command: bytes) -> bytes:
        # A trailing Le (00) after the name is allowed.
        known = command in (SELECT_APPLICATION, SELECT_APPLICATION + b"\x00")
        if not known or self.without_application:
            self.selected = False
            return SW_FILE_NOT_FOUND
        self.selected = True
        return SW_OK

    def _read_record(self, number: int, p2: int, rest: bytes) -> bytes:
        if p2 not in (EF05, EF06):
            return SW_FILE_NOT_FOUND
        if not self.selected:
            return SW_NOT_SELECTED
        record = self.records.get((p2, number))
        if record is None:
            return SW_RECORD_NOT_FOUND
        if len(rest) != 1 or rest[0] != len(record):
            return bytes([0x6C, len(record)])
        return record + SW_OK


# -- the vpcd client ---------------------------------------------------------------------


def connect_vpcd(host: str = "127.0.0.1", port: int = VPCD_PORT) -> socket.socket:
    """Connect to pcscd's vpcd driver: the card is in the reader from now on.

    Raises ``OSError`` (``ConnectionRefusedError`` when pcscd or vpcd is not running).
    """
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _quickack(sock: socket.socket) -> None:
    # Delayed ACKs stall every APDU by 40 ms; Linux clears QUICKACK after use.
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _receive(sock: socket.socket, buffer: bytearray, stop: threading.Event) -> bytes | None:
    """The next whole message, or ``None`` when the driver closed or ``stop`` was set."""
    while True:
        if len(buffer) >= 2:
            (size,) = struct.unpack(">H", buffer[:2])
            if len(buffer) >= 2 + size:
                message = bytes(buffer[2 : 2 + size])
                del buffer[: 2 + size]
                return message
        if stop.is_set():
            return None
        _quickack(sock)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return None
        buffer += chunk


def _answer(card: SocialSecurityCard, message: bytes) -> bytes | None:
    if len(message) == 1:
        if message[0] == VPCD_ATR:
            return card.atr
        if message[0] in (VPCD_POWER_OFF, VPCD_POWER_ON, VPCD_RESET):
            card.reset()
        return None  # control codes other than ATR get no answer
    return card.apdu(message)


def serve_vpcd(
    card: SocialSecurityCard, sock: socket.socket, *, stop: threading.Event | None = None
) -> None:
    """Answer the driver's messages on ``sock`` until it closes or ``stop`` is set; then close.

    ``stop`` is looked at every 0.1 s and after every answer is worked out:
    set while an APDU is being answered (say, from the card's own ``apdu``),
    the card leaves without answering it, which is a card pulled mid-read.
    """
    stop = stop or threading.Event()
    sock.settimeout(_RECV_POLL_S)
    buffer = bytearray()
    try:
        while True:
            message = _receive(sock, buffer, stop)
            if message is None:
                return
            reply = _answer(card, message)
            if stop.is_set():
                return
            if reply is not None:
                sock.sendall(struct.pack(">H", len(reply)) + reply)
    except OSError:
        return  # the driver went away: the card is out either way
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def run_vpcd(
    card: SocialSecurityCard,
    host: str = "127.0.0.1",
    port: int = VPCD_PORT,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Insert ``card`` into pcscd's virtual reader and serve it until ``stop`` or disconnection.

    Blocking: run it in a thread (``stop`` ends it within 0.1 s) or a process.
    Raises ``OSError`` when the driver cannot be reached.
    """
    serve_vpcd(card, connect_vpcd(host, port), stop=stop)


# -- as a process --------------------------------------------------------------------------


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"应为 HOST:PORT，例如 127.0.0.1:{VPCD_PORT}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    """``python -m cashier_sandbox.virtualcard --data-dir DIR PERSON [--vpcd HOST:PORT]``."""
    from cashier.devices.scanner import mask_name
    from cashier.errors import CashierError
    from cashier_sandbox.state import find_person, open_sandbox, sandbox_path

    parser = argparse.ArgumentParser(
        prog="python -m cashier_sandbox.virtualcard",
        description="把沙箱人员的虚拟社保卡插入 pcscd 的虚拟读卡器（vsmartcard-vpcd），直到 Ctrl+C",
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="数据目录（沙箱数据库所在）")
    parser.add_argument("person", metavar="PERSON", help="人员编号、身份证号、卡号或姓名")
    parser.add_argument(
        "--vpcd",
        type=_host_port,
        default=("127.0.0.1", VPCD_PORT),
        metavar="HOST:PORT",
        help=f"vpcd 驱动地址（默认 127.0.0.1:{VPCD_PORT}）",
    )
    args = parser.parse_args(argv)
    host, port = args.vpcd

    try:
        db = open_sandbox(sandbox_path(args.data_dir))
        try:
            card = SocialSecurityCard.from_person(find_person(args.person))
        finally:
            db.close()
    except CashierError as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"沙箱人员的社保卡数据有误：{exc}", file=sys.stderr)
        return 1

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    try:
        sock = connect_vpcd(host, port)
    except OSError as exc:
        print(
            f"无法连接虚拟读卡器 {host}:{port}（{exc.strerror or exc}）："
            "请先启动 pcscd（apt-get install pcscd vsmartcard-vpcd）",
            file=sys.stderr,
        )
        return 1
    print(f"虚拟社保卡已插入：{mask_name(card.name)} {card.card_no}", flush=True)
    serve_vpcd(card, sock, stop=stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
