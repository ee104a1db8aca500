"""纳税人识别号: a buyer's tax number as a 数电发票 carries it.

Since 2015 it is the 统一社会信用代码 (GB 32100-2015): 18 characters from
``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z), the last a check character computed from
the first 17 with fixed weights, modulo 31. Older registrations (15, 17 or 20 letters and
digits) are still accepted by the tax platforms; they carry no check character.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
OLDER_LENGTHS = (15, 17, 20)


def check_character(first17: str) -> str:
    """The 统一社会信用代码's 18th character for its first 17."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def valid(number: str) -> bool:
    """A tax number a 数电发票 may carry: a 统一社会信用代码 whose check character is right,
    or an older registration number of 15, 17 or 20 letters and digits."""
    number = number.strip().upper()
    if len(number) == 18:
        return all(c in ALPHABET for c in number) and check_character(number[:17]) == number[17]
    return len(number) in OLDER_LENGTHS and number.isascii() and number.isalnum()
