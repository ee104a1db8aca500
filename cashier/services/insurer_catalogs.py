"""The insurer's catalogs at the counter: downloaded by version, searched to map a local item
onto its 医保目录 code, the mapping uploaded (3301) or deleted (3302), and a bill's lines
told apart: mapped ones settle under insurance, the others are the patient's own.

- **Sync** (``cashier catalog sync``): 1301 / 1302 / 1305 with the version held, the file
  fetched with 9102, read (tab-separated, no header) and kept; again with the newest version
  seen until the insurer has nothing newer. Incremental: the next sync starts where this one
  ended. A file that is not the catalog it claims to be is refused whole.
- **Map** (``cashier catalog map``): for an item, the catalog lines of its 批准文号, else
  of its name, else of its 拼音 initials; the chosen code is uploaded with 3301 and kept on
  the item. ``--delete`` sends 3302 and clears it.
- **Valid**: an item's code is valid when it is set and, once the insurer's catalogs have
  been downloaded, found there and in force (``vali_flag`` 1). A line without a valid code
  is never sent to the insurer: it is paid by the patient (see ``services.insured``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from peewee import chunked, fn

from cashier.errors import CashierError, InputError
from cashier.insurer import protocol
from cashier.insurer.protocol.catalogs import LIST_TYPES, read_catalog_file
from cashier.messages import say
from cashier.services import audit
from cashier.store.models import CatalogVersion, InsurerCatalogEntry, Item, database, utcnow

CATALOGS = ("1301", "1302", "1305")
BATCH = 500


@dataclass(frozen=True)
class Synced:
    catalog: str
    entries: int  # lines read in this sync
    files: int
    ver: str  # the version now held


def sync(
    client,
    operator: tuple[str, str],
    catalog: str,
    *,
    fixmedins_code: str,
    progress: Callable[[int, int | None], None] | None = None,
    most_files: int = 10_000,
) -> Synced:
    """Download ``catalog`` from the version held until there is nothing newer.

    ``progress(read, expected)`` after each file: the lines read so far and, for a first
    sync, how many the insurer holds (asked of 1312 before the first file; ``None`` when
    it does not say, and for a sync from a version held: the files say nothing of what
    is still to come)."""
    from functools import lru_cache

    from cashier.services import mnemonic

    initials = lru_cache(maxsize=20_000)(mnemonic.initials)  # a name recurs, maker after maker
    if catalog not in CATALOGS:
        raise InputError(
            say("insurer_catalogs.unknown", catalog=catalog, known=" / ".join(CATALOGS))
        )
    held = CatalogVersion.get_or_none(CatalogVersion.catalog == catalog)
    ver = held.ver if held is not None else "0"
    expected = catalog_size(client, operator, catalog) if ver == "0" and progress else None
    read = files = 0
    for _ in range(most_files):
        out = client.call(catalog, {"data": {"ver": ver}}, operator=operator)
        number, name = str(out.get("file_qury_no") or ""), str(out.get("filename") or "")
        if not number:
            break  # nothing newer than what is held
        data = client.download(
            protocol.input_9102(file_qury_no=number, filename=name, fixmedins_code=fixmedins_code),
            operator=operator,
        )
        entries = read_catalog_file(protocol.unzip_text(data), catalog)
        if not entries:
            break
        newest = max(e.ver for e in entries)
        with database.atomic():
            _upsert(
                (
                    e.med_list_codg, catalog, e.name[:500], e.genname[:500], e.dosform[:100],
                    e.spec[:500], e.aprvno[:100], e.maker[:200], e.unit[:50],
                    initials(e.genname or e.name)[:200], e.vali_flag[:3], e.rid[:40], e.ver[:30],
                )
                for e in entries
            )  # fmt: skip
            total = (
                InsurerCatalogEntry.select().where(InsurerCatalogEntry.catalog == catalog).count()
            )
            CatalogVersion.insert(
                catalog=catalog, ver=max(newest, ver), entries=total, synced_at=utcnow()
            ).on_conflict(
                conflict_target=[CatalogVersion.catalog],
                preserve=[CatalogVersion.ver, CatalogVersion.entries, CatalogVersion.synced_at],
            ).execute()
        read += len(entries)
        files += 1
        if progress:
            progress(read, expected)
        if newest <= ver:
            break  # the insurer sent nothing newer: never loop on the same file
        ver = newest
    return Synced(catalog, read, files, ver)


def catalog_size(client, operator: tuple[str, str], catalog: str) -> int | None:
    """How many lines the insurer holds in ``catalog`` (1312, one line asked for its
    ``recordCounts``); ``None`` when it does not answer that (a sync goes on without)."""
    try:
        out = client.call("1312", {"data": {"list_type": LIST_TYPES[catalog], "page_num": 1,
                                            "page_size": 1}}, operator=operator)  # fmt: skip
        counted = int(str((out or {}).get("recordCounts")))
    except (CashierError, ValueError, TypeError, AttributeError):
        return None
    return counted if counted > 0 else None


_COLUMNS = ("med_list_codg", "catalog", "name", "genname", "dosform", "spec", "aprvno", "maker",
            "unit", "pinyin", "vali_flag", "rid", "ver")  # fmt: skip


def _upsert(rows) -> None:
    """Catalog lines in, a line already held replaced: one prepared statement for them all
    (a query built per line would take most of a 300,000-line sync)."""
    table = InsurerCatalogEntry._meta.table_name
    mark = database.param
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))}) "
        f"ON CONFLICT (med_list_codg) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
    )
    rows = list(rows)
    cursor = database.cursor()
    for start in range(0, len(rows), BATCH):
        cursor.executemany(sql, rows[start : start + BATCH])


def synced() -> bool:
    """Whether any of the insurer's catalogs is held (else items' codes are taken as set)."""
    return CatalogVersion.select().where(CatalogVersion.entries > 0).exists()


def valid_codes(codes: Iterable[str]) -> set[str]:
    """Of these 医保目录 codes, those the insurer can settle: set, and (once the catalogs
    are held) in them and in force. Two queries whatever their number."""
    wanted = {c for c in codes if c}
    if not wanted or not synced():
        return wanted
    found: set[str] = set()
    for chunk in chunked(sorted(wanted), BATCH):
        found.update(
            code
            for (code,) in InsurerCatalogEntry.select(InsurerCatalogEntry.med_list_codg)
            .where(
                InsurerCatalogEntry.med_list_codg.in_(chunk)
                & (InsurerCatalogEntry.vali_flag == "1")
            )
            .tuples()
        )
    return found


def valid(med_list_codg: str) -> bool:
    """One code: see :func:`valid_codes`."""
    return med_list_codg in valid_codes([med_list_codg])


def unmapped_items() -> list[Item]:
    """The active items without a valid mapping, by code (paid in full in an insured bill)."""
    items = list(Item.select().where(Item.active == True).order_by(Item.code))  # noqa: E712
    good = valid_codes(i.med_list_codg for i in items)
    return [i for i in items if i.med_list_codg not in good]


def candidates(item: Item, limit: int = 10) -> list[InsurerCatalogEntry]:
    """The catalog lines an item may be: by its 批准文号, else its name, else its 拼音."""
    from cashier.services import mnemonic

    query = InsurerCatalogEntry.select().where(InsurerCatalogEntry.vali_flag == "1")
    if item.aprvno:
        found = list(query.where(InsurerCatalogEntry.aprvno == item.aprvno).limit(limit))
        if found:
            return found
    found = list(
        query.where(
            (InsurerCatalogEntry.genname == item.name) | (InsurerCatalogEntry.name == item.name)
        ).limit(limit)
    )
    if found:
        return found
    initials = mnemonic.initials(item.name)
    if not initials:
        return []
    return list(
        query.where(InsurerCatalogEntry.pinyin.startswith(initials))
        .order_by(fn.LENGTH(InsurerCatalogEntry.pinyin))
        .limit(limit)
    )


def catalog_of(med_list_codg: str) -> str:
    entry = InsurerCatalogEntry.get_or_none(InsurerCatalogEntry.med_list_codg == med_list_codg)
    if entry is not None:
        return entry.catalog
    head = med_list_codg[:1]
    return "1301" if head in ("X", "Z") else "1302" if head == "T" else "1305"


def upload_mapping(client, operator: tuple[str, str], station: str, item: Item, code: str) -> Item:
    """Map ``item`` onto ``code`` at the insurer (3301), then keep it (audited)."""
    code = code.strip()
    entry = InsurerCatalogEntry.get_or_none(InsurerCatalogEntry.med_list_codg == code)
    if synced() and (entry is None or entry.vali_flag != "1"):
        raise InputError(say("insurer_catalogs.not_in_catalog", code=code))
    catalog = entry.catalog if entry is not None else catalog_of(code)
    row = {
        "fixmedins_hilist_id": item.code,
        "fixmedins_hilist_name": item.name,
        "list_type": LIST_TYPES[catalog],
        "med_list_codg": code,
        "begndate": date.today().isoformat(),
        "enddate": "2099-12-31",
        "aprvno": item.aprvno or (entry.aprvno if entry is not None else ""),
        "dosform": entry.dosform if entry is not None else "",
        "exct_cont": "",
        "item_cont": "",
        "prcunt": item.unit,
        "spec": item.spec,
        "pacmatl": "",
        "memo": "",
    }
    client.call("3301", {"data": [row]}, operator=operator)
    with database.atomic():
        Item.update(med_list_codg=code, mapping="uploaded", updated_at=utcnow()).where(
            Item.id == item.id
        ).execute()
        audit.record(station, "catalog.map", operator=operator[0], subject=item.code, code=code)
    return Item.get_by_id(item.id)


def delete_mapping(client, operator: tuple[str, str], station: str, item: Item) -> Item:
    """The item's mapping deleted at the insurer (3302) and here (audited): it is the
    patient's own from now on, until mapped again."""
    if not item.med_list_codg:
        raise InputError(say("insurer_catalogs.not_mapped", code=item.code))
    client.call(
        "3302",
        {
            "data": {
                "fixmedins_hilist_id": item.code,
                "list_type": LIST_TYPES[catalog_of(item.med_list_codg)],
                "med_list_codg": item.med_list_codg,
            }
        },
        operator=operator,
    )
    with database.atomic():
        Item.update(med_list_codg="", mapping="", updated_at=utcnow()).where(
            Item.id == item.id
        ).execute()
        audit.record(station, "catalog.unmap", operator=operator[0], subject=item.code,
                     code=item.med_list_codg)  # fmt: skip
    return Item.get_by_id(item.id)
