"""peewee fields for money and ratios: exact on every backend, never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from peewee import BigIntegerField, CharField

from cashier.domain.money import Fen


class FenField(BigIntegerField):
    """Stores a :class:`Fen` as an integer count of fen."""

    def db_value(self, value: Fen | None) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Fen):
            raise TypeError(f"{self.name} takes Fen, not {type(value).__name__}")
        return value.fen

    def python_value(self, value: int | None) -> Fen | None:
        return None if value is None else Fen(int(value))


class RatioField(CharField):
    """Stores a Decimal ratio (e.g. ``selfpay_prop``) as its exact text."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 12)
        super().__init__(*args, **kwargs)

    def db_value(self, value: Decimal | None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"{self.name} takes Decimal, not {type(value).__name__}")
        return str(value)

    def python_value(self, value: str | None) -> Decimal | None:
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - only a hand-edited database
            raise ValueError(f"bad ratio in database: {value!r}") from None
