"""Clinic orders: JSON and CSV import (all or nothing), the counter's queries, the drop folder."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from cashier.devices.scanner import mask_id_number
from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier.services import orders
from cashier.services.orders import (
    CSV_COLUMNS,
    DropResult,
    ImportResult,
    OrdersImportError,
    import_dropped,
    import_orders,
    mark_billed,
    order_lines,
    pending_for,
    set_mdtrt_id,
    watch_folder,
)
from cashier.store.models import ClinicOrder, ClinicOrderLine, Item, Operator, Sale, Station
from tests.support.cli import run

ZHANG = "11010519780312001X"
WANG = "110105195807160028"
LIU = "110105199006070055"
BAD_CHECKSUM = "110105197803120011"  # ZHANG with the wrong check character


@pytest.fixture
def station(station):
    """The training station without its demo orders: these tests count what they import."""
    ClinicOrderLine.delete().execute()
    ClinicOrder.delete().execute()
    return station


def order(visit: str, certno: str = ZHANG, lines=(("Y00001", 2), ("S00001", 1)), **extra):
    return {
        "visit": visit,
        "patient": {"name": "张伟", "certno": certno},
        "doctor": {"code": "D001", "name": "李医生"},
        "department": {"code": "A03", "name": "内科"},
        "diagnosis": {"code": "J06.900", "name": "急性上呼吸道感染"},
        "lines": [{"code": c, "quantity": q} for c, q in lines],
        **extra,
    }


def as_json(*orders_: dict, wrap: bool = False) -> str:
    data = {"orders": list(orders_)} if wrap else list(orders_)
    return json.dumps(data, ensure_ascii=False, indent=2)


HEADER = ",".join(CSV_COLUMNS)


def as_csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def row(visit="OP1", certno=ZHANG, code="Y00001", quantity="2", name="张伟", dept="内科"):
    return (
        f"{visit},{name},{certno},D001,李医生,A03,{dept},J06.900,急性上呼吸道感染,{code},{quantity}"
    )


# -- import ---------------------------------------------------------------------------


def test_json_import_list_and_wrapped(station):
    result = import_orders(text=as_json(order("OP1"), order("OP2", WANG)), fmt="json")
    assert result == ImportResult(added=2, replaced=0, lines=4)
    assert result.summary() == "已导入 2 张医嘱，共 4 行"
    op1 = ClinicOrder.get(ClinicOrder.order_no == "OP1")
    assert (op1.certno, op1.patient_name, op1.status, op1.med_type) == (
        mask_id_number(ZHANG),  # kept masked; found by its keyed digest
        "张伟",
        "pending",
        "11",
    )
    assert (op1.doctor_code, op1.dept_name, op1.diag_code) == ("D001", "内科", "J06.900")
    items = order_lines(op1)
    assert [(item.code, qty) for item, qty in items] == [("Y00001", 2), ("S00001", 1)]
    # The {"orders": [...]} form, a lower-case x and a med_type.
    wrapped = as_json(order("OP3", ZHANG.lower(), med_type="14"), wrap=True)
    assert import_orders(text=wrapped, fmt="json").added == 1
    op3 = ClinicOrder.get(ClinicOrder.order_no == "OP3")
    assert (op3.certno, op3.med_type) == (mask_id_number(ZHANG), "14")


def test_json_file_with_bom_by_suffix(station, tmp_path):
    path = tmp_path / "orders.json"
    path.write_bytes(b"\xef\xbb\xbf" + as_json(order("OP1")).encode())
    result = import_orders(path)
    assert result.added == 1
    assert ClinicOrder.get(ClinicOrder.order_no == "OP1").source == str(path)


def test_csv_import_groups_rows_by_visit(station, tmp_path):
    path = tmp_path / "orders.csv"
    text = as_csv(
        row("OP1", code="Y00001", quantity="2"),
        row("OP2", certno=WANG, name="王秀英", code="S00026", quantity="1"),
        row("OP1", code="S00001", quantity="1"),
        "",
    )
    path.write_text(text, encoding="utf-8-sig")
    result = import_orders(path)
    assert (result.added, result.replaced, result.lines) == (2, 0, 3)
    op1 = ClinicOrder.get(ClinicOrder.order_no == "OP1")
    assert [(i.code, q) for i, q in order_lines(op1)] == [("Y00001", 2), ("S00001", 1)]
    # The optional med_type column.
    text = as_csv(row("OP9") + ",13", header=HEADER + ",med_type")
    import_orders(text=text, fmt="csv")
    assert ClinicOrder.get(ClinicOrder.order_no == "OP9").med_type == "13"


def test_csv_bad_rows_all_reported_by_line_nothing_written(station):
    text = as_csv(
        row("OP1"),  # line 2: good
        row("OP2", certno=BAD_CHECKSUM),  # 3: checksum
        row("OP3", code="NOPE"),  # 4: unknown code
        row("OP4", quantity="0"),  # 5: quantity
        row("OP1", name="张三"),  # 6: disagrees with line 2
        row("OP5", quantity="2.5", code=""),  # 7: quantity and code
        row("OP6", quantity="10000"),  # 8
    )
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=text, fmt="csv", source="in.csv")
    lines = [line for line, _ in err.value.problems]
    assert lines == [3, 4, 5, 6, 7, 7, 8]
    message = str(err.value)
    assert message.splitlines()[0].startswith("in.csv:3: ")
    assert "in.csv:4: " in message and "NOPE" in message
    assert "校验位" in message and "patient_name" in message and "第 2 行" in message
    assert message.splitlines()[-1] == "in.csv：7 处错误，未导入任何医嘱"
    assert isinstance(err.value, InputError)
    assert ClinicOrder.select().count() == 0 and ClinicOrderLine.select().count() == 0


def test_csv_unknown_and_missing_columns_refused_by_name(station):
    text = as_csv(row() + ",x", header=HEADER + ",colour")
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=text, fmt="csv")
    assert err.value.problems[0][0] == 1 and "colour" in err.value.problems[0][1]
    with pytest.raises(OrdersImportError) as err:
        import_orders(text="visit,certno\nOP1,x\n", fmt="csv")
    assert "缺少必需的列" in str(err.value) and "patient_name" in str(err.value)


def test_json_problems_carry_the_json_line(station):
    text = as_json(
        order("OP1"),
        order("OP2", BAD_CHECKSUM),
        order("OP3", lines=[("Y00001", 1), ("NOPE", 1), ("S00001", "x")]),
        order("OP1"),
    )
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=text, fmt="json", source="o.json")
    source_lines = text.splitlines()
    by_message = {message: line for line, message in err.value.problems}
    assert len(by_message) == 4
    for message, line in by_message.items():
        opening, first_key = source_lines[line - 1].strip(), source_lines[line].strip()
        assert opening == "{", message  # the line of the order's (or order line's) "{"
        if "校验位" in message:
            assert first_key == '"visit": "OP2",'
        elif "NOPE" in message:
            assert first_key == '"code": "NOPE",'
        elif "quantity" in message:
            assert first_key == '"code": "S00001",'
        else:
            assert "重复" in message and "第 2 行" in message
            assert first_key == '"visit": "OP1",' and line > 2
    assert ClinicOrder.select().count() == 0


def test_json_syntax_error_gives_line_and_column(station):
    text = '[\n  {"visit": "OP1",}\n]\n'
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=text, fmt="json", source="s.json")
    assert err.value.problems[0][0] == 2
    assert str(err.value).startswith("s.json:2: JSON 格式错误（第 19 列）")


def test_json_required_fields_and_types(station):
    bad = order("OP1")
    del bad["patient"]["name"]
    bad["doctor"] = "李医生"
    bad["lines"] = []
    bad["colour"] = "red"
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=as_json(bad, order("", med_type="12")), fmt="json")
    message = str(err.value)
    for expected in ("患者姓名", "doctor 应为一个对象", "没有收费明细", "colour", "visit", "12"):
        assert expected in message, expected
    with pytest.raises(OrdersImportError, match="没有医嘱"):
        import_orders(text="[]", fmt="json")
    with pytest.raises(OrdersImportError, match="数组"):
        import_orders(text='"hello"', fmt="json")


def test_json_lone_surrogates_are_refused_as_not_text(station):
    """Found by the fuzz suite: ``"\\ud800"`` decodes to a string no database can store,
    which used to reach SQLite as a UnicodeEncodeError."""
    text = as_json(order("OP1", lines=(("Y00001", 1),))).replace('"OP1"', '"\\ud800"')
    text = text.replace('"Y00001"', '"Y\\udc00"')
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=text, fmt="json")
    assert "visit 应为文字" in str(err.value) and "code 应为文字" in str(err.value)
    assert ClinicOrder.select().count() == 0


def test_a_code_with_a_nul_or_control_character_is_refused_with_its_line(station):
    """Found by the fuzz suite on PostgreSQL: a code "\\x00" reached the database, which
    refuses NUL in text (an internal error). Codes hold no control characters."""
    text = as_json(order("OP1", lines=(("Y00001", 1),))).replace('"Y00001"', '"\\u0000"')
    with pytest.raises(OrdersImportError, match="code 含有不可打印的字符"):
        import_orders(text=text, fmt="json")
    assert ClinicOrder.select().count() == 0


def test_format_from_suffix_or_refused(station, tmp_path):
    with pytest.raises(InputError, match=r"\.json 或 \.csv"):
        import_orders(tmp_path / "orders.txt", text="[]")
    with pytest.raises(InputError, match="找不到文件"):
        import_orders(tmp_path / "missing.json")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("visit\n张".encode("gb18030"))
    with pytest.raises(InputError, match="UTF-8"):
        import_orders(latin)


def test_pending_order_is_replaced_billed_one_refused(station):
    import_orders(text=as_json(order("OP1"), order("OP2")), fmt="json")
    op1 = ClinicOrder.get(ClinicOrder.order_no == "OP1")
    set_mdtrt_id(op1.id, "MD0001")
    again = order("OP1", lines=[("S00007", 3)])
    result = import_orders(text=as_json(again), fmt="json")
    assert (result.added, result.replaced, result.lines) == (0, 1, 1)
    assert result.replaced_orders == ("OP1",)
    assert result.summary() == "已导入 1 张医嘱（替换 1 张），共 1 行"
    op1 = ClinicOrder.get_by_id(op1.id)  # the same row, its lines rewritten
    assert op1.mdtrt_id == "MD0001"  # same patient: the insurer's visit is kept
    assert [(i.code, q) for i, q in order_lines(op1)] == [("S00007", 3)]
    assert ClinicOrderLine.select().where(ClinicOrderLine.order == op1.id).count() == 1

    sale_id = Sale.insert(
        station=Station.get().station_id,
        operator=Operator.get(),
        status="completed",
        kind="insured",
        total=Fen(4000),
    ).execute()
    mark_billed([op1.id], sale_id)
    billed = ClinicOrder.get_by_id(op1.id)
    assert (billed.status, billed.sale_id) == ("billed", sale_id)
    with pytest.raises(OrdersImportError) as err:
        import_orders(text=as_json(order("OP2", lines=[("S00001", 5)]), order("OP1")), fmt="json")
    assert "已收费" in str(err.value) and len(err.value.problems) == 1
    # All or nothing: OP2 was not replaced either.
    op2 = ClinicOrder.get(ClinicOrder.order_no == "OP2")
    assert [(i.code, q) for i, q in order_lines(op2)] == [("Y00001", 2), ("S00001", 1)]
    # Billing an order twice is refused (another counter got there first).
    with pytest.raises(InputError, match="已在别处收费"):
        mark_billed([op1.id, op2.id], sale_id)
    assert ClinicOrder.get_by_id(op2.id).status == "pending"


def test_pending_for_oldest_first_upper_case(station):
    import_orders(text=as_json(order("OP1"), order("OP2", WANG), order("OP3")), fmt="json")
    found = pending_for(ZHANG.lower())
    assert [o.order_no for o in found] == ["OP1", "OP3"]
    assert pending_for(" " + WANG)[0].order_no == "OP2"
    assert pending_for(LIU) == []


def test_order_lines_refuses_an_item_gone_from_the_catalog(station):
    import_orders(text=as_json(order("OP1")), fmt="json")
    Item.update(active=False).where(Item.code == "Y00001").execute()
    with pytest.raises(InputError, match="Y00001"):
        order_lines(ClinicOrder.get(ClinicOrder.order_no == "OP1"))


def test_demo_orders_import(station):
    result = import_orders(text=orders.demo_orders_text(), fmt="json", source="demo")
    assert (result.added, result.replaced) == (3, 0)
    classes, categories = set(), set()
    for certno in (ZHANG, WANG, LIU):
        (found,) = pending_for(certno)
        for item, quantity in order_lines(found):
            assert quantity >= 1
            classes.add(item.list_class)
            categories.add(item.fee_category)
    assert classes == {"甲", "乙", "丙"}
    assert {"诊察费", "检查费", "治疗费"} <= categories


# -- the drop folder -----------------------------------------------------------------


def _age(path: Path, seconds: float = 10.0) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_drop_folder_done_failed_and_fresh_files(station, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = inbox / "a-good.json"
    good.write_text(as_json(order("OP1")), encoding="utf-8")
    _age(good, 20)
    bad = inbox / "b-bad.csv"
    bad.write_text(as_csv(row("OP2", code="NOPE")), encoding="utf-8")
    _age(bad, 10)
    fresh = inbox / "c-fresh.json"
    fresh.write_text(as_json(order("OP3")), encoding="utf-8")  # mtime now: still being written
    for ignored in (".hidden.json", "d.json.tmp", "e.csv.part", "notes.txt"):
        (inbox / ignored).write_text("junk")
        _age(inbox / ignored)

    results = import_dropped(inbox)
    assert [r.file.name for r in results] == ["a-good.json", "b-bad.csv"]  # oldest first
    first, second = results
    assert first.ok and first.moved_to == inbox / "done" / "a-good.json"
    assert first.result == ImportResult(1, 0, 2)
    assert not second.ok and second.moved_to == inbox / "failed" / "b-bad.csv"
    error_txt = inbox / "failed" / "b-bad.csv.error.txt"
    assert "b-bad.csv:2: " in error_txt.read_text(encoding="utf-8")
    assert "NOPE" in second.error and "未导入" in second.summary()
    assert not good.exists() and not bad.exists() and fresh.exists()
    for ignored in (".hidden.json", "d.json.tmp", "e.csv.part", "notes.txt"):
        assert (inbox / ignored).exists()
    assert [o.order_no for o in pending_for(ZHANG)] == ["OP1"]

    # Once old enough, the fresh file goes in; a second file of the same name keeps both.
    _age(fresh)
    again = inbox / "a-good.json"
    again.write_text(as_json(order("OP1", lines=[("S00007", 1)])), encoding="utf-8")
    _age(again, 5)
    results = import_dropped(inbox)
    assert [r.file.name for r in results] == ["c-fresh.json", "a-good.json"]
    assert results[1].moved_to == inbox / "done" / "a-good-2.json"
    assert results[1].result.replaced == 1
    assert import_dropped(inbox) == []
    assert import_dropped(tmp_path / "no-such-folder") == []


def test_watch_folder_keeps_going_until_stopped(station, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = inbox / "1-bad.json"
    bad.write_text("{not json", encoding="utf-8")
    _age(bad, 20)
    good = inbox / "2-good.json"
    good.write_text(as_json(order("OP1")), encoding="utf-8")
    _age(good, 10)
    seen: list[DropResult] = []
    stop = threading.Event()

    def on_result(result: DropResult) -> None:
        seen.append(result)
        raise RuntimeError("a broken callback does not stop the watcher")

    thread = threading.Thread(target=watch_folder, args=(inbox, stop, on_result, 0.05))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        late = inbox / "3-late.csv"
        late.write_text(as_csv(row("OP2")), encoding="utf-8")
        _age(late)
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [(r.file.name, r.ok) for r in seen] == [
        ("1-bad.json", False),
        ("2-good.json", True),
        ("3-late.csv", True),
    ]
    assert "JSON 格式错误" in (inbox / "failed" / "1-bad.json.error.txt").read_text("utf-8")
    assert {o.order_no for o in pending_for(ZHANG)} == {"OP1", "OP2"}


# -- the command line ----------------------------------------------------------------


def test_cli_import_orders(tmp_path):
    data = tmp_path / "d"
    init = run("init", "--config", str(tmp_path / "c.toml"), data_dir=data)
    assert init.returncode == 0 and "培训模式" in init.stdout, init.stderr  # the demo catalog
    demo = Path(orders.__file__).parent.parent / "data" / "demo_orders.json"

    bad = tmp_path / "bad.csv"
    bad.write_text(as_csv(row("OP1"), row("OP2", certno=BAD_CHECKSUM), row("OP3", code="NOPE")))
    proc = run("import", "orders", str(bad), data_dir=data)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"{bad}:3: ") and lines[1].startswith(f"{bad}:4: ")
    assert lines[-1].startswith("cashier: ") and "未导入" in lines[-1]

    # the training station holds the demo orders already: importing them again replaces them
    proc = run("import", "orders", str(demo), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "已导入 3 张医嘱（替换 3 张），共 16 行"

    missing = run("import", "orders", str(tmp_path / "nope.json"), data_dir=data)
    assert missing.returncode == 1 and missing.stderr.startswith("cashier: ")
    assert len(missing.stderr.strip().splitlines()) == 1
