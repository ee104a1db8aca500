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


# -- the catalogs as the platform hands them out (1301 / 1302 / 1305 through 9102) --------

#: Lines per version file: a counter far behind gets several files, one version each.
PAGE = 5000
_GENERIC = ("阿莫西林", "头孢克肟", "布洛芬", "二甲双胍", "氨氯地平", "缬沙坦", "奥美拉唑",
            "阿托伐他汀", "左氧氟沙星", "维生素C", "甲硝唑", "氯雷他定")  # fmt: skip
_FORMS = (("胶囊", "粒"), ("片", "片"), ("缓释片", "片"), ("颗粒", "袋"), ("注射液", "支"))
_MAKERS = ("华北制药股份有限公司", "石药集团欧意药业有限公司", "浙江海正药业股份有限公司",
           "扬子江药业集团有限公司", "齐鲁制药有限公司")  # fmt: skip


def catalog_rows(catalog: str, entries: dict[str, CatalogEntry], extra: int) -> list[dict]:
    """Every line of ``catalog`` in order: the 医保目录 the sandbox settles against (its own
    codes first, so a counter can map its items), then ``extra`` lines more (a real
    catalog's size, for benchmarks), each with its version (PAGE lines a version)."""
    own = [
        e for e in entries.values()
        if (catalog == "1301" and e.med_list_codg[:1] in ("X", "Z"))
        or (catalog == "1302" and e.med_list_codg[:1] == "T")
        or (catalog == "1305" and e.med_list_codg[:1].isdigit())
    ]  # fmt: skip
    rows = []
    for n, e in enumerate(own):
        rows.append(_row(catalog, n, e.med_list_codg, e.name, e.name))
    for n in range(extra):
        generic = _GENERIC[n % len(_GENERIC)]
        form, unit = _FORMS[(n // len(_GENERIC)) % len(_FORMS)]
        code = f"{'X' if catalog == '1301' else 'T' if catalog == '1302' else '0'}S{n:021d}"
        rows.append(_row(catalog, len(own) + n, code, f"{generic}{form}", generic, unit))
    return rows


def _row(catalog: str, n: int, code: str, name: str, generic: str, unit: str = "盒") -> dict:
    ver = f"{n // PAGE + 1:08d}"
    common = {"med_list_codg": code, "vali_flag": "1", "rid": f"R{catalog}{n:012d}",
              "updt_time": "2026-12-01 00:00:00", "ver": ver}  # fmt: skip
    if catalog == "1301":
        return {**common, "drug_prodname": name, "genname_codg": f"G{n % 5000:06d}",
                "drug_genname": generic, "dosform_name": "片剂", "drug_spec": "0.25g*24",
                "min_salunt": unit, "aprvno": f"国药准字H{20000000 + n:08d}",
                "prodentp_name": _MAKERS[n % len(_MAKERS)]}  # fmt: skip
    if catalog == "1302":
        return {**common, "tcmherb_name": name, "medi_part": "根", "drug_spec": "10g"}
    return {**common, "prcunt": "001", "prcunt_name": "次", "medsrv_name": name}
