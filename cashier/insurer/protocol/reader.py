"""Reading JSON objects field by field: every failure names the node and the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cashier.domain.money import Fen, MoneyError
from cashier.insurer.protocol.codes import _INF_TIME
from cashier.insurer.protocol.errors import ProtocolError
from cashier.insurer.protocol.jsonio import _shown
from cashier.messages import say


class _Reader:
    """One JSON object being read; failures name the node and field."""

    __slots__ = ("fail", "node", "where")

    def __init__(self, node: object, where: str, fail: Callable[[str], ProtocolError]) -> None:
        if not isinstance(node, dict):
            raise fail(say("insurer.reader.not_object", where=where, value=_json_kind(node)))
        self.node: dict[str, Any] = node
        self.where = where
        self.fail = fail

    def _missing(self, key: str) -> ProtocolError:
        return self.fail(say("insurer.reader.missing", where=self.where, key=key))

    def optional_text(self, key: str) -> str | None:
        value = self.node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # some gateways send codes as numbers
        raise self.fail(
            say("insurer.reader.not_text", where=self.where, key=key, value=_json_kind(value))
        )

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.optional_text(key)
        if required and not value:
            raise self._missing(key)
        return value or ""

    def amount(self, key: str, *, default: Fen | None = None) -> Fen:
        value = self.node.get(key)
        if value is None or value == "":
            if default is None:
                raise self._missing(key)
            return default
        try:
            return Fen.from_json(value)
        except MoneyError:
            raise self.fail(
                say("insurer.reader.not_money", where=self.where, key=key, value=_shown(value))
            ) from None

    def decimal(self, key: str, *, default: Decimal | None = None) -> Decimal | None:
        value = self.node.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise self.fail(
                say("insurer.reader.not_number", where=self.where, key=key, value=_shown(value))
            )
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(
                say("insurer.reader.not_number", where=self.where, key=key, value=_shown(value))
            ) from None
        if not number.is_finite():
            raise self.fail(
                say("insurer.reader.not_number", where=self.where, key=key, value=_shown(value))
            )
        return number

    def ratio(self, key: str) -> Decimal:
        number = self.decimal(key)
        if number is None:
            raise self._missing(key)
        return number

    def child(self, key: str) -> _Reader:
        if self.node.get(key) is None:
            raise self._missing(key)
        return _Reader(self.node[key], f"{key}", self.fail)

    def children(self, key: str) -> list[Any]:
        """A list node; missing or null is an empty list."""
        value = self.node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(say("insurer.reader.not_array", key=key, value=_json_kind(value)))
        return value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, str):
        return "文本"
    if isinstance(value, int | Decimal | float):
        return "数值"
    if isinstance(value, list):
        return "数组"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__


def _time_text(value: datetime | str) -> str:
    return value.strftime(_INF_TIME) if isinstance(value, datetime) else str(value)


def _date_text(value: date | str) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else str(value)
