import pytest

from cashier.domain.money import Fen
from cashier.services import catalog
from cashier.services.catalog import COLUMNS, CatalogImportError, import_catalog
from cashier.services.mnemonic import initials as pinyin_initials
from cashier.services.operators import Role, SignedIn
from cashier.store.models import Barcode, Item

HEADER = ",".join(COLUMNS)


def csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


GOOD = csv(
    "A1,6901234567892|6900000000014,阿莫西林胶囊,0.25g*24粒,盒,12.50,XJ01CAA040A001010101234,甲,0.00,,西药费,100",
    "S1,,血常规检查,,次,25,001102000010000,乙,0.10,20.00,化验费,0",
)


def test_pinyin_initials():
    assert pinyin_initials("阿莫西林胶囊") == "amxljn"
    assert pinyin_initials("维生素C泡腾片") == "wsscptp"


def test_search_finds_herbal_names_as_a_pharmacist_types_them(empty_station):
    from cashier.services.catalog import search

    import_catalog(text="code,name,price,pinyin\n"
                        "Z1,参苓白术散,18.00,\n"
                        "Z2,枳壳,3.20,\n"
                        "Z3,没药,5.00,\n"
                        "Z4,复方丹参片,9.80,FFDSP\n"
                        "Z5,葡萄糖注射液,2.00,PTT\n")  # fmt: skip
    found = lambda q: [i.code for i in search(q)]  # noqa: E731
    assert found("slbzs") == ["Z1"]  # 参 shēn, 术 zhú: as the Pharmacopoeia reads them
    assert found("clbzs") == ["Z1"]  # and as pypinyin alone would: both typed in the field
    assert found("zq") == ["Z2"]  # 枳壳 zhǐ qiào
    assert found("my") == ["Z3"]  # 没药 mò yào
    assert found("ptt") == ["Z5"]  # the clinic system's own mnemonic code
    assert found("pttzsy") == ["Z5"]  # and its initials beside it
    assert "Z4" in found("ffdsp")


def test_the_search_index_follows_every_change_of_an_item(empty_station):
    from cashier.services.catalog import search
    from cashier.store.models import database

    import_catalog(text="code,name,price\nZ1,参苓白术散,18.00\nZ2,枳壳,3.20\n")
    found = lambda q: [i.code for i in search(q)]  # noqa: E731
    assert found("白术") == ["Z1"] and found("z2") == ["Z2"]
    Item.update(name="香砂六君丸").where(Item.code == "Z1").execute()  # renamed
    assert found("白术") == [] and found("六君") == ["Z1"]
    Item.create(code="Z3", name="六味地黄丸", price=Fen(1200), pinyin="lwdhw")  # made by hand
    assert set(found("六")) == {"Z1", "Z3"}
    assert found("lwdh") == ["Z3"]
    Item.delete().where(Item.code == "Z2").execute()
    assert found("枳壳") == []
    if database.obj.__class__.__name__ == "CounterSqlite":  # the index, not a scan of items
        plan = database.execute_sql(
            "EXPLAIN QUERY PLAN SELECT rowid FROM item_search WHERE item_search MATCH '\"六君\"'"
        ).fetchall()
        assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan), plan


def test_a_mnemonic_that_is_not_letters_and_digits_is_refused(empty_station):
    with pytest.raises(CatalogImportError) as caught:
        import_catalog(text="code,name,price,pinyin\nZ1,参苓白术散,18.00,S L<b>\n")
    assert any("pinyin" in m for _, m in caught.value.problems)


def test_an_older_index_is_made_again_at_start(settings):
    from cashier.services.station import open_station

    ctx = open_station(settings)
    Item.update(pinyin="").where(Item.code == "Y00248").execute()  # as migration 13 left it
    ctx.close()
    ctx = open_station(settings)
    try:
        assert not Item.select().where(Item.pinyin == "").exists()
        assert Item.get(Item.code == "Y00248").pinyin.split()[0] == "slbzs"  # 参苓白术散
    finally:
        ctx.close()


def test_import_and_update(empty_station):
    result = import_catalog(text=GOOD)
    assert (result.created, result.updated) == (2, 0)
    item = Item.get(Item.code == "A1")
    assert item.price == Fen(1250)
    assert item.pinyin.split()[0] == "amxljn"  # the commonest reading first
    assert {b.barcode for b in item.barcodes} == {"6901234567892", "6900000000014"}
    s1 = Item.get(Item.code == "S1")
    assert s1.price_cap == Fen(2000) and str(s1.selfpay_prop) == "0.10"
    # Re-import updates in place and replaces barcodes.
    again = GOOD.replace("12.50", "13.00").replace("|6900000000014", "")
    result = import_catalog(text=again, by=SignedIn("9001", "李组长", Role.SUPERVISOR))
    assert (result.created, result.updated) == (0, 2)
    assert Item.get(Item.code == "A1").price == Fen(1300)
    assert Barcode.select().count() == 1


def test_bad_rows_are_all_reported_and_nothing_is_written(empty_station):
    text = csv(
        "A1,6901234567892,阿莫西林胶囊,,盒,12.50,,甲,0,,西药费,1",
        "A2,6901234567893,坏校验位,,盒,1.00,,甲,0,,西药费,1",
        "A3,,价格错,,盒,12.345,,甲,0,,西药费,1",
        "A4,,等级错,,盒,1,,丁,0,,西药费,1",
        "A1,,重复编码,,盒,1,,甲,0,,西药费,1",
        ",,,,,,,,,,,",
        "A6,,比例错,,盒,1,,乙,1.5,,西药费,x",
    )
    with pytest.raises(CatalogImportError) as err:
        import_catalog(text=text)
    lines = [line for line, _ in err.value.problems]
    assert lines == [3, 4, 5, 6, 8, 8]
    messages = " ".join(m for _, m in err.value.problems)
    assert "校验位" in messages and "两位小数" in messages and "重复" in messages
    assert Item.select().count() == 0


def test_unknown_and_missing_columns_are_refused_by_name(empty_station):
    with pytest.raises(CatalogImportError) as err:
        import_catalog(text=HEADER + ",colour\n")
    assert "colour" in err.value.problems[0][1]
    with pytest.raises(CatalogImportError) as err:
        import_catalog(text="code,name\nA,B\n")
    assert "price" in err.value.problems[0][1]


def test_barcode_owned_by_another_item_is_refused(empty_station):
    import_catalog(text=GOOD)
    with pytest.raises(CatalogImportError, match="未导入"):
        import_catalog(text=csv("B9,6901234567892,别的商品,,盒,1,,丙,1,,其他费,0"))


def test_search_by_code_barcode_name_and_initials(station):
    by_initials = catalog.search("amxl")
    assert by_initials and by_initials[0].name.startswith("阿莫西林")
    assert catalog.search("阿莫西林")[0].name.startswith("阿莫西林")
    first = Item.select().first()
    barcode = first.barcodes.first()
    if barcode:
        assert catalog.search(barcode.barcode)[0].id == first.id
    assert catalog.search(first.code)[0].id == first.id
    assert catalog.search("%") == [] or all("%" in i.name for i in catalog.search("%"))
    assert catalog.search("   ") == []


def test_demo_catalog_is_seeded(station):
    assert Item.select().count() >= 300
    assert catalog.find_by_scan("nonexistent") is None


def test_the_same_barcode_twice_in_one_cell_is_one_barcode(empty_station):
    """Found by the fuzz suite: ``2000000000008|2000000000008`` used to fail on the
    database's unique constraint instead of importing."""
    import_catalog(text=csv("F1,6901234567892|6901234567892,阿莫西林胶囊,,盒,1,,甲,,,西药费,0"))
    assert [b.barcode for b in Item.get(Item.code == "F1").barcodes] == ["6901234567892"]


def test_the_catalog_import_refuses_control_characters(station):
    text = (
        "code,barcode,name,spec,unit,price,med_list_codg,list_class,selfpay_prop,price_cap,"
        "fee_category,stock\n"
        "Z1,,清屏\x1b[2J,1盒,盒,1.00,,,,,,1\n"
    )
    with pytest.raises(catalog.CatalogImportError) as err:
        catalog.import_catalog(text=text)
    assert "name 含有控制字符" in str(err.value.problems)


def test_a_file_without_the_optional_columns_keeps_what_the_items_had(empty_station):
    """design.md: extend, never rename. A catalog with the flags sets them; a later file
    of the original columns updates the items and leaves their flags as they were, and a
    new item of such a file takes the defaults."""
    base = [c for c in COLUMNS if c not in ("rx_flag", "trac_required", "aprvno", "pinyin")]
    flagged = (
        ",".join([*base, "rx_flag", "trac_required", "aprvno"])
        + "\n"
        + ("R1,,头孢克肟胶囊,0.1g*6粒,盒,30.00,,乙,,,西药费,10,1,1,国药准字H20000001\n")
    )
    import_catalog(text=flagged)
    plain = (
        ",".join(base)
        + "\n"
        + (
            "R1,,头孢克肟胶囊,0.1g*6粒,盒,30.00,,乙,,,西药费,12\n"
            "N1,,维生素C片,0.1g*100片,瓶,5.00,,甲,,,西药费,3\n"
        )
    )
    result = import_catalog(text=plain)
    assert (result.created, result.updated) == (1, 1)
    kept = Item.get(Item.code == "R1")
    assert kept.stock == 12  # updated
    assert (kept.rx_flag, kept.trac_required, kept.aprvno) == (True, True, "国药准字H20000001")
    new = Item.get(Item.code == "N1")
    assert (new.rx_flag, new.trac_required, new.aprvno) == (False, False, "")
    assert new.pinyin.split()[0] == "wsscp"
