"""JSON without floats: numbers are read as Decimal and written exactly; money becomes Fen."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from cashier.domain.money import Fen, MoneyError
from cashier.insurer.protocol.errors import ProtocolError
from cashier.messages import say


def dumps(obj: Any) -> str:
    """JSON text (UTF-8 characters, no ASCII escapes) in which no float can appear.

    ``Fen`` is written as a number with exactly two decimals (``Fen(1250)`` →
    ``12.50``), ``Decimal`` as its plain digits (``Decimal("0.10")`` → ``0.10``).
    A float raises ``TypeError``: every amount must already be exact.
    """
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def _encode(obj: Any, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, Fen):
        out.append(str(obj))  # always "-?digits.dd"
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"dumps: {obj!r} is not a JSON number")
        out.append(format(obj, "f"))
    elif isinstance(obj, float):
        raise TypeError("dumps refuses floats: use Fen for amounts and Decimal for ratios")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if not isinstance(key, str):
                raise TypeError(f"dumps: object keys must be str, not {type(key).__name__}")
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _encode(value, out)
        out.append("]")
    else:
        raise TypeError(f"dumps cannot write {type(obj).__name__}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(say("insurer.jsonio.not_number", name=name))


def _parse_json(text: str | bytes | bytearray) -> Any:
    """JSON with numbers as Decimal/int; ``ValueError`` with a short reason otherwise."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(say("insurer.jsonio.not_utf8")) from None
    if not isinstance(text, str):
        raise ValueError(say("insurer.jsonio.not_json_text", name=type(text).__name__))
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            say("insurer.jsonio.bad_json", lineno=exc.lineno, colno=exc.colno, msg=exc.msg)
        ) from None
    except RecursionError:
        raise ValueError(say("insurer.jsonio.too_deep")) from None
    except InvalidOperation:  # Decimal() of a number whose exponent has no end in sight
        raise ValueError(say("insurer.jsonio.out_of_range")) from None


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (never a float).

    Text that is not JSON raises :class:`ProtocolError`.
    """
    try:
        return _parse_json(text)
    except ValueError as exc:
        raise ProtocolError(say("insurer.jsonio.message", exc=exc), detail=str(exc)) from None


def _shown(value: object) -> str:
    if value is None:
        return "空值"
    return repr(value) if isinstance(value, str) else str(value)


def money(value: object, field: str = "金额") -> Fen:
    """A JSON amount (number or string, yuan, at most two decimals) as Fen.

    Anything else raises :class:`ProtocolError` naming ``field``.
    """
    try:
        return Fen.from_json(value)
    except MoneyError:
        raise ProtocolError(
            say("insurer.jsonio.not_money", field=field, value=_shown(value)),
            detail=f"{field}={_shown(value)}",
        ) from None
