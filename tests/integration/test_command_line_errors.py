"""Issue 19, items 11 and 12: the command line says what is wrong, once, in Chinese. A
mistyped --data-dir never makes an empty station that reports zeros; a file as the data
directory is named; a TOML syntax error says where and what; every bad setting is named at
once; an orders file missing its ] says so. And a new station started on its own catalog
(imported before the first start) starts: the demo orders are left out, not refused."""

from __future__ import annotations

from datetime import date

from tests.support.cli import SUPERVISOR, assert_one_line_error, run, run_as_supervisor


def test_a_mistyped_data_dir_is_no_empty_station(tmp_path):
    typo = tmp_path / "cashier-dta"
    for args in (
        (
            "report",
            "eod",
            "--date",
            f"{date.today()}",
            "--out",
            str(tmp_path / "r.csv"),
            *SUPERVISOR,
        ),
        ("verify-audit",),
        ("reconcile", "payments", "--date", f"{date.today()}", *SUPERVISOR),
    ):
        proc = run(*args, data_dir=typo, stdin="9999\n")
        assert_one_line_error(proc)
        assert "没有收费台数据" in proc.stderr and "--data-dir" in proc.stderr
    assert not typo.exists() and not (tmp_path / "r.csv").exists()


def test_a_file_as_the_data_dir_is_named(tmp_path):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    proc = run("verify-audit", data_dir=a_file)
    assert_one_line_error(proc)
    assert "是一个文件，不是目录" in proc.stderr and "内部错误" not in proc.stderr


def test_configuration_mistakes_are_said_where_and_all_at_once(tmp_path):
    config = tmp_path / "cashier.toml"
    config.write_text('clinic_name = "诊所"\n[printer]\nurl pdf://\n', encoding="utf-8")
    proc = run("verify-audit", "--config", str(config), data_dir=tmp_path / "d")
    assert_one_line_error(proc)
    assert "第 3 行" in proc.stderr and "缺少 =" in proc.stderr and "Expected" not in proc.stderr
    config.write_text(
        'colour = "red"\nkind = "shop"\n[printer]\npaper = "b5"\ncopies = 2\n', encoding="utf-8"
    )
    proc = run("verify-audit", "--config", str(config), data_dir=tmp_path / "d")
    assert_one_line_error(proc)
    for said in ("有 4 处错误", "colour", "kind 应为", "printer.paper", "copies"):
        assert said in proc.stderr, proc.stderr


def test_an_orders_file_missing_its_bracket_says_so(tmp_path):
    orders = tmp_path / "orders.json"
    orders.write_text('[\n  {"order_no": "A1", "certno": "x", "lines": []}\n', encoding="utf-8")
    proc = run("import", "orders", str(orders), data_dir=tmp_path / "d")
    assert proc.returncode != 0
    assert "第 1 行的 [ 没有对应的 ]" in proc.stderr and "逗号" not in proc.stderr


def test_a_station_started_on_its_own_catalog_starts(tmp_path):
    from cashier.config import settings_from_dict
    from cashier.services.station import open_station
    from cashier.store.models import ClinicOrder, Item

    data = tmp_path / "d"
    catalog = tmp_path / "my.csv"
    catalog.write_text(
        "code,barcode,name,spec,unit,price,med_list_codg,list_class,selfpay_prop,price_cap,"
        "fee_category,stock\nM001,6900000000014,本院自制合剂,100ml,瓶,12.00,,丙,1.00,,西药费,10\n",
        encoding="utf-8",
    )
    proc = run_as_supervisor("import", "catalog", str(catalog), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    ctx = open_station(settings_from_dict({}, data_dir=data))  # the first start
    try:
        assert [i.code for i in Item.select()] == ["M001"]
        assert not ClinicOrder.select().exists()  # no demo orders for items it does not sell
    finally:
        ctx.close()
