"""The pharmacy's stock, by batch: what was received, from which lot, until when it keeps.

A delivery is received as batches (``cashier stock receive FILE.csv``): each row one lot
of one item, with our own batch number (``fixmedins_bchno``, what the insurer's 进销存
calls it), the maker's lot number and dates. A sale takes its boxes from the batches that
expire first (first to expire, first out); an expired or recalled batch is never sold.
An item with no batch at all (a clinic's services, a catalog from before batches were
kept) is sold as before: its stock is the catalog's figure.

The delivery CSV (UTF-8, with a header):
``code,manu_lotnum,manu_date,expy_end,quantity,purchase_price,supplier,bchno``; ``code``
the item's (or one of its barcodes), dates ``YYYY-MM-DD``, ``purchase_price`` in yuan (optional), ``bchno`` optional
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
from cashier.store.models import Barcode, Batch, Item, SaleLineBatch, database

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
    item = find_item(get["code"]) if get["code"] else None
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


def find_item(code: str) -> Item | None:
    """The item a delivery row names: by its code, or by a barcode scanned off the box."""
    found = Item.get_or_none(Item.code == code)
    if found is None:
        found = Item.select().join(Barcode).where(Barcode.barcode == code).first()
    return found


def delivery(fields: dict[str, str]) -> Delivery:
    """One delivery row typed on the stock screen (the CSV's columns by name), validated
    as a file's row is; every problem said in one error."""
    parsed, errors = _parse(1, {c: " ".join((fields.get(c) or "").split()) for c in COLUMNS})
    if errors or parsed is None:
        raise InputError(say("stock.row_bad", problems=" / ".join(errors)), code="stock.row")
    return parsed


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


def batched(item_ids: Iterable[int | None]) -> set[int]:
    """Which of these items are kept by batch: one statement for a whole bill."""
    ids = {i for i in item_ids if i is not None}
    if not ids:
        return set()
    query = Batch.select(Batch.item).where(Batch.item.in_(ids)).distinct()
    return {item for (item,) in query.tuples()}


def _sellable(item_id: int | None, today: date):
    """The batches of an item that may be sold today: not expired, not recalled, not empty."""
    return (
        (Batch.item == item_id)
        & (Batch.expy_end >= today)
        & (Batch.recalled == False)  # noqa: E712
        & (Batch.quantity > 0)
    )


def _first_to_expire(item_id: int | None, today: date):
    """Those batches in the order a sale takes from them (first to expire, first out)."""
    return Batch.select().where(_sellable(item_id, today)).order_by(Batch.expy_end, Batch.id)


def sellable(item_id: int, today: date | None = None) -> int:
    """Boxes of the item that may be sold today (not expired, not recalled)."""
    today = today or clock.local_today()
    total = (
        Batch.select(fn.COALESCE(fn.SUM(Batch.quantity), 0))
        .where(_sellable(item_id, today))
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
        for batch in _first_to_expire(item_id, today):
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


#: 库存变更类型 (``inv_chg_type`` of 3502), as the national dictionary numbers them.
CHANGE_KINDS = {
    "gain": "103",  # 盘盈: found more than the books say
    "loss": "104",  # 盘亏 / 盘损: found fewer
    "damage": "105",  # 报损 / 销毁: broken, spoiled, expired and destroyed
    "transfer_in": "101",  # 调拨入库
    "transfer_out": "102",  # 调拨出库
}
_OUT = {"loss", "damage", "transfer_out"}


def _batch(bchno: str) -> Batch:
    batch = Batch.get_or_none(Batch.bchno == bchno.strip())
    if batch is None:
        raise InputError(say("stock.no_batch", bchno=bchno.strip()))
    return batch


def _supervisor(by: SignedIn) -> None:
    if not by.role.at_least(Role.SUPERVISOR):
        raise NotAllowed(say("stock.needs_supervisor", label=by.label))


def adjust(
    station_id: str, bchno: str, boxes: int, kind: str, reason: str, by: SignedIn, *, reports: bool
) -> Batch:
    """A supervisor's change of a batch (盘盈, 盘亏, 报损, 调拨): ``boxes`` in or out by its
    kind, audited, and reported (3502) in one transaction."""
    from cashier.services import inventory

    _supervisor(by)
    if kind not in CHANGE_KINDS:
        raise InputError(say("stock.bad_kind", kinds=" / ".join(CHANGE_KINDS)))
    if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes <= 0:
        raise InputError(say("stock.bad_boxes"))
    reason = " ".join(reason.split())
    if not reason:
        raise InputError(say("stock.reason"))
    delta = -boxes if kind in _OUT else boxes
    with database.atomic():
        batch = _batch(bchno)
        if batch.quantity + delta < 0:
            raise InputError(say("stock.below_zero", bchno=batch.bchno, left=batch.quantity))
        Batch.update(quantity=Batch.quantity + delta).where(Batch.id == batch.id).execute()
        Item.update(stock=Item.stock + delta).where(Item.id == batch.item_id).execute()
        audit.record(station_id, f"stock.{kind}", operator=by.code, subject=batch.bchno,
                     boxes=boxes, reason=reason[:150])  # fmt: skip
        if reports:
            inventory.queue_change(station_id, batch, CHANGE_KINDS[kind], boxes, reason, by)
    return Batch.get_by_id(batch.id)


def count(
    station_id: str, counted: dict[str, int], by: SignedIn, *, reports: bool, on: date | None = None
) -> list[tuple[str, int, int]]:
    """A stock count (盘存): each batch counted, reported (3501), and every difference
    booked as 盘盈 or 盘亏 (3502). Returns (batch, books, counted) for each batch."""
    from cashier.services import inventory

    _supervisor(by)
    on = on or clock.local_today()
    out = []
    with database.atomic():
        for bchno, found in counted.items():
            if isinstance(found, bool) or not isinstance(found, int) or found < 0:
                raise InputError(say("stock.bad_count", bchno=bchno))
            batch = _batch(bchno)
            out.append((batch.bchno, batch.quantity, found))
            if reports:
                inventory.queue_count(station_id, batch, found, on, by)
            if found != batch.quantity:
                kind = "gain" if found > batch.quantity else "loss"
                adjust(station_id, bchno, abs(found - batch.quantity), kind,
                       say("stock.count_reason", on=on.isoformat()), by, reports=reports)  # fmt: skip
    return out


def return_to_supplier(
    station_id: str, bchno: str, boxes: int, reason: str, by: SignedIn, *, reports: bool
) -> Batch:
    """Boxes of a batch sent back to the supplier (采购退货, 3504), audited."""
    from cashier.services import inventory

    _supervisor(by)
    if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes <= 0:
        raise InputError(say("stock.bad_boxes"))
    with database.atomic():
        batch = _batch(bchno)
        if boxes > batch.quantity:
            raise InputError(say("stock.below_zero", bchno=batch.bchno, left=batch.quantity))
        Batch.update(quantity=Batch.quantity - boxes).where(Batch.id == batch.id).execute()
        Item.update(stock=Item.stock - boxes).where(Item.id == batch.item_id).execute()
        audit.record(station_id, "stock.return", operator=by.code, subject=batch.bchno,
                     boxes=boxes, reason=" ".join(reason.split())[:150])  # fmt: skip
        if reports:
            inventory.queue_purchase_return(station_id, batch, boxes, by)
    return Batch.get_by_id(batch.id)


def recall(station_id: str, bchno: str, reason: str, by: SignedIn) -> Batch:
    """A batch recalled (by the maker or the regulator): never sold from now on, audited."""
    _supervisor(by)
    with database.atomic():
        batch = _batch(bchno)
        Batch.update(recalled=True).where(Batch.id == batch.id).execute()
        audit.record(station_id, "stock.recall", operator=by.code, subject=batch.bchno,
                     reason=" ".join(reason.split())[:150])  # fmt: skip
    return Batch.get_by_id(batch.id)


def batches(
    item_code: str | None = None, *, text: str = "", limit: int | None = None
) -> list[Batch]:
    """Batches with their item, by item and expiry: of one item (``item_code``), of the items
    whose code, name or 拼音 holds ``text``, at most ``limit`` of them."""
    query = Batch.select(Batch, Item).join(Item).order_by(Item.code, Batch.expy_end, Batch.id)
    if item_code:
        query = query.where(Item.code == item_code)
    text = text.strip()
    if text:
        query = query.where(
            Item.code.contains(text) | Item.name.contains(text)
            | Item.pinyin.startswith(text.lower()) | (Batch.bchno == text)
        )  # fmt: skip
    if limit:
        query = query.limit(limit)
    return list(query)


def near_expiry(item_id: int | None, days: int) -> Batch | None:
    """The batch a sale of the item takes from first, when it expires within ``days``."""
    if not days or not has_batches(item_id):
        return None
    today = clock.local_today()
    first = _first_to_expire(item_id, today).first()
    if first is None or (first.expy_end - today).days > days:
        return None
    return first
