"""The 社会保障卡 (social security card) over PC/SC: one interface, a real driver, a test double.

The card's social-security application is selected by name (``sx1.sh.社会保障``)
and then read record by record (the layout is in the insurer interface
document, section "The social security card"):
EF05 holds the card identifier, spec version, issue and expiry dates and card
number; EF06 the social security number (the ID number) and the name. One
function, :func:`read_records`, speaks that protocol over any ``transmit``
callable, so the PC/SC driver (:func:`read_card`) and the test double
(:class:`FakeCardReader`, backed by an in-memory
:class:`~cashier_sandbox.virtualcard.SocialSecurityCard`) read cards the same way.

The driver uses pyscard's low-level ``smartcard.scard`` module, imported
inside the functions, so importing this module costs nothing where no reader
is used. Every failure becomes a :class:`CardError` whose message says what to
do; no pyscard exception and no traceback reaches the operator.

Threads: every call opens and releases its own PC/SC context, so any function
here may run in a worker thread (Textual ``@work(thread=True)``); the waits
block, and :func:`wait_for_card` / :func:`wait_for_removal` take a
``cancel`` event that ends them within a quarter of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from cashier.devices.scanner import is_valid_id_number, mask_id_number, mask_name
from cashier.devices.sscard import RECORDS, SELECT_APPLICATION, Card, Record
from cashier.errors import DeviceError
from cashier.messages import say

# -- the card's protocol ---------------------------------------------------------------

SW_OK = 0x9000
SW_FILE_NOT_FOUND = 0x6A82


class CardError(DeviceError):
    """The social security card could not be read; the message says what to do."""


_OTHER_CREDENTIAL = say("device.cardreader.other_credential")
MSG_NO_SERVICE = say("device.cardreader.no_service")
MSG_NO_READER = say("device.cardreader.no_reader_connected")
MSG_NO_CARD = say("device.cardreader.insert_card")
MSG_REMOVED = say("device.cardreader.removed")
MSG_UNRESPONSIVE = say("device.cardreader.mute", OTHER_CREDENTIAL=_OTHER_CREDENTIAL)
MSG_NOT_SOCIAL_SECURITY = say("device.cardreader.not_ss_card", OTHER_CREDENTIAL=_OTHER_CREDENTIAL)
MSG_BUSY = say("device.cardreader.reader_busy")


# -- what a card holds -------------------------------------------------------------------


@dataclass(frozen=True)
class CardData:
    """What a social security card says about itself and its holder.

    ``card_no`` goes to 1101 as ``mdtrt_cert_no`` (``mdtrt_cert_type`` ``03``)
    and ``card_sn`` as ``card_sn``. ``atr`` (the card's reset answer, hex) is
    filled by the PC/SC driver and only used in :meth:`summary`.
    """

    card_sn: str  # 卡识别码, 32 hex characters, upper case
    spec_version: str  # 规范版本, e.g. "3.00"
    issue_date: date
    expiry_date: date
    card_no: str  # 卡号, 9 characters
    social_security_no: str  # 社会保障号码 = the ID number
    name: str
    atr: str = field(default="", compare=False)

    @property
    def masked_name(self) -> str:
        """The name as receipts and screens show it (``张*三``)."""
        return mask_name(self.name)

    @property
    def masked_id(self) -> str:
        """The social security number as receipts and screens show it (``1101**********1234``)."""
        return mask_id_number(self.social_security_no)

    def expired(self, on: date | None = None) -> bool:
        """Whether the card is past its expiry date on ``on`` (today by default).

        The card is valid through its expiry date.
        """
        return (on or date.today()) > self.expiry_date

    def to_json(self, full: bool = False) -> dict[str, str]:
        """A JSON-ready dict (for ``--json``): name and number masked unless ``full``."""
        return {
            "card_no": self.card_no,
            "card_sn": self.card_sn,
            "name": self.name if full else self.masked_name,
            "social_security_no": self.social_security_no if full else self.masked_id,
            "spec_version": self.spec_version,
            "issue_date": self.issue_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat(),
        }

    def summary(self) -> str:
        """The vendor-DLL summary string, unmasked; fields the card does not hold are empty.

        ``发卡地区行政区划代码|社会保障号码|卡号|卡识别码|姓名|卡复位信息|规范版本|发卡日期|卡有效期|终端机编号|终端设备号|``.
        It carries the full ID number: never write it to the audit log.
        """
        fields = (
            "",  # 发卡地区行政区划代码: not on the card's EF05/EF06
            self.social_security_no,
            self.card_no,
            self.card_sn,
            self.name,
            self.atr,
            self.spec_version,
            self.issue_date.strftime("%Y%m%d"),
            self.expiry_date.strftime("%Y%m%d"),
            "",  # 终端机编号
            "",  # 终端设备号
        )
        return "".join(f"{value}|" for value in fields)


# -- reading records over any transmit function ------------------------------------------

Transmit = Callable[[bytes], bytes]


def _status(response: bytes) -> tuple[bytes, int]:
    if len(response) < 2:
        # No status word: the card stopped answering (vpcd reports a pulled card this way).
        raise CardError(MSG_REMOVED)
    return response[:-2], int.from_bytes(response[-2:], "big")


def _sw_error(sw: int, what: str) -> CardError:
    return CardError(
        say("device.cardreader.read_failed", what=what, sw=sw, OTHER_CREDENTIAL=_OTHER_CREDENTIAL)
    )


def _malformed(label: str) -> CardError:
    return CardError(
        say("device.cardreader.bad_data", label=label, OTHER_CREDENTIAL=_OTHER_CREDENTIAL)
    )


def _read_value(transmit: Transmit, record: Record) -> bytes:
    response = transmit(record.command)
    data, sw = _status(response)
    if sw >> 8 == 0x6C:  # wrong Le: the card says the right one; ask again once
        response = transmit(record.command[:4] + bytes([sw & 0xFF]))
        data, sw = _status(response)
    if sw == SW_FILE_NOT_FOUND:
        raise CardError(MSG_NOT_SOCIAL_SECURITY)
    if sw != SW_OK:
        raise _sw_error(sw, record.label)
    if len(data) < 2 or data[0] != record.number or data[1] != len(data) - 2:
        raise _malformed(record.label)
    return data[2:]


def _ascii(value: bytes, label: str) -> str:
    try:
        return value.rstrip(b"\x00 ").decode("ascii").strip()
    except UnicodeDecodeError:
        raise _malformed(label) from None


def _bcd_date(value: bytes, label: str) -> date:
    digits = value.hex()
    try:
        if len(value) != 4 or not digits.isdigit():
            raise ValueError(digits)
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise _malformed(label) from None


def read_records(transmit: Transmit, *, today: date | None = None, atr: str = "") -> CardData:
    """Select the social-security application and read every record through ``transmit``.

    ``transmit`` sends one APDU and returns the response with its status
    word. The card is checked as well as read: the ID number's GB 11643
    checksum and the expiry date (on ``today``, by default the real today).
    Raises :class:`CardError`.
    """
    _, sw = _status(transmit(SELECT_APPLICATION))
    if sw == SW_FILE_NOT_FOUND:
        raise CardError(MSG_NOT_SOCIAL_SECURITY)
    if sw != SW_OK:
        raise _sw_error(sw, say("device.cardreader.ss_application"))
    values = {record.attr: (record, _read_value(transmit, record)) for record in RECORDS}

    def text(name: str) -> str:
        record, value = values[name]
        return _ascii(value, record.label)

    def when(name: str) -> date:
        record, value = values[name]
        return _bcd_date(value, record.label)

    name_record, raw_name = values["name"]
    try:
        name = raw_name.rstrip(b"\x00 ").decode("gbk").strip()
    except UnicodeDecodeError:
        raise _malformed(name_record.label) from None
    card_sn_record, raw_sn = values["card_sn"]
    if len(raw_sn) != card_sn_record.size:
        raise _malformed(card_sn_record.label)
    card = CardData(
        card_sn=raw_sn.hex().upper(),
        spec_version=text("spec_version"),
        issue_date=when("issue_date"),
        expiry_date=when("expiry_date"),
        card_no=text("card_no"),
        social_security_no=text("social_security_no").upper(),
        name=name,
        atr=atr,
    )
    if not card.name or not card.card_no:
        raise _malformed(
            say("device.cardreader.field_name")
            if not card.name
            else say("device.cardreader.field_card_no")
        )
    if not is_valid_id_number(card.social_security_no):
        raise CardError(say("device.cardreader.bad_number", OTHER_CREDENTIAL=_OTHER_CREDENTIAL))
    if card.expired(today):
        raise CardError(
            say(
                "device.cardreader.expired",
                expiry_date=card.expiry_date.isoformat(),
                OTHER_CREDENTIAL=_OTHER_CREDENTIAL,
            )
        )
    return card


# -- PC/SC ---------------------------------------------------------------------------------

# PC/SC return codes (pcsclite.h), unsigned.
_NO_SERVICE = {0x8010001D, 0x8010001E, 0x80100003}  # NO_SERVICE, SERVICE_STOPPED, INVALID_HANDLE
_NO_READERS_AVAILABLE = 0x8010002E
_NO_READERS = {_NO_READERS_AVAILABLE, 0x80100017}  # and READER_UNAVAILABLE
_UNKNOWN_READER = 0x80100009
_NO_CARD = {0x8010000C, 0x80100069}  # E_NO_SMARTCARD, W_REMOVED_CARD
_LOST = {
    0x80100068,  # W_RESET_CARD
    0x80100016,  # E_NOT_TRANSACTED
    0x80100013,  # F_COMM_ERROR
    0x8010002F,  # E_COMM_DATA_LOST
}
_UNRESPONSIVE = _LOST | {
    0x80100066,  # W_UNRESPONSIVE_CARD
    0x80100067,  # W_UNPOWERED_CARD
    0x80100065,  # W_UNSUPPORTED_CARD
    0x8010000F,  # E_PROTO_MISMATCH
}
_SHARING = 0x8010000B
_TIMEOUT = 0x8010000A
_POLL_S = 0.25  # how long one blocking wait lasts before a cancel is looked at


def _u32(hresult: int) -> int:
    return int(hresult) & 0xFFFFFFFF


def _pcsc_error(hresult: int, *, reading: bool = False, reader: str | None = None) -> CardError:
    """The operator's message for a PC/SC return code (``reading``: after the card answered)."""
    code = _u32(hresult)
    if code in _NO_SERVICE:
        return CardError(MSG_NO_SERVICE)
    if code in _NO_READERS:
        return CardError(MSG_NO_READER)
    if code == _UNKNOWN_READER:
        return CardError(say("device.cardreader.no_reader", value=reader or ""))
    if code == _SHARING:
        return CardError(MSG_BUSY)
    if code in _NO_CARD:
        return CardError(MSG_REMOVED if reading else MSG_NO_CARD)
    if code in _LOST and reading:
        return CardError(MSG_REMOVED)
    if code in _UNRESPONSIVE:
        return CardError(MSG_UNRESPONSIVE)
    return CardError(say("device.cardreader.pcsc_error", code=code))


def _from_exception(exc: BaseException) -> CardError:
    """Any pyscard exception, mapped by its return code when it carries one."""
    hresult = getattr(exc, "hresult", -1)
    if isinstance(hresult, int) and hresult not in (-1, 0):
        return _pcsc_error(hresult)
    name = type(exc).__name__
    if "EstablishContext" in name or "Service" in name:
        return CardError(MSG_NO_SERVICE)
    if "NoReaders" in name:
        return CardError(MSG_NO_READER)
    if "NoCard" in name:
        return CardError(MSG_NO_CARD)
    return CardError(say("device.cardreader.failed", name=name))


def _pyscard() -> tuple[Any, tuple[type[BaseException], ...]]:
    """pyscard's low-level module and every exception type it raises."""
    try:
        from smartcard import scard
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
    except ImportError:
        raise CardError(say("device.cardreader.no_pyscard")) from None
    return scard, (SmartcardException, BaseSCardException, scard.error)


class _Context:
    """One PC/SC context for the length of a call, in the calling thread."""

    def __init__(self, scard: Any, errors: tuple[type[BaseException], ...]) -> None:
        self.scard = scard
        self.errors = errors
        try:
            hresult, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        except errors:
            raise CardError(MSG_NO_SERVICE) from None
        if hresult != scard.SCARD_S_SUCCESS:
            raise CardError(MSG_NO_SERVICE)

    def __enter__(self) -> _Context:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.scard.SCardReleaseContext(self.handle)
        except self.errors:
            pass

    def readers(self) -> list[str]:
        hresult, names = self.scard.SCardListReaders(self.handle, [])
        if _u32(hresult) == _NO_READERS_AVAILABLE:
            return []
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise _pcsc_error(hresult)
        return list(names)

    def states(
        self, readers: list[str], timeout_ms: int = 0, known: list[tuple] | None = None
    ) -> list[tuple]:
        """``(reader, event state, atr)`` for each reader, after a change or ``timeout_ms``.

        ``known``: the states the caller last saw; without it the call returns at once.
        """
        wanted = known or [(name, self.scard.SCARD_STATE_UNAWARE) for name in readers]
        hresult, states = self.scard.SCardGetStatusChange(self.handle, timeout_ms, wanted)
        if _u32(hresult) == _TIMEOUT:
            return [(name, state, []) for name, state in wanted]
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise _pcsc_error(hresult)
        return list(states)

    def present(self, state: int) -> bool:
        s = self.scard
        return bool(state & s.SCARD_STATE_PRESENT) and not state & s.SCARD_STATE_MUTE


def _with_context(call: Callable[[_Context], Any]) -> Any:
    """Run ``call`` with a fresh PC/SC context; any pyscard exception becomes a :class:`CardError`."""
    scard, errors = _pyscard()
    try:
        with _Context(scard, errors) as ctx:
            return call(ctx)
    except CardError:
        raise
    except errors as exc:
        raise _from_exception(exc) from None


def list_readers() -> list[str]:
    """The PC/SC readers' names (an empty list when none is connected)."""
    return _with_context(lambda ctx: ctx.readers())


def _choose_reader(ctx: _Context, reader: str | None) -> tuple[str, list[int]]:
    """The reader to read (the first holding a card when ``reader`` is None) and its ATR."""
    names = ctx.readers()
    if not names:
        raise CardError(MSG_NO_READER)
    if reader is not None and reader not in names:
        raise _pcsc_error(_UNKNOWN_READER, reader=reader)
    states = ctx.states([reader] if reader is not None else names)
    mute = False
    for name, state, atr in states:
        if ctx.present(state):
            return name, list(atr)
        mute = mute or bool(state & ctx.scard.SCARD_STATE_MUTE)
    raise CardError(MSG_UNRESPONSIVE if mute else MSG_NO_CARD)


def read_card(reader: str | None = None, *, today: date | None = None) -> CardData:
    """Read the social security card in ``reader`` (the first reader holding a card when None).

    Blocking (a few tens of milliseconds); raises :class:`CardError` for every
    failure: no PC/SC service, no reader, no card, a card pulled mid-read, an
    unresponsive card, a card without the social-security application, a
    status word other than ``9000``, an ID number that fails its checksum,
    an expired card.
    """

    def call(ctx: _Context) -> CardData:
        s = ctx.scard
        name, atr = _choose_reader(ctx, reader)
        hresult, hcard, protocol = s.SCardConnect(
            ctx.handle, name, s.SCARD_SHARE_SHARED, s.SCARD_PROTOCOL_T0 | s.SCARD_PROTOCOL_T1
        )
        if hresult != s.SCARD_S_SUCCESS:
            raise _pcsc_error(hresult, reader=name)
        pci = s.SCARD_PCI_T1 if protocol == s.SCARD_PROTOCOL_T1 else s.SCARD_PCI_T0

        def transmit(command: bytes) -> bytes:
            try:
                hresult, response = s.SCardTransmit(hcard, pci, list(command))
            except ctx.errors as exc:
                hresult, response = getattr(exc, "hresult", 0x80100016), []
            if hresult != s.SCARD_S_SUCCESS:
                raise _pcsc_error(hresult, reading=True)
            return bytes(response)

        try:
            return read_records(transmit, today=today, atr=bytes(atr).hex().upper())
        finally:
            try:
                s.SCardDisconnect(hcard, s.SCARD_LEAVE_CARD)
            except ctx.errors:
                pass

    return _with_context(call)


def _wait(
    want_card: bool, timeout: float, reader: str | None, cancel: threading.Event | None
) -> str | None:
    deadline = time.monotonic() + max(0.0, timeout)

    def call(ctx: _Context) -> str | None:
        known: list[tuple] | None = None
        while True:
            names = ctx.readers()
            if reader is not None:
                if reader not in names:
                    raise _pcsc_error(_UNKNOWN_READER, reader=reader)
                names = [reader]
            if known is not None and [k[0] for k in known] != names:
                known = None  # readers came or went: look again from scratch
            left = deadline - time.monotonic()
            slice_ms = 0 if known is None else int(1000 * max(0.0, min(_POLL_S, left)))
            states = ctx.states(names, slice_ms, known) if names else []
            holding = [name for name, state, _ in states if ctx.present(state)]
            if want_card and holding:
                return holding[0]
            if not want_card and not holding:
                return reader or ""
            if left <= 0 or (cancel is not None and cancel.is_set()):
                return None
            if not names:
                time.sleep(min(_POLL_S, left))
            known = [(name, state & ~ctx.scard.SCARD_STATE_CHANGED) for name, state, _ in states]

    return _with_context(call)


def wait_for_card(
    timeout: float, reader: str | None = None, *, cancel: threading.Event | None = None
) -> str | None:
    """Block until a card is in ``reader`` (any reader when None); return that reader's name.

    ``None`` when ``timeout`` seconds pass or ``cancel`` is set first. Meant
    for a worker thread: it waits in PC/SC (no busy loop) in slices of a
    quarter second, so a set ``cancel`` ends it within that time. Raises
    :class:`CardError` when the PC/SC service is not running or ``reader``
    does not exist.
    """
    return _wait(True, timeout, reader, cancel)


def wait_for_removal(
    timeout: float, reader: str | None = None, *, cancel: threading.Event | None = None
) -> bool:
    """Block until no card is in ``reader`` (in any reader when None); ``False`` on timeout or cancel.

    Same thread rules as :func:`wait_for_card`.
    """
    return _wait(False, timeout, reader, cancel) is not None


# -- one interface, a real driver and a test double ----------------------------------------


class CardReader(Protocol):
    """What the cashier needs from a card reader."""

    def read(self, reader: str | None = None) -> CardData:
        """Read the card (see :func:`read_card`); raises :class:`CardError`."""
        ...

    def readers(self) -> list[str]:
        """The readers' names."""
        ...


class PcscCardReader:
    """The real reader, through the PC/SC service (pcscd)."""

    def read(self, reader: str | None = None) -> CardData:
        return read_card(reader)

    def readers(self) -> list[str]:
        return list_readers()


@dataclass
class FakeCardReader:
    """A reader for app tests: the card (or ``None``: no card) answers from memory.

    Reads go through the same :func:`read_records` as the real reader, so a
    virtual card that is expired, lacks the application or fails its checksum
    gives the same :class:`CardError`. ``reader_names`` empty: no reader.
    """

    card: Card | None = None
    reader_names: tuple[str, ...] = ("Fake Reader 00 00",)
    reads: int = 0

    def read(self, reader: str | None = None) -> CardData:
        if not self.reader_names:
            raise CardError(MSG_NO_READER)
        if reader is not None and reader not in self.reader_names:
            raise _pcsc_error(_UNKNOWN_READER, reader=reader)
        if self.card is None:
            raise CardError(MSG_NO_CARD)
        self.reads += 1
        self.card.reset()
        return read_records(self.card.apdu, atr=self.card.atr.hex().upper())

    def readers(self) -> list[str]:
        return list(self.reader_names)
