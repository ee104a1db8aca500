"""The catalog: items, barcodes, 医保目录 codes, list classes, price caps, search.

``import_catalog`` reads the catalog CSV of design.md, all-or-nothing: every
bad row is reported with its line number and nothing is written while any row
is bad. Search finds items by code, barcode, name substring and 拼音 initials.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from cashier.domain.money import Fen, MoneyError
from cashier.errors import InputError, NotAllowed
from cashier.messages import say
from cashier.services import audit, mnemonic
from cashier.services.operators import Role, SignedIn
from cashier.store import bulk
from cashier.store.models import Barcode, Item, database, utcnow

COLUMNS = (
    "code",
    "barcode",
    "name",
    "spec",
    "unit",
    "price",
    "med_list_codg",
    "list_class",
    "selfpay_prop",
    "price_cap",
    "fee_category",
    "stock",
    # Optional, added later (design.md: extend, never rename). Absent from a file: an
    # item's flags stay as they were.
    "rx_flag",  # 1 = a prescription drug (处方药): sold on a prescription
    "trac_required",  # 1 = each box's 追溯码 is scanned at dispensing
    "aprvno",  # 批准文号 (国药准字…): how an item is found in the insurer's catalog
    "pinyin",  # 助记码: the clinic system's own mnemonic code, found beside the 拼音 initials
)
#: Yes and no as a catalog's flag columns may spell them.
_FLAGS = {"1": True, "0": False, "": False, "true": True, "false": False, "y": True,
          "n": False, "yes": True, "no": False, "是": True, "否": False}  # fmt: skip
REQUIRED = ("code", "name", "price")
LIST_CLASSES = {"甲": "01", "乙": "02", "丙": "03"}  # → chrgitm_lv
SEARCH_LIMIT = 50


class CatalogImportError(InputError):
    """A catalog file with bad rows; ``problems`` lists each as (line, message)."""

    def __init__(self, problems: list[tuple[int, str]], source: str = "") -> None:
        self.problems = problems
        head = f"{source}：" if source else ""
        super().__init__(say("catalog.rejected", head=head, problems=len(problems)))


@dataclass(frozen=True)
class CatalogRow:
    """One validated row of the catalog CSV."""

    line: int
    code: str
    barcodes: tuple[str, ...]
    name: str
    spec: str
    unit: str
    price: Fen
    med_list_codg: str
    list_class: str
    selfpay_prop: Decimal | None
    price_cap: Fen | None
    fee_category: str
    stock: int
    rx_flag: bool | None = None  # None: the column is not in the file (left as it was)
    trac_required: bool | None = None
    aprvno: str | None = None
    pinyin: str = ""  # the 助记码 given (letters and digits), "" when none


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def _parse_row(line: int, row: dict[str, str]) -> tuple[CatalogRow | None, list[str]]:
    errors: list[str] = []
    get = {k: (row.get(k) or "").strip() for k in COLUMNS}
    for col in REQUIRED:
        if not get[col]:
            errors.append(say("catalog.csv.missing", col=col))
    code = get["code"]
    if code and (len(code) > 40 or not code.isprintable()):
        errors.append(say("catalog.csv.bad_code", code=code))
    for col in ("name", "spec", "unit", "med_list_codg", "fee_category", "aprvno"):
        size = getattr(Item, col).max_length
        if len(get[col]) > size:
            errors.append(say("catalog.csv.too_long", col=col, size=size))
        elif not get[col].isprintable():  # ESC and friends would reach the terminal
            errors.append(say("catalog.csv.control", col=col, get=get[col]))
    if get["pinyin"] and not (get["pinyin"].isascii() and get["pinyin"].isalnum()
                              and len(get["pinyin"]) <= 40):  # fmt: skip
        errors.append(say("catalog.csv.bad_pinyin", value=get["pinyin"][:40]))
    # The same barcode twice in one cell is one barcode (a copy-paste slip, not an error).
    barcodes = tuple(dict.fromkeys(b.strip() for b in get["barcode"].split("|") if b.strip()))
    for b in barcodes:
        if not (b.isascii() and b.isalnum() and len(b) <= 40):
            errors.append(say("catalog.csv.bad_barcode", b=b))
        elif b.isdigit() and len(b) in (8, 12, 13, 14) and not _gtin_ok(b):
            errors.append(say("catalog.csv.barcode_check", b=b))
    price = cap = None
    if get["price"]:
        try:
            price = Fen.parse(get["price"])
        except MoneyError as exc:
            errors.append(f"price：{exc}")
    if get["price_cap"]:
        try:
            cap = Fen.parse(get["price_cap"])
        except MoneyError as exc:
            errors.append(f"price_cap：{exc}")
    list_class = get["list_class"]
    if list_class and list_class not in LIST_CLASSES:
        errors.append(say("catalog.csv.list_class", list_class=list_class))
    prop: Decimal | None = None
    if get["selfpay_prop"]:
        try:
            prop = Decimal(get["selfpay_prop"])
            if (
                not (prop.is_finite() and Decimal(0) <= prop <= Decimal(1))
                or len(str(prop)) > Item.selfpay_prop.max_length
            ):
                raise InvalidOperation
        except InvalidOperation:
            errors.append(say("catalog.csv.selfpay_prop", get=get["selfpay_prop"]))
            prop = None
    stock = 0
    if get["stock"]:
        try:
            stock = int(get["stock"])
        except ValueError:
            errors.append(say("catalog.csv.stock", get=get["stock"]))
        if not -(2**31) <= stock < 2**31:  # the column is a 32-bit integer on PostgreSQL
            errors.append(say("catalog.csv.stock_range", get=get["stock"]))
    flags: dict[str, bool | None] = {}
    for col in ("rx_flag", "trac_required"):
        if col not in row:
            flags[col] = None
            continue
        value = _FLAGS.get(get[col].lower())
        if value is None:
            errors.append(say("catalog.csv.flag", col=col, get=get[col]))
        flags[col] = value
    if errors:
        return None, errors
    assert price is not None
    return (
        CatalogRow(
            line=line,
            code=code,
            barcodes=barcodes,
            name=get["name"],
            spec=get["spec"],
            unit=get["unit"],
            price=price,
            med_list_codg=get["med_list_codg"],
            list_class=list_class,
            selfpay_prop=prop,
            price_cap=cap,
            fee_category=get["fee_category"],
            stock=stock,
            rx_flag=flags["rx_flag"],
            trac_required=flags["trac_required"],
            aprvno=get["aprvno"] if "aprvno" in row else None,
            pinyin=get["pinyin"],
        ),
        [],
    )


def _gtin_ok(code: str) -> bool:
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def read_catalog(text: Iterable[str], source: str = "") -> list[CatalogRow]:
    """Validate a whole catalog CSV; raise :class:`CatalogImportError` listing every bad row."""
    reader = csv.DictReader(text)
    try:
        return _read_rows(reader, source)
    except csv.Error as exc:  # a cell longer than csv's field limit, say
        problem = (max(reader.line_num, 1), say("catalog.csv.syntax", exc=exc))
        raise CatalogImportError([problem], source) from None


def _read_rows(reader: csv.DictReader, source: str) -> list[CatalogRow]:
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CatalogImportError([(1, say("catalog.csv.empty"))], source)
    reader.fieldnames = header
    extra = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if extra or missing:
        problems = []
        if extra:
            problems.append(
                (
                    1,
                    say(
                        "catalog.csv.unknown_columns",
                        value=", ".join(extra),
                        value2=",".join(COLUMNS),
                    ),
                )
            )
        if missing:
            problems.append((1, say("catalog.csv.missing_columns", value=", ".join(missing))))
        raise CatalogImportError(problems, source)
    rows: list[CatalogRow] = []
    problems: list[tuple[int, str]] = []
    seen_codes: dict[str, int] = {}
    seen_barcodes: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than header columns
            problems.append((line, say("catalog.csv.extra_cells")))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # blank line
        parsed, errors = _parse_row(line, row)
        if parsed:
            if parsed.code in seen_codes:
                errors.append(
                    say(
                        "catalog.csv.code_twice",
                        code=parsed.code,
                        seen_codes=seen_codes[parsed.code],
                    )
                )
            for b in parsed.barcodes:
                if b in seen_barcodes:
                    errors.append(
                        say("catalog.csv.barcode_twice", b=b, seen_barcodes=seen_barcodes[b])
                    )
        problems.extend((line, e) for e in errors)
        if parsed and not errors:
            seen_codes[parsed.code] = line
            seen_barcodes.update(dict.fromkeys(parsed.barcodes, line))
            rows.append(parsed)
    if problems:
        raise CatalogImportError(problems, source)
    return rows


def import_catalog(
    path: Path | str | None = None,
    *,
    text: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 500,
    by: SignedIn | None = None,
    station_id: str = "",
) -> ImportResult:
    """Import a catalog CSV (a path, or its text): validate all, then write all in one transaction.

    Items already present (same code) are updated; their barcodes are replaced.
    Changing the price of an item already present is a price change: it needs ``by``,
    a supervisor or administrator (``NotAllowed`` otherwise, nothing written), and is
    audited ``catalog.prices``. An import that only creates items, or keeps every
    price (the training station's seed), needs no operator.
    """
    source = str(path) if path else ""
    if text is None:
        if path is None:
            raise ValueError("path or text")
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(say("catalog.file_missing", path=path)) from None
        except UnicodeDecodeError:
            raise InputError(say("catalog.not_utf8", path=path)) from None
        except OSError as exc:
            raise InputError(say("catalog.unreadable", path=path, strerror=exc.strerror)) from None
    rows = read_catalog(io.StringIO(text, newline=""), source)
    taken = _barcodes_taken_elsewhere(rows)
    if taken:
        raise CatalogImportError(taken, source)
    created = 0
    with database.atomic():
        existing = {}
        old_price = {}
        for code, id_, price in Item.select(Item.code, Item.id, Item.price).tuples():
            existing[code], old_price[code] = id_, price
        repriced = [r for r in rows if r.code in old_price and old_price[r.code] != r.price]
        if repriced:
            _check_may_reprice(repriced, by)
            assert by is not None
            audit.record(
                station_id,
                "catalog.prices",
                operator=by.code,
                subject=source,
                count=len(repriced),
                changes={r.code: [str(old_price[r.code]), str(r.price)] for r in repriced[:100]},
            )
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            created += _write_chunk(chunk, existing)
            if progress:
                progress(min(start + batch, len(rows)), len(rows))
    return ImportResult(created, len(rows) - created)


#: What an import writes of each item, in order (``rx_flag``, ``trac_required`` and
#: ``aprvno``: optional columns of the CSV, kept as they are where a file has none).
_WRITTEN = (Item.name, Item.spec, Item.unit, Item.price, Item.med_list_codg, Item.list_class,
            Item.selfpay_prop, Item.price_cap, Item.fee_category, Item.stock, Item.pinyin,
            Item.active, Item.updated_at, Item.rx_flag, Item.trac_required, Item.aprvno)  # fmt: skip
_OPTIONAL = (Item.rx_flag, Item.trac_required, Item.aprvno)


def _write_chunk(chunk: list[CatalogRow], existing: dict[str, int]) -> int:
    """Write one batch of rows: new items inserted, known ones updated, every row's
    barcodes replaced; each kind of statement prepared once for the batch. Items created."""
    now = utcnow()

    def values(row: CatalogRow, *, new: bool) -> tuple:
        # an optional column the file lacks: its default for a new item, kept for a known one
        optional = [(f, getattr(row, f.name)) for f in _OPTIONAL]
        return (row.name, row.spec, row.unit, row.price, row.med_list_codg, row.list_class,
                row.selfpay_prop, row.price_cap, row.fee_category, row.stock,
                mnemonic.keys(row.name, row.pinyin), True, now,
                *(f.default if v is None and new else v for f, v in optional))  # fmt: skip

    new = [row for row in chunk if row.code not in existing]
    old = [row for row in chunk if row.code in existing]
    bulk.insert_rows(Item, (Item.code, *_WRITTEN),
                     [(row.code, *values(row, new=True)) for row in new])  # fmt: skip
    if new:
        codes = [row.code for row in new]
        existing.update(Item.select(Item.code, Item.id).where(Item.code.in_(codes)).tuples())
    bulk.update_rows(Item, _WRITTEN, [(*values(row, new=False), existing[row.code]) for row in old],
                     key=Item.id, keep_if_none=_OPTIONAL)  # fmt: skip
    if old:
        Barcode.delete().where(Barcode.item.in_([existing[row.code] for row in old])).execute()
    bulk.insert_rows(
        Barcode,
        (Barcode.barcode, Barcode.item),
        [(code, existing[row.code]) for row in chunk for code in row.barcodes],
    )
    return len(new)


def _check_may_reprice(repriced: list[CatalogRow], by: SignedIn | None) -> None:
    """Changing prices is a supervisor's or an administrator's (a cashier may not)."""
    first = "、".join(r.code for r in repriced[:3]) + (
        say("catalog.and_more") if len(repriced) > 3 else ""
    )
    what = say("catalog.repricing", repriced=len(repriced), first=first)
    if by is None:
        raise NotAllowed(say("catalog.needs_supervisor", what=what))
    if not by.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("catalog.not_supervisor", what=what, label=by.label))


def _barcodes_taken_elsewhere(rows: list[CatalogRow]) -> list[tuple[int, str]]:
    """Barcodes in the file that already belong to another item in the database."""
    by_barcode = {b: r for r in rows for b in r.barcodes}
    problems = []
    codes = list(by_barcode)
    for start in range(0, len(codes), 500):
        query = (
            Barcode.select(Barcode.barcode, Item.code)
            .join(Item)
            .where(Barcode.barcode.in_(codes[start : start + 500]))
            .tuples()
        )
        for barcode, owner in query:
            row = by_barcode[barcode]
            if owner != row.code:
                problems.append(
                    (row.line, say("catalog.barcode_taken", barcode=barcode, owner=owner))
                )
    return sorted(problems)


def demo_catalog_text() -> str:
    return resources.files("cashier").joinpath("data/demo_catalog.csv").read_text("utf-8")


def index_missing(batch: int = 2000) -> int:
    """Items without their 拼音 keys (after migration 13, or made without them) get them;
    how many. Cheap when there are none (one indexed query)."""
    done = 0
    while True:
        rows = list(Item.select(Item.id, Item.name).where(Item.pinyin == "").limit(batch).tuples())
        keyed = [(id_, mnemonic.keys(name)) for id_, name in rows]
        keyed = [(id_, key) for id_, key in keyed if key]
        with database.atomic():
            for id_, key in keyed:
                Item.update(pinyin=key).where(Item.id == id_).execute()
        done += len(keyed)
        if len(rows) < batch or not keyed:  # the rest have names with no letters at all
            return done


def find_by_scan(code: str) -> Item | None:
    """The item for a scanned or typed barcode or item code; ``None`` if unknown."""
    code = code.strip()
    if not code:
        return None
    hit = Barcode.select(Barcode, Item).join(Item).where(Barcode.barcode == code).first()
    if hit is not None and hit.item.active:
        return hit.item
    return Item.get_or_none((Item.code == code) & (Item.active == True))  # noqa: E712


def search(query: str, limit: int = SEARCH_LIMIT) -> list[Item]:
    """Items whose code or barcode starts with, or name or 拼音 initials contain, the query.

    Exact code / barcode first, then code prefix, then the rest by name.
    """
    q = query.strip()
    if not q:
        return []
    exact = find_by_scan(q)
    if _indexed():
        cond = _in_index(q)
    else:  # PostgreSQL, or SQLite without FTS5: every item read
        cond = Item.code.startswith(q) | Item.name.contains(q)  # peewee escapes % and _
        if q.isascii():
            cond = cond | Item.pinyin.contains(q.lower())
    rows = list(
        Item.select()
        .where((Item.active == True) & cond)  # noqa: E712
        .order_by(Item.code.startswith(q).desc(), Item.name)
        .limit(limit)
    )
    if exact is not None:
        rows = [exact, *[r for r in rows if r.id != exact.id][: limit - 1]]
    return rows


#: Matches of the search index taken, in item order, before they are sorted for the screen:
#: a query of one or two letters holds in most of a large catalog, and sorting all of it
#: per keystroke is what the index is there to avoid (a longer query narrows it).
CANDIDATES = 500


def _indexed() -> bool:
    from cashier.store.db import search_index

    db = database.obj
    cached = getattr(db, "_cashier_search_index", None)
    if cached is None:
        cached = search_index(db)
        db._cashier_search_index = cached
    return cached


def _in_index(q: str):
    """The items whose code, name or a 拼音 key holds ``q``, from the search index."""
    from peewee import SQL

    from cashier.domain.grams import match

    expr = match(q)
    if expr is None:
        return SQL("0")
    return Item.id.in_(
        SQL("(SELECT rowid FROM item_search WHERE item_search MATCH ? LIMIT ?)", (expr, CANDIDATES))
    )


def iter_items() -> Iterator[Item]:
    return Item.select().order_by(Item.code).iterator()
