"""Scanners: keyboard-wedge burst detection and telling scanned codes apart by shape.

A keyboard-wedge scanner types its code as keys, much faster than a person,
and ends with Enter (or Tab). :class:`BurstDetector` sits in front of the UI:
it holds printable keys only while they could still be the start of a scan,
and gives every key back in order when they turn out to be typing. Time is
passed in, so the detector is deterministic and tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

# -- burst detection ----------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """Deliver this key to the UI as typed."""

    key: str
    char: str | None


@dataclass(frozen=True)
class Scan:
    """A complete scan; its terminator key was swallowed."""

    text: str


Action = Pass | Scan


@dataclass
class BurstDetector:
    """Tells a scanner's burst of keys from a person typing.

    Contract: every key a person typed comes back as a :class:`Pass`, in its
    order, exactly once; a printable key is held at most ``max_gap`` seconds
    after the previous key; a terminator after a fast burst of at least
    ``min_length`` characters yields :class:`Scan` and is swallowed.
    """

    max_gap: float = 0.05
    min_length: int = 6
    terminators: set[str] = field(default_factory=lambda: {"enter"})
    _held: list[Pass] = field(default_factory=list, init=False)
    _last: float | None = field(default=None, init=False)

    def push(self, key: str, char: str | None, now: float) -> list[Action]:
        out = self.expire(now)
        if key in self.terminators:
            if len(self._held) >= self.min_length:
                text = "".join(p.char or "" for p in self._held)
                self._held, self._last = [], None
                return [*out, Scan(text)]
            out.extend(self._release())
            out.append(Pass(key, char))
            return out
        if char is not None and len(char) == 1 and char.isprintable():
            self._held.append(Pass(key, char))
            self._last = now
            return out
        out.extend(self._release())
        out.append(Pass(key, char))
        return out

    def expire(self, now: float) -> list[Action]:
        """Release held keys once the gap since the last one is too long for a scanner."""
        if self._held and self._last is not None and now - self._last > self.max_gap:
            return self._release()
        return []

    def deadline(self) -> float | None:
        """When :meth:`expire` should next be called (``None``: nothing held)."""
        if self._held and self._last is not None:
            return self._last + self.max_gap + 1e-6
        return None

    def _release(self) -> list[Action]:
        held, self._held, self._last = self._held, [], None
        return list(held)


# -- what was scanned ------------------------------------------------------------------


class ScanKind(Enum):
    EVOUCHER = "evoucher"  # 医保电子凭证 dynamic QR payload or ecToken
    GTIN = "gtin"  # EAN-8, UPC-A, EAN-13, GTIN-14 with a valid check digit
    ID_NUMBER = "id_number"  # 18-character 居民身份证号码, checksum and birth date valid
    PAYMENT_CODE = "payment_code"  # WeChat Pay / Alipay / UnionPay 付款码
    CODE128 = "code128"  # other product or internal codes
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScannedCode:
    kind: ScanKind
    text: str


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    return (
        code.isascii()
        and code.isdigit()
        and len(code) in (8, 12, 13, 14)
        and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def is_valid_id_number(text: str) -> bool:
    """GB 11643: 17 digits, a check character, and a real birth date."""
    text = text.upper()
    if len(text) != 18 or not text[:17].isascii() or not text[:17].isdigit():
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not (1900 <= born.year and born <= date.today()):
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    return text[17] == check


def _is_payment_code(text: str) -> bool:
    if not (text.isascii() and text.isdigit()):
        return False
    head = int(text[:2]) if len(text) >= 2 else -1
    return (
        (len(text) == 18 and 10 <= head <= 15)  # WeChat Pay
        or (16 <= len(text) <= 24 and 25 <= head <= 30)  # Alipay
        or (len(text) == 19 and text.startswith("62"))  # UnionPay QuickPass
    )


def _is_ec_token(text: str) -> bool:
    """An e-voucher token: 6-digit area + ``ec`` + 30 lowercase alphanumerics."""
    return (
        len(text) == 38
        and text[:6].isdigit()
        and text[6:8] == "ec"
        and all(c.isdigit() or ("a" <= c <= "z") for c in text[8:])
    )


def classify(text: str) -> ScannedCode:
    """Tell what was scanned by its shape.

    Order matters: a valid GTIN, then a valid ID number, then a payment code.
    An e-voucher payload is opaque: an ecToken, or any payload of 20 or more
    characters that is not all digits and not a web address (the dynamic
    医保码 QR carries an opaque token; other QR codes are mostly URLs).
    """
    text = text.strip()
    if not text:
        return ScannedCode(ScanKind.UNKNOWN, text)
    if is_valid_gtin(text):
        return ScannedCode(ScanKind.GTIN, text)
    if is_valid_id_number(text):
        return ScannedCode(ScanKind.ID_NUMBER, text.upper())
    if _is_payment_code(text):
        return ScannedCode(ScanKind.PAYMENT_CODE, text)
    if _is_ec_token(text):
        return ScannedCode(ScanKind.EVOUCHER, text)
    lower = text.lower()
    if lower.startswith(("http://", "https://")):
        kind = ScanKind.EVOUCHER if "ybm" in lower or "hsecfc" in lower else ScanKind.UNKNOWN
        return ScannedCode(kind, text)
    if len(text) >= 20 and not text.isdigit() and text.isprintable():
        return ScannedCode(ScanKind.EVOUCHER, text)
    if 4 <= len(text) <= 40 and set(text) <= _CODE_CHARS:
        return ScannedCode(ScanKind.CODE128, text)
    return ScannedCode(ScanKind.UNKNOWN, text)


# -- masking personal data ---------------------------------------------------------------


def mask_id_number(text: str) -> str:
    """``110105**********1234`` style: the first 4 and last 4 characters kept."""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Serial (USB-COM) scanners and camera frames (pyzbar) come with the hardware issue.
