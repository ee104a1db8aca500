"""Clinic orders: the pending charges the clinic's system sends for a visit.

``import_orders`` reads a JSON or CSV file of orders (see README, 医嘱导入),
all-or-nothing like the catalog import: every problem is reported as
``FILE:LINE: message`` and nothing is written while any is left. An order
already imported and still pending is replaced; one already billed is refused.

The counter finds a patient's orders with :func:`pending_for`, loads their lines
with :func:`order_lines` and, inside the sale's transaction, marks them billed
with :func:`mark_billed`.

The drop folder: the clinic's system writes files into a folder;
:func:`import_dropped` imports each one and moves it to ``done/`` or
``failed/`` (with ``<name>.error.txt``); :func:`watch_folder` polls the folder
in a thread until told to stop.

Pure Python: nothing here imports Textual.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import json.decoder
import json.scanner
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cashier.devices.scanner import is_valid_id_number, mask_id_number
from cashier.errors import InputError
from cashier.messages import say
from cashier.store import bulk, keys
from cashier.store.models import ClinicOrder, ClinicOrderLine, Item, database, utcnow

log = logging.getLogger(__name__)

#: The CSV header: one row per order line, rows of one visit make one order.
CSV_COLUMNS = (
    "visit",
    "patient_name",
    "certno",
    "doctor_code",
    "doctor_name",
    "dept_code",
    "dept_name",
    "diag_code",
    "diag_name",
    "code",
    "quantity",
)
CSV_OPTIONAL = ("med_type",)

#: 医疗类别 accepted on an order (the insurer's med_type codes).
MED_TYPES = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病"}
DEFAULT_MED_TYPE = "11"
MAX_QUANTITY = 9999

PENDING = "pending"
BILLED = "billed"
CANCELLED = "cancelled"
_STATUS_LABELS = {BILLED: "已收费", CANCELLED: "已作废"}

# The order's fields: (attribute, label in messages, max length, required).
_FIELDS = (
    ("order_no", say("orders.column.visit"), 40, True),
    ("patient_name", say("orders.column.patient_name"), 50, True),
    ("certno", say("orders.column.certno"), 18, True),
    ("doctor_code", say("orders.column.doctor_code"), 30, True),
    ("doctor_name", say("orders.column.doctor_name"), 50, True),
    ("dept_code", say("orders.column.dept_code"), 30, True),
    ("dept_name", say("orders.column.dept_name"), 50, True),
    ("diag_code", say("orders.column.diag_code"), 30, False),
    ("diag_name", say("orders.column.diag_name"), 100, False),
    ("med_type", say("orders.column.med_type"), 4, False),
)
_ORDER_ATTRS = tuple(f[0] for f in _FIELDS)

# JSON: where each order field sits in an order object.
_JSON_PATHS = {
    "order_no": ("visit",),
    "patient_name": ("patient", "name"),
    "certno": ("patient", "certno"),
    "doctor_code": ("doctor", "code"),
    "doctor_name": ("doctor", "name"),
    "dept_code": ("department", "code"),
    "dept_name": ("department", "name"),
    "diag_code": ("diagnosis", "code"),
    "diag_name": ("diagnosis", "name"),
    "med_type": ("med_type",),
}
_JSON_KEYS = {"visit", "patient", "doctor", "department", "diagnosis", "med_type", "lines"}
_JSON_LINE_KEYS = {"code", "quantity"}

# CSV: the column of each order field.
_CSV_COLUMN_OF = {
    "order_no": "visit",
    "patient_name": "patient_name",
    "certno": "certno",
    "doctor_code": "doctor_code",
    "doctor_name": "doctor_name",
    "dept_code": "dept_code",
    "dept_name": "dept_name",
    "diag_code": "diag_code",
    "diag_name": "diag_name",
    "med_type": "med_type",
}


class OrdersGone(InputError):
    """The orders of a sale being saved were billed elsewhere or withdrawn meanwhile."""


class OrdersImportError(InputError):
    """An orders file with problems; ``problems`` lists each as (line, message).

    The message lists every problem as ``FILE:LINE: message``, one a line, and
    ends with :attr:`summary`; nothing was written.
    """

    def __init__(self, problems: list[tuple[int, str]], source: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: p[0])
        self.source = source or say("orders.source_unnamed")
        self.summary = say("orders.rejected", source=self.source, problems=len(self.problems))
        super().__init__("\n".join([*self.lines(), self.summary]))

    def lines(self) -> list[str]:
        """Each problem as ``FILE:LINE: message``."""
        return [f"{self.source}:{line}: {message}" for line, message in self.problems]


@dataclass(frozen=True)
class ImportResult:
    """What one import wrote: orders new and replaced (still pending ones), lines in all."""

    added: int
    replaced: int
    lines: int
    replaced_orders: tuple[str, ...] = ()  # order numbers of the replaced orders

    @property
    def total(self) -> int:
        return self.added + self.replaced

    def summary(self) -> str:
        """``已导入 3 张医嘱（替换 1 张），共 7 行``."""
        replaced = say("orders.replaced", replaced=self.replaced) if self.replaced else ""
        return say("orders.imported", total=self.total, replaced=replaced, lines=self.lines)


@dataclass(frozen=True)
class DropResult:
    """One file of the drop folder: imported (``result``) or not (``error``), and where it went."""

    file: Path  # where the file was found
    moved_to: Path | None  # in done/ or failed/; None if it could not be moved
    result: ImportResult | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None

    def summary(self) -> str:
        """One line for a notice: the file's name and what became of it."""
        if self.result is not None:
            return f"{self.file.name}：{self.result.summary()}"
        last = (
            self.error.strip().splitlines()[-1]
            if self.error.strip()
            else say("orders.import_failed")
        )
        return f"{self.file.name}：{last}"


@dataclass
class _Line:
    line: int  # in the file
    code: str
    quantity: int


@dataclass
class _Order:
    line: int  # in the file: the order's first line
    label: str  # how messages name the order
    fields: dict[str, str]
    lines: list[_Line] = field(default_factory=list)
    codes: list[tuple[int, str]] = field(default_factory=list)  # every code given, with its line


# -- reading -------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(say("orders.file_missing", path=path)) from None
    except UnicodeDecodeError:
        raise InputError(say("orders.not_utf8", path=path)) from None
    except IsADirectoryError:
        raise InputError(say("orders.is_directory", path=path)) from None
    except OSError as exc:
        raise InputError(say("orders.unreadable", path=path, strerror=exc.strerror)) from None


def _format_of(path: Path | None, fmt: str | None) -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in ("json", "csv"):
            raise InputError(say("orders.bad_format", fmt=fmt))
        return fmt
    suffix = path.suffix.lower() if path else ""
    if suffix in (".json", ".csv"):
        return suffix[1:]
    where = f"{path}：" if path else ""
    raise InputError(say("orders.format_unknown", where=where))


def _text_value(value: Any) -> str | None:
    """A JSON scalar as text (numbers allowed for codes); ``None`` if it is not one.

    A string with a lone surrogate (JSON's ``"\\ud800"``) is not text: no database can
    store it (found by the fuzz suite)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _quantity(value: Any) -> tuple[int | None, str]:
    if isinstance(value, bool):
        return None, say("orders.quantity_json", MAX_QUANTITY=MAX_QUANTITY, json=json.dumps(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, say("orders.quantity_missing")
        if not (text.isascii() and text.isdigit()):
            return None, say("orders.quantity_text", MAX_QUANTITY=MAX_QUANTITY, text=text)
        if len(text.lstrip("0")) > len(str(MAX_QUANTITY)):  # never int() a pasted digit run
            return None, say("orders.quantity_digits", MAX_QUANTITY=MAX_QUANTITY, text=len(text))
        value = int(text)
    if value is None:
        return None, say("orders.quantity_missing")
    if not isinstance(value, int):
        shown = json.dumps(value, ensure_ascii=False)
        return None, say("orders.quantity_shown", MAX_QUANTITY=MAX_QUANTITY, shown=shown)
    if not 1 <= value <= MAX_QUANTITY:
        return None, say("orders.quantity_value", MAX_QUANTITY=MAX_QUANTITY, value=value)
    return value, ""


class _LineDecoder(json.JSONDecoder):
    """A JSON decoder that remembers the line each object and array starts on."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.line_of: dict[int, int] = {}
        parse_object, parse_array = self.parse_object, self.parse_array

        def object_at(s_and_end, *args):
            obj, end = parse_object(s_and_end, *args)
            self.line_of[id(obj)] = self._line(s_and_end[1] - 1)
            return obj, end

        def array_at(s_and_end, *args):
            values, end = parse_array(s_and_end, *args)
            self.line_of[id(values)] = self._line(s_and_end[1] - 1)
            return values, end

        self.parse_object = object_at
        self.parse_array = array_at
        self.scan_once = json.scanner.py_make_scanner(self)

    def _line(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1


_JSON_MESSAGES = {
    "Expecting value": say("orders.json.value_expected"),
    "Expecting ',' delimiter": say("orders.json.comma"),
    "Expecting ':' delimiter": say("orders.json.colon"),
    "Expecting property name enclosed in double quotes": say("orders.json.key_quotes"),
    "Unterminated string starting at": say("orders.json.quote"),
    "Extra data": say("orders.json.extra"),
    "Invalid control character at": say("orders.json.control"),
    "Invalid \\escape": say("orders.json.escape"),
}


def _unclosed(text: str, upto: int) -> tuple[str, int] | None:
    """The innermost bracket still open at ``upto`` and its line (strings skipped)."""
    stack: list[tuple[str, int]] = []
    line, in_string, escaped = 1, False, False
    for ch in text[:upto]:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append((ch, line))
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _read_json(text: str) -> tuple[list[_Order], list[tuple[int, str]]]:
    decoder = _LineDecoder(text)
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as exc:
        message = _JSON_MESSAGES.get(exc.msg, exc.msg)
        opened = _unclosed(text, exc.pos)
        if opened is not None and exc.msg.startswith(
            ("Expecting ',' delimiter", "Expecting value")
        ):
            bracket, line = opened
            closing = "]" if bracket == "[" else "}"
            if not text[exc.pos :].strip():  # the file ended with it still open
                return [], [
                    (
                        line,
                        say("orders.json.unmatched", line=line, bracket=bracket, closing=closing),
                    )
                ]
            message = say("orders.json.unclosed", closing=closing, line=line, bracket=bracket)
        return [], [(exc.lineno, say("orders.json.syntax", colno=exc.colno, message=message))]
    except RecursionError:
        return [], [(1, say("orders.json.too_deep"))]
    except ValueError:  # an integer of more digits than Python converts
        return [], [(1, say("orders.json.digits"))]
    line_of = decoder.line_of
    if isinstance(data, dict):
        where = line_of.get(id(data), 1)
        unknown = sorted(k for k in data if k != "orders")
        if unknown:
            return [], [(where, say("orders.json.unknown_top", value=", ".join(unknown)))]
        if "orders" not in data:
            return [], [(where, say("orders.json.shape"))]
        data = data["orders"]
    if not isinstance(data, list):
        return [], [(line_of.get(id(data), 1), say("orders.json.shape"))]
    orders: list[_Order] = []
    problems: list[tuple[int, str]] = []
    for index, raw in enumerate(data, start=1):
        line = line_of.get(id(raw), 1)
        if not isinstance(raw, dict):
            problems.append((line, say("orders.json.order_object", index=index)))
            continue
        visit = _text_value(raw.get("visit"))
        label = say("orders.json.order_n", index=index) + (f"（{visit}）" if visit else "")
        errors: list[str] = []
        unknown = sorted(k for k in raw if k not in _JSON_KEYS)
        if unknown:
            errors.append(say("orders.unknown_fields", value=", ".join(unknown)))
        fields: dict[str, str] = {}
        for attr, path in _JSON_PATHS.items():
            node: Any = raw
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
                if node is not None and not isinstance(node, dict):
                    errors.append(say("orders.json.object", key=key))
                    node = None
                    break
            value = _text_value(node.get(path[-1]) if isinstance(node, dict) else None)
            if value is None:
                errors.append(say("orders.json.text", value=".".join(path)))
                value = ""
            fields[attr] = value
        order = _Order(line, label, fields)
        raw_lines = raw.get("lines")
        if raw_lines is None:
            raw_lines = []
        if not isinstance(raw_lines, list):
            errors.append(say("orders.json.lines_array"))
            raw_lines = []
        for n, raw_line in enumerate(raw_lines, start=1):
            at = line_of.get(id(raw_line), line)
            if not isinstance(raw_line, dict):
                problems.append((at, say("orders.json.line_object", label=label, n=n)))
                continue
            line_errors = []
            extra = sorted(k for k in raw_line if k not in _JSON_LINE_KEYS)
            if extra:
                line_errors.append(say("orders.unknown_fields", value=", ".join(extra)))
            code = _text_value(raw_line.get("code"))
            if code is None:
                line_errors.append(say("orders.code_text"))
            elif not code:
                line_errors.append(say("orders.code_missing"))
            elif not code.isprintable():  # a NUL no database stores; no code has control chars
                line_errors.append(say("orders.code_unprintable"))
            else:
                order.codes.append((at, code))
            quantity, error = _quantity(raw_line.get("quantity"))
            if error:
                line_errors.append(error)
            problems.extend(
                (at, say("orders.line_problem", label=label, n=n, e=e)) for e in line_errors
            )
            if not line_errors:
                assert code is not None and quantity is not None
                order.lines.append(_Line(at, code, quantity))
        if not raw_lines:
            errors.append(say("orders.no_lines"))
        problems.extend((line, f"{label}：{e}") for e in errors)
        orders.append(order)
    return orders, problems


def _read_csv(text: str) -> tuple[list[_Order], list[tuple[int, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _read_csv_rows(reader)
    except csv.Error as exc:  # a cell longer than csv's field limit, say
        return [], [(max(reader.line_num, 1), say("orders.csv.syntax", exc=exc))]


def _read_csv_rows(reader: csv.DictReader) -> tuple[list[_Order], list[tuple[int, str]]]:
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    if not any(header):
        return [], [(1, say("orders.csv.empty"))]
    reader.fieldnames = header
    allowed = (*CSV_COLUMNS, *CSV_OPTIONAL)
    problems: list[tuple[int, str]] = []
    extra = [h for h in header if h not in allowed]
    if extra:
        problems.append(
            (1, say("orders.csv.unknown_columns", value=", ".join(extra), value2=",".join(allowed)))
        )
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        problems.append((1, say("orders.csv.missing_columns", value=", ".join(missing))))
    doubled = sorted({h for h in header if header.count(h) > 1})
    if doubled:
        problems.append((1, say("orders.csv.doubled_columns", value=", ".join(doubled))))
    if problems:
        return [], problems
    by_visit: dict[str, _Order] = {}
    orders: list[_Order] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append((line, say("orders.csv.extra_cells")))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        get = {k: (row.get(k) or "").strip() for k in allowed}
        fields = {attr: get[column] for attr, column in _CSV_COLUMN_OF.items()}
        visit = fields["order_no"]
        order = by_visit.get(visit) if visit else None
        if order is None:
            order = _Order(
                line,
                say("orders.order_visit", visit=visit) if visit else say("orders.order"),
                fields,
            )
            orders.append(order)
            if visit:
                by_visit[visit] = order
        elif fields != order.fields:  # the visit's other lines repeat its first's fields
            for attr, column in _CSV_COLUMN_OF.items():
                mine, theirs = _normal(attr, fields[attr]), _normal(attr, order.fields[attr])
                if mine != theirs:
                    problems.append(
                        (
                            line,
                            say(
                                "orders.csv.inconsistent",
                                visit=visit,
                                column=column,
                                line=order.line,
                            ),
                        )
                    )
        row_errors = []
        if not get["code"]:
            row_errors.append(say("orders.code_missing"))
        elif not get["code"].isprintable():
            row_errors.append(say("orders.code_unprintable"))
        else:
            order.codes.append((line, get["code"]))
        quantity, error = _quantity(get["quantity"])
        if error:
            row_errors.append(error)
        problems.extend((line, e) for e in row_errors)
        if not row_errors:
            assert quantity is not None
            order.lines.append(_Line(line, get["code"], quantity))
    return orders, problems


def _normal(attr: str, value: str) -> str:
    if attr == "certno":
        return value.upper()
    if attr == "med_type":
        return value or DEFAULT_MED_TYPE
    return value


# -- checking ------------------------------------------------------------------------


def _check_fields(order: _Order) -> list[str]:
    errors = []
    f = order.fields
    f["certno"] = f["certno"].upper()
    f["med_type"] = f["med_type"] or DEFAULT_MED_TYPE
    for attr, label, max_length, required in _FIELDS:
        value = f[attr]
        if required and not value:
            errors.append(say("orders.field_missing", label=label))
        elif len(value) > max_length:
            errors.append(say("orders.field_too_long", label=label, max_length=max_length))
        elif value and not value.isprintable():
            errors.append(say("orders.field_unprintable", label=label))
    if f["certno"] and not is_valid_id_number(f["certno"]):
        shown = mask_id_number(f["certno"])
        if len(f["certno"]) != 18:
            errors.append(say("orders.id_length", shown=shown, f=len(f["certno"])))
        else:
            errors.append(say("orders.id_check", shown=shown))
    if f["med_type"] not in MED_TYPES:
        allowed = "、".join(f"{k}（{v}）" for k, v in MED_TYPES.items())
        errors.append(say("orders.med_type", allowed=allowed, f=f["med_type"]))
    if bool(f["diag_code"]) != bool(f["diag_name"]):
        errors.append(say("orders.diagnosis_pair"))
    return errors


def _active_codes(codes: Iterable[str]) -> set[str]:
    wanted = sorted(set(codes))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = Item.select(Item.code).where(
            Item.code.in_(chunk) & (Item.active == True)  # noqa: E712
        )
        found.update(code for (code,) in query.tuples())
    return found


def _existing(order_nos: Sequence[str]) -> dict[str, ClinicOrder]:
    found: dict[str, ClinicOrder] = {}
    for start in range(0, len(order_nos), 500):
        chunk = list(order_nos[start : start + 500])
        for order in ClinicOrder.select().where(ClinicOrder.order_no.in_(chunk)):
            found[order.order_no] = order
    return found


def _check(orders: list[_Order], problems: list[tuple[int, str]]) -> dict[str, ClinicOrder]:
    """Add every problem of the orders themselves and against the database; the existing ones."""
    first_line: dict[str, int] = {}
    for order in orders:
        problems.extend((order.line, f"{order.label}：{e}") for e in _check_fields(order))
        no = order.fields["order_no"]
        if no in first_line:
            problems.append(
                (
                    order.line,
                    say("orders.visit_twice", label=order.label, no=no, first_line=first_line[no]),
                )
            )
        elif no:
            first_line[no] = order.line
    known = _active_codes(code for order in orders for _, code in order.codes)
    for order in orders:
        for at, code in order.codes:
            if code not in known:
                problems.append((at, say("orders.item_unknown", label=order.label, code=code)))
    existing = _existing(list(first_line))
    for no, old in existing.items():
        if old.status != PENDING:
            state = _STATUS_LABELS.get(old.status, old.status)
            problems.append((first_line[no], say("orders.already_done", no=no, state=state)))
    return existing


# -- importing -----------------------------------------------------------------------


def import_orders(
    path: Path | str | None = None,
    *,
    text: str | None = None,
    fmt: str | None = None,
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
    batch: int = 500,
) -> ImportResult:
    """Import a JSON or CSV file of clinic orders (a path, or its text): all or nothing.
    ``progress(done, total)`` after each batch of orders.

    The format comes from ``fmt`` (``json`` / ``csv``) or the path's suffix.
    ``source`` names the file in messages and on the orders (default: the path).
    Raises :class:`OrdersImportError` listing every problem, or :class:`InputError`
    when the file cannot be read at all. A pending order with the same visit number
    is replaced (fields and lines); a billed one is refused.
    """
    path = Path(path) if path is not None else None
    source = source or (str(path) if path else "")
    kind = _format_of(path, fmt)
    if text is None:
        if path is None:
            raise ValueError("path or text")
        text = _read_text(path)
    text = text.removeprefix("\ufeff")
    reader = _read_json if kind == "json" else _read_csv
    orders, problems = reader(text)
    if not problems and not orders:
        problems.append((1, say("orders.no_orders")))
    if problems and not orders:
        raise OrdersImportError(problems, source)
    added = replaced = lines = 0
    replaced_nos: list[str] = []
    with database.atomic():
        existing = _check(orders, problems)
        if problems:
            raise OrdersImportError(problems, source)
        now = utcnow()
        key = keys.current()
        fields = [getattr(ClinicOrder, attr) for attr in _ORDER_ATTRS]
        for start in range(0, len(orders), batch):
            chunk = orders[start : start + batch]
            new = []  # the batch's new orders, written with one statement prepared
            for order in chunk:
                values = {attr: order.fields[attr] for attr in _ORDER_ATTRS}
                # The ID number is kept masked, and found by its keyed digest (issue 17).
                values["certno_tag"] = key.tag(values["certno"])
                values["certno"] = mask_id_number(values["certno"])
                old = existing.get(order.fields["order_no"])
                if old is None:
                    new.append(values)
                    continue
                update: dict[str, Any] = {**values, "source": source[:200]}
                if old.certno_tag != values["certno_tag"]:
                    update["mdtrt_id"] = ""  # the insurer's visit was someone else's
                ClinicOrder.update(**update).where(ClinicOrder.id == old.id).execute()
                ClinicOrderLine.delete().where(ClinicOrderLine.order == old.id).execute()
                replaced += 1
                replaced_nos.append(old.order_no)
            bulk.insert_rows(
                ClinicOrder,
                (*fields, ClinicOrder.certno_tag, ClinicOrder.status, ClinicOrder.source,
                 ClinicOrder.imported_at),
                [(*(v[a] for a in _ORDER_ATTRS), v["certno_tag"], PENDING, source[:200], now)
                 for v in new],
            )  # fmt: skip
            added += len(new)
            ids = dict(
                ClinicOrder.select(ClinicOrder.order_no, ClinicOrder.id)
                .where(ClinicOrder.order_no.in_([o.fields["order_no"] for o in chunk]))
                .tuples()
            )
            lines += bulk.insert_rows(
                ClinicOrderLine,
                (ClinicOrderLine.order, ClinicOrderLine.line_no, ClinicOrderLine.code,
                 ClinicOrderLine.quantity),
                [(ids[o.fields["order_no"]], n, line.code, line.quantity)
                 for o in chunk for n, line in enumerate(o.lines, start=1)],
            )  # fmt: skip
            if progress:
                progress(min(start + batch, len(orders)), len(orders))
    return ImportResult(added, replaced, lines, tuple(replaced_nos))


# -- at the counter ------------------------------------------------------------------


def of_patient(certno: str):
    """The condition "the order is this patient's" (ID numbers are kept as keyed digests)."""
    return ClinicOrder.certno_tag == keys.current().tag(certno.strip().upper())


def pending_for(certno: str) -> list[ClinicOrder]:
    """The patient's orders not yet billed, oldest first."""
    return list(
        ClinicOrder.select()
        .where(of_patient(certno) & (ClinicOrder.status == PENDING))
        .order_by(ClinicOrder.imported_at, ClinicOrder.id)
    )


def order_lines(order: ClinicOrder | int) -> list[tuple[Item, int]]:
    """The order's lines as (catalog item, quantity), in the order's line order.

    Raises :class:`InputError` naming the codes no longer in the catalog (or deactivated).
    """
    order_id = order if isinstance(order, int) else order.id
    rows = list(
        ClinicOrderLine.select()
        .where(ClinicOrderLine.order == order_id)
        .order_by(ClinicOrderLine.line_no)
    )
    codes = {row.code for row in rows}
    items = {
        item.code: item
        for item in Item.select().where(Item.code.in_(list(codes)) & (Item.active == True))  # noqa: E712
    }
    gone = sorted(codes - set(items))
    if gone:
        no = order.order_no if isinstance(order, ClinicOrder) else str(order_id)
        raise InputError(say("orders.item_gone", no=no, value="、".join(gone)))
    return [(items[row.code], row.quantity) for row in rows]


def mark_billed(order_ids: Iterable[int], sale_id: int) -> None:
    """Mark pending orders billed by a sale; call inside the sale's transaction.

    Raises :class:`InputError` (so the sale rolls back) if any of them is no longer
    pending — billed at another counter meanwhile, say.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return
    with database.atomic():
        count = (
            ClinicOrder.update(status=BILLED, sale=sale_id)
            .where(ClinicOrder.id.in_(ids) & (ClinicOrder.status == PENDING))
            .execute()
        )
        if count != len(ids):
            raise OrdersGone(say("orders.taken"))


def set_mdtrt_id(order_id: int, mdtrt_id: str) -> None:
    """Remember the insurer's visit (2201's ``mdtrt_id``) so that a second try reuses it."""
    ClinicOrder.update(mdtrt_id=mdtrt_id).where(ClinicOrder.id == order_id).execute()


# -- the drop folder -----------------------------------------------------------------

DONE = "done"
FAILED = "failed"
SUFFIXES = (".json", ".csv")
MIN_AGE_S = 1.0  # younger files may still be being written


def _candidates(folder: Path, now: float, min_age: float) -> list[tuple[float, str, Path]]:
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        name = entry.name
        lower = name.lower()
        if name.startswith(".") or lower.endswith((".tmp", ".part")):
            continue
        if not lower.endswith(SUFFIXES):
            continue
        try:
            if not entry.is_file():
                continue
            mtime = entry.stat().st_mtime
        except OSError:
            continue  # gone meanwhile
        if now - mtime < min_age:
            continue
        found.append((mtime, name, Path(entry.path)))
    found.sort()
    return found


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.json`` and so on if that is taken."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while target.exists() or (folder / f"{target.name}.error.txt").exists():
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _mask_id_numbers(path: Path) -> None:
    """Rewrite an imported file with every ID number masked (kept for the record only; the
    orders are in the database). A failed file is left whole for the clinic to correct."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        masked = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
        if masked != text:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(masked, encoding="utf-8")
            os.replace(tmp, path)
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot mask %s: %s", path, exc)


def _import_one(path: Path) -> DropResult:
    try:
        result: ImportResult | None = import_orders(path, source=path.name)
        error = ""
    except InputError as exc:
        result, error = None, str(exc)
    except Exception as exc:  # one bad file never stops the folder
        log.exception("importing %s", path)
        result, error = (
            None,
            say("orders.internal", name=path.name, name2=type(exc).__name__, exc=exc),
        )
    target_dir = path.parent / (DONE if result is not None else FAILED)
    try:
        target_dir.mkdir(exist_ok=True)
        target = _free_name(target_dir, path.name)
        os.replace(path, target)
        if result is not None:
            _mask_id_numbers(target)  # imported: the copy kept need not hold ID numbers
        if result is None:
            target.with_name(f"{target.name}.error.txt").write_text(error + "\n", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot move %s to %s: %s", path, target_dir, exc)
        note = say(
            "orders.cannot_move", name=path.name, name2=target_dir.name, value=exc.strerror or exc
        )
        return DropResult(path, None, result, f"{error}\n{note}" if error else note)
    return DropResult(path, target, result, error)


def import_dropped(folder: Path, *, min_age: float = MIN_AGE_S) -> list[DropResult]:
    """Import every ``*.json`` / ``*.csv`` file in the folder, oldest first.

    Each file goes to ``folder/done/`` or ``folder/failed/`` after its attempt
    (a failed one with ``<name>.error.txt`` beside it). Files younger than
    ``min_age`` seconds, hidden ones and ``*.tmp`` / ``*.part`` are left alone.
    """
    return _drop_once(Path(folder), min_age=min_age, skip=set())


def _drop_once(folder: Path, *, min_age: float, skip: set[tuple[str, int]]) -> list[DropResult]:
    results = []
    for mtime, name, path in _candidates(folder, time.time(), min_age):
        key = (name, int(mtime * 1e9))
        if key in skip:
            continue  # could not be moved before: not again and again
        result = _import_one(path)
        if result.moved_to is None:
            skip.add(key)
        results.append(result)
    return results


def watch_folder(
    folder: Path,
    stop: threading.Event,
    on_result: Callable[[DropResult], None],
    interval: float = 2.0,
) -> None:
    """Poll the drop folder every ``interval`` seconds until ``stop`` is set.

    Run it in a thread of its own; ``on_result`` is called in that thread for
    every file attempted. Nothing a file or ``on_result`` does stops the watching.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot create the drop folder %s: %s", folder, exc)
    skip: set[tuple[str, int]] = set()
    try:
        while not stop.is_set():
            try:
                results = _drop_once(folder, min_age=MIN_AGE_S, skip=skip)
            except Exception:
                log.exception("polling %s", folder)
                results = []
            for result in results:
                try:
                    on_result(result)
                except Exception:
                    log.exception("on_result for %s", result.file)
            stop.wait(interval)
    finally:
        if database.obj is not None and not database.is_closed():
            database.close()  # this thread's connection


def demo_orders_text() -> str:
    """The sample orders for the sandbox's people (``cashier/data/demo_orders.json``)."""
    return resources.files("cashier").joinpath("data/demo_orders.json").read_text("utf-8")
