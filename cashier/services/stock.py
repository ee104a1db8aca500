"""The pharmacy's stock, by batch: what was received, from which lot, until when it keeps.

A delivery is received as batches (``cashier stock receive FILE.csv``): each row one lot
of one item, with our own batch number (``fixmedins_bchno``, what the insurer's 进销存
calls it), the maker's lot number and dates. A sale takes its boxes from the batches that
expire first (first to expire, first out); an expired or recalled batch is never sold.
An item with no batch at all (a clinic's services, a catalog from before batches were
kept) is sold as before: its stock is the catalog's figure.

The delivery CSV (UTF-8, with a header):
``code,manu_lotnum,manu_date,expy_end,quantity,purchase_price,supplier,bchno``; ``code``
the item's, dates ``YYYY-MM-DD``, ``purchase_price`` in yuan (optional), ``bchno`` optional
(given: the HIS's own batch number; else one is made: ``<station>-B0000001``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from peewee import fn

from cashier.domain.money import Fen, MoneyError
from cashier.errors import InputError, NotAllowed
from cashier.messages import say
from cashier.services import audit, clock
from cashier.services.operators import Role, SignedIn
from cashier.store.models import Batch, Item, SaleLineBatch, database

COLUMNS = (
    "code",
    "manu_lotnum",
    "manu_date",
    "expy_end",
    "quantity",
    "purchase_price",
    "supplier",
    "bchno",
)
REQUIRED = ("code", "manu_lotnum", "manu_date", "expy_end", "quantity")


class StockImportError(InputError):
    """A delivery file with bad rows; ``problems`` lists each as (line, message)."""

    def __init__(self, problems: list[tuple[int, str]], source: str = "") -> None:
        self.problems = problems
        super().__init__(say("stock.rejected", source=source, problems=len(problems)))


@dataclass(frozen=True)
class Delivery:
    line: int
    item_id: int
    code: str
    manu_lotnum: str
    manu_date: date
    expy_end: date
    quantity: int
    purchase_price: Fen | None
    supplier: str
    bchno: str


def read_delivery(text: Iterable[str], source: str = "") -> list[Delivery]:
    """Validate a whole delivery CSV; every bad row is reported, nothing is kept while one is."""
    reader = csv.DictReader(text)
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems: list[tuple[int, str]] = []
    extra = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if not header or extra or missing:
        if extra:
            problems.append((1, say("stock.unknown_columns", extra=", ".join(extra),
                                    allowed=",".join(COLUMNS))))  # fmt: skip
        if missing or not header:
            problems.append((1, say("stock.missing_columns", missing=", ".join(missing))))
        raise StockImportError(problems, source)
    reader.fieldnames = header
    rows: list[Delivery] = []
    seen: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                problems.append((line, say("stock.extra_cells")))
                continue
            parsed, errors = _parse(line, {k: (row.get(k) or "").strip() for k in COLUMNS})
            if parsed is not None and parsed.bchno and parsed.bchno in seen:
                errors.append(say("stock.bchno_twice", bchno=parsed.bchno))
            if errors:
                problems.extend((line, e) for e in errors)
            elif parsed is not None:
                seen.add(parsed.bchno)
                rows.append(parsed)
    except csv.Error as exc:
        problems.append((max(reader.line_num, 1), say("stock.csv_error", exc=exc)))
    if not rows and not problems:
        problems.append((1, say("stock.empty")))
    if problems:
        raise StockImportError(problems, source)
    return rows


def _parse(line: int, get: dict[str, str]) -> tuple[Delivery | None, list[str]]:
    errors = [say("stock.missing", col=c) for c in REQUIRED if not get[c]]
    item = Item.get_or_none(Item.code == get["code"]) if get["code"] else None
    if get["code"] and item is None:
        errors.append(say("stock.no_item", code=get["code"]))
    dates: dict[str, date] = {}
    for col in ("manu_date", "expy_end"):
        if get[col]:
            try:
                dates[col] = date.fromisoformat(get[col])
            except ValueError:
                errors.append(say("stock.bad_date", col=col, value=get[col]))
    if len(dates) == 2 and dates["expy_end"] <= dates["manu_date"]:
        errors.append(say("stock.dates_reversed"))
    quantity = 0
    if get["quantity"]:
        if not get["quantity"].isdigit() or not 1 <= int(get["quantity"]) <= 1_000_000:
            errors.append(say("stock.bad_quantity", value=get["quantity"]))
        else:
            quantity = int(get["quantity"])
    price = None
    if get["purchase_price"]:
        try:
            price = Fen.parse(get["purchase_price"])
        except MoneyError as exc:
            errors.append(f"purchase_price：{exc}")
    for col, size in (("manu_lotnum", 40), ("supplier", 100), ("bchno", 40)):
        if len(get[col]) > size or not get[col].isprintable():
            errors.append(say("stock.bad_text", col=col, size=size))
    if get["bchno"] and Batch.select().where(Batch.bchno == get["bchno"]).exists():
        errors.append(say("stock.bchno_taken", bchno=get["bchno"]))
    if errors or item is None:
        return None, errors
    return (
        Delivery(line, item.id, item.code, get["manu_lotnum"], dates["manu_date"],
                 dates["expy_end"], quantity, price, get["supplier"], get["bchno"]),
        [],
    )  # fmt: skip


@dataclass(frozen=True)
class Received:
    batches: tuple[str, ...]  # the batch numbers made
    boxes: int


def receive(
    station_id: str,
    deliveries: list[Delivery],
    by: SignedIn,
    *,
    reports: bool,
    source: str = "",
) -> Received:
    """Take a validated delivery into stock, one transaction: its batches, the catalog's
    stock figures, an audit entry, and (``reports``) a 3503 采购 per batch in the outbox."""
    from cashier.services import inventory

    if not by.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("stock.needs_supervisor", label=by.label))
    made = []
    with database.atomic():
        for d in deliveries:
            bchno = d.bchno or _next_bchno(station_id)
            batch = Batch.create(
                bchno=bchno,
                item=d.item_id,
                manu_lotnum=d.manu_lotnum,
                manu_date=d.manu_date,
                expy_end=d.expy_end,
                quantity=d.quantity,
                received=d.quantity,
                purchase_price=d.purchase_price,
                supplier=d.supplier,
            )
            Item.update(stock=Item.stock + d.quantity).where(Item.id == d.item_id).execute()
            made.append(bchno)
            if reports:
                inventory.queue_purchase(station_id, batch, by)
        audit.record(
            station_id,
            "stock.receive",
            operator=by.code,
            subject=source[:60],
            batches=len(made),
            boxes=sum(d.quantity for d in deliveries),
        )
    return Received(tuple(made), sum(d.quantity for d in deliveries))


def _next_bchno(station_id: str) -> str:
    prefix = f"{station_id}-B"
    count = Batch.select().where(Batch.bchno.startswith(prefix)).count()
    return f"{prefix}{count + 1:07d}"


def has_batches(item_id: int | None) -> bool:
    return item_id is not None and Batch.select().where(Batch.item == item_id).exists()


def sellable(item_id: int, today: date | None = None) -> int:
    """Boxes of the item that may be sold today (not expired, not recalled)."""
    today = today or clock.local_today()
    total = (
        Batch.select(fn.COALESCE(fn.SUM(Batch.quantity), 0))
        .where(
            (Batch.item == item_id)
            & (Batch.expy_end >= today)
            & (Batch.recalled == False)  # noqa: E712
            & (Batch.quantity > 0)
        )
        .scalar()
    )
    return int(total or 0)


def check_sellable(item_id: int | None, name: str, quantity: int) -> None:
    """Refuse, before anything is sent, boxes the stock cannot give (only expired or
    recalled batches left, or too few). An item with no batches is not checked."""
    if not has_batches(item_id):
        return
    left = sellable(item_id)  # type: ignore[arg-type]
    if quantity > left:
        raise InputError(say("stock.short", name=name, left=left), code="stock.short")


def allocate(line_id: int, item_id: int | None, name: str, quantity: int) -> list[Batch]:
    """In the sale's transaction: take ``quantity`` boxes from the batches that expire
    first, recorded against the sale line; the batches used, in order."""
    if not has_batches(item_id):
        return []
    today = clock.local_today()
    taken: list[Batch] = []
    need = quantity
    for _ in range(5):  # another counter took from a batch meanwhile: read them again
        raced = False
        for batch in (
            Batch.select()
            .where(
                (Batch.item == item_id)
                & (Batch.expy_end >= today)
                & (Batch.recalled == False)  # noqa: E712
                & (Batch.quantity > 0)
            )
            .order_by(Batch.expy_end, Batch.id)
        ):
            take = min(need, batch.quantity)
            moved = (
                Batch.update(quantity=Batch.quantity - take)
                .where((Batch.id == batch.id) & (Batch.quantity >= take))
                .execute()
            )
            if not moved:
                raced = True
                break
            SaleLineBatch.create(line=line_id, batch=batch.id, quantity=take)
            taken.append(batch)
            need -= take
            if not need:
                break
        if not need or not raced:
            break
    if need:
        raise InputError(say("stock.short", name=name, left=quantity - need), code="stock.short")
    Item.update(stock=Item.stock - quantity).where(Item.id == item_id).execute()
    return taken


def put_back(line_ids: Iterable[int]) -> None:
    """In a refund's transaction: the sale lines' boxes go back to their batches."""
    for row in SaleLineBatch.select().where(SaleLineBatch.line.in_(list(line_ids))):
        Batch.update(quantity=Batch.quantity + row.quantity).where(
            Batch.id == row.batch_id
        ).execute()
        Item.update(stock=Item.stock + row.quantity).where(
            Item.id == Batch.get_by_id(row.batch_id).item_id
        ).execute()
