"""Many rows at once: one statement prepared, every row sent with ``executemany``.

peewee builds a statement object per row (some 100 µs of Python for an item's eighteen
columns, measured: half of an import's time). These build the statement once from the
model's own columns and convert each value with its field's ``db_value``, as peewee would;
the driver then runs it for every row (SQLite in a loop in C, psycopg in a pipeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from peewee import Field, Model

from cashier.store.models import database


def _default(field: Field) -> Any:
    return field.db_value(field.default() if callable(field.default) else field.default)


def insert_rows(model: type[Model], fields: Sequence[Field], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (values in ``fields`` order); the model's other columns with a
    default take it. The number of rows sent."""
    given = {f.name for f in fields}
    rest = [f for f in model._meta.sorted_fields if f.name not in given and f.default is not None]
    defaults = tuple(_default(f) for f in rest)
    columns = ", ".join(f'"{f.column_name}"' for f in (*fields, *rest))
    marks = ", ".join([database.param] * (len(fields) + len(rest)))
    values = [
        (*(f.db_value(v) for f, v in zip(fields, row, strict=True)), *defaults) for row in rows
    ]
    if values:
        sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
        database.cursor().executemany(sql, values)
    return len(values)


def update_rows(
    model: type[Model],
    fields: Sequence[Field],
    rows: Iterable[Sequence],
    *,
    key: Field,
    keep_if_none: Sequence[Field] = (),
) -> int:
    """Update each row (values in ``fields`` order, then the ``key`` value). A field of
    ``keep_if_none`` keeps its stored value where the row gives ``None``."""
    keep = {f.name for f in keep_if_none}
    p = database.param
    sets = ", ".join(
        f'"{f.column_name}" = COALESCE({p}, "{f.column_name}")'
        if f.name in keep
        else f'"{f.column_name}" = {p}'
        for f in fields
    )
    values = [
        (
            *(None if v is None and f.name in keep else f.db_value(v)
              for f, v in zip(fields, row[:-1], strict=True)),
            key.db_value(row[-1]),
        )
        for row in rows
    ]  # fmt: skip
    if values:
        sql = f'UPDATE "{model._meta.table_name}" SET {sets} WHERE "{key.column_name}" = {p}'
        database.cursor().executemany(sql, values)
    return len(values)
