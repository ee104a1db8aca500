"""The sandbox's 医保目录: by default built from the demo catalog, or read from a CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cashier.domain.money import Fen, MoneyError
from cashier.errors import InputError
from cashier_sandbox.policy import CatalogEntry

COLUMNS = ("med_list_codg", "name", "list_class", "selfpay_prop", "price_cap")


def load_catalog(path: Path | None = None) -> dict[str, CatalogEntry]:
    """``med_list_codg,name,list_class,selfpay_prop,price_cap``; every bad row named with its line."""
    if path is None:
        from cashier.services.catalog import demo_catalog_text

        text = demo_catalog_text()
        source = "demo_catalog.csv"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"无法读取医保目录 {path}：{exc}") from None
        source = str(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{source}：缺少列 {', '.join(missing)}")
    entries: dict[str, CatalogEntry] = {}
    problems: list[str] = []
    for row in reader:
        code = (row.get("med_list_codg") or "").strip()
        if not code:
            continue  # not a 医保 item (only the demo catalog has these)
        try:
            list_class = row["list_class"].strip() or "丙"
            if list_class not in ("甲", "乙", "丙"):
                raise ValueError(f"list_class {list_class!r}")
            prop = Decimal(
                row["selfpay_prop"].strip() or {"甲": "0", "乙": "0.1", "丙": "1"}[list_class]
            )
            cap_text = (row.get("price_cap") or "").strip()
            entries[code] = CatalogEntry(
                med_list_codg=code,
                name=row["name"].strip(),
                list_class=list_class,
                selfpay_prop=prop,
                price_cap=Fen.parse(cap_text) if cap_text else None,
            )
        except (ValueError, InvalidOperation, MoneyError) as exc:
            problems.append(f"{source}:{reader.line_num}: {exc}")
    if problems:
        raise InputError("医保目录有误：" + "；".join(problems[:5]))
    return entries
