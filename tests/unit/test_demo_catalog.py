"""The demo catalog shipped in ``cashier/data/demo_catalog.csv`` is well formed.

Only the csv module is used: this checks the file itself, not the importer.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "cashier" / "data" / "demo_catalog.csv"

HEADER = [
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
    # issue 20: extended, never renamed (the twelve of design.md come first)
    "rx_flag",
    "trac_required",
]

FEE_CATEGORIES = {
    "西药费",
    "中成药费",
    "中药饮片费",
    "检查费",
    "化验费",
    "治疗费",
    "诊察费",
    "卫生材料费",
    "其他费",
}

CODE = re.compile(r"^[YSCP]\d{5}$")
MONEY = re.compile(r"^\d+\.\d{2}$")
HAN = re.compile(r"[\u4e00-\u9fff]")


def gtin13_valid(barcode: str) -> bool:
    if len(barcode) != 13 or not barcode.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(barcode[:12]))
    return (10 - total % 10) % 10 == int(barcode[12])


def money(text: str) -> Decimal:
    assert MONEY.match(text), f"not yuan with two decimals: {text!r}"
    value = Decimal(text)
    assert value.as_tuple().exponent == -2
    return value


@pytest.fixture(scope="module")
def table() -> tuple[list[str], list[dict[str, str]]]:
    with CATALOG.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def rows(table) -> list[dict[str, str]]:
    return table[1]


def test_file_is_utf8_without_bom() -> None:
    raw = CATALOG.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")


def test_header_is_exact(table) -> None:
    assert table[0] == HEADER


def test_enough_rows_and_no_ragged_lines(rows) -> None:
    assert len(rows) >= 300
    for row in rows:
        assert None not in row, f"extra fields in {row}"
        assert all(value is not None for value in row.values()), f"short row {row}"


def test_codes_are_unique_and_short(rows) -> None:
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert all(CODE.match(code) for code in codes)


def test_name_and_spec_pairs_are_unique(rows) -> None:
    pairs = Counter((row["name"], row["spec"]) for row in rows)
    assert [pair for pair, n in pairs.items() if n > 1] == []


def test_barcodes_are_valid_unique_gtin13(rows) -> None:
    seen: list[str] = []
    for row in rows:
        if not row["barcode"]:
            continue
        for barcode in row["barcode"].split("|"):
            assert gtin13_valid(barcode), f"{row['code']}: bad GTIN-13 {barcode!r}"
            assert 690 <= int(barcode[:3]) <= 699, f"{row['code']}: not a Chinese prefix"
            seen.append(barcode)
    assert len(seen) == len(set(seen))
    assert any("|" in row["barcode"] for row in rows), "some items carry two barcodes"


def test_services_have_no_barcode_and_no_stock(rows) -> None:
    services = [row for row in rows if row["code"].startswith("S")]
    assert services
    for row in services:
        assert row["barcode"] == ""
        assert row["stock"] == "0"
    goods = [row for row in rows if not row["code"].startswith("S")]
    assert all(row["barcode"] for row in goods)


def test_prices_are_two_decimal_yuan(rows) -> None:
    for row in rows:
        price = money(row["price"])
        assert Decimal("0.50") <= price <= Decimal("300.00"), row["code"]
        if row["price_cap"]:
            assert money(row["price_cap"]) > 0


def test_list_class_and_selfpay_are_consistent(rows) -> None:
    for row in rows:
        cls, prop = row["list_class"], row["selfpay_prop"]
        assert cls in {"甲", "乙", "丙"}, row["code"]
        assert MONEY.match(prop), row["code"]
        fraction = Decimal(prop)
        if cls == "甲":
            assert fraction == Decimal("0.00"), row["code"]
        elif cls == "乙":
            assert Decimal("0.05") <= fraction <= Decimal("0.30"), row["code"]
        else:
            assert fraction == Decimal("1.00"), row["code"]
        if not row["med_list_codg"]:
            assert cls == "丙", row["code"]
            assert not row["price_cap"], row["code"]


def test_class_mix_is_roughly_as_designed(rows) -> None:
    counts = Counter(row["list_class"] for row in rows)
    share = {cls: counts[cls] / len(rows) for cls in ("甲", "乙", "丙")}
    assert 0.38 <= share["甲"] <= 0.52
    assert 0.28 <= share["乙"] <= 0.42
    assert 0.14 <= share["丙"] <= 0.26


def test_some_price_caps_bite(rows) -> None:
    capped = [row for row in rows if row["price_cap"]]
    assert capped
    assert all(row["list_class"] != "丙" for row in capped)
    below = [row for row in capped if Decimal(row["price_cap"]) < Decimal(row["price"])]
    assert 0 < len(below) < len(capped)


def test_med_list_codes_have_national_shapes(rows) -> None:
    codes = [row["med_list_codg"] for row in rows if row["med_list_codg"]]
    assert len(codes) == len(set(codes))
    for row in rows:
        med, fee = row["med_list_codg"], row["fee_category"]
        if not med:
            continue
        if fee == "西药费":
            assert re.fullmatch(r"X[A-Z0-9]{22}", med), med
        elif fee == "中成药费":
            assert re.fullmatch(r"Z[A-Z0-9]{19}", med), med
        elif row["code"].startswith("S"):
            assert re.fullmatch(r"\d{15}", med), med
        elif fee == "卫生材料费":
            assert re.fullmatch(r"C\d{26}", med), med


def test_fee_category_units_and_stock(rows) -> None:
    for row in rows:
        assert row["fee_category"] in FEE_CATEGORIES, row["code"]
        assert row["unit"], row["code"]
        assert row["stock"].isdigit() and 0 <= int(row["stock"]) <= 500, row["code"]
    used = {row["fee_category"] for row in rows}
    assert used == FEE_CATEGORIES


def test_names_are_chinese(rows) -> None:
    for row in rows:
        assert HAN.search(row["name"]), row["code"]
    names = {row["name"] for row in rows}
    for expected in ("连花清瘟胶囊", "蒙脱石散", "普通门诊诊察费", "血常规检查", "医用棉签"):
        assert expected in names


def test_pinned_first_item(rows) -> None:
    first = rows[0]
    assert first["code"] == "Y00001"
    assert first["name"] == "阿莫西林胶囊"
    assert first["spec"] == "0.25g*24粒"
    assert first["unit"] == "盒"
    assert first["price"] == "12.50"
    assert first["list_class"] == "甲"
    assert first["selfpay_prop"] == "0.00"
    assert gtin13_valid(first["barcode"])
