"""Scanners: keyboard-wedge burst detection and telling scanned codes apart by shape.

A keyboard-wedge scanner types its code as key presses, much faster than a
person, and ends with Enter (or Tab). :class:`BurstDetector` sits in front of
the UI: it holds printable keys only while they could still be the start of a
scan, and gives every key back, in order, when they turn out to be typing.
Time is passed in, so the detector is deterministic and tested without a
terminal. :func:`classify` then tells a 医保码 payload, a product barcode, an
ID number and a 付款码 apart by their shape.

Pure Python: nothing here imports Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum

# -- burst detection ----------------------------------------------------------------

# Float time stamps: a gap that is max_gap "on paper" may come out a hair larger.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Pass:
    """Deliver this key to the UI as typed (``key`` and ``char`` as they came)."""

    key: str
    char: str | None


@dataclass(frozen=True)
class Scan:
    """A complete scan; the terminator key that ended it was swallowed."""

    text: str


Action = Pass | Scan


def _is_printable(char: str | None) -> bool:
    return char is not None and len(char) == 1 and char.isprintable()


class BurstDetector:
    """Tells a scanner's burst of keys from a person typing.

    Feed it every key with the time it arrived: :meth:`push` for each key, and
    :meth:`expire` at :meth:`deadline` (when not ``None``). Both return the
    actions to carry out, in order.

    Contract:

    * every key that is not part of a scan comes back as a :class:`Pass`,
      exactly once and in its original order;
    * a printable key (``char`` one printable character, key not a
      terminator) is held only while it could still start a scan: at most
      ``max_gap`` seconds after the last key;
    * a gap of more than ``max_gap`` releases everything held before it, so a
      person typing slowly never loses a key and a scan that starts right
      after typing is still found from its own first key;
    * any other key that is not a terminator (F-keys, arrows, backspace,
      escape, ctrl+…) releases the held keys, then passes itself;
    * a terminator within ``max_gap`` of a burst of at least ``min_length``
      held keys yields ``Scan(text)`` and is swallowed; otherwise the held
      keys and the terminator are passed through.
    """

    def __init__(
        self,
        max_gap: float = 0.05,
        min_length: int = 6,
        terminators: Iterable[str] = ("enter",),
    ) -> None:
        if not max_gap > 0:
            raise ValueError("max_gap must be positive")
        if min_length < 1:
            raise ValueError("min_length must be at least 1")
        self.max_gap = float(max_gap)
        self.min_length = int(min_length)
        if isinstance(terminators, str):
            terminators = (terminators,)
        self.terminators: frozenset[str] = frozenset(terminators)
        if not self.terminators:
            raise ValueError("at least one terminator key is needed")
        self._held: list[Pass] = []
        self._last: float | None = None

    def push(self, key: str, char: str | None, now: float) -> list[Action]:
        """One key press at time ``now`` (seconds, monotonic)."""
        out = self.expire(now)
        if key in self.terminators:
            if len(self._held) >= self.min_length:
                text = "".join(p.char or "" for p in self._held)
                self._held, self._last = [], None
                out.append(Scan(text))
                return out
            out.extend(self.flush())
            out.append(Pass(key, char))
            return out
        if _is_printable(char):
            self._held.append(Pass(key, char))
            self._last = now
            return out
        out.extend(self.flush())
        out.append(Pass(key, char))
        return out

    def expire(self, now: float) -> list[Action]:
        """Release the held keys if more than ``max_gap`` has passed since the last one."""
        if self._last is not None and now - self._last > self.max_gap + _TOLERANCE:
            return self.flush()
        return []

    def deadline(self) -> float | None:
        """The time at which :meth:`expire` releases the held keys (``None``: nothing held)."""
        if self._last is None:
            return None
        return self._last + self.max_gap + 1e-6

    def flush(self) -> list[Action]:
        """Release every held key now, as :class:`Pass` (e.g. when scans stop being wanted)."""
        held, self._held, self._last = self._held, [], None
        return list(held)

    @property
    def holding(self) -> bool:
        """Whether keys are being held back."""
        return bool(self._held)


# -- what was scanned ------------------------------------------------------------------


class ScanKind(Enum):
    EVOUCHER = "evoucher"  # 医保电子凭证 dynamic QR payload, or an ecToken
    GTIN = "gtin"  # EAN-8, UPC-A, EAN-13, GTIN-14 with a valid check digit
    ID_NUMBER = "id_number"  # 18-character 居民身份证号码, checksum and birth date valid
    PAYMENT_CODE = "payment_code"  # WeChat Pay / Alipay / UnionPay 付款码
    TRACE = "trace"  # 药品追溯码: 20 digits from 8 (码上放心), or a serialised GS1 code
    CODE128 = "code128"  # other product or internal codes
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScannedCode:
    kind: ScanKind
    text: str


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CODE_RE = re.compile(r"[A-Za-z0-9._-]{4,40}")
_EC_TOKEN_RE = re.compile(r"[0-9]{6}ec[0-9a-z]{30}")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Web addresses that carry an e-voucher: the national platform's hosts, the
# e-voucher service path, its ecQrCode field, or a ``ybm:`` payload.
_EVOUCHER_URL_MARKERS = ("nhsa.gov.cn", "hsecfc", "ecqrcode", "ybm:")
_EVOUCHER_MIN_LENGTH = 20


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for ``body``, the digits before it (weights 3, 1, … from the right)."""
    if not _digits(body):
        raise ValueError(f"not digits: {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """EAN-8, UPC-A (12), EAN-13 or GTIN-14: all digits, the last a valid GS1 check digit."""
    return (
        _digits(code)
        and len(code) in (8, 12, 13, 14)
        and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def id_check_char(body: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(body) != 17 or not _digits(body):
        raise ValueError(f"need 17 digits: {body!r}")
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(text: str) -> bool:
    """GB 11643: 17 digits, the check character (``x`` accepted for ``X``) and a real birth date.

    The birth date (positions 7–14, ``YYYYMMDD``) must exist, be no earlier
    than 1900 and not in the future.
    """
    if len(text) != 18 or not _digits(text[:17]):
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return text[17].upper() == id_check_char(text[:17])


def payment_code_issuer(text: str) -> str | None:
    """Whose 付款码 this is by shape: ``"wechat"``, ``"alipay"``, ``"unionpay"`` or ``None``.

    WeChat Pay: 18 digits starting 10–15. Alipay: 16–24 digits starting
    25–30. UnionPay QuickPass: 19 digits starting 62. (An 18-digit valid ID
    number is told apart by :func:`classify`, which checks it first.)
    """
    if not _digits(text) or len(text) < 16:
        return None
    head = int(text[:2])
    if len(text) == 18 and 10 <= head <= 15:
        return "wechat"
    if len(text) <= 24 and 25 <= head <= 30:
        return "alipay"
    if len(text) == 19 and head == 62:
        return "unionpay"
    return None


#: A serialised GS1 element string: a GTIN (AI 01) and a serial number (AI 21), in the
#: bracketed human-readable form or with FNC1 separators (GS, ``\x1d``) as scanners send
#: them: the traceability code an imported drug's DataMatrix carries.
_GS1_SERIALISED = re.compile(
    r"(?:\(01\)(?P<gtin_h>\d{14}).*\(21\)[!-~]{1,20}.*)"
    r"|(?:\x1d?01(?P<gtin_r>\d{14})(?:(?:17|11)\d{6}\x1d?|10[!-~]{1,20}\x1d)*21[!-~]{1,20}.*)",
    re.S,
)


def is_trace_code(text: str, patterns: tuple[re.Pattern, ...] = ()) -> bool:
    """A 药品追溯码: 20 digits starting with 8 (the 码上放心 code: a 7-digit product
    identifier, a 9-digit serial and a 4-digit check), a serialised GS1 code (its GTIN's
    check digit right), or one matching a configured pattern (``[trace] patterns``)."""
    if len(text) == 20 and _digits(text) and text.startswith("8"):
        return True
    match = _GS1_SERIALISED.fullmatch(text)
    # All digits with no separator is no GS1 code the counter trusts: a 医保码's digits
    # could take that shape by chance.
    if match is not None and not text.isdigit():
        gtin = match.group("gtin_h") or match.group("gtin_r")
        return is_valid_gtin(gtin)
    return any(p.fullmatch(text) for p in patterns)


def is_ec_token(text: str) -> bool:
    """An e-voucher ``ecToken``: 6-digit area code + ``ec`` + 30 lowercase alphanumerics."""
    return _EC_TOKEN_RE.fullmatch(text) is not None


#: How long an all-digit 医保码 payload is (a real phone's: 28 digits; the range allows for
#: the platforms' variants, and sits above every GTIN, ID number and 付款码 length).
EVOUCHER_DIGIT_LENGTHS = range(25, 33)
#: The first two digits of a province's area code (GB/T 2260).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()
)


def is_digit_evoucher(text: str) -> bool:
    """An all-digit 医保码 payload: 25–32 ASCII digits ending in a 6-digit area code."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) in EVOUCHER_DIGIT_LENGTHS
        and text[-6:-4] in _PROVINCES
    )


def classify(text: str, trace_patterns: tuple[re.Pattern, ...] = ()) -> ScannedCode:
    """Tell what was scanned by its shape. Surrounding whitespace is dropped.

    The rules, first match wins:

    1. ``GTIN``: 8, 12, 13 or 14 digits with a valid GS1 check digit.
    2. ``ID_NUMBER``: 18 characters with a valid GB 11643 check character and
       birth date; returned upper-cased (``x`` → ``X``).
    3. ``PAYMENT_CODE``: WeChat Pay, Alipay or UnionPay shape
       (see :func:`payment_code_issuer`); so 18 digits starting 10–15 that
       fail the ID checks are a WeChat code.
    4. ``TRACE`` (药品追溯码): 20 digits from ``8``, a serialised GS1 code, or one of
       ``trace_patterns`` (see :func:`is_trace_code`).
    5. ``EVOUCHER`` (医保电子凭证), inclusively:

       * an ``ecToken`` (38 chars: 6 digits + ``ec`` + 30 ``[0-9a-z]``);
       * a web address (``scheme://…``) only if it contains an e-voucher
         marker (``nhsa.gov.cn``, ``hsecfc``, ``ecqrcode`` or ``ybm:``, any
         case); any other web address is ``UNKNOWN``;
       * a ``ybm:…`` payload (what the sandbox's dynamic QR carries);
       * an all-digit payload of the 医保码's lengths (25–32 digits) that ends in
         an area code (the insured region's 6 digits, a real province prefix):
         what real phones show, never a product code;
       * any other opaque token: at least 20 printable ASCII characters
         with no whitespace, not all digits (base64, hex, …). An unknown
         QR of this shape goes to the e-voucher service, which refuses it
         with its own message.
    6. ``CODE128``: 4–40 characters of ``[A-Za-z0-9._-]`` (item and
       internal codes, a GTIN with a wrong check digit, other digit runs).
    7. ``UNKNOWN``: anything else (empty, non-ASCII, whitespace inside…).
    """
    text = text.strip()
    if not text:
        return ScannedCode(ScanKind.UNKNOWN, text)
    if is_valid_gtin(text):
        return ScannedCode(ScanKind.GTIN, text)
    if is_valid_id_number(text):
        return ScannedCode(ScanKind.ID_NUMBER, text.upper())
    if payment_code_issuer(text) is not None:
        return ScannedCode(ScanKind.PAYMENT_CODE, text)
    if is_trace_code(text, trace_patterns):
        return ScannedCode(ScanKind.TRACE, text.lstrip("\x1d"))
    if is_ec_token(text):
        return ScannedCode(ScanKind.EVOUCHER, text)
    lower = text.lower()
    if _URL_RE.match(text):
        marked = any(marker in lower for marker in _EVOUCHER_URL_MARKERS)
        return ScannedCode(ScanKind.EVOUCHER if marked else ScanKind.UNKNOWN, text)
    token_like = text.isascii() and text.isprintable() and not any(c.isspace() for c in text)
    if token_like and lower.startswith("ybm:") and len(text) > len("ybm:"):
        return ScannedCode(ScanKind.EVOUCHER, text)
    if is_digit_evoucher(text):
        return ScannedCode(ScanKind.EVOUCHER, text)
    if token_like and len(text) >= _EVOUCHER_MIN_LENGTH and not text.isdigit():
        return ScannedCode(ScanKind.EVOUCHER, text)
    if _CODE_RE.fullmatch(text):
        return ScannedCode(ScanKind.CODE128, text)
    return ScannedCode(ScanKind.UNKNOWN, text)


# -- masking personal data ---------------------------------------------------------------


def mask_id_number(text: str) -> str:
    """``1101**********1234``: the first 4 and last 4 characters kept, the rest starred.

    Eight characters or fewer are starred entirely.
    """
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明; a single character is kept."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Serial (USB-COM) scanners and camera frames (pyzbar) come later.
