"""Money as integer fen.

Inside the cashier every amount is a :class:`Fen`: an exact count of fen (分,
1/100 yuan). ``Decimal`` appears only where text or JSON comes in or goes out,
and floats are refused everywhere, so no amount is ever rounded by accident.
Rounding, where the rules ask for it, is explicit and ROUND_HALF_UP.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import total_ordering

from cashier.errors import InputError
from cashier.messages import say

__all__ = ["MAX_INPUT_FEN", "Fen", "MoneyError"]

#: The largest amount a cashier can type: ten million yuan is no counter sale.
MAX_INPUT_FEN = 10_000_000_00

_CURRENCY_MARKS = ("￥", "¥", "元", "RMB", "CNY")
#: An insurer's amount at or above this (yuan) is refused: 10¹⁸ fen still fits a BIGINT.
_MAX_JSON_YUAN = Decimal(10) ** 16


class MoneyError(InputError):
    """Text that is not an amount of money, with a message for the cashier."""


@total_ordering
class Fen:
    """An exact amount of money in fen. Immutable; floats are refused."""

    __slots__ = ("_fen",)

    def __init__(self, fen: int = 0) -> None:
        if isinstance(fen, Fen):
            fen = fen._fen
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise TypeError(f"Fen takes an int count of fen, not {type(fen).__name__}")
        self._fen = fen

    # -- constructors -------------------------------------------------------
    @classmethod
    def from_decimal(cls, yuan: Decimal) -> Fen:
        """Yuan as a Decimal, rounded ROUND_HALF_UP to the fen."""
        if isinstance(yuan, float) or not isinstance(yuan, Decimal | int):
            raise TypeError(f"yuan must be Decimal or int, not {type(yuan).__name__}")
        fen = (Decimal(yuan) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return cls(int(fen))

    @classmethod
    def from_json(cls, value: object) -> Fen:
        """An insurer's JSON amount (number or string, yuan, 2 decimals) as fen.

        JSON numbers arrive as float from ``json.loads``; ``repr`` of a float
        is the shortest text that reads back the same, so ``Decimal(str(x))``
        recovers exactly what the sender wrote.
        """
        if isinstance(value, bool) or value is None:
            raise MoneyError(say("domain.money.not_money", value=value))
        try:
            yuan = Decimal(str(value).strip())
        except InvalidOperation:
            raise MoneyError(say("domain.money.not_money", value=value)) from None
        if not yuan.is_finite():
            raise MoneyError(say("domain.money.not_money", value=value))
        if abs(yuan) >= _MAX_JSON_YUAN:  # and quantize() below would raise InvalidOperation
            raise MoneyError(say("domain.money.too_large", value=value))
        if yuan != yuan.quantize(Decimal("0.01")):
            raise MoneyError(say("domain.money.too_precise", value=value))
        return cls.from_decimal(yuan)

    @classmethod
    def parse(cls, text: str, *, allow_zero: bool = True, allow_negative: bool = False) -> Fen:
        """Parse what a cashier types: ``12``, ``12.5``, ``12.50``, ``１２.５０``, ``￥1,234.5``.

        More than two decimals, letters, or amounts above :data:`MAX_INPUT_FEN`
        are refused with a :class:`MoneyError` that says what to type instead.
        """
        if not isinstance(text, str):
            raise TypeError(f"parse takes str, not {type(text).__name__}")
        raw = unicodedata.normalize("NFKC", text).strip()  # full-width digits and dot
        raw = raw.replace("。", ".").replace(",", "").replace(" ", "")
        for mark in _CURRENCY_MARKS:
            raw = raw.replace(mark, "")
        if not raw:
            raise MoneyError(say("domain.money.enter_amount"))
        negative = raw.startswith("-")
        digits = raw[1:] if negative or raw.startswith("+") else raw
        whole, dot, frac = digits.partition(".")
        if (
            not (whole or frac)
            or not (whole.isascii() and (whole.isdigit() or whole == ""))
            or not (frac.isascii() and (frac.isdigit() or frac == ""))
            or (dot and not frac and not whole)
        ):
            raise MoneyError(say("domain.money.not_amount", text=text))
        if len(frac) > 2:
            raise MoneyError(say("domain.money.below_fen", text=text))
        whole = whole.lstrip("0")
        if len(whole) > len(str(MAX_INPUT_FEN)):  # never int() a pasted digit run
            raise MoneyError(say("domain.money.too_large_text", text=text))
        fen = int(whole or "0") * 100 + int((frac + "00")[:2])
        if negative:
            if not allow_negative:
                raise MoneyError(say("domain.money.negative"))
            fen = -fen
        if abs(fen) > MAX_INPUT_FEN:
            raise MoneyError(say("domain.money.too_large_text", text=text))
        if fen == 0 and not allow_zero:
            raise MoneyError(say("domain.money.zero"))
        return cls(fen)

    @staticmethod
    def total(amounts: Iterable[Fen]) -> Fen:
        """The sum of amounts; ``Fen(0)`` for none."""
        fen = 0
        for a in amounts:
            fen += _fen_of(a)
        return Fen(fen)

    # -- views ----------------------------------------------------------------
    @property
    def fen(self) -> int:
        return self._fen

    def to_decimal(self) -> Decimal:
        """Yuan with exactly two decimals, for JSON and CSV out."""
        return (Decimal(self._fen) / 100).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        sign = "-" if self._fen < 0 else ""
        yuan, fen = divmod(abs(self._fen), 100)
        return f"{sign}{yuan}.{fen:02d}"

    def display(self, *, grouping: bool = False) -> str:
        """``￥12.50`` (full-width yuan sign, which every printer and font has)."""
        sign = "-" if self._fen < 0 else ""
        yuan, fen = divmod(abs(self._fen), 100)
        whole = f"{yuan:,}" if grouping else str(yuan)
        return f"{sign}￥{whole}.{fen:02d}"

    def __repr__(self) -> str:
        return f"Fen({self._fen})"

    # -- arithmetic -------------------------------------------------------------
    def __add__(self, other: Fen) -> Fen:
        return Fen(self._fen + _fen_of(other))

    __radd__ = __add__

    def __sub__(self, other: Fen) -> Fen:
        return Fen(self._fen - _fen_of(other))

    def __rsub__(self, other: Fen) -> Fen:
        return Fen(_fen_of(other) - self._fen)

    def __neg__(self) -> Fen:
        return Fen(-self._fen)

    def __abs__(self) -> Fen:
        return Fen(abs(self._fen))

    def __mul__(self, count: int) -> Fen:
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError("Fen multiplies by an int count; use mul_ratio for a ratio")
        return Fen(self._fen * count)

    __rmul__ = __mul__

    def mul_ratio(self, ratio: Decimal) -> Fen:
        """This amount times a Decimal ratio, ROUND_HALF_UP to the fen."""
        if not isinstance(ratio, Decimal):
            raise TypeError("ratio must be a Decimal")
        fen = (Decimal(self._fen) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Fen(int(fen))

    def __bool__(self) -> bool:
        return self._fen != 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Fen):
            return self._fen == other._fen
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self._fen == 0  # comparing with a literal 0 is allowed
        return NotImplemented

    def __lt__(self, other: Fen) -> bool:
        return self._fen < _fen_of(other)

    def __hash__(self) -> int:
        return hash(("Fen", self._fen))


def _fen_of(value: object) -> int:
    if isinstance(value, Fen):
        return value._fen
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0  # so that sum() and `x + 0` work
    raise TypeError(f"cannot mix Fen with {type(value).__name__}")
